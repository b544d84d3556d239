"""Reading the files people really have: any common encoding, delimiter and size, or a clear
message naming the file and what was expected. Never a traceback.

What is read (stated in ``docs/limits.md``):

- encodings: UTF-8 (with or without a byte-order mark), UTF-16 with a BOM, and, when a file
  is not valid UTF-8, Windows-1252 (Excel's "CSV" export on Windows; a superset of
  Latin-1 for printable text), then Latin-1. A note names the encoding used when it was not
  UTF-8. Binary data (NUL bytes, or many control characters) is refused.
- delimiters: comma, semicolon, tab or vertical bar, whichever the header line uses most
  (outside quotes). A semicolon file may write decimals with a comma (``1,5``): its numbers
  are read as such (Excel in continental Europe).
- sizes: at most ``MAX_FILE_BYTES`` per file and ``MAX_FIELD_CHARS`` per CSV field; JSON at
  most ``MAX_JSON_BYTES`` and ``MAX_JSON_DEPTH`` levels deep.
- row numbers in every message: ``row N`` is the N-th data row (``row 1`` is the first row
  after the header, i.e. line 2 of the file), for every command.
"""

from __future__ import annotations

import csv
import difflib
import io
import json
import os
import re
import unicodedata
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

from talentop.errors import InvalidInput

#: Largest file any command reads (a CSV of a million screened patients is ~300 MB).
MAX_FILE_BYTES = 512 * 2**20
#: Longest CSV field (Python's csv module stops at 131,072 characters by default).
MAX_FIELD_CHARS = 2**20
#: Largest JSON file, and its deepest nesting (a RECIST case is 4 levels deep).
MAX_JSON_BYTES = 64 * 2**20
MAX_JSON_DEPTH = 64
#: Delimiters tried on the header line, in order of preference on a tie.
DELIMITERS = (",", ";", "\t", "|")
#: Share of control characters (other than tab / newline / carriage return / form feed)
#: above which decoded text is binary data, not a table.
_CONTROL_SHARE = 0.01

ROW_RULE = "row 1 = the first data row after the header"


def check_path(path: Path, option: str, expected: str) -> Path:
    """An existing, readable, not-too-large regular file; else InvalidInput naming it."""
    if path.is_dir():
        raise InvalidInput(f"{path}: is a directory; expected {expected} ({option})")
    if not path.exists():
        raise InvalidInput(f"{path}: no such file; expected {expected} ({option})")
    if not path.is_file():
        raise InvalidInput(f"{path}: not a regular file; expected {expected} ({option})")
    size = path.stat().st_size
    if size > MAX_FILE_BYTES:
        raise InvalidInput(
            f"{path}: {size / 2**20:,.0f} MiB; expected at most "
            f"{MAX_FILE_BYTES / 2**20:,.0f} MiB per file (split it)"
        )
    return path


def _is_binary(text: str) -> bool:
    sample = text[:65536]
    controls = sum(1 for ch in sample if unicodedata.category(ch) == "Cc" and ch not in "\t\n\r\f")
    return "\x00" in sample or controls > _CONTROL_SHARE * max(len(sample), 1)


def decode(raw: bytes, path: Path, *, utf8_only: bool = False) -> tuple[str, str]:
    """Text and the encoding it was read with (utf-8, utf-16, cp1252 or latin-1).

    ``utf8_only`` (JSON, which RFC 8259 requires to be UTF-8): no 8-bit fallback.
    """
    if utf8_only:
        try:
            return raw.decode("utf-8-sig"), "utf-8"
        except UnicodeDecodeError as exc:
            raise InvalidInput(
                f"{path}: not valid JSON (not UTF-8 text: byte 0x{raw[exc.start]:02x} at "
                f"position {exc.start}; JSON files must be UTF-8)"
            ) from None
    if raw.startswith((b"\xff\xfe", b"\xfe\xff")):
        try:
            return raw.decode("utf-16"), "utf-16"
        except UnicodeDecodeError:
            pass
    elif b"\x00" not in raw[:65536]:
        for encoding in ("utf-8-sig", "cp1252", "latin-1"):
            try:
                text = raw.decode(encoding)
            except UnicodeDecodeError:
                continue
            if not _is_binary(text):
                return text, "utf-8" if encoding == "utf-8-sig" else encoding
            break
    raise InvalidInput(
        f"{path}: binary data, not text; expected a CSV or JSON text file "
        "(is this a spreadsheet .xlsx? save it as CSV first)"
    )


