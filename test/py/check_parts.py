"""Check the part files of one batchscore run with pyarrow.

Usage::

    .venv/bin/python test/py/check_parts.py OUT_DIR \
        [--expect-rows N] [--expect-columns a,b,c]

Reads every ``part-*.parquet`` or ``part-*.arrow`` file in OUT_DIR, with
pyarrow as a reader independent of the library, and checks that:

- all parts have the same schema (field names, types and nullability);
- ``model_version`` is a string column whose one distinct value equals the
  ``batchscore.model_version`` metadata value;
- ``scored_at`` is a UTC timestamp column (any unit) with one distinct value
  and no nulls;
- the key-value metadata of every part (the Parquet footer's, or the Arrow
  schema's) has a ``batchscore`` entry, a JSON object with ``model_version``,
  ``model_sha256``, ``version`` and ``run_id``, reported here as
  ``batchscore.model_version`` and so on, with the same values in every part;
- the total row count and the column names match ``--expect-rows`` and
  ``--expect-columns`` when they are given.

Prints a JSON summary to stdout. Exits with 1 after printing each failed
check to stderr, and with 2 on invalid arguments.
"""

from __future__ import annotations

import argparse
import json
import sys
from dataclasses import dataclass
from pathlib import Path

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.ipc as ipc
import pyarrow.parquet as pq

REQUIRED_METADATA = (
    "batchscore.model_version",
    "batchscore.model_sha256",
    "batchscore.version",
    "batchscore.run_id",
)
UTC_NAMES = ("UTC", "Etc/UTC", "+00:00")
FORMATS = {".parquet": "parquet", ".arrow": "arrow"}


@dataclass
class Part:
    path: Path
    table: pa.Table
    metadata: dict[str, str]


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description="Check the part files of one batchscore run."
    )
    parser.add_argument(
        "out_dir",
        type=Path,
        help="folder with part-*.parquet or part-*.arrow files",
    )
    parser.add_argument(
        "--expect-rows", type=int, metavar="N", help="expected total row count"
    )
    parser.add_argument(
        "--expect-columns",
        metavar="A,B,C",
        help="expected column names, comma-separated, in schema order",
    )
    return parser.parse_args()


def decode_metadata(raw: dict[bytes, bytes] | None) -> dict[str, str]:
    """Decode key-value metadata, showing only the size of the Arrow schema."""
    decoded = {}
    for key, value in (raw or {}).items():
        name = key.decode("utf-8", errors="replace")
        if name == "ARROW:schema":
            decoded[name] = f"<{len(value)} bytes>"
        elif name == "batchscore":
            # One JSON entry, because parquet-wasm writes several entries in an order
            # that changes from call to call, which would make reruns differ in bytes.
            for field, field_value in json.loads(value).items():
                decoded[f"batchscore.{field}"] = str(field_value)
        else:
            decoded[name] = value.decode("utf-8", errors="replace")
    return decoded


def read_part(path: Path) -> Part:
    if path.suffix == ".parquet":
        parquet_file = pq.ParquetFile(path)
        return Part(
            path,
            parquet_file.read(),
            decode_metadata(parquet_file.metadata.metadata),
        )

    # Arrow IPC comes as the file format (with footer) or the streaming format.
    try:
        with ipc.open_file(path) as reader:
            table = reader.read_all()
    except pa.ArrowInvalid:
        with ipc.open_stream(path) as reader:
            table = reader.read_all()
    return Part(path, table, decode_metadata(table.schema.metadata))


def find_parts(out_dir: Path, errors: list[str]) -> list[Path]:
    if not out_dir.is_dir():
        errors.append(f"{out_dir} is not a folder")
        return []
    paths = sorted(
        p for p in out_dir.glob("part-*") if p.suffix in FORMATS and p.is_file()
    )
    if not paths:
        errors.append(f"no part-*.parquet or part-*.arrow files in {out_dir}")
    formats = {FORMATS[p.suffix] for p in paths}
    if len(formats) > 1:
        errors.append(f"{out_dir} mixes formats: {', '.join(sorted(formats))}")
    return paths


def check_schemas(parts: list[Part], errors: list[str]) -> None:
    first = parts[0]
    for part in parts[1:]:
        if part.table.schema.equals(first.table.schema, check_metadata=False):
            continue
        errors.append(
            f"schema of {part.path.name} differs from {first.path.name}:\n"
            f"  {first.path.name}: {describe_schema(first.table.schema)}\n"
            f"  {part.path.name}: {describe_schema(part.table.schema)}"
        )


def describe_schema(schema: pa.Schema) -> str:
    fields = [
        f"{f.name}: {f.type}{'' if f.nullable else ' not null'}" for f in schema
    ]
    return ", ".join(fields)


def check_metadata(parts: list[Part], errors: list[str]) -> dict[str, str]:
    """Check the required keys in every part.

    Return the first part's metadata.
    """
    first = parts[0]
    for part in parts:
        missing = [key for key in REQUIRED_METADATA if key not in part.metadata]
        if missing:
            errors.append(
                f"{part.path.name}: metadata has no {', '.join(missing)}"
            )
        for key in REQUIRED_METADATA:
            if key not in part.metadata or key not in first.metadata:
                continue
            value, expected = part.metadata[key], first.metadata[key]
            if value != expected:
                errors.append(
                    f"{part.path.name}: metadata {key} is {value!r}, "
                    f"but {first.path.name} has {expected!r}"
                )
    return first.metadata


