"""A render worker of ``talentop.reports.render_pool``: reads pickled figures on stdin,
writes ("ok", (PNG, SVG)) or ("error", message), pickled, on stdout, until stdin ends."""

from __future__ import annotations

import pickle
import sys
import traceback


def main() -> None:
    from talentop.reports._render import _draw
    from talentop.reports.render_pool import receive, send

    source, sink = sys.stdin.buffer, sys.stdout.buffer
    while (payload := receive(source)) is not None:
        try:
            answer: tuple = ("ok", _draw(pickle.loads(payload)))
        except Exception:
            answer = ("error", traceback.format_exc(limit=3))
        send(sink, pickle.dumps(answer))


if __name__ == "__main__":
    main()
