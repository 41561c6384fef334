#!/usr/bin/env python3
"""Generate the demo-model fixtures of mlops-mcp (everything under ``fixtures/``).

Run it through ``bash tools/make-fixtures.sh`` (it uses the pinned venv made by
``tools/python-venv.sh``).  Options: ``--out DIR`` writes somewhere else than
``fixtures/`` (useful to diff a regeneration against the committed files).

What it writes
--------------
* SYNTHETIC NBA data (NOT real NBA statistics): for each task a reference CSV
  (the exact training data) and a "current" CSV drawn from a deliberately
  SHIFTED distribution, for drift-detection demos.  A third sample from the
  reference distribution (held out, never written) gives the metrics.
* scikit-learn models exported to ONNX with skl2onnx (pinned target opset), each
  with the ONNX metadata property ``feature_names`` (a JSON list):
    - nba_points_v1.onnx          LinearRegression
    - nba_points_v2.onnx          GradientBoostingRegressor (60 trees, depth 3)
    - nba_win_predictor_v1.5.onnx LogisticRegression, zipmap=False
    - nba_win_predictor_v2.0.onnx GradientBoostingClassifier (40 trees, depth 3), zipmap=False
  and serving-test variants under ``test-models/``: ``win_zipmap.onnx`` (v1.5 with
  the default ZipMap output), ``points_multi_input.onnx`` (v1 with one [N,1]
  input per feature), ``points_double.onnx`` (v1 with a float64 input),
  ``points_int64.onnx`` and ``points_int32.onnx`` (v1 with an int64 / int32 input
  cast to float in the graph).
* ``models.json``: manifest (features, held-out metrics, tags, linear
  coefficients, input/output signatures, sklearn predictions for the first five
  reference rows, sha256 of every file) and ``README.md``.

Determinism: every random draw comes from ``numpy.random.default_rng`` with the
fixed seeds in ``SEEDS``; models use fixed ``random_state``; ONNX graph names,
doc strings and metadata are fixed; CSV numbers are written with fixed decimals
and parsed back so that the training data is exactly what the CSV holds.  Two
runs with the pinned library versions give byte-identical files.

Every exported model is checked with the Python onnxruntime against sklearn on
the reference, current and held-out data (max abs diff < 1e-4, labels equal);
the script fails otherwise.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import sys
import time
import warnings
from pathlib import Path

import numpy as np
import onnx
import onnxruntime as ort
import scipy
from scipy.stats import ks_2samp
import sklearn
import skl2onnx
from onnx import TensorProto, helper
from skl2onnx import convert_sklearn
from skl2onnx.common.data_types import DoubleTensorType, FloatTensorType
from sklearn.ensemble import GradientBoostingClassifier, GradientBoostingRegressor
from sklearn.exceptions import ConvergenceWarning
from sklearn.linear_model import LinearRegression, LogisticRegression
from sklearn.metrics import (
    accuracy_score,
    log_loss,
    mean_absolute_error,
    mean_squared_error,
    r2_score,
    roc_auc_score,
)

ROOT = Path(__file__).resolve().parent.parent

# ONNX opsets, pinned: main domain 17 (IR version 8), ai.onnx.ml 3 (TreeEnsemble*, LinearRegressor, ZipMap).
TARGET_OPSET = {"": 17, "ai.onnx.ml": 3}

SEEDS = {
    "points_reference": 20240101,
    "points_current": 20240102,
    "points_holdout": 20240103,
    "win_reference": 20240201,
    "win_current": 20240202,
    "win_holdout": 20240203,
    "model": 42,
}
N_POINTS_REFERENCE, N_POINTS_CURRENT = 5000, 2000
N_WIN_REFERENCE, N_WIN_CURRENT = 4000, 2000
N_HOLDOUT = 4000  # per task, reference distribution, used for metrics only (not written)
TOLERANCE = 1e-4
MAX_MODEL_BYTES = 300 * 1024
MAX_TOTAL_BYTES = 3 * 1024 * 1024

# --------------------------------------------------------------------------------------
# nba_points: a player's points in one game (regression)
# --------------------------------------------------------------------------------------
POINTS_FEATURES = [
    "is_home",
    "days_rest",
    "season_avg_points",
    "season_avg_rebounds",
    "season_avg_assists",
    "last5_avg_points",
    "last5_avg_rebounds",
    "last5_avg_assists",
    "minutes_avg",
    "opponent_def_rating",
]
POINTS_TARGET = "points"
# decimals written to the CSV (last5 averages are multiples of 0.2: five integer games)
POINTS_DECIMALS = [0, 0, 1, 1, 1, 1, 1, 1, 1, 1, 0]

DAYS_REST_P_REFERENCE = [0.16, 0.44, 0.20, 0.10, 0.06, 0.04]  # 0 = back-to-back
DAYS_REST_P_CURRENT = [0.30, 0.34, 0.14, 0.10, 0.07, 0.05]  # compressed schedule
POINTS_REST_EFFECT = np.array([-1.6, 0.0, 0.6, 0.8, 0.5, 0.0])  # non-monotone: rust after long rests
OPP_DEF_MEAN_REFERENCE, OPP_DEF_MEAN_CURRENT, OPP_DEF_SD = 112.0, 114.5, 3.0
SEASON_POINTS_SHIFT = 2.5


def points_features(rng: np.random.Generator, n: int, shifted: bool) -> np.ndarray:
    """Player/game features.  Player profile first (season averages, minutes and
    recent form are correlated), then game context.  ``shifted`` changes only
    days_rest, opponent_def_rating and season_avg_points (the latter is moved
    AFTER the correlated features are drawn, so their distributions stay the
    reference ones)."""
    is_home = rng.integers(0, 2, n)
    days_rest = rng.choice(6, size=n, p=DAYS_REST_P_CURRENT if shifted else DAYS_REST_P_REFERENCE)
    season_pts = np.clip(3.0 + rng.gamma(2.4, 4.6, n), 2.0, 36.0)
    season_reb = np.clip(1.0 + 0.12 * season_pts + rng.gamma(2.0, 1.3, n), 0.5, 15.0)
    season_ast = np.clip(0.5 + 0.10 * season_pts + rng.gamma(1.5, 1.2, n), 0.2, 12.0)
    minutes = np.clip(10.0 + 0.85 * season_pts + rng.normal(0.0, 3.5, n), 8.0, 40.0)
    last5_pts = np.clip(season_pts + rng.normal(0.0, 1.5 + 0.2 * season_pts), 0.0, 50.0)
    last5_reb = np.clip(season_reb + rng.normal(0.0, 0.8 + 0.2 * season_reb), 0.0, 25.0)
    last5_ast = np.clip(season_ast + rng.normal(0.0, 0.6 + 0.2 * season_ast), 0.0, 18.0)
    opp_def = np.clip(
        rng.normal(OPP_DEF_MEAN_CURRENT if shifted else OPP_DEF_MEAN_REFERENCE, OPP_DEF_SD, n), 100.0, 120.0
    )
    if shifted:
        season_pts = season_pts + SEASON_POINTS_SHIFT
    last5 = lambda v: np.round(v * 5.0) / 5.0  # noqa: E731 - mean of five integer games
    return np.column_stack(
        [
            is_home,
            days_rest,
            season_pts,
            season_reb,
            season_ast,
            last5(last5_pts),
            last5(last5_reb),
            last5(last5_ast),
            minutes,
            opp_def,
        ]
    ).astype(np.float64)


def points_target(rng: np.random.Generator, X: np.ndarray) -> np.ndarray:
    """True (mildly nonlinear) scoring model + heteroscedastic noise, rounded to integer points."""
    is_home, days_rest, sp, sr, sa, l5p, _l5r, _l5a, minutes, opp_def = X.T
    form = l5p - sp
    role = 0.85 + 0.25 * np.tanh((minutes - 27.0) / 5.0)  # starters convert averages better
    mu = (0.95 * sp + 0.45 * form) * role + 0.15 * sa + 0.05 * sr
    mu = mu + POINTS_REST_EFFECT[days_rest.astype(int)] + 1.0 * is_home
    mu = mu * (1.0 + 0.02 * (opp_def - 112.0))  # +2 % per point of opponent defensive rating
    noise = rng.normal(0.0, 2.5 + 0.15 * np.maximum(mu, 0.0))
    return np.clip(np.round(mu + noise), 0.0, 70.0)


# --------------------------------------------------------------------------------------
# nba_win_predictor: does the home team win? (binary classification)
# --------------------------------------------------------------------------------------
WIN_FEATURES = [
    "home_win_pct",
    "away_win_pct",
    "home_off_rating",
    "away_off_rating",
    "home_def_rating",
    "away_def_rating",
    "home_rest_days",
    "away_rest_days",
]
WIN_TARGET = "home_win"
WIN_DECIMALS = [3, 3, 1, 1, 1, 1, 0, 0, 0]

REST_P_REFERENCE = [0.18, 0.47, 0.20, 0.10, 0.05]
AWAY_REST_P_CURRENT = [0.35, 0.40, 0.15, 0.07, 0.03]  # many more away back-to-backs
WIN_REST_EFFECT = np.array([-1.1, 0.0, 0.35, 0.4, -0.35])  # per team, non-monotone
HOME_WIN_PCT_SHIFT = 0.05
HOME_OFF_RATING_SHIFT = 3.0


def win_features(rng: np.random.Generator, n: int, shifted: bool) -> np.ndarray:
    """Team strength (win pct) drives offensive/defensive ratings (plus noise).
    ``shifted`` moves home_win_pct (+0.05) and home_off_rating (+3.0) after the
    correlated draws and changes the away_rest_days distribution."""
    home_wp = np.clip(rng.beta(6.0, 6.0, n), 0.1, 0.9)
    away_wp = np.clip(rng.beta(6.0, 6.0, n), 0.1, 0.9)
    home_net = 12.0 * (home_wp - 0.5) + rng.normal(0.0, 2.0, n)
    away_net = 12.0 * (away_wp - 0.5) + rng.normal(0.0, 2.0, n)
    home_off = 113.0 + 0.55 * home_net + rng.normal(0.0, 1.5, n)
    home_def = 113.0 - 0.45 * home_net + rng.normal(0.0, 1.5, n)
    away_off = 113.0 + 0.55 * away_net + rng.normal(0.0, 1.5, n)
    away_def = 113.0 - 0.45 * away_net + rng.normal(0.0, 1.5, n)
    home_rest = rng.choice(5, size=n, p=REST_P_REFERENCE)
    away_rest = rng.choice(5, size=n, p=AWAY_REST_P_CURRENT if shifted else REST_P_REFERENCE)
    if shifted:
        home_wp = np.clip(home_wp + HOME_WIN_PCT_SHIFT, 0.0, 1.0)
        home_off = home_off + HOME_OFF_RATING_SHIFT
    return np.column_stack(
        [home_wp, away_wp, home_off, away_off, home_def, away_def, home_rest, away_rest]
    ).astype(np.float64)


def win_target(rng: np.random.Generator, X: np.ndarray) -> np.ndarray:
    """True win model: saturating strength gap, non-monotone rest effects and a
    mismatch penalty (elite away offence against a weak home defence)."""
    home_wp, away_wp, home_off, away_off, home_def, away_def, home_rest, away_rest = X.T
    strength = 0.12 * ((home_off - home_def) - (away_off - away_def)) + 2.5 * (home_wp - away_wp)
    rest = WIN_REST_EFFECT[home_rest.astype(int)] - WIN_REST_EFFECT[away_rest.astype(int)]
    mismatch = np.maximum(0.0, away_off - home_def - 3.0) / 3.0
    z = 0.4 + 2.2 * np.tanh(strength) + 1.2 * rest - 1.0 * mismatch
    return (rng.random(len(z)) < 1.0 / (1.0 + np.exp(-z))).astype(np.float64)


# --------------------------------------------------------------------------------------
# helpers
# --------------------------------------------------------------------------------------
def to_csv(header: list[str], data: np.ndarray, decimals: list[int]) -> tuple[str, np.ndarray]:
    """Format with fixed decimals per column; return the text and the values parsed back from it
    (so the arrays used for training are exactly the CSV numbers)."""
    lines = [",".join(header)]
    parsed = np.empty_like(data)
    for i, row in enumerate(data):
        cells = []
        for j, (v, d) in enumerate(zip(row, decimals)):
            s = f"{v:.{d}f}"
            if s == "-0" or s.startswith("-0.") and float(s) == 0.0:
                s = s[1:]
            cells.append(s)
            parsed[i, j] = float(s)
        lines.append(",".join(cells))
    return "\n".join(lines) + "\n", parsed


def make_dataset(features_fn, target_fn, seed: int, n: int, shifted: bool, header, decimals):
    rng = np.random.default_rng(seed)
    X = features_fn(rng, n, shifted)
    # round features to the CSV precision BEFORE computing the label, then write + parse back
    _, Xr = to_csv(header[:-1], X, decimals[:-1])
    y = target_fn(rng, Xr)
    text, data = to_csv(header, np.column_stack([Xr, y]), decimals)
    return text, data[:, :-1], data[:, -1]


def set_props(model: onnx.ModelProto, doc: str, props: dict[str, str]) -> onnx.ModelProto:
    # skl2onnx collects opset imports in a set: their order depends on the string hash seed
    # (PYTHONHASHSEED) and the main domain can be listed twice. Dedupe and sort for byte-stable files.
    opsets: dict[str, int] = {}
    for o in model.opset_import:
        opsets[o.domain] = max(o.version, opsets.get(o.domain, 0))
    del model.opset_import[:]
    for domain in sorted(opsets):
        model.opset_import.append(helper.make_opsetid(domain, opsets[domain]))
    model.doc_string = doc
    helper.set_model_props(model, props)
    onnx.checker.check_model(model, full_check=True)
    return model


def export(est, name: str, n_features: int, doc: str, props: dict, options=None, dtype=FloatTensorType,
           input_name: str = "float_input") -> onnx.ModelProto:
    model = convert_sklearn(
        est,
        name=name,
        initial_types=[(input_name, dtype([None, n_features]))],
        target_opset=TARGET_OPSET,
        options=options,
        doc_string=doc,
    )
    return set_props(model, doc, props)


def type_str(tp: onnx.TypeProto) -> tuple[str, list | None]:
    kind = tp.WhichOneof("value")
    if kind == "tensor_type":
        dims = [d.dim_value if d.HasField("dim_value") else (d.dim_param or "N") for d in tp.tensor_type.shape.dim]
        return f"tensor({helper.tensor_dtype_to_np_dtype(tp.tensor_type.elem_type).name})", dims
    if kind == "sequence_type":
        inner, _ = type_str(tp.sequence_type.elem_type)
        return f"seq({inner})", None
    if kind == "map_type":
        key = helper.tensor_dtype_to_np_dtype(tp.map_type.key_type).name
        val, _ = type_str(tp.map_type.value_type)
        return f"map({key},{val})", None
    return kind, None


def signature(model: onnx.ModelProto) -> dict:
    def io(vis):
        out = []
        for vi in vis:
            t, dims = type_str(vi.type)
            entry = {"name": vi.name, "type": t}
            if dims is not None:
                entry["shape"] = dims
            out.append(entry)
        return out

    return {"inputs": io(model.graph.input), "outputs": io(model.graph.output),
            "opset": {(o.domain or "ai.onnx"): o.version for o in model.opset_import}}


def session(model: onnx.ModelProto) -> ort.InferenceSession:
    opts = ort.SessionOptions()
    opts.intra_op_num_threads = 1
    return ort.InferenceSession(model.SerializeToString(), opts, providers=["CPUExecutionProvider"])


def check(label: str, diff: float, labels_equal: bool = True) -> None:
    ok = diff < TOLERANCE and labels_equal
    print(f"  verify {label:<42} max|ort-sklearn| = {diff:.3e}" + ("" if labels_equal else "  LABELS DIFFER")
          + ("  OK" if ok else "  FAIL"))
    if not ok:
        raise SystemExit(f"verification failed for {label}")


def verify_regressor(label, model, est, Xs, feed=None) -> None:
    sess = session(model)
    diff = 0.0
    for X in Xs:
        inputs = feed(X) if feed else {sess.get_inputs()[0].name: X.astype(np.float32)}
        got = sess.run(None, inputs)[0].reshape(-1)
        diff = max(diff, float(np.max(np.abs(got.astype(np.float64) - est.predict(X)))))
    check(label, diff)


def verify_classifier(label, model, est, Xs, zipmap=False) -> None:
    sess = session(model)
    diff, same = 0.0, True
    for X in Xs:
        lab, prob = sess.run(None, {"float_input": X.astype(np.float32)})
        if zipmap:
            prob = np.array([[row[c] for c in est.classes_] for row in prob])
        diff = max(diff, float(np.max(np.abs(prob - est.predict_proba(X)))))
        # labels may only differ where p is within the float32 tolerance of 0.5
        p = est.predict_proba(X)[:, 1]
        mism = lab != est.predict(X)
        same = same and bool(np.all(np.abs(p[mism] - 0.5) < TOLERANCE))
        if mism.any():
            print(f"    note: {int(mism.sum())} label(s) differ at p=0.5 within tolerance")
    check(label, diff, same)


def sha256(b: bytes) -> str:
    return hashlib.sha256(b).hexdigest()


def r6(x: float) -> float:
    return float(round(float(x), 6))


# --------------------------------------------------------------------------------------
def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--out", type=Path, default=ROOT / "fixtures", help="output directory (default: fixtures/)")
    args = ap.parse_args()
    out: Path = args.out
    (out / "test-models").mkdir(parents=True, exist_ok=True)
    t0 = time.perf_counter()
    warnings.simplefilter("error", ConvergenceWarning)
    files: dict[str, bytes] = {}

    versions = {
        "numpy": np.__version__,
        "scipy": scipy.__version__,
        "scikit-learn": sklearn.__version__,
        "skl2onnx": skl2onnx.__version__,
        "onnx": onnx.__version__,
        "onnxruntime": ort.__version__,
    }
    print("versions:", ", ".join(f"{k} {v}" for k, v in versions.items()))

    # ---------------- data ----------------
    ph = POINTS_FEATURES + [POINTS_TARGET]
    wh = WIN_FEATURES + [WIN_TARGET]
    p_ref_csv, Xp, yp = make_dataset(points_features, points_target, SEEDS["points_reference"],
                                     N_POINTS_REFERENCE, False, ph, POINTS_DECIMALS)
    p_cur_csv, Xp_cur, _ = make_dataset(points_features, points_target, SEEDS["points_current"],
                                        N_POINTS_CURRENT, True, ph, POINTS_DECIMALS)
    _, Xp_ho, yp_ho = make_dataset(points_features, points_target, SEEDS["points_holdout"],
                                   N_HOLDOUT, False, ph, POINTS_DECIMALS)
    w_ref_csv, Xw, yw = make_dataset(win_features, win_target, SEEDS["win_reference"],
                                     N_WIN_REFERENCE, False, wh, WIN_DECIMALS)
    w_cur_csv, Xw_cur, _ = make_dataset(win_features, win_target, SEEDS["win_current"],
                                        N_WIN_CURRENT, True, wh, WIN_DECIMALS)
    _, Xw_ho, yw_ho = make_dataset(win_features, win_target, SEEDS["win_holdout"],
                                   N_HOLDOUT, False, wh, WIN_DECIMALS)
    files["nba_points_reference.csv"] = p_ref_csv.encode()
    files["nba_points_current.csv"] = p_cur_csv.encode()
    files["nba_win_reference.csv"] = w_ref_csv.encode()
    files["nba_win_current.csv"] = w_cur_csv.encode()
    print(f"data: points mean {yp.mean():.2f} (sd {yp.std():.2f}); home win rate {yw.mean():.3f}")

    # ---------------- models ----------------
    common_props = {"generator": "tools/make-fixtures.py", "synthetic_data": "true", "framework": "scikit-learn"}

    def props(name, version, task, features, target, algorithm):
        return {
            "feature_names": json.dumps(features),
            "model_name": name,
            "model_version": version,
            "task": task,
            "target": target,
            "algorithm": algorithm,
            **common_props,
        }

    manifest_models = []
    test_models = []

    def reg_metrics(est, X, y):
        p = est.predict(X)
        return {"rmse": r6(np.sqrt(mean_squared_error(y, p))), "mae": r6(mean_absolute_error(y, p)),
                "r2": r6(r2_score(y, p))}

    def clf_metrics(est, X, y):
        p = est.predict_proba(X)[:, 1]
        return {"accuracy": r6(accuracy_score(y, est.predict(X))), "auc": r6(roc_auc_score(y, p)),
                "log_loss": r6(log_loss(y, p))}

    def add(name, version, file, task, features, target, algorithm, description, est, model, metrics,
            rows, extra=None):
        b = model.SerializeToString()
        files[file] = b
        X5 = (Xp if task == "regression" else Xw)[:5]
        if task == "regression":
            expected = [float(v) for v in est.predict(X5)]
        else:
            expected = [{"label": int(lab), "probabilities": [float(v) for v in pr]}
                        for lab, pr in zip(est.predict(X5), est.predict_proba(X5))]
        entry = {
            "name": name,
            "version": version,
            "file": file,
            "task": task,
            "feature_names": features,
            "target": target,
            "description": description,
            **signature(model),
            "metrics": metrics,
            "tags": {"framework": "scikit-learn", "algorithm": algorithm, "training_rows": str(rows),
                     "data": "synthetic"},
        }
        if extra:
            entry.update(extra)
        entry["expected"] = expected
        entry["sha256"] = sha256(b)
        manifest_models.append(entry)

    # nba_points v1: LinearRegression
    lin = LinearRegression().fit(Xp, yp)
    desc = ("Synthetic demo: predicts a player's points in a game. Ordinary least squares "
            "(scikit-learn LinearRegression) on 10 features.")
    m_p1 = export(lin, "nba_points_v1", 10, desc,
                  props("nba_points", "1", "regression", POINTS_FEATURES, POINTS_TARGET, "LinearRegression"))
    verify_regressor("nba_points_v1.onnx", m_p1, lin, [Xp, Xp_cur, Xp_ho])
    add("nba_points", "1", "nba_points_v1.onnx", "regression", POINTS_FEATURES, POINTS_TARGET, "LinearRegression",
        desc, lin, m_p1, reg_metrics(lin, Xp_ho, yp_ho), len(yp),
        {"linear": {"intercept": float(lin.intercept_), "coefficients": [float(c) for c in lin.coef_]}})

    # nba_points v2: GradientBoostingRegressor
    gbr = GradientBoostingRegressor(n_estimators=60, max_depth=3, learning_rate=0.1,
                                    random_state=SEEDS["model"]).fit(Xp, yp)
    desc = ("Synthetic demo: predicts a player's points in a game. Gradient-boosted trees "
            "(scikit-learn GradientBoostingRegressor, 60 trees, depth 3) on 10 features.")
    m_p2 = export(gbr, "nba_points_v2", 10, desc,
                  props("nba_points", "2", "regression", POINTS_FEATURES, POINTS_TARGET, "GradientBoostingRegressor"))
    verify_regressor("nba_points_v2.onnx", m_p2, gbr, [Xp, Xp_cur, Xp_ho])
    add("nba_points", "2", "nba_points_v2.onnx", "regression", POINTS_FEATURES, POINTS_TARGET,
        "GradientBoostingRegressor", desc, gbr, m_p2, reg_metrics(gbr, Xp_ho, yp_ho), len(yp),
        {"hyperparameters": {"n_estimators": 60, "max_depth": 3, "learning_rate": 0.1}})

    # nba_win_predictor v1.5: LogisticRegression
    logit = LogisticRegression(C=1.0, max_iter=10000).fit(Xw, yw)
    desc = ("Synthetic demo: probability that the home team wins. Logistic regression "
            "(scikit-learn LogisticRegression, L2, C=1) on 8 features; outputs label and probabilities (no ZipMap).")
    nozip = {id(logit): {"zipmap": False}}
    m_w15 = export(logit, "nba_win_predictor_v1_5", 8, desc,
                   props("nba_win_predictor", "1.5", "classification", WIN_FEATURES, WIN_TARGET, "LogisticRegression"),
                   options=nozip)
    verify_classifier("nba_win_predictor_v1.5.onnx", m_w15, logit, [Xw, Xw_cur, Xw_ho])
    add("nba_win_predictor", "1.5", "nba_win_predictor_v1.5.onnx", "classification", WIN_FEATURES, WIN_TARGET,
        "LogisticRegression", desc, logit, m_w15, clf_metrics(logit, Xw_ho, yw_ho), len(yw),
        {"classes": [int(c) for c in logit.classes_],
         "linear": {"intercept": float(logit.intercept_[0]), "coefficients": [float(c) for c in logit.coef_[0]],
                    "link": "logistic: p(home_win=1) = 1 / (1 + exp(-(intercept + coefficients . x)))"}})

    # nba_win_predictor v2.0: GradientBoostingClassifier
    gbc = GradientBoostingClassifier(n_estimators=40, max_depth=3, learning_rate=0.2,
                                     random_state=SEEDS["model"]).fit(Xw, yw)
    desc = ("Synthetic demo: probability that the home team wins. Gradient-boosted trees "
            "(scikit-learn GradientBoostingClassifier, 40 trees, depth 3) on 8 features; "
            "outputs label and probabilities (no ZipMap).")
    m_w20 = export(gbc, "nba_win_predictor_v2_0", 8, desc,
                   props("nba_win_predictor", "2.0", "classification", WIN_FEATURES, WIN_TARGET,
                         "GradientBoostingClassifier"),
                   options={id(gbc): {"zipmap": False}})
    verify_classifier("nba_win_predictor_v2.0.onnx", m_w20, gbc, [Xw, Xw_cur, Xw_ho])
    add("nba_win_predictor", "2.0", "nba_win_predictor_v2.0.onnx", "classification", WIN_FEATURES, WIN_TARGET,
        "GradientBoostingClassifier", desc, gbc, m_w20, clf_metrics(gbc, Xw_ho, yw_ho), len(yw),
        {"classes": [int(c) for c in gbc.classes_],
         "hyperparameters": {"n_estimators": 40, "max_depth": 3, "learning_rate": 0.2}})

    mp = {(m["name"], m["version"]): m for m in manifest_models}
    if not mp[("nba_points", "2")]["metrics"]["rmse"] < mp[("nba_points", "1")]["metrics"]["rmse"]:
        raise SystemExit("nba_points v2 does not beat v1 on held-out RMSE")
    if not mp[("nba_win_predictor", "2.0")]["metrics"]["auc"] > mp[("nba_win_predictor", "1.5")]["metrics"]["auc"]:
        raise SystemExit("nba_win_predictor v2.0 does not beat v1.5 on held-out AUC")

    # ---------------- test models ----------------
    def add_test(file, model, description, based_on, features, expected, note=None):
        b = model.SerializeToString()
        files[file] = b
        entry = {"file": file, "description": description, "based_on": based_on, "feature_names": features,
                 **signature(model), "expected": expected}
        if note:
            entry["note"] = note
        entry["sha256"] = sha256(b)
        test_models.append(entry)

    # win_zipmap: v1.5 logistic regression with the default ZipMap output
    desc = ("Test model: nba_win_predictor v1.5 (LogisticRegression) exported WITH the default ZipMap, "
            "so output_probability is a sequence of maps {0: p0, 1: p1}.")
    m_zip = export(logit, "win_zipmap", 8, desc,
                   props("nba_win_predictor", "1.5", "classification", WIN_FEATURES, WIN_TARGET, "LogisticRegression"))
    verify_classifier("test-models/win_zipmap.onnx", m_zip, logit, [Xw, Xw_cur, Xw_ho], zipmap=True)
    add_test("test-models/win_zipmap.onnx", m_zip, desc, "nba_win_predictor@1.5", WIN_FEATURES,
             mp[("nba_win_predictor", "1.5")]["expected"],
             note="Outputs are named output_label / output_probability. onnxruntime-node 1.30 cannot return the "
                  "non-tensor output_probability (run() fails with 'Non tensor type is temporarily not "
                  "supported.'); fetching only output_label works.")

    # points_multi_input: v1 linear regression with one [N,1] float input per feature, concatenated in-graph
    desc = ("Test model: nba_points v1 (LinearRegression) with one float32 input of shape [N,1] per feature "
            "(named after the feature), concatenated inside the graph.")
    base = export(lin, "points_multi_input", 10, desc,
                  props("nba_points", "1", "regression", POINTS_FEATURES, POINTS_TARGET, "LinearRegression"))
    g = base.graph
    concat = helper.make_node("Concat", POINTS_FEATURES, [g.input[0].name], axis=1, name="ConcatFeatures")
    graph = helper.make_graph(
        [concat, *g.node], g.name,
        [helper.make_tensor_value_info(f, TensorProto.FLOAT, [None, 1]) for f in POINTS_FEATURES],
        list(g.output), list(g.initializer),
    )
    m_multi = helper.make_model(graph, opset_imports=list(base.opset_import), ir_version=base.ir_version,
                                producer_name=base.producer_name, producer_version=base.producer_version,
                                domain=base.domain, model_version=base.model_version)
    m_multi = set_props(m_multi, desc, {p.key: p.value for p in base.metadata_props})
    verify_regressor("test-models/points_multi_input.onnx", m_multi, lin, [Xp, Xp_cur, Xp_ho],
                     feed=lambda X: {f: X[:, i:i + 1].astype(np.float32) for i, f in enumerate(POINTS_FEATURES)})
    add_test("test-models/points_multi_input.onnx", m_multi, desc, "nba_points@1", POINTS_FEATURES,
             mp[("nba_points", "1")]["expected"])

    # points_double: v1 linear regression with a float64 input (skl2onnx emits MatMul/Add in double)
    desc = ("Test model: nba_points v1 (LinearRegression) exported with a float64 (DoubleTensorType) input "
            "'double_input' [N,10]; output 'variable' is float64 [N,1].")
    m_dbl = export(lin, "points_double", 10, desc,
                   props("nba_points", "1", "regression", POINTS_FEATURES, POINTS_TARGET, "LinearRegression"),
                   dtype=DoubleTensorType, input_name="double_input")
    sess = session(m_dbl)
    diff = max(float(np.max(np.abs(sess.run(None, {"double_input": X})[0].reshape(-1) - lin.predict(X))))
               for X in (Xp, Xp_cur, Xp_ho))
    check("test-models/points_double.onnx (float64)", diff)
    add_test("test-models/points_double.onnx", m_dbl, desc, "nba_points@1", POINTS_FEATURES,
             mp[("nba_points", "1")]["expected"])

    # points_int64 / points_int32: v1 linear regression taking integer features, cast to float32 inside the graph
    for bits, elem, np_int in ((64, TensorProto.INT64, np.int64), (32, TensorProto.INT32, np.int32)):
        stem = f"points_int{bits}"
        desc = (f"Test model: nba_points v1 (LinearRegression) with an int{bits} input 'int_input' [N,10], cast to "
                f"float32 inside the graph (serving's int{bits} conversion and range check).")
        base = export(lin, stem, 10, desc,
                      props("nba_points", "1", "regression", POINTS_FEATURES, POINTS_TARGET, "LinearRegression"))
        g = base.graph
        cast = helper.make_node("Cast", ["int_input"], [g.input[0].name], to=TensorProto.FLOAT, name="CastFeatures")
        graph = helper.make_graph(
            [cast, *g.node], g.name,
            [helper.make_tensor_value_info("int_input", elem, [None, 10])],
            list(g.output), list(g.initializer),
        )
        m_int = helper.make_model(graph, opset_imports=list(base.opset_import), ir_version=base.ir_version,
                                  producer_name=base.producer_name, producer_version=base.producer_version,
                                  domain=base.domain, model_version=base.model_version)
        m_int = set_props(m_int, desc, {p.key: p.value for p in base.metadata_props})
        verify_regressor(f"test-models/{stem}.onnx", m_int, lin, [np.round(X) for X in (Xp, Xp_cur, Xp_ho)],
                         feed=lambda X, t=np_int: {"int_input": X.astype(t)})
        add_test(f"test-models/{stem}.onnx", m_int, desc, "nba_points@1", POINTS_FEATURES,
                 [float(v) for v in lin.predict(np.round(Xp[:5]))])

    # ---------------- sizes, manifest, README ----------------
    for f, b in files.items():
        if f.endswith(".onnx") and len(b) >= MAX_MODEL_BYTES:
            raise SystemExit(f"{f} is {len(b)} bytes (limit {MAX_MODEL_BYTES})")

    datasets = [
        {"file": "nba_points_reference.csv", "task": "nba_points", "rows": N_POINTS_REFERENCE,
         "distribution": "reference", "role": "training data of nba_points v1 and v2", "target": POINTS_TARGET,
         "sha256": sha256(files["nba_points_reference.csv"])},
        {"file": "nba_points_current.csv", "task": "nba_points", "rows": N_POINTS_CURRENT,
         "distribution": "shifted",
         "shifted_features": ["season_avg_points", "days_rest", "opponent_def_rating"], "target": POINTS_TARGET,
         "sha256": sha256(files["nba_points_current.csv"])},
        {"file": "nba_win_reference.csv", "task": "nba_win_predictor", "rows": N_WIN_REFERENCE,
         "distribution": "reference", "role": "training data of nba_win_predictor v1.5 and v2.0",
         "target": WIN_TARGET, "sha256": sha256(files["nba_win_reference.csv"])},
        {"file": "nba_win_current.csv", "task": "nba_win_predictor", "rows": N_WIN_CURRENT,
         "distribution": "shifted", "shifted_features": ["home_win_pct", "home_off_rating", "away_rest_days"],
         "target": WIN_TARGET, "sha256": sha256(files["nba_win_current.csv"])},
    ]
    def ks(X_ref, X_cur, features):
        out = {}
        for j, f in enumerate(features):
            # method='auto' (exact below 10 000 per side), full precision: what detect_drift must reproduce.
            r = ks_2samp(X_ref[:, j], X_cur[:, j], method="auto")
            out[f] = {"statistic": float(r.statistic), "pvalue": float(r.pvalue)}
        return out

    datasets[1]["ks_vs_reference"] = ks(Xp, Xp_cur, POINTS_FEATURES)
    datasets[3]["ks_vs_reference"] = ks(Xw, Xw_cur, WIN_FEATURES)
    manifest = {
        "generator": "tools/make-fixtures.py (regenerate with: bash tools/make-fixtures.sh)",
        "synthetic": True,
        "note": "SYNTHETIC data, not real NBA statistics. Metrics are on a held-out sample of "
                f"{N_HOLDOUT} rows from the reference distribution. 'expected' = scikit-learn predictions (float64) "
                "for the first 5 rows of the model's reference CSV; the ONNX models compute in float32 "
                "(points_double in float64), so compare with a tolerance of ~1e-4. ks_vs_reference: two-sample "
                "Kolmogorov-Smirnov per feature on the CSV values (scipy.stats.ks_2samp, method='auto').",
        "library_versions": versions,
        "target_opset": {("ai.onnx" if k == "" else k): v for k, v in TARGET_OPSET.items()},
        "seeds": SEEDS,
        "models": manifest_models,
        "test_models": test_models,
        "datasets": datasets,
    }
    files["models.json"] = (json.dumps(manifest, indent=2) + "\n").encode()
    files["README.md"] = readme(manifest, files).encode()

    total = sum(len(b) for b in files.values())
    if total >= MAX_TOTAL_BYTES:
        raise SystemExit(f"fixtures total {total} bytes (limit {MAX_TOTAL_BYTES})")
    for f, b in files.items():
        (out / f).write_bytes(b)

    print("metrics (held-out):")
    for m in manifest_models:
        print(f"  {m['name']}@{m['version']:<4} {m['tags']['algorithm']:<27} {m['metrics']}")
    print("files:")
    for f in sorted(files):
        print(f"  {len(files[f]):>9,d}  {f}")
    print(f"  {total:>9,d}  total -> {out}")
    print(f"done in {time.perf_counter() - t0:.1f} s")
    return 0


def readme(manifest: dict, files: dict[str, bytes]) -> str:
    v = manifest["library_versions"]
    rows = []
    for m in manifest["models"]:
        met = ", ".join(f"{k} {val:.4f}" for k, val in m["metrics"].items())
        rows.append(f"| `{m['file']}` | {m['name']} | {m['version']} | {m['tags']['algorithm']} | "
                    f"{len(files[m['file']]):,} | {met} |")
    trows = [f"| `{t['file']}` | {len(files[t['file']]):,} | {t['description']}"
             + (f" {t['note']}" if t.get("note") else "") + " |" for t in manifest["test_models"]]
    pf = ", ".join(f"`{f}`" for f in POINTS_FEATURES)
    wf = ", ".join(f"`{f}`" for f in WIN_FEATURES)
    return f"""# Demo fixtures