def read_text(
    path: Path, option: str, expected: str, *, limit: int = MAX_FILE_BYTES, utf8_only: bool = False
) -> tuple[str, str]:
    """Check, read and decode a text file; InvalidInput if it is empty or binary."""
    check_path(path, option, expected)
    raw = path.read_bytes()
    if len(raw) > limit:
        raise InvalidInput(
            f"{path}: {len(raw) / 2**20:,.1f} MiB; expected at most {limit / 2**20:,.0f} MiB"
        )
    if not raw.strip():
        raise InvalidInput(f"{path}: empty file; expected {expected}")
    return decode(raw, path, utf8_only=utf8_only)


def encoding_note(path: Path, encoding: str) -> list[str]:
    """A note when the file was not UTF-8 (the user may want to know; nothing is lost)."""
    if encoding in ("utf-8", "utf-16"):
        return []
    name = {"cp1252": "Windows-1252", "latin-1": "Latin-1"}[encoding]
    return [f"{path}: not UTF-8; read as {name} (e.g. an Excel CSV export)"]


def sniff_delimiter(text: str) -> str:
    """The delimiter the header line uses most, outside quoted parts (comma if none)."""
    header = next((line for line in text.splitlines() if line.strip()), "")
    unquoted = re.sub(r'"[^"]*"', "", header)
    counts = {d: unquoted.count(d) for d in DELIMITERS}
    best = max(DELIMITERS, key=lambda d: counts[d])
    return best if counts[best] else ","


_DECIMAL_COMMA = re.compile(r"^\s*[-+]?\d+,\d+\s*$")


def decimal_point(value: str, delimiter: str) -> str:
    """'1,5' -> '1.5' in a semicolon-delimited file (continental Excel); else unchanged."""
    if delimiter == ";" and _DECIMAL_COMMA.match(value):
        return value.replace(",", ".")
    return value


def csv_rows(text: str, path: Path) -> tuple[list[str], Iterator[tuple[int, list[str]]], str]:
    """Header, an iterator of (row number, cells) and the delimiter of a decoded CSV text.

    Blank lines are skipped (not counted as rows). A field longer than MAX_FIELD_CHARS or
    an unterminated quote is InvalidInput naming the row.
    """
    delimiter = sniff_delimiter(text)
    csv.field_size_limit(MAX_FIELD_CHARS)
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter, strict=True)

    def rows() -> Iterator[tuple[int, list[str]]]:
        number = 0
        try:
            for cells in reader:
                if not any(cell.strip() for cell in cells):
                    continue
                number += 1
                if number == 1:
                    continue  # the header, returned separately
                yield number - 1, cells
        except csv.Error as exc:
            if "field larger than field limit" in str(exc):
                raise InvalidInput(
                    f"{path}: row {number}: a field longer than {MAX_FIELD_CHARS:,} characters;"
                    f" expected at most {MAX_FIELD_CHARS:,} per field (is this the right file?"
                    " a quote left open swallows the rest of the file into one field)"
                ) from None
            raise InvalidInput(
                f"{path}: line {reader.line_num}: not readable as CSV ({exc}); expected "
                f"delimited text with a header row ({ROW_RULE})"
            ) from None

    iterator = rows()
    first_line = next((line for line in text.splitlines() if line.strip()), "")
    try:
        header_cells = next(csv.reader([first_line], delimiter=delimiter))
    except (StopIteration, csv.Error) as exc:
        raise InvalidInput(f"{path}: no readable header row; expected a CSV file ({exc})") from None
    header = [cell.strip() for cell in header_cells]
    return header, iterator, delimiter


def read_json(path: Path, option: str, expected: str) -> Any:
    """Parse a JSON file; InvalidInput for bad syntax, too large, or nested too deeply."""
    text, _ = read_text(path, option, expected, limit=MAX_JSON_BYTES, utf8_only=True)
    depth = _max_depth(text)
    if depth > MAX_JSON_DEPTH:
        raise InvalidInput(
            f"{path}: JSON nested {depth:,} levels deep; expected at most {MAX_JSON_DEPTH} "
            f"({expected})"
        )
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        raise InvalidInput(
            f"{path}: not valid JSON (line {exc.lineno}, column {exc.colno}: {exc.msg})"
        ) from None
    except RecursionError:  # pragma: no cover - _max_depth refuses these first
        raise InvalidInput(f"{path}: JSON nested too deeply; expected {expected}") from None


