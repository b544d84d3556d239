"""CPU seconds a local PostgreSQL server has used, for benchmarks that split the CPU of a
workload between its clients and the server.

The server's processes are the postmaster and its children (one backend per connection,
plus the background workers). A child's CPU is read from ``/proc/<pid>/stat`` while it
runs, and is added to the postmaster's ``cutime``/``cstime`` once it has exited and been
reaped, so "live children + postmaster with its reaped children" only grows, whether the
benchmark's connections stay open (threads) or end with their processes. Only on Linux,
with the server on this host: otherwise ``ServerCpu.find`` returns None.
"""

from __future__ import annotations

import os
from pathlib import Path

import sqlalchemy as sa

_TICK = os.sysconf("SC_CLK_TCK") if hasattr(os, "sysconf") else 100


def _stat(pid: int) -> list[str] | None:
    try:
        text = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    # The command name (field 2) is in parentheses and may hold spaces.
    return text[text.rindex(")") + 2 :].split()


class ServerCpu:
    """The CPU of one local PostgreSQL server (its postmaster and every child)."""

    def __init__(self, postmaster: int):
        self.postmaster = postmaster

    @classmethod
    def find(cls, engine: sa.Engine) -> ServerCpu | None:
        """The server ``engine`` connects to, if it runs on this host and /proc shows it."""
        if engine.dialect.name != "postgresql" or not Path("/proc/self/stat").exists():
            return None
        with engine.connect() as conn:
            backend = conn.execute(sa.text("SELECT pg_backend_pid()")).scalar_one()
        fields = _stat(backend)
        if fields is None:  # another host (or a container we cannot see into)
            return None
        return cls(int(fields[1]))  # field 4 of stat: the parent, the postmaster

    def seconds(self) -> float:
        """CPU seconds (user + system) of the server so far."""
        own = _stat(self.postmaster)
        if own is None:
            raise RuntimeError(f"the PostgreSQL postmaster {self.postmaster} is gone")
        ticks = sum(int(own[i]) for i in (11, 12, 13, 14))  # utime stime cutime cstime
        for entry in os.scandir("/proc"):
            if not entry.name.isdigit():
                continue
            fields = _stat(int(entry.name))
            if fields is not None and int(fields[1]) == self.postmaster:
                ticks += sum(int(fields[i]) for i in (11, 12, 13, 14))
        return ticks / _TICK
