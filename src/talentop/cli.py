"""The `talentop` command line: one Typer app; each topic lives in `talentop.commands.<topic>`.

Topics are imported when their command runs, not at start-up: `talentop --version` and
`talentop --help` import no topic at all (the topics pull in SciPy, pandas, SQLAlchemy...,
about 1.5 s of CPU). ``COMMANDS`` names each top-level command's topic module and the one-line
help the root `--help` lists; `tests/test_cli_root.py` checks it against what the topics
really register, so it cannot drift. A command missing from it still works (every topic is
then registered, as before).
"""

from __future__ import annotations

import sys
from typing import Any

import typer
import typer.core
from typer.core import TyperCommand, TyperGroup

from talentop import __version__


def _no_flag_type(display_type_rich):
    """Typer 0.29 shows a flag (--json, --help) with a type column "<bool>", as if it took
    a value; a flag takes none, so show nothing there."""

    def display(self, ctx):
        if getattr(self, "is_flag", False):
            return None
        return display_type_rich(self, ctx)

    return display


typer.core.TyperOption.display_type_rich = _no_flag_type(typer.core.TyperOption.display_type_rich)

#: Topic modules (``talentop.commands.<module>``), in the order their commands are listed.
TOPICS = (
    "screen",
    "fields",
    "protocol",
    "recist",
    "demo",
    "design",
    "calibrate",
    "db",
    "audit",
    "export",
    "safety",
    "stats",
    "user",
    "serve",
    "datamgmt",
    "ipd",
)

#: Top-level command -> (topic module, the line the root help shows).
COMMANDS: dict[str, tuple[str, str]] = {
    "screen": ("screen", "Screen patients against a protocol's eligibility criteria."),
    "fields": ("fields", "The data dictionary of the patient fields `talentop screen` reads."),
    "recist": (
        "recist",
        "Evaluate tumour response by RECIST 1.1 or mRECIST, one row per assessment.",
    ),
    "demo": (
        "demo",
        "Simulate a trial end to end (TALENTOP by default; --protocol talentace); write the report.",
    ),
    "design": (
        "design",
        "Group-sequential design: events (Schoenfeld x inflation) and bounds per look.",
    ),
    "simulate": (
        "design",
        "Simulate a grid of designs, or the protocol's ready-made scenarios (--scenario).",
    ),
    "calibrate": (
        "calibrate",
        "Fit the data cut and piecewise hazards (18/101 not operated) to the TALENTOP interim.",
    ),
    "km": (
        "stats",
        "Kaplan-Meier medians with 95% CI (R's rule; NR = not reached) and numbers at risk.",
    ),
    "logrank": ("stats", "k-group log-rank test (R survdiff), optionally stratified and weighted."),
    "cox": (
        "stats",
        "Cox proportional hazards: HR with 95% CI, tests, and the Schoenfeld PH test.",
    ),
    "serve": (
        "serve",
        "Serve the web pages (/) and the REST API under /api/v1 (OpenAPI at /api/v1/openapi.json).",
    ),
    "correct": (
        "datamgmt",
        "Correct saved values with a reason; prints what changed and what was re-derived (RECIST responses, eligibility, ALBI, ADTTE) and any stratification...",
    ),
    "sdv": ("datamgmt", "Mark a form as source-verified (monitors)."),
    "lock": ("datamgmt", "Lock a form, a patient or the whole database (data managers)."),
    "unlock": ("datamgmt", "Lift a lock with the reason."),
    "sign": (
        "datamgmt",
        "Sign (21 CFR 11): your password is asked again even if you just logged in.",
    ),
    "digitise": (
        "ipd",
        "Read the Kaplan-Meier curves off a figure image: one (time, survival) table per curve.",
    ),
    "reconstruct": (
        "ipd",
        "Rebuild individual patients (time, event) from a curve and its numbers at risk.",
    ),
    "reanalyse": (
        "ipd",
        "Re-analyse two arms: KM medians and landmarks, log-rank, Cox HR, RMST, piecewise HR, the Schoenfeld PH test, into an HTML report with the figures...",
    ),
    "protocol": ("protocol", "Show trial protocols (protocol-as-data files)."),
    "db": ("db", "Create and migrate the trial database (SQLite file or PostgreSQL)."),
    "audit": ("audit", "Verify, checkpoint and prove the audit log."),
    "export": ("export", "Export analysis datasets from the trial database."),
    "user": (
        "user",
        "Manage the people who use the trial: accounts with argon2id passwords, roles and sites, API tokens, TOTP.",
    ),
    "checks": ("datamgmt", "The protocol's edit checks."),
    "query": ("datamgmt", "Data queries: raise, answer, close, re-open, list."),
    "safety": ("safety", "Safety and trial conduct: SAEs, deviations, consent, medication."),
}