def _max_depth(text: str) -> int:
    """Deepest [ / { nesting outside strings, counted without recursion."""
    depth = deepest = 0
    in_string = escaped = False
    for ch in text:
        if in_string:
            if escaped:
                escaped = False
            elif ch == "\\":
                escaped = True
            elif ch == '"':
                in_string = False
        elif ch == '"':
            in_string = True
        elif ch in "[{":
            depth += 1
            deepest = max(deepest, depth)
        elif ch in "]}":
            depth -= 1
    return deepest


def normalise(name: str) -> str:
    """Column name for matching: case, spaces and punctuation ignored ('Albumin g/L' ->
    'albumin_g_l'), so a header typed by hand matches the field it means."""
    text = unicodedata.normalize("NFKC", str(name)).strip().lower()
    return re.sub(r"[^0-9a-z]+", "_", text).strip("_")


def suggest(name: str, known: Sequence[str]) -> str:
    """'did you mean X?' only when one known name is clearly closest; a list when several
    are about as close (a hint must never point at the wrong field); '' when none is."""
    target = normalise(name)
    if "uln" not in target.split("_"):  # a value column is never an upper limit of normal
        known = [k for k in known if "uln" not in normalise(k).split("_")] or list(known)
    scored = sorted(
        ((difflib.SequenceMatcher(None, target, normalise(k)).ratio(), k) for k in known),
        reverse=True,
    )
    scored = [(score, k) for score, k in scored if score >= 0.75]
    prefix = [k for k in known if normalise(k).startswith(target + "_")] if target else []
    if len(prefix) > 1:  # 'bilirubin' -> every unit of it, the user must pick
        return "did you mean one of " + ", ".join(repr(k) for k in prefix) + "? (give the unit)"
    if not scored:
        return f"did you mean {prefix[0]!r}?" if prefix else ""
    best = scored[0][0]
    close = [k for score, k in scored if best - score < 0.05]
    if len(close) > 1:  # as close by letters: the one sharing most whole words (the unit)
        words = set(target.split("_"))
        shared = {k: len(words & set(normalise(k).split("_"))) for k in close}
        top = max(shared.values())
        close = [k for k in close if shared[k] == top]
    if len(close) > 1:
        return "did you mean one of " + ", ".join(repr(k) for k in close) + "?"
    return f"did you mean {close[0]!r}?"


def resolve_column(columns: Sequence[str], name: str, option: str, path: Path) -> str:
    """The column ``name`` means: exact, else the one equal after `normalise` (case,
    spaces); InvalidInput if none or several match, with a suggestion if one is close."""
    if name in columns:
        return name
    matches = [c for c in columns if normalise(c) == normalise(name)]
    if len(matches) == 1:
        return matches[0]
    if len(matches) > 1:
        raise InvalidInput(
            f"{option}={name!r}: matches several columns of {path} ({matches}); rename one"
        )
    hint = suggest(name, list(columns))
    raise InvalidInput(
        f"{option}: column {name!r} not found in {path}"
        + (f"; {hint}" if hint else "")
        + f" (columns: {', '.join(map(str, columns))})"
    )


def output_dir(path: Path, option: str = "--out", *, create: bool = True) -> Path:
    """A folder to write into: created if missing (unless ``create`` is False: then only
    checked); InvalidInput naming the path if it is a file, lies under a file, or cannot
    be written (checked before any work starts)."""
    if path.exists() and not path.is_dir():
        raise InvalidInput(f"{option}={str(path)!r}: is an existing file; expected a folder")
    parent = next((p for p in [path, *path.parents] if p.exists()), None)
    if parent is not None and not parent.is_dir():
        raise InvalidInput(f"{option}={str(path)!r}: {parent} is a file, not a folder")
    if not create:
        if parent is not None and not os.access(parent, os.W_OK | os.X_OK):
            raise InvalidInput(f"{option}={str(path)!r}: no permission to write in {parent}")
        return path
    try:
        path.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise InvalidInput(
            f"{option}={str(path)!r}: cannot create the folder ({exc.strerror or exc})"
        ) from None
    if not os.access(path, os.W_OK | os.X_OK):
        raise InvalidInput(f"{option}={str(path)!r}: no permission to write in this folder")
    return path


def output_file(path: Path, option: str, *, overwrite: bool = False) -> Path:
    """A file to write: its folder must exist (or be creatable) and be writable; an existing
    file is refused unless ``overwrite`` (nothing is replaced silently)."""
    if path.is_dir():
        raise InvalidInput(f"{option}={str(path)!r}: is a folder; expected a file name")
    if path.exists() and not overwrite:
        raise InvalidInput(
            f"{option}={str(path)!r}: already exists; expected a new file (or --force)"
        )
    output_dir(path.parent if str(path.parent) else Path("."), option)
    return path
