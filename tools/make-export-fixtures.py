#!/usr/bin/env python3
"""Export small models the way their libraries export them by default, into fixtures/exports/.

Run it through ``bash tools/make-export-fixtures.sh`` (the pinned venv .venv-exports, made from
tools/exports-requirements.txt). CI and ``npm test`` never run it: they read the committed files.

Every model is trained on SYNTHETIC data (seeded numpy draws, six features f0..f5) and exported
with its library's usual call and default options (the call is recorded in the manifest):

  scikit-learn  skl2onnx.to_onnx(model, X[:1])                 classifiers end in a ZipMap
  XGBoost       onnxmltools.convert_xgboost(model, initial_types=...)
  LightGBM      onnxmltools.convert_lightgbm(model, initial_types=...)   ZipMap (zipmap=True)
  CatBoost      model.save_model(path, format="onnx")          classifiers end in a ZipMap
  PyTorch       torch.onnx.export(model, (x,), path)           dynamo exporter: weights over a few
                                                               hundred bytes as external data
                                                               (<file>.data); the batch dimension
                                                               fixed to the example's (1) unless
                                                               dynamic_axes says otherwise

Beside each model, <name>.expected.json holds the library's own predictions on the 200 rows of
data.csv (labels, probabilities per class label, or values; float64 as the library gives them),
computed on the float32 values of those rows, which is what ONNX Runtime is fed. Each export is
checked here with the Python onnxruntime against those predictions (max abs diff <= 1e-5, labels
equal); the script fails otherwise. Two runs give byte-identical files (see reproducible()).
manifest.json lists the models, their export calls, the
register_model arguments they need, sizes and sha256s; README.md is written from it.
"""

from __future__ import annotations

import hashlib
import json
import shutil
import sys
import tempfile
import warnings
from pathlib import Path

import numpy as np
import onnx
import onnxruntime as ort

ROOT = Path(__file__).resolve().parent.parent
OUT = ROOT / "fixtures" / "exports"
FEATURES = [f"f{i}" for i in range(6)]
N_TRAIN, N_TEST = 600, 200
TOLERANCE = 1e-5
STRING_LABELS = np.array(["bronze", "gold", "silver"])


def synthetic(seed: int):
    """
    Features and targets for every task. Training rows lie on a 0.001 grid, test rows a quarter
    step off it (0.00025): tree thresholds sit at training values or halfway between, and an exporter
    stores them as float32, so a test value equal to a training value can fall on the other side
    of a threshold in ONNX than in the library (LightGBM's are float64). Values are float32-exact.
    """
    rng = np.random.default_rng(seed)
    n = N_TRAIN + N_TEST
    X = np.round(rng.normal(0.0, 1.0, size=(n, len(FEATURES))), 3)
    X[N_TRAIN:] += 0.00025
    X = X.astype(np.float32).astype(np.float64)
    score = 1.2 * X[:, 0] - 0.8 * X[:, 1] + 0.5 * X[:, 2] * X[:, 3] + rng.normal(0, 0.5, n)
    y_binary = (score > 0).astype(np.int64)
    scores3 = np.column_stack([X[:, 0] + X[:, 4], X[:, 1] - X[:, 5], 0.7 * X[:, 2] + rng.normal(0, 0.3, n)])
    y_multi = np.argmax(scores3 + rng.normal(0, 0.4, (n, 3)), axis=1).astype(np.int64)
    y_reg = 3.0 * X[:, 0] - 2.0 * np.sin(X[:, 1]) + X[:, 2] * X[:, 3] + 0.5 * X[:, 4] ** 2 + rng.normal(0, 0.3, n)
    y_reg2 = np.column_stack([y_reg, -1.5 * X[:, 5] + X[:, 0] * X[:, 1] + rng.normal(0, 0.2, n)])
    split = lambda a: (a[:N_TRAIN], a[N_TRAIN:])
    return {"X": split(X), "binary": split(y_binary), "multi": split(y_multi), "string": split(STRING_LABELS[y_multi]),
            "reg": split(y_reg), "reg2": split(y_reg2)}


def session(path: Path) -> ort.InferenceSession:
    opts = ort.SessionOptions()
    opts.intra_op_num_threads = 1
    return ort.InferenceSession(str(path), opts, providers=["CPUExecutionProvider"])


