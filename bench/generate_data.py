"""Generate the benchmark's input data: one CSV and one Parquet file of the same rows.

Rows are made in chunks of ``CHUNK_ROWS``, and chunk ``i`` is drawn from a generator
seeded with ``(seed, i)``. So the output depends only on ``--rows`` and ``--seed``, and
the first million rows of a 10-million-row file are the rows of the 1-million-row file.

Columns: ``id`` (int64), ``segment`` (one of a few labels), ``customer`` (a distinct
text per row) and ten float64 features ``f0`` to ``f9`` rounded to four decimals, which
keeps the CSV near 110 bytes a row. The training script also reads ``label``, which
the data files leave out.

Run with the fixtures virtualenv, which has numpy and pyarrow::

    .venv/bin/python bench/generate_data.py --rows 1000000 --out-dir bench/.data/rows-1000000
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.csv as pacsv
import pyarrow.parquet as pq

FEATURES = [f"f{i}" for i in range(10)]
SEGMENTS = np.array(["retail", "small-business", "enterprise", "public", "partner", "trial"])
# A multiple of ROW_GROUP_ROWS, so that every row group but the last is full.
CHUNK_ROWS = 131_072
# Row groups of 65,536 rows are about 6 MB, so partitions of 4 to 64 MiB can be made of
# whole row groups. Writers that put a whole file in one row group (pyarrow's default
# allows up to 1 Mi rows) leave a 1M-row file with a single partition.
ROW_GROUP_ROWS = 65_536
DEFAULT_SEED = 20_240_601


def make_chunk(index: int, rows: int, seed: int) -> dict[str, np.ndarray]:
    """Return the columns of chunk ``index``, cut to its first ``rows`` rows."""
    rng = np.random.default_rng([seed, index])
    n = CHUNK_ROWS
    f0 = rng.normal(0.0, 1.0, n)
    f1 = rng.uniform(0.0, 1.0, n)
    f2 = rng.lognormal(0.0, 0.5, n)
    f3 = rng.normal(5.0, 2.0, n)
    f4 = rng.exponential(1.0, n)
    f5 = rng.uniform(-1.0, 1.0, n)
    f6 = rng.normal(0.0, 3.0, n)
    f7 = rng.poisson(3.0, n).astype(np.float64)
    f8 = rng.beta(2.0, 5.0, n)
    f9 = 0.6 * f0 + 0.8 * rng.normal(0.0, 1.0, n)
    features = [f0, f1, f2, f3, f4, f5, f6, f7, f8, f9]
    features = [np.round(values, 4) for values in features]

    # A label that needs interactions and thresholds, so that trees have work to do.
    logit = (
        1.2 * np.sin(2.0 * features[0])
        + 2.5 * (features[1] - 0.5) * features[5]
        + 0.8 * np.log(features[2])
        - 0.3 * (features[3] - 5.0)
        + 0.7 * (features[4] > 1.5)
        + 0.15 * features[6] * features[9]
        - 0.2 * (features[7] - 3.0)
        + 2.0 * (features[8] - 0.28)
    )
    label = (logit + rng.logistic(0.0, 0.6, n) > 0).astype(np.int64)

    ids = np.arange(index * n, (index + 1) * n, dtype=np.int64)
    segment = SEGMENTS[rng.integers(0, len(SEGMENTS), n)]
    # Distinct per row, scrambled so that the column does not compress to nothing.
    scrambled = (ids * 2_654_435_761 + 97) % 10_000_000_019
    customer = np.char.add("C", np.char.zfill(scrambled.astype(str), 11))

    columns = {"id": ids, "segment": segment, "customer": customer}
    columns.update(zip(FEATURES, features))
    columns["label"] = label
    return {name: values[:rows] for name, values in columns.items()}


def chunk_table(columns: dict[str, np.ndarray]) -> pa.Table:
    """Return the chunk as an Arrow table without the label."""
    arrays = {name: pa.array(values) for name, values in columns.items() if name != "label"}
    return pa.table(arrays)


def generate(rows: int, seed: int, out_dir: Path) -> None:
    """Write ``input.csv``, ``input.parquet`` and ``manifest.json`` to ``out_dir``."""
    out_dir.mkdir(parents=True, exist_ok=True)
    csv_tmp = out_dir / "input.csv.tmp"
    parquet_tmp = out_dir / "input.parquet.tmp"
    csv_writer = None
    parquet_writer = None
    chunks = (rows + CHUNK_ROWS - 1) // CHUNK_ROWS
    try:
        for index in range(chunks):
            take = min(CHUNK_ROWS, rows - index * CHUNK_ROWS)
            table = chunk_table(make_chunk(index, take, seed))
            if csv_writer is None:
                csv_writer = pacsv.CSVWriter(str(csv_tmp), table.schema)
                parquet_writer = pq.ParquetWriter(
                    str(parquet_tmp), table.schema, compression="snappy"
                )
            csv_writer.write_table(table)
            parquet_writer.write_table(table, row_group_size=ROW_GROUP_ROWS)
    finally:
        if csv_writer is not None:
            csv_writer.close()
        if parquet_writer is not None:
            parquet_writer.close()

    # Rename last, so that an interrupted run leaves no file that looks complete.
    os.replace(csv_tmp, out_dir / "input.csv")
    os.replace(parquet_tmp, out_dir / "input.parquet")
    # bench/run.mjs makes the files again when this script changes.
    source = hashlib.sha256(Path(__file__).read_bytes()).hexdigest()
    manifest = {"rows": rows, "seed": seed, "sourceSha256": source}
    (out_dir / "manifest.json").write_text(json.dumps(manifest, indent=2) + "\n")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rows", type=int, required=True, help="rows to write")
    parser.add_argument("--out-dir", type=Path, required=True, help="folder for the files")
    parser.add_argument(
        "--seed", type=int, default=DEFAULT_SEED, help=f"base seed (default {DEFAULT_SEED})"
    )
    args = parser.parse_args()
    if args.rows < 1:
        parser.error(f"--rows must be at least 1, got {args.rows}")
    generate(args.rows, args.seed, args.out_dir)


if __name__ == "__main__":
    main()
