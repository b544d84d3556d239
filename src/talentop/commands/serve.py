"""`talentop serve`: the REST API (and pages) with uvicorn."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

import typer

from talentop.commands._edge import console, edge


def register(app: typer.Typer) -> None:
    @app.command("serve")
    @edge
    def serve(
        host: str = typer.Option("127.0.0.1", "--host", help="Address to listen on."),
        port: int = typer.Option(8000, "--port", min=1, max=65535, help="Port to listen on."),
        db: str | None = typer.Option(
            None,
            "--db",
            help="Database URL (default: TALENTOP_DATABASE_URL, else talentop.db here); "
            "initialise it first with `talentop db init`.",
        ),
        protocol: str = typer.Option("talentop", "--protocol", help="Protocol name or YAML file."),
        demo: bool = typer.Option(
            False,
            "--demo",
            help="Start on a fresh in-silico demo trial (in a temporary folder) with one "
            "login per role, printed here.",
        ),
        demo_patients: int = typer.Option(
            60, "--demo-patients", min=10, max=5000, help="Screened patients in the demo trial."
        ),
        seed: int = typer.Option(2025, "--seed", help="Demo trial seed."),
        workers: int = typer.Option(
            1,
            "--workers",
            min=1,
            max=64,
            help="Worker processes (uvicorn), connections spread evenly among them; on "
            "PostgreSQL, at least one per core (docs/api.md).",
        ),
    ) -> None:
        """Serve the web pages (/) and the REST API under /api/v1 (OpenAPI at
        /api/v1/openapi.json).

        Log lines are JSON on standard error, one per request, with its request id; no
        password or token is ever logged. The audit log is checkpointed every
        TALENTOP_CHECKPOINT_INTERVAL_S seconds (default 300) and on shutdown; keys and
        checkpoints are in TALENTOP_KEY_DIR / TALENTOP_CHECKPOINT_DIR (docs/security.md).
        """
        import uvicorn
        from rich.table import Table

        from talentop.api import create_app
        from talentop.api.middleware import configure_logging
        from talentop.services.audit import Checkpointer
        from talentop.store import Store
        from talentop.store.keys import CHECKPOINT_DIR_ENV, KEY_DIR_ENV

        if demo:
            from talentop.demo.server import prepare

            folder = Path(tempfile.mkdtemp(prefix="talentop-demo-"))
            with console.status(f"building the demo trial ({demo_patients} patients)..."):
                trial = prepare(folder, n_patients=demo_patients, seed=seed)
            db = trial.url
            # The demo's own key and checkpoint folders, for this process and its workers.
            os.environ[KEY_DIR_ENV] = str(trial.keys.key_dir)
            os.environ[CHECKPOINT_DIR_ENV] = str(trial.keys.checkpoint_dir)
            table = Table(title=f"Demo logins (database {folder})")
            for column in ("username", "role", "password", "what they can do"):
                table.add_column(column, overflow="fold")
            for row in trial.logins:
                table.add_row(*row)
            console.print(table)
        store = Store(db)
        application = create_app(store, protocol)  # checks the database before listening
        console.print(
            f"talentop pages on http://{host}:{port}/  (log in there)\n"
            f"talentop API on http://{host}:{port}/api/v1  "
            f"(OpenAPI: http://{host}:{port}/api/v1/openapi.json; log in: POST /api/v1/auth/login)"
        )
        configure_logging()
        # The audit log is checkpointed at an interval while serving and once on shutdown.
        with Checkpointer(store):
            if workers == 1:
                uvicorn.run(
                    application, host=host, port=port, log_level="warning", access_log=False
                )
                return
            from talentop.api.balance import shared_board

            os.environ["TALENTOP_DATABASE_URL"] = store.url
            os.environ["TALENTOP_PROTOCOL"] = protocol
            # The workers spread the connections evenly among themselves (api.balance).
            with shared_board():
                uvicorn.run(
                    "talentop.api.app:create_app_from_env",
                    factory=True,
                    host=host,
                    port=port,
                    workers=workers,
                    loop="talentop.api.balance:BalancedLoop",
                    log_level="warning",
                    access_log=False,
                )
