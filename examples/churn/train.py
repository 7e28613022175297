"""Train the churn example's model and export it to ONNX.

Generates customers with ``generate.mjs`` (or reads ``--csv``), fits a
scikit-learn pipeline, and writes ``model/churn.onnx`` and
``model/model-card.json``. Before writing, it checks that onnxruntime
reproduces scikit-learn's labels and probabilities on the holdout rows.

The model has one input per feature column, named like the CSV column, with
shape [None, 1]. Numeric columns, integers included, are FLOAT, and a blank
``total_charges`` is NaN. Categorical columns are STRING. The outputs are
skl2onnx's defaults for a classifier: ``output_label`` (INT64 [None]) and
``output_probability``, a ZipMap sequence of {class: probability} maps.

Run from the repository root after ``scripts/python-env.sh``::

    .venv/bin/python examples/churn/train.py
"""

from __future__ import annotations

import argparse
import hashlib
import json
import platform
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np
import onnx
import onnxruntime
import pandas as pd
import skl2onnx
import sklearn
from skl2onnx import convert_sklearn
from skl2onnx.common.data_types import FloatTensorType, StringTensorType
from sklearn.compose import ColumnTransformer
from sklearn.ensemble import GradientBoostingClassifier
from sklearn.impute import SimpleImputer
from sklearn.metrics import accuracy_score, roc_auc_score
from sklearn.model_selection import train_test_split
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import OneHotEncoder, StandardScaler

EXAMPLE_DIR = Path(__file__).resolve().parent
GENERATOR = EXAMPLE_DIR / "generate.mjs"

# Model inputs, in the order of the CSV columns.
FEATURES = [
    "age",
    "tenure_months",
    "monthly_charges",
    "total_charges",
    "contract",
    "payment_method",
    "support_calls",
    "has_fiber",
    "region",
]
NUMERIC = [
    "age",
    "tenure_months",
    "monthly_charges",
    "total_charges",
    "support_calls",
]
CATEGORICAL = ["contract", "payment_method", "has_fiber", "region"]
LABEL = "churned"

# Fixed so that regenerating with a newer onnx package gives the same graph.
TARGET_OPSET = {"": 18, "ai.onnx.ml": 3}
TOLERANCE = 1e-4
HOLDOUT_FRACTION = 0.2
CLASSIFIER_PARAMS = {"n_estimators": 80, "max_depth": 3, "learning_rate": 0.1}


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--csv",
        type=Path,
        help="customers CSV to train on (default: generate one)",
    )
    parser.add_argument(
        "--rows",
        type=int,
        default=50_000,
        help="rows to generate when --csv is not given (default 50000)",
    )
    parser.add_argument(
        "--seed",
        type=int,
        default=42,
        help="seed of the generator, the split and the classifier (default 42)",
    )
    parser.add_argument(
        "--out-dir",
        type=Path,
        default=EXAMPLE_DIR / "model",
        help="folder for churn.onnx and model-card.json "
        "(default examples/churn/model)",
    )
    return parser.parse_args()


def generator_command(rows: int, seed: int) -> str:
    return f"node examples/churn/generate.mjs --rows {rows} --seed {seed}"


def generate_csv(path: Path, rows: int, seed: int) -> None:
    command = ["node", str(GENERATOR), "--rows", str(rows), "--seed", str(seed)]
    subprocess.run([*command, "--out", str(path), "--quiet"], check=True)


def read_customers(path: Path) -> pd.DataFrame:
    """Read the CSV, rounding numeric features to float32 like the model."""
    frame = pd.read_csv(
        path,
        dtype={column: str for column in CATEGORICAL},
        keep_default_na=False,
        na_values={"total_charges": [""]},
    )
    missing = [c for c in [*FEATURES, LABEL] if c not in frame.columns]
    if missing:
        sys.exit(f"train.py: {path} has no column {', '.join(missing)}")

    # The values stay float64, so StandardScaler computes in float64 like the
    # exported graph does (see export_onnx).
    for column in NUMERIC:
        frame[column] = frame[column].astype(np.float32).astype(np.float64)
    return frame


def round_to_float32(values: np.ndarray) -> np.ndarray:
    return values.astype(np.float32).astype(np.float64)


def round_down_to_float32(values: np.ndarray) -> np.ndarray:
    """Return the largest float32 value <= each value, as float64."""
    rounded = values.astype(np.float32)
    above = rounded.astype(np.float64) > values
    rounded[above] = np.nextafter(rounded[above], np.float32(-np.inf))
    return rounded.astype(np.float64)