> Generated by `tools/make-fixtures.py` — do not edit by hand. Regenerate with
> `bash tools/make-fixtures.sh` (creates the pinned `.venv` via `tools/python-venv.sh`).
> Two runs produce byte-identical files (same library versions, same platform).

**All data here is SYNTHETIC.** It imitates the shape and plausible value ranges of NBA
statistics but is drawn from hand-written random distributions with fixed seeds. It is not
real NBA data and must not be used for anything except demos and tests.

## Models

All models are scikit-learn estimators exported with skl2onnx (`target_opset` pinned to
`ai.onnx` {TARGET_OPSET['']}, `ai.onnx.ml` {TARGET_OPSET['ai.onnx.ml']}; skl2onnx records the lowest opset each
graph needs, see `opset` in `models.json`; IR version 8). Each has one input
`float_input`, float32 `[N, n_features]`, and the ONNX metadata property `feature_names`
(a JSON list, in input-column order) plus `model_name`, `model_version`, `task`, `target`,
`algorithm`. Regressors output `variable` float32 `[N, 1]`; classifiers output
`label` int64 `[N]` and `probabilities` float32 `[N, 2]` (classes 0, 1; ZipMap disabled).
Metrics are on {N_HOLDOUT} held-out rows from the reference distribution (not written to disk).

