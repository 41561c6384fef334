#!/usr/bin/env python3
"""Write fixtures/performance-vectors.json: reference values for src/performance/.

  - regression:     scikit-learn r2_score, mean_absolute_error, root_mean_squared_error and the mean
                    error (bias); intervals: scipy.stats.t.interval of MAE, bias and MSE (RMSE's is
                    its square root) and the delta-method interval of R² (numpy, from its formula);
  - classification: scikit-learn accuracy_score, precision/recall/f1 per class
                    (precision_recall_fscore_support), log_loss, brier_score_loss, roc_auc_score;
                    intervals: statsmodels proportion_confint(method='wilson') of accuracy,
                    precision and recall, scipy.stats.t.interval of log loss and Brier, the
                    delta-method interval of F1 and DeLong's of ROC AUC (numpy, from their formulas);
  - welch:          scipy.stats.ttest_ind(b, a, equal_var=False) and its confidence_interval;
  - ztest:          statsmodels proportions_ztest([xb, xa], [nb, na]) and
                    confint_proportions_2indep(xb, nb, xa, na, method='newcombe');
  - power:          statsmodels NormalIndPower().solve_power(effect_size=proportion_effectsize(...),
                    alpha, power, ratio), next to the same root found to full precision (brentq).

Deterministic: fixed seeds; values are rounded to 6 significant digits before the libraries see
them, so the committed inputs are exactly what they computed on.
Run with tools/make-performance-vectors.sh (its own pinned venv). Optional argument: output path.
"""

from __future__ import annotations

import json
import math
import sys
from pathlib import Path

import numpy as np
import scipy
import sklearn
import statsmodels
from scipy import optimize, stats
from sklearn import metrics as M
from statsmodels.stats.power import NormalIndPower
from statsmodels.stats.proportion import confint_proportions_2indep, proportion_confint, proportion_effectsize, proportions_ztest

ROOT = Path(__file__).resolve().parent.parent
OUT = Path(sys.argv[1]) if len(sys.argv) > 1 else ROOT / "fixtures" / "performance-vectors.json"
CONF = 0.95


def sig(x, digits: int = 6) -> np.ndarray:
    return np.array([float(f"{v:.{digits}g}") for v in np.asarray(x, dtype=np.float64).tolist()])


def num(v):
    f = float(v)
    return None if math.isnan(f) or math.isinf(f) else f


def interval(lo, hi):
    return None if lo is None or hi is None or not (np.isfinite(lo) and np.isfinite(hi)) else [float(lo), float(hi)]


def t_interval(x):
    x = np.asarray(x, dtype=np.float64)
    if len(x) < 2:
        return None
    lo, hi = stats.t.interval(CONF, len(x) - 1, loc=x.mean(), scale=stats.sem(x))
    return interval(lo, hi)


def wilson(count, n):
    if n == 0:
        return None
    lo, hi = proportion_confint(count, n, alpha=1 - CONF, method="wilson")
    return interval(lo, hi)


def r2_interval(y, p):
    n = len(y)
    sq = (p - y) ** 2
    dev = (y - y.mean()) ** 2
    ma, mb = sq.mean(), dev.mean()
    va, vb = sq.var(ddof=1), dev.var(ddof=1)
    cov = np.cov(sq, dev, ddof=1)[0, 1]
    r = ma / mb
    var = (va - 2 * r * cov + r * r * vb) / (n * mb * mb)
    z = stats.norm.ppf((1 + CONF) / 2)
    se = math.sqrt(max(0.0, var))
    return interval(1 - r - z * se, 1 - r + z * se)


def f1_interval(tp, fp, fn, n):
    d = 2 * tp + fp + fn
    if d == 0:
        return None
    f1 = 2 * tp / d
    p = np.array([tp, fp, fn]) / n
    dd = 2 * p[0] + p[1] + p[2]
    g = np.array([2 * (p[1] + p[2]) / dd**2, -2 * p[0] / dd**2, -2 * p[0] / dd**2])
    cov = (np.diag(p) - np.outer(p, p)) / n
    se = math.sqrt(max(0.0, g @ cov @ g))
    z = stats.norm.ppf((1 + CONF) / 2)
    return interval(max(0.0, f1 - z * se), min(1.0, f1 + z * se))