_SETTINGS: dict[str, Any] = {
    "add_completion": False,
    "pretty_exceptions_enable": False,
    "rich_markup_mode": "markdown",
}


def topic_app(modules: tuple[str, ...] = TOPICS) -> typer.Typer:
    """A Typer app with the commands of the given topic modules registered (all by default)."""
    import importlib

    topic = typer.Typer(**_SETTINGS)
    for name in modules:
        importlib.import_module(f"talentop.commands.{name}").register(topic)
    return topic


class _LazyGroup(TyperGroup):
    """The root group: lists ``COMMANDS`` and imports a topic only for a command that runs.

    While the root help is printed (``listing``), a command is a stand-in carrying its help
    line, so listing imports nothing."""

    listing = False

    def __init__(self, *args: Any, **kwargs: Any):
        super().__init__(*args, **kwargs)
        self._loaded: dict[str, Any] = {}

    def list_commands(self, ctx: Any) -> list[str]:
        return list(COMMANDS)

    def get_command(self, ctx: Any, cmd_name: str) -> Any:
        if cmd_name in COMMANDS and self.listing:
            line = COMMANDS[cmd_name][1]
            return TyperCommand(cmd_name, help=line, short_help=line)
        if cmd_name not in self._loaded:
            modules = (COMMANDS[cmd_name][0],) if cmd_name in COMMANDS else TOPICS
            built = typer.main.get_command(topic_app(modules))
            if isinstance(built, TyperGroup):  # several commands: pick ours
                built = built.get_command(ctx, cmd_name)
            elif built.name != cmd_name:  # a topic with one command
                built = None
            if built is None:
                return None
            self._loaded[cmd_name] = built
        return self._loaded[cmd_name]


app = typer.Typer(
    name="talentop",
    cls=_LazyGroup,
    help=(
        "Run and analyse conversion-therapy trials in liver cancer (modelled on TALENTOP): "
        "screening, RECIST response, randomisation, survival analysis, design, simulation "
        "and the trial report."
    ),
    no_args_is_help=True,
    **_SETTINGS,
)


def _version(value: bool) -> None:
    if value:
        typer.echo(f"talentop {__version__}")
        raise typer.Exit()


@app.callback()
def _root(
    version: bool = typer.Option(
        False, "--version", callback=_version, is_eager=True, help="Print the version and exit."
    ),
) -> None:
    """talentop: conversion-therapy trials in liver cancer."""


#: Set by a command (``skip_final_collection``) that closed its files and database
#: connections itself and leaves a large heap behind (``talentop demo``).
_SKIP_FINAL_COLLECTION = [False]


def skip_final_collection() -> None:
    """Let this process end without the interpreter's final cyclic collections: what the
    command leaves (a demo's few hundred thousand objects) is not scanned again (0.5 s
    after ``talentop demo``), its memory goes back to the system with the process. Only for
    a command that closed what it opened (files, ``Store.dispose``): nothing is left for a
    finaliser to close. Has effect only through ``main`` (the console script), not when
    ``app`` is called in-process (tests)."""
    _SKIP_FINAL_COLLECTION[0] = True


def main() -> None:
    """Console-script entry point."""
    args = sys.argv[1:]
    if args == ["--version"]:
        print(f"talentop {__version__}")
        return
    # No command named: the root help (or --version with other options) lists stand-ins.
    _LazyGroup.listing = all(arg.startswith("-") for arg in args)
    try:
        app()
    finally:
        if _SKIP_FINAL_COLLECTION[0]:
            import gc

            gc.freeze()


if __name__ == "__main__":
    main()