def run_onnx(path: Path, X: np.ndarray) -> list:
    """The model's outputs on X, one row at a time when its batch dimension is fixed to 1."""
    sess = session(path)
    name = sess.get_inputs()[0].name
    x = X.astype(np.float32)
    if sess.get_inputs()[0].shape[0] == 1:
        rows = [sess.run(None, {name: x[i:i + 1]}) for i in range(len(x))]
        return [np.concatenate([r[k] for r in rows]) if isinstance(rows[0][k], np.ndarray) else sum((r[k] for r in rows), [])
                for k in range(len(rows[0]))]
    return sess.run(None, {name: x})


def softmax(z: np.ndarray) -> np.ndarray:
    e = np.exp(z - z.max(axis=1, keepdims=True))
    return e / e.sum(axis=1, keepdims=True)


def classifier_expected(labels, proba, classes) -> dict:
    return {"predictions": [v.item() if hasattr(v, "item") else v for v in labels],
            "probabilities": {str(c.item() if hasattr(c, "item") else c): [float(p) for p in proba[:, j]] for j, c in enumerate(classes)}}


def verify(name: str, path: Path, X: np.ndarray, expected: dict, output: str | None) -> float:
    """Max abs difference between the Python onnxruntime's answer and the library's (labels must be equal)."""
    outs = run_onnx(path, X)
    if expected["probabilities"] is None:
        got = np.asarray(outs[0], dtype=np.float64).reshape(len(X), -1)
        want = np.asarray(expected["predictions"], dtype=np.float64).reshape(len(X), -1)
        return float(np.max(np.abs(got - want)))
    classes = list(expected["probabilities"])
    want = np.column_stack([expected["probabilities"][c] for c in classes])
    if output == "logits":
        got = softmax(np.asarray(outs[0], dtype=np.float64))
        labels = [int(i) for i in np.argmax(got, axis=1)]
    else:
        labels = [v.item() if hasattr(v, "item") else v for v in outs[0]]
        probs = outs[1]
        # A ZipMap answers a list of {label: probability}; labels are ints or strings.
        got = (np.array([[{str(k): p for k, p in row.items()}[c] for c in classes] for row in probs])
               if isinstance(probs, list) else np.asarray(probs, dtype=np.float64))
    if labels != expected["predictions"]:
        bad = sum(a != b for a, b in zip(labels, expected["predictions"]))
        raise SystemExit(f"{name}: {bad} labels differ from the library's")
    return float(np.max(np.abs(got - want)))