def delong_interval(y, score):
    pos, neg = score[y == 1], score[y == 0]
    m, n = len(pos), len(neg)
    allr = stats.rankdata(np.concatenate([pos, neg]))
    v10 = (allr[:m] - stats.rankdata(pos)) / n
    v01 = 1 - (allr[m:] - stats.rankdata(neg)) / m
    auc = (allr[:m].sum() - m * (m + 1) / 2) / (m * n)
    s10 = v10.var(ddof=1) if m > 1 else 0.0
    s01 = v01.var(ddof=1) if n > 1 else 0.0
    se = math.sqrt(s10 / m + s01 / n)
    z = stats.norm.ppf((1 + CONF) / 2)
    return auc, interval(max(0.0, auc - z * se), min(1.0, auc + z * se))


def regression_case(rng, n, noise, shift):
    y = sig(rng.normal(20, 6, n))
    p = sig(y + rng.normal(shift, noise, n))
    e = p - y
    return {
        "predicted": p.tolist(),
        "actual": y.tolist(),
        "r2": float(M.r2_score(y, p)),
        "r2_ci": r2_interval(y, p) if n >= 2 else None,
        "mae": float(M.mean_absolute_error(y, p)),
        "mae_ci": t_interval(np.abs(e)),
        "rmse": float(M.root_mean_squared_error(y, p)),
        "mse_ci": t_interval(e**2),
        "bias": float(e.mean()),
        "bias_ci": t_interval(e),
    }


def classification_case(rng, n, labels, skill):
    k = len(labels)
    actual_idx = rng.integers(0, k, n)
    logits = rng.normal(0, 1, (n, k))
    logits[np.arange(n), actual_idx] += skill
    prob = np.exp(logits) / np.exp(logits).sum(axis=1, keepdims=True)
    prob = np.array([sig(row) for row in prob])
    prob = prob / prob.sum(axis=1, keepdims=True)
    pred_idx = prob.argmax(axis=1)
    actual = [labels[i] for i in actual_idx]
    predicted = [labels[i] for i in pred_idx]
    out = {
        "labels": labels,
        "actual": actual,
        "predicted": predicted,
        "probabilities": prob.tolist(),
        "accuracy": float(M.accuracy_score(actual, predicted)),
        "accuracy_ci": wilson(int(sum(a == b for a, b in zip(actual, predicted))), n),
        "log_loss": float(M.log_loss(actual, prob, labels=labels)),
        "brier": float(M.brier_score_loss(actual, prob, labels=labels) if k > 2 else M.brier_score_loss(actual, prob[:, 1], pos_label=labels[1])),
    }
    eps = np.finfo(np.float64).eps
    per_ll = -np.log(np.clip(prob[np.arange(n), actual_idx], eps, 1 - eps))
    onehot = np.eye(k)[actual_idx]
    per_brier = ((prob - onehot) ** 2).sum(axis=1) * (0.5 if k <= 2 else 1.0)
    out["log_loss_ci"] = t_interval(per_ll)
    out["brier_ci"] = t_interval(per_brier)
    prec, rec, f1, support = M.precision_recall_fscore_support(actual, predicted, labels=labels, zero_division=np.nan)
    classes = []
    for c, label in enumerate(labels):
        tp = int(np.sum((actual_idx == c) & (pred_idx == c)))
        fp = int(np.sum((actual_idx != c) & (pred_idx == c)))
        fn = int(np.sum((actual_idx == c) & (pred_idx != c)))
        classes.append({
            "label": label,
            "support": int(support[c]),
            "precision": num(prec[c]),
            "precision_ci": wilson(tp, tp + fp),
            "recall": num(rec[c]),
            "recall_ci": wilson(tp, tp + fn),
            "f1": num(f1[c]),
            "f1_ci": f1_interval(tp, fp, fn, n),
        })
    out["classes"] = classes
    if k == 2:
        y = (actual_idx == 1).astype(int)
        auc = M.roc_auc_score(y, prob[:, 1])
        dl, ci = delong_interval(y, prob[:, 1])
        assert abs(auc - dl) < 1e-12
        out["roc_auc"] = float(auc)
        out["roc_auc_ci"] = ci
    return out