def distinct_values(table: pa.Table, column: str) -> tuple[pa.Array, int]:
    """Return the distinct non-null values of a column and its null count."""
    values = table.column(column)
    return pc.unique(values.drop_null()), values.null_count


def format_timestamps(values: pa.Array, errors: list[str]) -> list[str]:
    """Format timestamps as ISO 8601 and report any out of Python's range."""
    formatted = []
    raw = values.cast(pa.int64()).to_pylist()
    for index, value in enumerate(values):
        try:
            formatted.append(value.as_py().isoformat())
        except (OverflowError, ValueError):
            unit = values.type.unit
            errors.append(
                f"scored_at value {raw[index]} {unit} is out of range"
            )
            formatted.append(f"{raw[index]} {unit}")
    return formatted


def check_model_version(
    table: pa.Table, metadata: dict[str, str], errors: list[str]
) -> dict | None:
    if "model_version" not in table.column_names:
        errors.append("no model_version column")
        return None
    column_type = table.schema.field("model_version").type
    if not (
        pa.types.is_string(column_type)
        or pa.types.is_large_string(column_type)
        or pa.types.is_string_view(column_type)
    ):
        errors.append(f"model_version is {column_type}, expected a string type")
        return {"type": str(column_type)}

    unique, nulls = distinct_values(table, "model_version")
    values = unique.to_pylist()
    expected = metadata.get("batchscore.model_version")
    if nulls:
        errors.append(f"model_version has {nulls} null values")
    if table.num_rows and values != [expected]:
        errors.append(
            f"model_version values {values!r} differ from the metadata value "
            f"batchscore.model_version={expected!r}"
        )
    return {"type": str(column_type), "values": values}


def check_scored_at(table: pa.Table, errors: list[str]) -> dict | None:
    if "scored_at" not in table.column_names:
        errors.append("no scored_at column")
        return None
    column_type = table.schema.field("scored_at").type
    if not pa.types.is_timestamp(column_type):
        errors.append(
            f"scored_at is {column_type}, expected timestamp with tz=UTC"
        )
        return {"type": str(column_type)}

    summary = {
        "type": str(column_type),
        "unit": column_type.unit,
        "tz": column_type.tz,
    }
    if column_type.tz not in UTC_NAMES:
        errors.append(
            f"scored_at time zone is {column_type.tz!r}, expected UTC"
        )
    values, nulls = distinct_values(table, "scored_at")
    summary["values"] = format_timestamps(values, errors)
    if nulls:
        errors.append(f"scored_at has {nulls} null values")
    if table.num_rows and len(values) != 1:
        errors.append(
            f"scored_at has {len(values)} distinct values, expected 1"
        )
    return summary


def check_expectations(
    args: argparse.Namespace, rows: int, table: pa.Table, errors: list[str]
) -> None:
    if args.expect_rows is not None and rows != args.expect_rows:
        errors.append(
            f"parts have {rows} rows in total, expected {args.expect_rows}"
        )
    if args.expect_columns is not None:
        expected = [
            name.strip()
            for name in args.expect_columns.split(",")
            if name.strip()
        ]
        if table.column_names != expected:
            errors.append(
                f"columns are {table.column_names}, expected {expected}"
            )


def check(args: argparse.Namespace) -> tuple[dict, list[str]]:
    errors: list[str] = []
    paths = find_parts(args.out_dir, errors)
    summary: dict = {"out_dir": str(args.out_dir), "parts": []}

    parts = []
    for path in paths:
        try:
            parts.append(read_part(path))
        except (OSError, pa.ArrowException) as error:
            errors.append(f"{path.name}: read failed: {error}")
    if not parts:
        return summary, errors

    check_schemas(parts, errors)
    metadata = check_metadata(parts, errors)
    # Concatenation needs equal schemas, so parts whose schema differs from the
    # first part's are left out of the column checks.
    same_schema = [
        p.table
        for p in parts
        if p.table.schema.equals(parts[0].table.schema, check_metadata=False)
    ]
    table = pa.concat_tables(same_schema)

    summary.update(
        {
            "format": FORMATS[parts[0].path.suffix],
            "parts": [
                {"file": p.path.name, "rows": p.table.num_rows} for p in parts
            ],
            "rows": sum(p.table.num_rows for p in parts),
            "columns": [
                {"name": f.name, "type": str(f.type), "nullable": f.nullable}
                for f in table.schema
            ],
            "model_version": check_model_version(table, metadata, errors),
            "scored_at": check_scored_at(table, errors),
            "metadata": metadata,
        }
    )
    check_expectations(args, summary["rows"], table, errors)
    return summary, errors


def main() -> int:
    args = parse_args()
    summary, errors = check(args)
    summary["ok"] = not errors
    summary["errors"] = errors
    print(json.dumps(summary, indent=2))
    for error in errors:
        print(f"check_parts.py: {error}", file=sys.stderr)
    return 1 if errors else 0


if __name__ == "__main__":
    sys.exit(main())
