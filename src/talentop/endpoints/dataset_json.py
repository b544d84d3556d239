"""CDISC Dataset-JSON 1.1 for an analysis dataset (ADTTE, ADAE), written with odmlib's
Dataset-JSON 1.1 model (``odmlib.dataset_json_1_1``).

A Dataset-JSON file is one dataset: file metadata (creation time, version "1.1.0", study
and metadata-version OIDs that tie it to the ODM / Define-XML metadata), the columns
(``itemOID``, name, label, ``dataType``) and the rows as arrays in column order. Dates are
ISO 8601 text with ``dataType`` "date" (the specification's logical type for them), missing
values are ``null``.
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import pandas as pd

VERSION = "1.1.0"


def _kind(series: pd.Series) -> str:
    values = [v for v in series.tolist() if v is not None and not _missing(v)]
    if not values:
        return "string"
    if all(isinstance(v, dt.datetime) for v in values):
        return "datetime"
    if all(isinstance(v, dt.date) and not isinstance(v, dt.datetime) for v in values):
        return "date"
    if all(isinstance(v, bool) for v in values):
        return "boolean"
    if all(isinstance(v, int) and not isinstance(v, bool) for v in values):
        return "integer"
    if pd.api.types.is_integer_dtype(series.dtype):
        return "integer"
    if pd.api.types.is_float_dtype(series.dtype) or all(isinstance(v, float) for v in values):
        return "double"
    return "string"


def _missing(value: Any) -> bool:
    try:
        return bool(pd.isna(value))
    except (TypeError, ValueError):
        return False


def _cell(value: Any, kind: str) -> Any:
    if value is None or _missing(value):
        return None
    if kind == "datetime":
        return value.replace(microsecond=0).isoformat()
    if kind == "date":
        return value.isoformat()
    if kind == "integer":
        return int(value)
    if kind == "double":
        number = float(value)
        return None if math.isinf(number) else number
    if kind == "boolean":
        return bool(value)
    return str(value)


def dataset_json(
    frame: pd.DataFrame,
    *,
    name: str,
    label: str,
    labels: Mapping[str, str],
    study_oid: str,
    metadata_version_oid: str,
    created: dt.datetime,
    source_version: str,
    keys: tuple[str, ...] = (),
) -> Any:
    """The odmlib ``DatasetJSON`` of ``frame`` (column types from the values)."""
    from odmlib.dataset_json_1_1 import Column, DatasetJSON, SourceSystem

    kinds = {column: _kind(frame[column]) for column in frame.columns}
    document = DatasetJSON(
        datasetJSONCreationDateTime=created.replace(microsecond=0).isoformat(),
        datasetJSONVersion=VERSION,
        fileOID=f"{study_oid}.{name}",
        originator="talentop",
        sourceSystem=SourceSystem(name="talentop", version=source_version),
        studyOID=study_oid,
        metaDataVersionOID=metadata_version_oid,
        itemGroupOID=f"IG.{name}",
        records=len(frame),
        name=name,
        label=label,
    )
    for column in frame.columns:
        options: dict[str, Any] = {}
        if column in keys:
            options["keySequence"] = keys.index(column) + 1
        document.add_column(
            Column(
                itemOID=f"IT.{name}.{column}",
                name=str(column),
                label=str(labels.get(column, str(column).title()))[:40],
                dataType=kinds[column],
                **options,
            )
        )
    for row in frame.itertuples(index=False, name=None):
        document.add_row([_cell(v, kinds[c]) for v, c in zip(row, frame.columns, strict=True)])
    return document


def write_dataset_json(document: Any, path: str | Path) -> Path:
    """Write one Dataset-JSON document (UTF-8, indented)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(document.to_json(indent=1), encoding="utf-8")
    return path