def welch_case(rng, na, nb, da, db, shift):
    a = sig(np.abs(rng.normal(0, da, na)))
    b = sig(np.abs(rng.normal(shift, db, nb)))
    res = stats.ttest_ind(b, a, equal_var=False)
    ci = res.confidence_interval(CONF)
    return {"a": a.tolist(), "b": b.tolist(), "confidence": CONF, "statistic": float(res.statistic), "p_value": float(res.pvalue), "df": float(res.df), "ci": [float(ci.low), float(ci.high)]}


def z_case(xa, na, xb, nb, alpha):
    z, p = proportions_ztest([xb, xa], [nb, na])
    lo, hi = confint_proportions_2indep(xb, nb, xa, na, compare="diff", method="newcombe", alpha=alpha)
    return {"xa": xa, "na": na, "xb": xb, "nb": nb, "alpha": alpha, "statistic": float(z), "p_value": float(p), "ci": [float(lo), float(hi)]}


def power_case(pa, effect, alpha, power, ratio):
    h = proportion_effectsize(pa + effect, pa)
    solved = NormalIndPower().solve_power(effect_size=h, alpha=alpha, power=power, ratio=ratio)
    f = lambda n: NormalIndPower().power(h, n, alpha, ratio=ratio) - power
    exact = optimize.brentq(f, 1e-9, 1e12, xtol=1e-15, rtol=4 * np.finfo(float).eps, maxiter=500)
    return {"pa": pa, "effect": effect, "alpha": alpha, "power": power, "ratio": ratio, "h": float(h), "nobs1_statsmodels": float(solved), "nobs1": float(exact)}


def main() -> None:
    rng = np.random.default_rng(20261123)
    regression = [regression_case(rng, n, noise, shift) for n, noise, shift in [(2, 1, 0), (3, 0.5, 0.2), (10, 2, 0), (57, 3, 1), (400, 4, -0.5), (600, 5, 0.3), (1000, 0.01, 0)]]
    classification = [
        classification_case(rng, n, labels, skill)
        for n, labels, skill in [(5, ["0", "1"], 1.0), (50, ["0", "1"], 0.5), (800, ["0", "1"], 1.5), (700, ["no", "yes"], 0.8), (120, ["a", "b", "c"], 1.0), (300, ["1", "2", "3", "4"], 0.7)]
    ]
    welch = [welch_case(rng, na, nb, da, db, s) for na, nb, da, db, s in [(2, 2, 1, 1, 0), (5, 9, 1, 3, 0.5), (30, 30, 2, 2, 0), (200, 50, 3, 5, 1.0), (900, 300, 4, 4, 0.1), (1500, 1500, 1, 1, 0.05)]]
    ztest = [z_case(*c) for c in [(1, 2, 2, 3, 0.05), (40, 50, 30, 50, 0.05), (700, 1000, 730, 1000, 0.05), (7000, 10000, 7350, 10000, 0.01), (15, 200, 40, 180, 0.1), (9990, 10000, 9995, 10000, 0.05), (0, 30, 3, 30, 0.05)]]
    power = [power_case(*c) for c in [(0.5, 0.1, 0.05, 0.8, 1.0), (0.7335, 0.014, 0.05, 0.8, 1.0), (0.8, 0.02, 0.05, 0.8, 0.25), (0.3, 0.05, 0.01, 0.8, 4.0), (0.95, -0.03, 0.05, 0.9, 1.0)]]
    data = {
        "generator": "tools/make-performance-vectors.py",
        "numpy": np.__version__,
        "scipy": scipy.__version__,
        "sklearn": sklearn.__version__,
        "statsmodels": statsmodels.__version__,
        "confidence": CONF,
        "regression": regression,
        "classification": classification,
        "welch": welch,
        "ztest": ztest,
        "power": power,
    }
    OUT.write_text(json.dumps(data, separators=(",", ":")) + "\n")
    print(f"wrote {OUT} ({OUT.stat().st_size} bytes)", file=sys.stderr)


if __name__ == "__main__":
    main()
