"""Even spread of connections over `talentop serve --workers N` processes.

uvicorn's workers share one listening socket and race to accept. When clients connect in a
burst (a benchmark, a proxy opening its pool), the first worker to wake accepts them all:
32 keep-alive connections were seen split 32/0, 31/1 or 13/19 from run to run. A worker
holding most connections is one GIL for most of the load (99 randomisations/s instead of
130 on the 2-core machine) and its clients wait longer than the others' (the p99).

Each worker here accepts a waiting connection only while it holds no more open connections
than the least-loaded live worker; otherwise it leaves it for the others and looks again
1 ms later, and takes it anyway after 20 ms (a worker that is busy or gone never strands a
client). The counts are on a small board shared by the workers (an mmap'ed file named by
``TALENTOP_ACCEPT_BOARD``, made by ``talentop serve``). uvicorn has no hook for accepting,
so this uses its documented extension point, a custom event loop (``--loop``), whose
``create_server(sock=...)`` serves the inherited socket with this accept loop.
"""

from __future__ import annotations

import asyncio
import fcntl
import mmap
import os
import select
import socket
import struct
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

BOARD_ENV = "TALENTOP_ACCEPT_BOARD"
SLOTS = 64  # workers a board can hold (serve allows at most 64)
_SLOT = struct.Struct("qq")  # pid, open connections
RETRY_S = 0.001  # a worker that leaves a connection to the others looks again after this
GIVE_UP_S = 0.02  # ... and takes it itself once it has waited this long


class Board:
    """Open connections per worker process, shared through an mmap'ed file."""

    def __init__(self, path: Path) -> None:
        self._file = open(path, "r+b")  # noqa: SIM115 - kept open for the process's life
        self._map = mmap.mmap(self._file.fileno(), SLOTS * _SLOT.size)
        self._slot = -1
        self._pid = os.getpid()

    @staticmethod
    def create(folder: Path | None = None) -> Path:
        fd, name = tempfile.mkstemp(prefix="talentop-accept-", dir=folder)
        os.write(fd, bytes(SLOTS * _SLOT.size))
        os.close(fd)
        return Path(name)

    def claim(self) -> None:
        """Take a free slot (or one whose worker has died) for this process."""
        fcntl.flock(self._file, fcntl.LOCK_EX)
        try:
            for i in range(SLOTS):
                pid, _ = _SLOT.unpack_from(self._map, i * _SLOT.size)
                if pid == 0 or not _alive(pid):
                    _SLOT.pack_into(self._map, i * _SLOT.size, self._pid, 0)
                    self._slot = i
                    return
        finally:
            fcntl.flock(self._file, fcntl.LOCK_UN)
        raise RuntimeError(f"the accept board is full ({SLOTS} workers)")

    def add(self, change: int) -> int:
        """Change this worker's count (only this process writes its slot)."""
        offset = self._slot * _SLOT.size
        pid, count = _SLOT.unpack_from(self._map, offset)
        _SLOT.pack_into(self._map, offset, pid, count + change)
        return count + change

    def least_of_others(self) -> int | None:
        """The smallest count among the other live workers (None if there are none)."""
        least = None
        for i in range(SLOTS):
            if i == self._slot:
                continue
            pid, count = _SLOT.unpack_from(self._map, i * _SLOT.size)
            if pid and _alive(pid) and (least is None or count < least):
                least = count
        return least


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        pass  # alive, another user's
    return True


@contextmanager
def shared_board() -> Iterator[Path]:
    """A board for the workers about to be started (named in the environment they inherit),
    removed when they have stopped."""
    path = Board.create()
    os.environ[BOARD_ENV] = str(path)
    try:
        yield path
    finally:
        os.environ.pop(BOARD_ENV, None)
        path.unlink(missing_ok=True)


