"""The `talentop` command line: one Typer app; each topic lives in `talentop.commands.<topic>`."""

from __future__ import annotations

import typer

from talentop import __version__

app = typer.Typer(
    name="talentop",
    help=(
        "Run and analyse conversion-therapy trials in liver cancer (modelled on TALENTOP): "
        "screening, RECIST response, randomisation, survival analysis, design, simulation "
        "and the trial report."
    ),
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    rich_markup_mode="markdown",
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


def _register() -> None:
    # Each topic module exposes `register(app)`; add one import + one call per topic.
    from talentop.commands import audit as audit_cmd
    from talentop.commands import db as db_cmd
    from talentop.commands import demo as demo_cmd
    from talentop.commands import design as design_cmd
    from talentop.commands import export as export_cmd
    from talentop.commands import protocol as protocol_cmd
    from talentop.commands import recist as recist_cmd
    from talentop.commands import safety as safety_cmd
    from talentop.commands import screen as screen_cmd
    from talentop.commands import serve as serve_cmd
    from talentop.commands import stats as stats_cmd
    from talentop.commands import user as user_cmd

    screen_cmd.register(app)
    protocol_cmd.register(app)
    recist_cmd.register(app)
    demo_cmd.register(app)
    design_cmd.register(app)
    db_cmd.register(app)
    audit_cmd.register(app)
    export_cmd.register(app)
    safety_cmd.register(app)
    stats_cmd.register(app)
    user_cmd.register(app)
    serve_cmd.register(app)
    pass


_register()


def main() -> None:
    """Console-script entry point."""
    app()


if __name__ == "__main__":
    main()