| file | name | version | algorithm | bytes | held-out metrics |
|---|---|---|---|---|---|
{chr(10).join(rows)}

`models.json` is the manifest: per model its features, input/output signature, metrics, tags,
the linear intercept/coefficients (float64, full precision) for the linear and logistic models,
`expected` = scikit-learn predictions for the first 5 rows of the reference CSV (the ONNX graphs
compute in float32: compare with a tolerance of about 1e-4), and the sha256 of each file.

### Serving-test models (`test-models/`)

| file | bytes | what |
|---|---|---|
{chr(10).join(trows)}

### Models as their libraries export them (`exports/`)

scikit-learn, XGBoost, LightGBM, CatBoost and PyTorch models exported with each library's default
call, with the library's own predictions beside them: written by `tools/make-export-fixtures.py`
(its own venv, `.venv-exports`), described in `exports/README.md` and `docs/models.md`.

## Data

CSV: header row = feature names in model-input order, then the target column. Numbers use at
most 4 decimals (fixed per column). The reference CSVs are exactly the training data.

### nba_points (regression: points a player scores in a game)

Features: {pf}; target `points` (integer, 0–70).

Reference distribution (`nba_points_reference.csv`, {N_POINTS_REFERENCE} rows, seed {SEEDS['points_reference']}):
- `is_home` ~ Bernoulli(0.5); `days_rest` ∈ 0..5 with P = {DAYS_REST_P_REFERENCE}.
- `season_avg_points` = clip(3 + Gamma(2.4, 4.6), 2, 36); rebounds and assists are gamma
  draws correlated with it; `minutes_avg` = clip(10 + 0.85·season_pts + N(0, 3.5), 8, 40).
