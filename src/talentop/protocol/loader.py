"""Load a protocol file by name (shipped with the package) or path; report every problem.

A malformed file raises ``ProtocolError`` whose ``problems`` hold one line per problem,
each starting with its YAML path, e.g. ``induction.cycles[3].drugs[0].dose: ...``.
"""

from __future__ import annotations

from importlib import resources
from pathlib import Path
from typing import Any

import yaml
from pydantic import ValidationError

from talentop.errors import ProtocolError
from talentop.protocol.models import Protocol, cross_check

__all__ = ["available_protocols", "load_protocol", "protocol_from_mapping"]

_PACKAGE = "talentop.protocol"


def available_protocols() -> list[str]:
    """Names of the protocols shipped with talentop (the ``*.yaml`` files of this package)."""
    folder = resources.files(_PACKAGE)
    return sorted(p.name[: -len(".yaml")] for p in folder.iterdir() if p.name.endswith(".yaml"))


def _path(loc: tuple[Any, ...]) -> str:
    """('induction', 'cycles', 3, 'drugs', 0, 'dose') -> 'induction.cycles[3].drugs[0].dose'."""
    text = ""
    for part in loc:
        if isinstance(part, int):
            text += f"[{part}]"
        else:
            text += f".{part}" if text else str(part)
    return text or "(top level)"


def _problems(error: ValidationError) -> list[str]:
    problems: list[str] = []
    for item in error.errors():
        base = _path(item["loc"])
        nested = (item.get("ctx") or {}).get("problems")
        if nested:
            for sub_path, message in nested:
                # Rule problems are relative to the rule; cross-checks are from the top.
                if item["type"] == "rule_vocabulary":
                    full = base if sub_path == "rule" else f"{base}.{sub_path}"
                else:
                    full = f"{base}.{sub_path}" if base != "(top level)" else sub_path
                problems.append(f"{full}: {message}")
            continue
        message = item["msg"]
        if message.startswith("Value error, "):
            message = message[len("Value error, ") :]
        if item["type"] not in ("missing", "model_type") and "input" in item:
            message += f" (got {item['input']!r})"
        problems.append(f"{base}: {message}")
    return problems


def protocol_from_mapping(data: Any, *, source: str = "<mapping>") -> Protocol:
    """Validate already-parsed protocol data; ``ProtocolError`` lists every problem."""
    if not isinstance(data, dict):
        raise ProtocolError(
            f"{source}: expected a mapping at the top level, got {type(data).__name__}"
        )
    try:
        return Protocol.model_validate(data)
    except ValidationError as exc:
        problems = _problems(exc)
        # Field errors stop pydantic before the model-level cross-checks; run them on the
        # raw data so one round of editing fixes everything.
        for path, message in cross_check(data):
            line = f"{path}: {message}"
            if line not in problems:
                problems.append(line)
        raise ProtocolError([f"{source}: {p}" for p in problems]) from None


def load_protocol(name_or_path: str | Path) -> Protocol:
    """Load a shipped protocol by name (``"talentop"``, ``"talentace"``) or a YAML file path."""
    text, source = _read(name_or_path)
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" line {mark.line + 1}, column {mark.column + 1}" if mark else ""
        raise ProtocolError(f"{source}:{where} not valid YAML ({exc})") from None
    return protocol_from_mapping(data, source=source)


def _read(name_or_path: str | Path) -> tuple[str, str]:
    text_name = str(name_or_path)
    if text_name in available_protocols():
        file = resources.files(_PACKAGE) / f"{text_name}.yaml"
        return file.read_text(encoding="utf-8"), f"{text_name}.yaml"
    path = Path(name_or_path)
    if path.suffix in (".yaml", ".yml") or path.exists():
        if not path.is_file():
            raise ProtocolError(f"{path}: no such protocol file")
        return path.read_text(encoding="utf-8"), str(path)
    raise ProtocolError(
        f"protocol={text_name!r}: expected a YAML file path or one of {available_protocols()}"
    )
