"""Train the benchmark's models and export them to ONNX and to pickles.

Three scikit-learn classifiers are fitted on rows from ``bench/generate_data.py``
(a seed of their own, so that they are not fitted on the rows they score):

- ``forest``: a random forest, the compute-bound workload;
- ``logistic``: standard scaling and logistic regression, the I/O-bound workload;
- ``mlp``: standard scaling and a small multilayer perceptron.

Each is written as ``<name>.onnx`` with one float input ``features`` of shape
[N, 10] (columns f0 to f9 in order) and the outputs ``label`` (int64 [N]) and
``probabilities`` (float [N, 2]), without a ZipMap. The fitted pipeline is pickled
to ``<name>.pkl`` for the Python baseline. Before writing, the script checks that
onnxruntime and scikit-learn agree on the probabilities of held-out rows.

Run with the fixtures virtualenv (scripts/python-env.sh)::

    .venv/bin/python bench/models/train.py
"""

from __future__ import annotations

import argparse
import hashlib
import json
import pickle
import sys
import warnings
from pathlib import Path

import numpy as np
import onnxruntime
import skl2onnx
import sklearn
from skl2onnx import convert_sklearn
from skl2onnx.common.data_types import FloatTensorType
from sklearn.ensemble import RandomForestClassifier
from sklearn.exceptions import ConvergenceWarning
from sklearn.linear_model import LogisticRegression
from sklearn.neural_network import MLPClassifier
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

MODELS_DIR = Path(__file__).resolve().parent
sys.path.insert(0, str(MODELS_DIR.parent))
from generate_data import CHUNK_ROWS, FEATURES, make_chunk  # noqa: E402

# Fixed so that a newer onnx package exports the same graph.
TARGET_OPSET = {"": 18, "ai.onnx.ml": 3}
TRAIN_SEED = 7
TRAIN_ROWS = 200_000
HOLDOUT_ROWS = 20_000
# onnxruntime computes in float32 and scikit-learn in float64.
TOLERANCE = 1e-3


def source_sha256() -> str:
    digest = hashlib.sha256()
    for path in [Path(__file__), MODELS_DIR.parent / "generate_data.py"]:
        digest.update(path.read_bytes())
    return digest.hexdigest()


def build_models(seed: int) -> dict[str, object]:
    """Return the unfitted pipelines by name."""
    return {
        # Tens of deep trees: scoring is dominated by tree traversal.
        "forest": RandomForestClassifier(
            n_estimators=48, max_depth=12, min_samples_leaf=20, random_state=seed, n_jobs=2
        ),
        "logistic": make_pipeline(StandardScaler(), LogisticRegression(max_iter=500)),
        "mlp": make_pipeline(
            StandardScaler(),
            MLPClassifier(hidden_layer_sizes=(32, 16), max_iter=60, random_state=seed),
        ),
    }


def load_rows(rows: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Return features (float32 values as float64) and labels of ``rows`` rows."""
    parts = []
    for index in range((rows + CHUNK_ROWS - 1) // CHUNK_ROWS):
        parts.append(make_chunk(index, min(CHUNK_ROWS, rows - index * CHUNK_ROWS), seed))
    x = np.column_stack([np.concatenate([p[name] for p in parts]) for name in FEATURES])
    y = np.concatenate([p["label"] for p in parts])
    # The ONNX models take float32, so fit on values that float32 represents exactly.
    return x.astype(np.float32).astype(np.float64), y


def export_onnx(model: object, name: str) -> bytes:
    onnx_model = convert_sklearn(
        model,
        name=f"bench-{name}",
        initial_types=[("features", FloatTensorType([None, len(FEATURES)]))],
        target_opset=TARGET_OPSET,
        options={id(final_estimator(model)): {"zipmap": False}},
    )
    return onnx_model.SerializeToString()


def final_estimator(model: object) -> object:
    return model.steps[-1][1] if hasattr(model, "steps") else model


def check_onnx(model: object, onnx_bytes: bytes, x: np.ndarray, name: str) -> float:
    """Return the largest probability gap between onnxruntime and scikit-learn."""
    session = onnxruntime.InferenceSession(onnx_bytes, providers=["CPUExecutionProvider"])
    label, probabilities = session.run(None, {"features": x.astype(np.float32)})
    expected = model.predict_proba(x)
    gap = float(np.max(np.abs(probabilities - expected)))
    if gap > TOLERANCE:
        sys.exit(f"train.py: {name}: onnxruntime and scikit-learn differ by {gap:.2e}")
    if label.dtype != np.int64 or probabilities.shape != (len(x), 2):
        sys.exit(f"train.py: {name}: unexpected outputs {label.dtype} {probabilities.shape}")
    return gap


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--out-dir", type=Path, default=MODELS_DIR, help="folder for the files (default: here)"
    )
    parser.add_argument(
        "--only", choices=["forest", "logistic", "mlp"], help="train this model only"
    )
    args = parser.parse_args()
    args.out_dir.mkdir(parents=True, exist_ok=True)

    x, y = load_rows(TRAIN_ROWS + HOLDOUT_ROWS, TRAIN_SEED)
    x_train, y_train = x[:TRAIN_ROWS], y[:TRAIN_ROWS]
    x_holdout, y_holdout = x[TRAIN_ROWS:], y[TRAIN_ROWS:]
    card: dict[str, object] = {
        # bench/run.mjs trains again when this script or the data generator changes.
        "sourceSha256": source_sha256(),
        "trainRows": TRAIN_ROWS,
        "trainSeed": TRAIN_SEED,
        "versions": {
            "sklearn": sklearn.__version__,
            "skl2onnx": skl2onnx.__version__,
            "onnxruntime": onnxruntime.__version__,
        },
        "models": {},
    }
    for name, model in build_models(TRAIN_SEED).items():
        if args.only is not None and name != args.only:
            continue
        with warnings.catch_warnings():
            # The MLP stops at max_iter before it converges. That is enough here: the
            # benchmark measures scoring speed, and its accuracy is reported as it is.
            warnings.simplefilter("ignore", ConvergenceWarning)
            model.fit(x_train, y_train)
        onnx_bytes = export_onnx(model, name)
        gap = check_onnx(model, onnx_bytes, x_holdout, name)
        # Fitted with n_jobs=2; the baseline sets its own parallelism.
        if hasattr(final_estimator(model), "n_jobs"):
            final_estimator(model).n_jobs = None
        (args.out_dir / f"{name}.onnx").write_bytes(onnx_bytes)
        with open(args.out_dir / f"{name}.pkl", "wb") as file:
            pickle.dump(model, file, protocol=pickle.HIGHEST_PROTOCOL)
        card["models"][name] = {
            "accuracy": round(float(model.score(x_holdout, y_holdout)), 4),
            "onnxBytes": len(onnx_bytes),
            "onnxSha256": hashlib.sha256(onnx_bytes).hexdigest(),
            "maxProbabilityGap": gap,
            "params": {
                key: value
                for key, value in final_estimator(model).get_params().items()
                if isinstance(value, (int, float, str, tuple)) or value is None
            },
        }
        print(f"{name}: accuracy {card['models'][name]['accuracy']}, "
              f"{len(onnx_bytes):,} bytes", file=sys.stderr)
    if args.only is None:
        (args.out_dir / "models.json").write_text(json.dumps(card, indent=2) + "\n")


if __name__ == "__main__":
    main()