def fit_preprocess(train: pd.DataFrame) -> ColumnTransformer:
    """Fit imputation, scaling and one-hot encoding with float32 parameters.

    The ONNX Imputer node stores its fill values as float32, and skl2onnx
    rounds the scaler's means to float32. Both are rounded here before the
    classifier is fitted, so scikit-learn and onnxruntime feed the trees
    identical values.
    """
    numeric = Pipeline(
        [
            ("impute", SimpleImputer(strategy="median")),
            ("scale", StandardScaler()),
        ]
    )
    categorical = OneHotEncoder(handle_unknown="ignore", sparse_output=False)
    preprocess = ColumnTransformer(
        [
            ("numeric", numeric, NUMERIC),
            ("categorical", categorical, CATEGORICAL),
        ]
    )
    preprocess.fit(train[FEATURES])

    fitted = preprocess.named_transformers_["numeric"]
    imputer = fitted.named_steps["impute"]
    scaler = fitted.named_steps["scale"]
    imputer.statistics_ = round_to_float32(imputer.statistics_)
    scaler.mean_ = round_to_float32(scaler.mean_)
    return preprocess


def fit_classifier(
    features: np.ndarray, labels: pd.Series, seed: int
) -> GradientBoostingClassifier:
    """Fit the trees, then move each threshold down to a float32 value.

    Scikit-learn casts tree inputs to float32 and compares them with float64
    thresholds, but ONNX TreeEnsemble nodes store float32 thresholds. For a
    float32 input x, x <= t is true exactly when x <= (largest float32 <= t).
    So the rounded thresholds leave scikit-learn's predictions unchanged and
    make onnxruntime's match them. The converter rounds to the nearest float32
    instead, which flips the split for an input equal to the rounded value.
    Scaled integer features hit this often: the midpoint between the scaled
    values of 59 and 61 is the scaled value of 60.
    """
    classifier = GradientBoostingClassifier(
        **CLASSIFIER_PARAMS, random_state=seed
    )
    classifier.fit(features, labels)
    for tree in classifier.estimators_.ravel():
        thresholds = tree.tree_.threshold
        thresholds[:] = round_down_to_float32(thresholds)
    return classifier


def train_pipeline(train: pd.DataFrame, seed: int) -> Pipeline:
    preprocess = fit_preprocess(train)
    features = preprocess.transform(train[FEATURES])
    classifier = fit_classifier(features, train[LABEL], seed)
    return Pipeline([("preprocess", preprocess), ("classifier", classifier)])


def export_onnx(pipeline: Pipeline) -> onnx.ModelProto:
    """Convert with one [None, 1] input per feature column.

    StandardScaler becomes Cast to double, Sub, Div and Cast back to float
    (skl2onnx's "div_cast" option). That rounds once to float32, as
    scikit-learn does when it scales in float64 and the trees cast to float32.
    The default Scaler node computes in float32 and can differ by one ulp.
    """
    initial_types = []
    for column in FEATURES:
        tensor_type = (
            StringTensorType if column in CATEGORICAL else FloatTensorType
        )
        initial_types.append((column, tensor_type([None, 1])))

    model = convert_sklearn(
        pipeline,
        initial_types=initial_types,
        target_opset=TARGET_OPSET,
        options={StandardScaler: {"div": "div_cast"}},
        name="churn",  # the default graph name is a random UUID
    )
    # skl2onnx lists opset imports in set order, which varies with
    # PYTHONHASHSEED, and may list a domain twice. One sorted entry per domain
    # keeps the file byte-identical across runs.
    versions: dict[str, int] = {}
    for opset in model.opset_import:
        versions[opset.domain] = max(
            opset.version, versions.get(opset.domain, 0)
        )
    del model.opset_import[:]
    for domain in sorted(versions):
        model.opset_import.add(domain=domain, version=versions[domain])
    return model


def onnx_feeds(frame: pd.DataFrame) -> dict[str, np.ndarray]:
    feeds = {}
    for column in FEATURES:
        dtype = object if column in CATEGORICAL else np.float32
        feeds[column] = frame[column].to_numpy(dtype=dtype).reshape(-1, 1)
    return feeds


def holdout_metrics(pipeline: Pipeline, holdout: pd.DataFrame) -> dict:
    labels = holdout[LABEL]
    probability = pipeline.predict_proba(holdout[FEATURES])[:, 1]
    predicted = pipeline.predict(holdout[FEATURES])
    return {
        "holdout_auc": round(float(roc_auc_score(labels, probability)), 4),
        "holdout_accuracy": round(float(accuracy_score(labels, predicted)), 4),
        "holdout_churn_rate": round(float(labels.mean()), 4),
    }