def reproducible(path: Path, name: str) -> None:
    """
    Fixes what differs between two runs of the same export and changes no computation:
    onnxmltools names the graph with a random uuid; CatBoost records the training's finish time and
    a random model guid as metadata; skl2onnx and onnxmltools list opset imports in the order of a
    set of strings (PYTHONHASHSEED).
    """
    m = onnx.load(str(path))
    opsets = sorted(((o.domain, o.version) for o in m.opset_import))
    del m.opset_import[:]
    m.opset_import.extend(onnx.helper.make_opsetid(d, v) for d, v in opsets)
    if len(m.graph.name) == 32 and all(c in "0123456789abcdef" for c in m.graph.name):
        m.graph.name = name
    for prop in m.metadata_props:
        if prop.key in ("train_finish_time", "model_guid"):
            prop.value = "(fixed by make-export-fixtures for reproducible files)"
    path.write_bytes(m.SerializeToString(deterministic=True))


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def main() -> int:
    warnings.filterwarnings("ignore")
    import catboost
    import lightgbm
    import onnxmltools
    import skl2onnx
    import sklearn
    import torch
    import xgboost
    from onnxmltools.convert.common.data_types import FloatTensorType
    from sklearn.ensemble import GradientBoostingRegressor, RandomForestClassifier
    from sklearn.linear_model import LinearRegression, LogisticRegression
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler
    from sklearn.svm import SVC

    d = synthetic(20261207)
    X, Xt = d["X"]
    OUT.mkdir(parents=True, exist_ok=True)
    for old in OUT.iterdir():
        old.unlink()
    (OUT / "data.csv").write_text(",".join(FEATURES) + "\n" + "".join(",".join(f"{v:.5f}" for v in row) + "\n" for row in Xt))
    initial = [("input", FloatTensorType([None, len(FEATURES)]))]
    versions = {"numpy": np.__version__, "scikit-learn": sklearn.__version__, "skl2onnx": skl2onnx.__version__,
                "xgboost": xgboost.__version__, "lightgbm": lightgbm.__version__, "onnxmltools": onnxmltools.__version__,
                "catboost": catboost.__version__, "torch": torch.__version__.split("+")[0], "onnx": onnx.__version__,
                "onnxruntime": ort.__version__}
    models = []
    refused = []

    def add(name, library, estimator, call, write, expected, register=None, note=""):
        with tempfile.TemporaryDirectory() as tmp:
            # Exporters write their data files beside the model under its name: export in a
            # scratch directory, then move everything it wrote.
            target = Path(tmp) / f"{name}.onnx"
            write(target)
            if library != "PyTorch":
                reproducible(target, name)
            files = sorted(p.name for p in Path(tmp).iterdir() if p.stat().st_size > 0)
            for f in files:
                shutil.move(str(Path(tmp) / f), OUT / f)
        path = OUT / f"{name}.onnx"
        (OUT / f"{name}.expected.json").write_text(json.dumps(expected) + "\n")
        diff = verify(name, path, Xt, expected, (register or {}).get("output"))
        status = "OK" if diff <= TOLERANCE else "FAIL"
        print(f"  {name:<28} {library:<13} max|onnxruntime - library| = {diff:.2e}  {status}")
        if diff > TOLERANCE:
            raise SystemExit(f"{name}: onnxruntime differs from {library} by {diff}")
        m = onnx.load(str(path), load_external_data=False)
        models.append({
            "name": name, "file": f"{name}.onnx", "library": library, "estimator": estimator, "export": call,
            "register": register or {}, "expected": f"{name}.expected.json", "note": note,
            "files": [{"file": f, "bytes": (OUT / f).stat().st_size, "sha256": sha256(OUT / f)} for f in files],
            "outputs": [o.name for o in m.graph.output], "python_onnxruntime_max_abs_diff": diff,
        })

    def converted(convert, est):
        return lambda path: path.write_bytes(convert(est, initial_types=initial).SerializeToString())

    def regressor_expected(est):
        return {"predictions": [float(v) for v in est.predict(Xt)], "probabilities": None}

    # scikit-learn: skl2onnx's default call (ZipMap on classifiers).
    def sk(est, y):
        est.fit(X, y)
        return lambda path: path.write_bytes(skl2onnx.to_onnx(est, X[:1].astype(np.float32)).SerializeToString())

    sk_call = "skl2onnx.to_onnx(model, X[:1].astype(numpy.float32))"
    est = GradientBoostingRegressor(n_estimators=40, max_depth=3, random_state=0)
    w = sk(est, d["reg"][0])
    add("sklearn_regressor", "scikit-learn", "GradientBoostingRegressor", sk_call, w, regressor_expected(est))
    est = LinearRegression()
    w = sk(est, d["reg2"][0])
    add("sklearn_two_targets", "scikit-learn", "LinearRegression (2 targets)", sk_call, w, {"predictions": [[float(a), float(b)] for a, b in est.predict(Xt)], "probabilities": None})
    for name, est, y, what in [
        ("sklearn_binary", LogisticRegression(), d["binary"][0], "LogisticRegression (binary)"),
        ("sklearn_multiclass", LogisticRegression(max_iter=500), d["multi"][0], "LogisticRegression (3 classes)"),
        ("sklearn_string_labels", RandomForestClassifier(n_estimators=15, max_depth=5, random_state=0), d["string"][0], "RandomForestClassifier (string labels)"),
        ("sklearn_pipeline", make_pipeline(StandardScaler(), LogisticRegression(max_iter=500)), d["multi"][0], "Pipeline(StandardScaler, LogisticRegression)"),
        ("sklearn_svc", SVC(probability=True, random_state=0), d["binary"][0], "SVC(probability=True)"),
    ]:
        w = sk(est, y)
        add(name, "scikit-learn", what, sk_call, w, classifier_expected(est.predict(Xt), est.predict_proba(Xt), est.classes_))

    # XGBoost and LightGBM: onnxmltools' converters with their defaults.
    xgb_call = 'onnxmltools.convert_xgboost(model, initial_types=[("input", FloatTensorType([None, 6]))])'
    est = xgboost.XGBClassifier(n_estimators=30, max_depth=3, random_state=0).fit(X, d["multi"][0])
    add("xgboost_classifier", "XGBoost", "XGBClassifier (3 classes)", xgb_call, converted(onnxmltools.convert_xgboost, est),
        classifier_expected(est.predict(Xt), est.predict_proba(Xt), est.classes_))
    est = xgboost.XGBRegressor(n_estimators=30, max_depth=3, random_state=0).fit(X, d["reg"][0])
    add("xgboost_regressor", "XGBoost", "XGBRegressor", xgb_call, converted(onnxmltools.convert_xgboost, est), regressor_expected(est))

    lgb_call = 'onnxmltools.convert_lightgbm(model, initial_types=[("input", FloatTensorType([None, 6]))])'
    for name, y, what in [("lightgbm_binary", d["binary"][0], "LGBMClassifier (binary)"), ("lightgbm_multiclass", d["multi"][0], "LGBMClassifier (3 classes)")]:
        est = lightgbm.LGBMClassifier(n_estimators=30, num_leaves=8, random_state=0, verbose=-1).fit(X, y)
        add(name, "LightGBM", what, lgb_call, converted(onnxmltools.convert_lightgbm, est),
            classifier_expected(est.predict(Xt), est.predict_proba(Xt), est.classes_))
    est = lightgbm.LGBMRegressor(n_estimators=30, num_leaves=8, random_state=0, verbose=-1).fit(X, d["reg"][0])
    add("lightgbm_regressor", "LightGBM", "LGBMRegressor", lgb_call, converted(onnxmltools.convert_lightgbm, est), regressor_expected(est))

    # CatBoost: its own ONNX export.
    cb_call = 'model.save_model(path, format="onnx")'
    for name, y, what in [("catboost_binary", d["binary"][0], "CatBoostClassifier (binary)"), ("catboost_multiclass", d["multi"][0], "CatBoostClassifier (3 classes)")]:
        est = catboost.CatBoostClassifier(iterations=30, depth=4, random_seed=0, verbose=False, allow_writing_files=False, thread_count=1)
        est.fit(X, y)
        add(name, "CatBoost", what, cb_call, lambda p, e=est: e.save_model(str(p), format="onnx"),
            classifier_expected(est.predict(Xt).reshape(-1), est.predict_proba(Xt), est.classes_))
    est = catboost.CatBoostRegressor(iterations=30, depth=4, random_seed=0, verbose=False, allow_writing_files=False, thread_count=1)
    est.fit(X, d["reg"][0])
    add("catboost_regressor", "CatBoost", "CatBoostRegressor", cb_call, lambda p, e=est: e.save_model(str(p), format="onnx"), regressor_expected(est))

    # PyTorch: torch.onnx.export (dynamo), trained briefly on the same data.
    torch.manual_seed(0)
    torch.set_num_threads(1)

    def mlp(outputs: int, hidden: int):
        return torch.nn.Sequential(torch.nn.Linear(len(FEATURES), hidden), torch.nn.ReLU(), torch.nn.Linear(hidden, hidden), torch.nn.ReLU(), torch.nn.Linear(hidden, outputs))

    def train(net, y, loss_fn, epochs=200):
        opt = torch.optim.Adam(net.parameters(), lr=0.01)
        xs = torch.tensor(X, dtype=torch.float32)
        for _ in range(epochs):
            opt.zero_grad()
            loss_fn(net(xs), y).backward()
            opt.step()
        return net.eval()

    xt = torch.tensor(Xt, dtype=torch.float32)
    y_reg = torch.tensor(d["reg"][0], dtype=torch.float32).reshape(-1, 1)
    example = torch.tensor(X[:1], dtype=torch.float32)

    def export(net, **kw):
        return lambda p: torch.onnx.export(net, (example,), str(p), **kw)

    net = train(mlp(1, 24), y_reg, torch.nn.functional.mse_loss)
    with torch.no_grad():
        pred = [float(v) for v in net(xt).reshape(-1)]
    add("torch_default", "PyTorch", "MLP regressor (6→24→24→1)", "torch.onnx.export(model, (x,), path)  # x: one row",
        export(net), {"predictions": pred, "probabilities": None},
        note="batch dimension fixed to 1; weights over the exporter's threshold in torch_default.onnx.data")
    add("torch_dynamic", "PyTorch", "MLP regressor (6→24→24→1)",
        'torch.onnx.export(model, (x,), path, dynamic_axes={"input": {0: "batch"}}, external_data=False)',
        export(net, dynamic_axes={"input": {0: "batch"}}, external_data=False), {"predictions": pred, "probabilities": None},
        note="dynamic batch, self-contained")
    # Exported with four example rows: the batch dimension is fixed to 4, and register_model refuses it.
    with tempfile.TemporaryDirectory() as tmp:
        torch.onnx.export(net, (torch.tensor(X[:4], dtype=torch.float32),), str(Path(tmp) / "torch_batch4.onnx"), external_data=False)
        shutil.move(str(Path(tmp) / "torch_batch4.onnx"), OUT / "torch_batch4.onnx")
    refused.append({"name": "torch_batch4", "file": "torch_batch4.onnx", "library": "PyTorch",
                    "export": "torch.onnx.export(model, (x,), path, external_data=False)  # x: four rows",
                    "why": "batch dimension fixed to 4", "bytes": (OUT / "torch_batch4.onnx").stat().st_size,
                    "sha256": sha256(OUT / "torch_batch4.onnx")})
    y_multi = torch.tensor(d["multi"][0], dtype=torch.int64)
    net = train(mlp(3, 24), y_multi, torch.nn.functional.cross_entropy)
    with torch.no_grad():
        logits = net(xt).double().numpy()
    add("torch_logits", "PyTorch", "MLP classifier, logits out (6→24→24→3)",
        'torch.onnx.export(model, (x,), path, dynamic_axes={"input": {0: "batch"}})',
        export(net, dynamic_axes={"input": {0: "batch"}}), classifier_expected(np.argmax(logits, axis=1), softmax(logits), np.arange(3)),
        register={"task": "classification", "output": "logits"}, note="dynamic batch, external data; probabilities = softmax(logits)")

    manifest = {"note": "Generated by tools/make-export-fixtures.py; SYNTHETIC data; do not edit by hand.",
                "features": FEATURES, "data": "data.csv", "rows": N_TEST, "tolerance": TOLERANCE, "versions": versions, "models": models,
                "refused": refused}
    (OUT / "manifest.json").write_text(json.dumps(manifest, indent=2) + "\n")
    (OUT / "README.md").write_text(readme(manifest))
    total = sum(f["bytes"] for m in models for f in m["files"])
    print(f"wrote {len(models)} models ({total} bytes) to {OUT.relative_to(ROOT)}")
    return 0