- `last5_avg_*` = season average + heteroscedastic normal noise, rounded to multiples of 0.2.
- `opponent_def_rating` = clip(N({OPP_DEF_MEAN_REFERENCE}, {OPP_DEF_SD}), 100, 120).
- True mean (mildly nonlinear): (0.95·season_pts + 0.45·(last5_pts − season_pts)) ·
  (0.85 + 0.25·tanh((minutes − 27)/5)) + 0.15·ast + 0.05·reb + rest effect
  {POINTS_REST_EFFECT.tolist()}[days_rest] + 1.0·is_home, all × (1 + 0.02·(def_rating − 112));
  plus N(0, 2.5 + 0.15·mean) noise, rounded to an integer.

Shift in `nba_points_current.csv` ({N_POINTS_CURRENT} rows, seed {SEEDS['points_current']}):
- `season_avg_points` +{SEASON_POINTS_SHIFT} (added after the correlated features were drawn, so their
  distributions are unchanged);
- `days_rest` P = {DAYS_REST_P_CURRENT} (more back-to-backs);
- `opponent_def_rating` mean {OPP_DEF_MEAN_REFERENCE} → {OPP_DEF_MEAN_CURRENT};
- all other features: same distribution as the reference. Target from the same true model.
- `models.json` → `datasets[].ks_vs_reference` has the per-feature two-sample KS statistic and p-value.

