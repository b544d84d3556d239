"""The root CLI: help and version work without any topic installed."""

from typer.testing import CliRunner

from talentop import __version__
from talentop.cli import app


def test_version_prints_package_version():
    result = CliRunner().invoke(app, ["--version"])
    assert result.exit_code == 0
    assert __version__ in result.output


def test_errors_carry_every_problem():
    from talentop.errors import InvalidInput

    exc = InvalidInput(["a=1: expected b", "c=2: expected d"])
    assert exc.problems == ["a=1: expected b", "c=2: expected d"]
    assert "2 problems" in str(exc)
    assert isinstance(exc, ValueError)


def test_root_listing_matches_what_the_topics_register():
    """``talentop.cli.COMMANDS`` (what the root help lists without importing the topics)
    names every top-level command of every topic, with its topic and its help line."""
    import typer

    from talentop.cli import COMMANDS, TOPICS, topic_app

    real = {}
    for module in TOPICS:
        built = typer.main.get_command(topic_app((module,)))
        commands = built.commands if hasattr(built, "commands") else {built.name: built}
        for name, command in commands.items():
            real[name] = (module, command.get_short_help_str(limit=150))
    assert COMMANDS == real


def test_version_and_help_import_no_topic():
    """``talentop --version`` and ``talentop --help`` load no topic module, no SciPy, pandas
    or SQLAlchemy (start-up speed: benchmarks/cli_startup.py); a command loads its topic."""
    import subprocess
    import sys

    probe = (
        "import sys, contextlib, io\n"
        "from talentop import cli\n"
        "sys.argv = ['talentop'] + sys.argv[1:]\n"
        "with contextlib.redirect_stdout(io.StringIO()), contextlib.suppress(SystemExit):\n"
        "    cli.main()\n"
        "heavy = sorted(m for m in sys.modules if m.startswith('talentop.commands.')\n"
        "    or m.split('.')[0] in ('scipy', 'pandas', 'sqlalchemy', 'numpy'))\n"
        "print(','.join(heavy))\n"
    )
    for args in (["--version"], ["--help"], []):
        out = subprocess.run(
            [sys.executable, "-c", probe, *args], capture_output=True, text=True, check=True
        ).stdout.strip()
        assert out == "", (args, out)
    out = subprocess.run(
        [sys.executable, "-c", probe, "protocol", "--help"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()
    assert "talentop.commands.protocol" in out.split(",")
    assert "talentop.commands.design" not in out.split(",")


def test_unknown_command_is_refused():
    result = CliRunner().invoke(app, ["no-such-command"])
    assert result.exit_code == 2 and "No such command" in result.output


def _heavy_modules_after(args: list[str], output_has: str) -> list[str]:
    """Run ``talentop ARGS`` in a fresh interpreter; check its output contains
    ``output_has``; return the numpy, scipy, pandas and ``talentop.design`` modules it
    loaded (top-level names, and the design modules by name)."""
    import subprocess
    import sys

    probe = (
        "import sys, contextlib, io\n"
        "from talentop import cli\n"
        "expected = sys.argv[-1]\n"
        "sys.argv = ['talentop'] + sys.argv[1:-1]\n"
        "with contextlib.redirect_stdout(io.StringIO()) as out, contextlib.suppress(SystemExit):\n"
        "    cli.main()\n"
        "assert expected in out.getvalue(), out.getvalue()[:300]\n"
        "loaded = {m.split('.')[0] for m in sys.modules} & {'numpy', 'scipy', 'pandas'}\n"
        "print(','.join(sorted(loaded) + sorted(m for m in sys.modules"
        " if m.startswith('talentop.design'))))\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", probe, *args, output_has],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()
    return [name for name in out.split(",") if name]


def test_recist_command_imports_no_design_scipy_or_pandas():
    """``talentop recist CASE.json`` evaluates with the RECIST engine alone: the limits it
    checks (``commands._limits``) no longer import ``talentop.design`` (scipy.optimize and
    pandas, about 0.7 s of a 0.9 s command; docs/benchmarks.md, round 9)."""
    from pathlib import Path

    case = Path(__file__).parents[1] / "examples" / "recist" / "pr.json"
    loaded = _heavy_modules_after(["recist", str(case), "--json"], '"best_overall_response"')
    assert not [name for name in loaded if name != "numpy"], loaded


def test_numeric_commands_help_loads_no_numpy_scipy_or_pandas():
    """``--help`` of the statistics, design and IPD commands answers without numpy, scipy
    or pandas (about 1 s of imports): each command imports them when it runs."""
    for command in ("km", "logrank", "cox", "design", "simulate", "calibrate", "reconstruct"):
        assert _heavy_modules_after([command, "--help"], "Usage") == [], command