def cross_check(
    session: onnxruntime.InferenceSession,
    pipeline: Pipeline,
    holdout: pd.DataFrame,
) -> dict:
    """Compare onnxruntime with scikit-learn on the holdout rows.

    Exits on any label mismatch or a probability difference over TOLERANCE.
    """
    labels, probability_maps = session.run(None, onnx_feeds(holdout))
    classes = pipeline.classes_
    actual = np.array([[row[c] for c in classes] for row in probability_maps])
    expected = pipeline.predict_proba(holdout[FEATURES])
    mismatches = int(np.sum(labels != pipeline.predict(holdout[FEATURES])))
    difference = float(np.max(np.abs(actual - expected)))

    if mismatches:
        sys.exit(
            f"train.py: onnxruntime and scikit-learn disagree on "
            f"{mismatches} labels"
        )
    if difference > TOLERANCE:
        sys.exit(
            f"train.py: onnxruntime probabilities differ from scikit-learn's "
            f"by up to {difference:.3g}, more than the tolerance {TOLERANCE}"
        )
    return {
        "rows": len(holdout),
        "tolerance": TOLERANCE,
        "max_abs_probability_difference": difference,
        "label_mismatches": mismatches,
    }


def describe_io(arguments) -> list[dict]:
    return [
        {"name": a.name, "type": a.type, "shape": a.shape} for a in arguments
    ]


def describe_data(args, frame, train, holdout) -> dict:
    if args.csv:
        source = str(args.csv)
    else:
        source = generator_command(args.rows, args.seed)
    return {
        "source": source,
        "rows": len(frame),
        "train_rows": len(train),
        "holdout_rows": len(holdout),
        "split_seed": args.seed,
    }


def describe_pipeline() -> dict:
    return {
        "numeric": {
            "columns": NUMERIC,
            "steps": ["SimpleImputer(strategy='median')", "StandardScaler()"],
        },
        "categorical": {
            "columns": CATEGORICAL,
            "steps": ["OneHotEncoder(handle_unknown='ignore')"],
        },
        "classifier": {
            "name": "GradientBoostingClassifier",
            **CLASSIFIER_PARAMS,
        },
    }


def package_versions() -> dict:
    return {
        "python": platform.python_version(),
        "numpy": np.__version__,
        "pandas": pd.__version__,
        "scikit-learn": sklearn.__version__,
        "skl2onnx": skl2onnx.__version__,
        "onnx": onnx.__version__,
        "onnxruntime": onnxruntime.__version__,
    }


def main() -> None:
    args = parse_args()
    out_dir = args.out_dir.resolve()
    out_dir.mkdir(parents=True, exist_ok=True)

    # 1. Load or generate the data.
    with tempfile.TemporaryDirectory() as scratch:
        csv_path = args.csv
        if csv_path is None:
            csv_path = Path(scratch) / "customers.csv"
            generate_csv(csv_path, args.rows, args.seed)
        frame = read_customers(csv_path)

    # 2. Fit on the training split and score the holdout split.
    train, holdout = train_test_split(
        frame,
        test_size=HOLDOUT_FRACTION,
        random_state=args.seed,
        stratify=frame[LABEL],
    )
    pipeline = train_pipeline(train, args.seed)
    metrics = holdout_metrics(pipeline, holdout)

    # 3. Export, then check the exported model against scikit-learn.
    model = export_onnx(pipeline)
    model_bytes = model.SerializeToString()
    session = onnxruntime.InferenceSession(
        model_bytes, providers=["CPUExecutionProvider"]
    )
    crosscheck = cross_check(session, pipeline, holdout)

    # 4. Write the model and its card.
    model_path = out_dir / "churn.onnx"
    model_path.write_bytes(model_bytes)
    card = {
        "model": model_path.name,
        "sha256": hashlib.sha256(model_bytes).hexdigest(),
        "bytes": len(model_bytes),
        "task": f"binary classification of {LABEL} (1 = the customer left)",
        "pipeline": describe_pipeline(),
        "data": describe_data(args, frame, train, holdout),
        "inputs": describe_io(session.get_inputs()),
        "outputs": describe_io(session.get_outputs()),
        "opset": TARGET_OPSET,
        "ir_version": model.ir_version,
        "metrics": metrics,
        "onnxruntime_crosscheck": crosscheck,
        "versions": package_versions(),
    }
    card_text = json.dumps(card, indent=2) + "\n"
    (out_dir / "model-card.json").write_text(card_text)

    summary = {"model": str(model_path), "bytes": len(model_bytes)}
    print(json.dumps({**summary, **metrics, **crosscheck}))


if __name__ == "__main__":
    main()