### nba_win_predictor (binary classification: `home_win` = 1 if the home team wins)

Features: {wf}; target `home_win` (0/1).

Reference distribution (`nba_win_reference.csv`, {N_WIN_REFERENCE} rows, seed {SEEDS['win_reference']}):
- `*_win_pct` = clip(Beta(6, 6), 0.1, 0.9); net strength = 12·(win_pct − 0.5) + N(0, 2);
  `*_off_rating` = 113 + 0.55·net + N(0, 1.5); `*_def_rating` = 113 − 0.45·net + N(0, 1.5).
- `*_rest_days` ∈ 0..4 with P = {REST_P_REFERENCE}.
- True logit: 0.4 + 2.2·tanh(0.12·(net-rating gap) + 2.5·(win_pct gap)) + 1.2·(rest(home) − rest(away))
  − max(0, away_off − home_def − 3)/3, with rest effect {WIN_REST_EFFECT.tolist()}[rest_days].

Shift in `nba_win_current.csv` ({N_WIN_CURRENT} rows, seed {SEEDS['win_current']}):
- `home_win_pct` +{HOME_WIN_PCT_SHIFT} and `home_off_rating` +{HOME_OFF_RATING_SHIFT} (after the correlated draws);
- `away_rest_days` P = {AWAY_REST_P_CURRENT};
- all other features: same distribution as the reference. Target from the same true model.

## Library versions

numpy {v['numpy']}, scipy {v['scipy']}, scikit-learn {v['scikit-learn']}, skl2onnx {v['skl2onnx']},
onnx {v['onnx']}, onnxruntime {v['onnxruntime']} (pinned in `tools/requirements.txt`).
Every model is verified by the generator with onnxruntime against scikit-learn
(max abs difference < {TOLERANCE:g}, labels equal).
"""


if __name__ == "__main__":
    sys.exit(main())
