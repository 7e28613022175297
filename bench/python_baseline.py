"""Score the benchmark data with scikit-learn in Python, the baselines of bench/run.mjs.

Pipelines, each timed from loading the pickled model to the last Parquet file on disk:

- ``dask-csv``: ``dask.dataframe.read_csv`` -> ``map_partitions`` (predict_proba) ->
  ``to_parquet``, on Dask's threaded scheduler with ``--workers`` threads. Blocks are
  32 MiB, or smaller so that there are at least two partitions per thread, because
  whole 32 MiB blocks leave a thread idle on a 100 MB file. batchscore sizes its
  partitions the same way by default.
- ``dask-parquet``: the same from ``read_parquet`` with a partition per row group,
  because Dask's default reads a single-file dataset as one partition;
- ``pandas-csv``: one thread, ``pandas.read_csv(chunksize=...)``, one
  ``predict_proba`` per chunk, every chunk appended to one Parquet file.

Each writes the input columns plus ``label``, ``probabilities_0`` and
``probabilities_1``, like batchscore without its ``model_version`` and ``scored_at``
columns. Prints one line ``BENCH_RESULT {json}`` with the figures.

Run with bench/.venv (bench/python-env.sh)::

    bench/.venv/bin/python bench/python_baseline.py --pipeline dask-csv \\
        --model bench/models/forest.pkl --input bench/.data/rows-1000000/input.csv \\
        --output /tmp/scored
"""

from __future__ import annotations

import argparse
import json
import pickle
import resource
import shutil
import time
from importlib.metadata import version
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

FEATURES = [f"f{i}" for i in range(10)]
RESULT_PREFIX = "BENCH_RESULT "
# Dask's read_csv block size when psutil is not installed (it is not in bench/.venv),
# and batchscore's default partitionBytes.
DASK_CSV_BLOCKSIZE = 32 * 1024 * 1024


def score_frame(frame: pd.DataFrame, model: object) -> pd.DataFrame:
    """Return ``frame`` with the predicted label and both class probabilities added."""
    probabilities = model.predict_proba(frame[FEATURES].to_numpy(dtype=np.float64))
    return frame.assign(
        label=model.classes_[probabilities.argmax(axis=1)].astype(np.int64),
        probabilities_0=probabilities[:, 0].astype(np.float32),
        probabilities_1=probabilities[:, 1].astype(np.float32),
    )


def run_dask(source: str, path: Path, model: object, output: Path, workers: int) -> int:
    import dask
    import dask.dataframe as dd

    if source == "csv":
        blocksize = min(DASK_CSV_BLOCKSIZE, -(-path.stat().st_size // (2 * workers)))
        frame = dd.read_csv(str(path), blocksize=blocksize)
    else:
        frame = dd.read_parquet(str(path), split_row_groups=True)
    meta = score_frame(frame._meta, _MetaModel(model))
    scored = frame.map_partitions(score_frame, model, meta=meta)
    with dask.config.set(scheduler="threads", num_workers=workers):
        scored.to_parquet(str(output), write_index=False)
    return frame.npartitions


class _MetaModel:
    """Stands in for the model on Dask's empty metadata frame, which has no rows to score."""

    def __init__(self, model: object) -> None:
        self.classes_ = model.classes_

    def predict_proba(self, x: np.ndarray) -> np.ndarray:
        return np.zeros((len(x), len(self.classes_)))


def run_pandas(path: Path, model: object, output: Path, chunk_rows: int) -> int:
    output.mkdir(parents=True, exist_ok=True)
    writer = None
    chunks = 0
    try:
        for chunk in pd.read_csv(path, chunksize=chunk_rows):
            table = pa.Table.from_pandas(score_frame(chunk, model), preserve_index=False)
            if writer is None:
                writer = pq.ParquetWriter(str(output / "scored.parquet"), table.schema)
            writer.write_table(table)
            chunks += 1
    finally:
        if writer is not None:
            writer.close()
    return chunks


def cpu_since(start: resource.struct_rusage | None) -> float:
    """Return the CPU seconds, user and system, that the process used since ``start``
    (since it started when ``start`` is None)."""
    now = resource.getrusage(resource.RUSAGE_SELF)
    if start is None:
        return now.ru_utime + now.ru_stime
    return now.ru_utime - start.ru_utime + now.ru_stime - start.ru_stime


def count_rows(output: Path) -> int:
    return sum(pq.ParquetFile(part).metadata.num_rows for part in sorted(output.glob("*.parquet")))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--pipeline", required=True, choices=["dask-csv", "dask-parquet", "pandas-csv"]
    )
    parser.add_argument("--model", type=Path, required=True, help="pickled scikit-learn model")
    parser.add_argument("--input", type=Path, required=True, help="CSV or Parquet input file")
    parser.add_argument("--output", type=Path, required=True, help="output folder, replaced")
    parser.add_argument("--workers", type=int, default=2, help="Dask threads (default 2)")
    parser.add_argument(
        "--chunk-rows", type=int, default=65_536, help="rows per pandas chunk (default 65536)"
    )
    args = parser.parse_args()
    shutil.rmtree(args.output, ignore_errors=True)

    started = time.perf_counter()
    usage = resource.getrusage(resource.RUSAGE_SELF)
    with open(args.model, "rb") as file:
        model = pickle.load(file)
    if args.pipeline == "pandas-csv":
        partitions = run_pandas(args.input, model, args.output, args.chunk_rows)
    else:
        source = args.pipeline.removeprefix("dask-")
        partitions = run_dask(source, args.input, model, args.output, args.workers)
    duration_ms = (time.perf_counter() - started) * 1000
    cpu_seconds = cpu_since(usage)

    rows = count_rows(args.output)
    output_bytes = sum(part.stat().st_size for part in args.output.glob("*.parquet"))
    shutil.rmtree(args.output, ignore_errors=True)
    result = {
        "rows": rows,
        "durationMs": duration_ms,
        "rowsPerSecond": rows / duration_ms * 1000,
        "cpuSeconds": cpu_seconds,
        "partitions": partitions,
        "outputBytes": output_bytes,
        # ru_maxrss is in KiB on Linux; the threaded scheduler keeps all work in this process.
        "peakRssMiB": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
        # All the CPU time of the process since it started, to tell it from other load.
        "processCpuSeconds": cpu_since(None),
        "versions": {
            name: version(name) for name in ["dask", "pandas", "pyarrow", "scikit-learn", "numpy"]
        },
    }
    print(RESULT_PREFIX + json.dumps(result), flush=True)


if __name__ == "__main__":
    main()