def readme(manifest: dict) -> str:
    v = manifest["versions"]
    lines = [
        "# Models as their libraries export them",
        "",
        "> Generated by `tools/make-export-fixtures.py` — do not edit by hand. Regenerate with",
        "> `bash tools/make-export-fixtures.sh` (creates the pinned `.venv-exports`; PyTorch's wheel is large).",
        "",
        f"**SYNTHETIC data.** `data.csv` holds the {manifest['rows']} rows every model is checked on (features",
        "`f0`…`f5`, five decimals); the models were trained on 600 other rows of the same draws.",
        "`<name>.expected.json` is the library's own answer on those rows: `predictions` (a label, a value,",
        "or a list of values per row) and `probabilities` per class label (null for a regressor).",
        "test/e2e/export-matrix.test.ts registers each model and compares predict, batch_predict and REST",
        f"with them (max abs difference ≤ {manifest['tolerance']}). See docs/models.md.",
        "",
        "| model | library | estimator | export call | files (bytes) | register with |",
        "|---|---|---|---|---|---|",
    ]
    for m in manifest["models"]:
        files = ", ".join(f"`{f['file']}` ({f['bytes']:,})" for f in m["files"])
        reg = ", ".join(f"{k}: {json.dumps(x)}" for k, x in m["register"].items()) or "—"
        lines.append(f"| `{m['name']}` | {m['library']} | {m['estimator']} | `{m['export']}` | {files} | {reg} |")
    lines += ["", "Refused at registration, with advice: " + "; ".join(f"`{r['file']}` ({r['why']}; `{r['export']}`)" for r in manifest["refused"]) + "."]
    lines += ["", "Versions: " + ", ".join(f"{k} {x}" for k, x in v.items()) + " (pinned in `tools/exports-requirements.txt`).", ""]
    return "\n".join(lines)


if __name__ == "__main__":
    sys.exit(main())
