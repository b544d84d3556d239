"""The child process of ``Checkpointer(process=True)``: ``python -m
talentop.services._checkpointer_child``.

The parent writes one JSON line to the child's stdin (the database URL, PostgreSQL schema,
key and checkpoint folders, interval, full-check period: on stdin, never on the command
line, where ``ps`` would show a password) and keeps stdin open. The child signs a
checkpoint at every interval and reports each as a JSON line on stdout; when stdin closes
(the parent's stop, or the parent died) it signs the final checkpoint, checking every
stored leaf, reports it as ``final`` and exits.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import subprocess
import sys
import threading
from pathlib import Path
from typing import Any

from talentop.store.log import CheckpointResult
from talentop.store.note import Checkpoint


def encode(kind: str, result: CheckpointResult | None, error: str | None) -> str:
    """One report line: ``kind`` ("tick" or "final"), the result (``to_dict``) or the refusal."""
    document = result.to_dict() if result is not None else None
    return json.dumps({"kind": kind, "result": document, "error": error}) + "\n"


def decode(line: str) -> tuple[str, CheckpointResult | None, str | None]:
    """The parent's reading of ``encode``."""
    message = json.loads(line)
    document: dict[str, Any] | None = message["result"]
    result = None
    if document is not None:
        head = Checkpoint(
            document["origin"],
            document["size"],
            bytes.fromhex(document["root_hash"]),
            dt.datetime.fromisoformat(document["time"]),
        )
        result = CheckpointResult(head, document["path"], document["sequenced"])
    return message["kind"], result, message["error"]


def launch(store: Any, interval_s: float, full_every: int = 1) -> subprocess.Popen:
    """Start the child for ``store`` (the same interpreter and import path as this one)."""
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(p for p in sys.path if p)}
    child = subprocess.Popen(
        [sys.executable, "-m", "talentop.services._checkpointer_child"],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
        env=env,
    )
    spec = {
        "url": store.url,
        "pg_schema": store.pg_schema,
        "key_dir": str(store.keys.key_dir),
        "checkpoint_dir": str(store.keys.checkpoint_dir),
        "interval_s": interval_s,
        "full_every": full_every,
    }
    child.stdin.write(json.dumps(spec) + "\n")
    child.stdin.flush()
    return child


def main() -> None:
    from talentop.services.audit import Checkpointer
    from talentop.store import KeyRing, Store

    report = sys.stdout  # the parent reads only the reports there
    sys.stdout = sys.stderr  # anything else printed goes to stderr
    spec = json.loads(sys.stdin.readline())
    keys = KeyRing(Path(spec["key_dir"]), Path(spec["checkpoint_dir"]))
    store = Store(spec["url"], pg_schema=spec["pg_schema"], keys=keys)
    stop = threading.Event()

    def wait_for_parent() -> None:
        for _ in sys.stdin:  # nothing more is sent: the end of stdin is the signal
            pass
        stop.set()

    threading.Thread(target=wait_for_parent, daemon=True).start()
    worker = Checkpointer(store, spec["interval_s"], full_every=spec["full_every"])
    try:
        while not stop.wait(worker.interval_s):
            report.write(encode("tick", *worker._attempt()))
            report.flush()
        report.write(encode("final", *worker._attempt(full=True)))
        report.flush()
    except BrokenPipeError:
        pass  # the parent went away: nothing to report to
    finally:
        store.dispose()


if __name__ == "__main__":
    main()
