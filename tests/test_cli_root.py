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