class BalancedListener:
    """Serves a listening socket like ``loop.create_server(sock=...)`` but accepts only while
    this worker is the least loaded (see the module doc)."""

    def __init__(
        self,
        loop: asyncio.AbstractEventLoop,
        protocol_factory: Callable[[], asyncio.BaseProtocol],
        sock: socket.socket,
        backlog: int,
        board: Board,
    ) -> None:
        self._loop = loop
        self._factory = protocol_factory
        self._sock = sock
        self._board = board
        self._waiting_since: float | None = None
        self._retry: asyncio.TimerHandle | None = None
        self._closed = asyncio.Event()
        self.sockets = [sock]
        sock.setblocking(False)
        sock.listen(backlog)
        loop.add_reader(sock.fileno(), self._ready)

    def _ready(self) -> None:
        while True:
            least = self._board.least_of_others()
            mine = self._board.add(0)
            now = time.monotonic()
            if least is not None and mine > least:
                if self._waiting_since is None:
                    self._waiting_since = now
                if now - self._waiting_since < GIVE_UP_S:
                    self._loop.remove_reader(self._sock.fileno())
                    self._retry = self._loop.call_later(RETRY_S, self._look_again)
                    return
            try:
                conn, _ = self._sock.accept()
            except (BlockingIOError, InterruptedError):
                self._waiting_since = None  # another worker took it
                return
            except OSError:
                return  # e.g. ECONNABORTED: the client gave up; nothing to serve
            self._waiting_since = None
            self._serve(conn)

    def _look_again(self) -> None:
        self._retry = None
        fd = self._sock.fileno()
        if fd < 0:
            return
        if not select.select([fd], [], [], 0)[0]:
            self._waiting_since = None  # another worker took what was waiting
        self._loop.add_reader(fd, self._ready)

    def _serve(self, conn: socket.socket) -> None:
        conn.setblocking(False)
        conn.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self._board.add(1)
        board = self._board
        factory = self._factory

        def counted() -> asyncio.BaseProtocol:
            protocol = factory()
            lost = protocol.connection_lost

            def connection_lost(exc: Exception | None) -> None:
                board.add(-1)
                lost(exc)

            protocol.connection_lost = connection_lost  # type: ignore[method-assign]
            return protocol

        async def connect() -> None:
            try:
                await self._loop.connect_accepted_socket(counted, conn)
            except Exception:  # the connection failed before a protocol owned it
                board.add(-1)
                conn.close()

        self._loop.create_task(connect())

    def close(self) -> None:
        if self._retry is not None:
            self._retry.cancel()
        fd = self._sock.fileno()
        if fd >= 0:
            self._loop.remove_reader(fd)
        self._closed.set()

    def is_serving(self) -> bool:
        return not self._closed.is_set()

    async def wait_closed(self) -> None:
        await self._closed.wait()


def _base_loop() -> type[asyncio.AbstractEventLoop]:
    try:
        import uvloop

        return uvloop.Loop
    except ImportError:  # pragma: no cover - uvloop is a dependency except on Windows
        return asyncio.SelectorEventLoop


class BalancedLoop(_base_loop()):  # type: ignore[misc]
    """uvloop's event loop (asyncio's where uvloop is missing) whose
    ``create_server(sock=...)`` accepts through the board when ``TALENTOP_ACCEPT_BOARD``
    names one (the workers of ``talentop serve --workers N``); otherwise unchanged."""

    _board: Board | None = None

    async def create_server(  # type: ignore[no-untyped-def, override]
        self, protocol_factory, host=None, port=None, *, sock=None, backlog=100, **kwargs
    ):
        path = os.environ.get(BOARD_ENV)
        if sock is None or not path or kwargs.get("ssl") is not None:
            return await super().create_server(
                protocol_factory, host, port, sock=sock, backlog=backlog, **kwargs
            )
        if self._board is None:
            self._board = Board(Path(path))
            self._board.claim()
        return BalancedListener(self, protocol_factory, sock, backlog, self._board)
