#!/usr/bin/env python3
"""Write fixtures/ks-vectors.json: reference values for the TypeScript ports in src/monitoring/.

  - ks:         scipy.stats.ks_2samp(a, b, alternative='two-sided', method=...) -> statistic,
                pvalue, and the method scipy actually used (exact / asymp, after its fallbacks);
  - kstwo:      scipy.stats.kstwo.sf(d, n) across every branch of scipy's _kolmogn;
  - smirnov:    scipy.special.smirnov(n, d) (one-sided, used inside _kolmogn);
  - psi:        population stability index, direct numpy implementation of the definition in
                src/monitoring/statistics/psi.ts;
  - quantile:   numpy.quantile(sorted, q) (method 'linear'), the PSI edges, to compare bit for
                bit: numpy's _lerp rounds differently below and from gamma = 0.5;
  - correction: Bonferroni and Benjamini-Hochberg (statsmodels 'fdr_bh' semantics) adjusted
                p-values, computed with numpy from their definitions.

Deterministic: fixed seeds; samples are rounded to <= 6 significant digits *before* scipy sees
them, so the committed numbers are exactly the inputs scipy used.
Run with tools/make-ks-vectors.sh (uses the pinned venv). Optional argument: output path.
"""

from __future__ import annotations

import json
import math
import platform
import sys
import warnings
from pathlib import Path

import numpy as np
import scipy
from scipy import special, stats
from scipy.stats._stats_py import _compute_prob_outside_square

ROOT = Path(__file__).resolve().parent.parent
OUT = Path(sys.argv[1]) if len(sys.argv) > 1 else ROOT / "fixtures" / "ks-vectors.json"

MAX_AUTO_N = 10000
INT32_MAX = np.iinfo(np.int32).max


def sig(x: np.ndarray, digits: int = 6) -> np.ndarray:
    """Round every value to `digits` significant digits (exactly what JSON will carry)."""
    x = np.asarray(x, dtype=np.float64)
    return np.array([float(f"{v:.{digits}g}") for v in x.tolist()], dtype=np.float64)


def jnum(v: float):
    """Compact JSON number: integral floats as ints, others via repr (round-trips exactly)."""
    f = float(v)
    if math.isnan(f):
        return None
    if f.is_integer() and abs(f) < 2**53:
        return int(f)
    return f


def jarr(x) -> list:
    return [jnum(v) for v in np.asarray(x, dtype=np.float64).tolist()]


# --------------------------------------------------------------------------------------------
# Which branch scipy takes (reproduced from scipy/stats/_stats_py.py and _ksstats.py)
# --------------------------------------------------------------------------------------------


def kolmogn_branch(n: float, x: float) -> str:
    """Branch of kstwo.sf(x, n) -> _kolmogn(n, x, cdf=False)."""
    if not (n >= 1 and n == np.round(n)):
        return "nan"
    n = int(n)
    if x <= 0.5 / n:
        return "support-low"
    if x >= 1.0:
        return "support-high"
    t = n * x
    if t <= 1.0:
        return "ruben-gambino-low-prod" if n <= 140 else "ruben-gambino-low-stirling"
    if t >= n - 1:
        return "ruben-gambino-high"
    if x >= 0.5:
        return "smirnov-x-ge-half"
    nxsquared = t * x
    if n <= 140:
        if nxsquared <= 0.754693:
            return "dmtw"
        if nxsquared <= 4:
            return "pomeranz"
        return "smirnov"
    if nxsquared >= 370.0:
        return "zero"
    if nxsquared >= 2.2:
        return "smirnov"
    if n <= 100000 and n * x**1.5 <= 1.4:
        return "dmtw"
    return "pelz-good"


def ks_decision(n1: int, n2: int, d_raw: float, method: str) -> tuple[str, str]:
    """Reproduce ks_2samp's method choice; returns (method_used, branch)."""
    g = math.gcd(n1, n2)
    n1g, n2g = n1 // g, n2 // g
    if method == "auto":
        mode = "exact" if max(n1, n2) <= MAX_AUTO_N else "asymp"
    elif method == "exact":
        mode = "asymp" if n1g >= INT32_MAX / n2g else "exact"
    else:
        mode = "asymp"
    d = d_raw
    branch = ""
    if mode == "exact":
        lcm = (n1 // g) * n2
        h = int(np.round(d * lcm))
        d = h * 1.0 / lcm
        if h == 0:
            return "exact", "exact:h0"
        if n1 == n2:
            p = _compute_prob_outside_square(n1, h)
            if 0 <= p <= 1:
                return "exact", "exact:square"
            branch = "fallback:"
            mode = "asymp"
        else:
            return "exact", "exact:inside"  # the inside method never leaves [0, 1]
    elif method == "exact":
        branch = "lcm-too-big:"
    m, n = sorted([float(n1), float(n2)], reverse=True)
    en = m * n / (m + n)
    return "asymp", branch + "asymp:" + kolmogn_branch(np.round(en), d)


def ks_statistic_raw(a: np.ndarray, b: np.ndarray) -> float:
    a = np.sort(a)
    b = np.sort(b)
    allv = np.concatenate([a, b])
    cd = np.searchsorted(a, allv, side="right") / len(a) - np.searchsorted(b, allv, side="right") / len(b)
    mx = cd[np.argmax(cd)]
    mn = np.clip(-cd[np.argmin(cd)], 0, 1)
    return float(mn if mn > mx else mx)


# --------------------------------------------------------------------------------------------
# KS pairs
# --------------------------------------------------------------------------------------------

ks_vectors: list[dict] = []


def add_ks(vid: str, a, b, method: str = "auto") -> None:
    a = np.asarray(a, dtype=np.float64)
    b = np.asarray(b, dtype=np.float64)
    assert np.array_equal(a, sig(a)) and np.array_equal(b, sig(b)), vid
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        res = stats.ks_2samp(a, b, alternative="two-sided", method=method)
    switched = any("Switching to" in str(w.message) for w in caught)
    used, branch = ks_decision(len(a), len(b), ks_statistic_raw(a, b), method)
    requested_exact = method == "exact" or (method == "auto" and max(len(a), len(b)) <= MAX_AUTO_N)
    assert switched == (requested_exact and used == "asymp"), (vid, switched, used, branch)
    ks_vectors.append(
        {
            "id": vid,
            "a": jarr(a),
            "b": jarr(b),
            "method": method,
            "statistic": float(res.statistic),
            "pvalue": jnum(res.pvalue),
            "method_used": used,
            "branch": branch,
        }
    )


def rng(seed: int) -> np.random.Generator:
    return np.random.default_rng(seed)


def normal(seed: int, n: int, loc: float = 0.0, scale: float = 1.0, digits: int = 6) -> np.ndarray:
    return sig(rng(seed).normal(loc, scale, n), digits)


# --- small / exact branch -------------------------------------------------------------------
add_ks("tiny-3v3-interleaved", [1, 3, 5], [2, 4, 6])
add_ks("tiny-3v4-disjoint", [1, 2, 3], [10, 11, 12, 13])
add_ks("tiny-1v1-equal", [0.5], [0.5])
add_ks("tiny-1v1-different", [0.5], [1.5])
add_ks("tiny-1v5", [2.0], [0.1, 0.2, 3.0, 4.0, 5.0])
add_ks("small-5v5-normal", normal(1, 5), normal(2, 5))
add_ks("small-8v13-shift", normal(3, 8), normal(4, 13, 1.0))
add_ks("small-20v20-same", normal(5, 20), normal(6, 20))
add_ks("small-25v40-scale", normal(7, 25), normal(8, 40, 0.0, 3.0))
add_ks("small-37v23-ties-int", rng(9).integers(0, 5, 37).astype(float), rng(10).integers(0, 5, 23).astype(float))
add_ks("medium-100v100-same", normal(11, 100), normal(12, 100))
add_ks("medium-100v150-shift0.3", normal(13, 100), normal(14, 150, 0.3))
add_ks("medium-200v200-shift1.5", normal(15, 200), normal(16, 200, 1.5))
add_ks("medium-300v280-shift2", normal(17, 300), normal(18, 280, 2.0))
add_ks("medium-250v250-disjoint", normal(19, 250), normal(20, 250, 100.0))
add_ks("medium-600v600-disjoint-underflow", normal(21, 600), normal(22, 600, 100.0))
add_ks("medium-500v700-disjoint-underflow", normal(23, 500), normal(24, 700, 50.0))
add_ks("medium-400v300-rounded-ties", sig(rng(25).normal(0, 1, 400), 2), sig(rng(26).normal(0.2, 1, 300), 2))
add_ks("medium-150v150-identical", normal(27, 150), normal(27, 150))
add_ks("medium-80v120-one-constant", np.full(80, 1.5), normal(28, 120, 1.5))
add_ks("medium-60v90-both-constant-equal", np.full(60, 2.25), np.full(90, 2.25))
add_ks("medium-60v90-both-constant-different", np.full(60, 2.25), np.full(90, 3.0))
add_ks("medium-500v499-coprime", normal(29, 500), normal(30, 499, 0.15))
add_ks("medium-1000v1000-shift0.1", normal(31, 1000), normal(32, 1000, 0.1))
add_ks("medium-1000v1000-shift0.25", normal(33, 1000), normal(34, 1000, 0.25))
add_ks("medium-1000v1000-shift0.35", normal(35, 1000), normal(36, 1000, 0.35))
add_ks("medium-2000v1500-shift0.2", normal(37, 2000), normal(38, 1500, 0.2))
add_ks("medium-3000v3000-uniform-vs-normal", sig(rng(39).uniform(-1.7, 1.7, 3000)), normal(40, 3000))
add_ks("medium-5000v3001-heavy-ties", rng(41).integers(0, 20, 5000).astype(float), rng(42).integers(0, 21, 3001).astype(float))
add_ks("medium-1200v800-exponential", sig(rng(43).exponential(1.0, 1200)), sig(rng(44).exponential(1.2, 800)))
add_ks("large-10000v9000-exact-inside", normal(45, 10000, 0, 1, 4), normal(46, 9000, 0.03, 1, 4))
add_ks("large-10000v10000-exact-square", normal(47, 10000, 0, 1, 4), normal(48, 10000, 0.04, 1, 4))
# tiny p-values still above the float minimum (exact branch)
add_ks("pvalue-1e-12-exact", normal(49, 400), normal(50, 400, 0.64))
add_ks("pvalue-1e-8-exact-unequal", normal(51, 300), normal(52, 350, 0.5))
add_ks("pvalue-1e-40-exact", normal(53, 300), normal(54, 300, 1.6))
add_ks("pvalue-1e-100-exact-unequal", normal(55, 400), normal(56, 450, 3.0))

# --- scipy's exact -> asymp fallback (n1 == n2, rounding pushes the exact p above 1) ----------
add_ks("fallback-5v5-h1", [1, 3, 5, 7, 9], [2, 4, 6, 8, 10])
add_ks("fallback-60v60-h2", np.arange(60) * 2.0, np.arange(60) * 2.0 - 3)

# --- asymptotic branch (auto with max(n1, n2) > 10000) ---------------------------------------
add_ks("asymp-12000v11000-same", normal(57, 12000, 0, 1, 4), normal(58, 11000, 0, 1, 4))
add_ks("asymp-15000v10001-shift0.03", normal(59, 15000, 0, 1, 4), normal(60, 10001, 0.03, 1, 4))
add_ks("asymp-20000v12000-shift0.1-smirnov", normal(61, 20000, 0, 1, 4), normal(62, 12000, 0.1, 1, 4))
add_ks("asymp-11000v11000-shift1-zero", normal(63, 11000, 0, 1, 4), normal(64, 11000, 1.0, 1, 4))
add_ks("asymp-50000v50000-ties-int", rng(65).integers(0, 50, 50000).astype(float), rng(66).integers(0, 50, 50000).astype(float))
add_ks("asymp-30000v200-small-side", normal(67, 30000, 0, 1, 4), normal(68, 200, 0.2, 1, 4))
add_ks("asymp-10001v5-tiny-side", normal(69, 10001, 0, 1, 4), normal(70, 5, 0.0, 1, 4))
add_ks("asymp-10001v3-dmtw", sig(np.linspace(-2, 2, 10001), 5), [-0.1, 0.0, 0.1])
add_ks("asymp-20000v20000-identical", normal(71, 20000, 0, 1, 4), normal(71, 20000, 0, 1, 4))
add_ks("asymp-12000v12000-pvalue-1e-7", normal(72, 12000, 0, 1, 4), normal(73, 12000, 0.075, 1, 4))

# --- explicit methods ------------------------------------------------------------------------
add_ks("explicit-asymp-4v4", [1.0, 2.0, 3.0, 4.0], [1.5, 2.5, 3.5, 4.5], "asymp")
add_ks("explicit-asymp-1v1", [0.5], [1.5], "asymp")
add_ks("explicit-asymp-1v2", [0.5], [1.5, 2.5], "asymp")
add_ks("explicit-asymp-10v10-disjoint", normal(74, 10), normal(75, 10, 50.0), "asymp")
add_ks("explicit-asymp-30v40-same", normal(76, 30), normal(77, 40), "asymp")
add_ks("explicit-asymp-100v100-shift0.3", normal(78, 100), normal(79, 100, 0.3), "asymp")
add_ks("explicit-asymp-150v150-shift0.4", normal(80, 150), normal(81, 150, 0.4), "asymp")
add_ks("explicit-asymp-120v160-same-pomeranz", normal(82, 120), normal(83, 160), "asymp")
add_ks("explicit-asymp-250v300-shift0.6", normal(84, 250), normal(85, 300, 0.6), "asymp")
add_ks("explicit-asymp-400v400-same", normal(86, 400), normal(87, 400), "asymp")
add_ks("explicit-asymp-2000v3000-shift0.12", normal(88, 2000), normal(89, 3000, 0.12), "asymp")
add_ks("explicit-asymp-8v9-shift", normal(90, 8), normal(91, 9, 2.0), "asymp")
add_ks("explicit-asymp-60v60-rg-low", np.arange(60) * 2.0, np.arange(60) * 2.0 + 1, "asymp")
add_ks("explicit-asymp-70v70-rg-high", np.arange(70.0), np.arange(70.0) + 69, "asymp")
add_ks("explicit-exact-12000v11000", normal(94, 12000, 0, 1, 4), normal(95, 11000, 0.02, 1, 4), "exact")
add_ks("explicit-exact-15000v15000-shift0.05", normal(96, 15000, 0, 1, 4), normal(97, 15000, 0.05, 1, 4), "exact")
add_ks("explicit-exact-7v9", normal(98, 7), normal(99, 9, 1.0), "exact")
add_ks("explicit-exact-40v40-same", normal(100, 40), normal(101, 40), "exact")
add_ks(
    "explicit-exact-lcm-too-big-46342v46341",
    rng(102).integers(0, 40, 46342).astype(float),
    rng(103).integers(0, 40, 46341).astype(float),
    "exact",
)

# --------------------------------------------------------------------------------------------
# kstwo.sf and smirnov
# --------------------------------------------------------------------------------------------

kstwo_points = [
    (0.0, 5), (0.05, 5), (0.1, 5), (0.15, 5), (0.2, 10), (0.99, 10), (1.0, 10), (1.5, 3),
    (0.35, 1), (0.8, 1), (0.6, 2), (0.9, 2),
    (0.004, 200), (0.0045, 200), (0.9995, 2000),
    (0.96, 30), (0.7, 30), (0.55, 400),
    (0.05, 100), (0.08, 100), (0.1, 100), (0.15, 100), (0.19, 100), (0.25, 100), (0.4, 100),
    (0.06, 140), (0.17, 140), (0.3, 140), (0.45, 50), (0.02, 40),
    (0.05, 1000), (0.06, 1000), (0.1, 1000), (0.3, 1000), (0.64, 1000),
    (0.002, 100000), (0.0025, 100000), (0.003, 100000), (0.004, 100000), (0.006, 100000),
    (0.001, 150000), (0.0035, 150000), (0.005, 5000), (0.01, 5000), (0.05, 5000), (0.3, 5000),
    (0.01, 20000), (0.02, 20000), (0.012, 20000), (0.0008, 20000),
    (0.0017, 2000000), (0.002, 2000000), (0.05, 141), (0.09, 141), (0.35, 141),
    (0.3, 2.5), (0.3, 0),
]
kstwo_vectors = []
for d, n in kstwo_points:
    with np.errstate(divide="ignore"):  # n = 0 -> support bound 0.5/0
        sf = float(stats.kstwo.sf(d, n))
    kstwo_vectors.append({"d": d, "n": n, "sf": jnum(sf), "branch": kolmogn_branch(n, d)})

smirnov_points = [
    (1, 0.3), (5, 0.0), (5, 1.0), (5, 0.1), (5, 0.2), (10, 0.95), (20, 0.5), (100, 0.025),
    (100, 0.015), (100, 0.3), (1000, 0.01), (1000, 0.05), (1000, 0.2), (1000, 0.999),
    (5000, 0.5), (20000, 0.02), (2000000, 0.001), (2000000, 0.0001), (300, 1.0 / 300),
]
smirnov_vectors = [{"n": n, "d": d, "sf": jnum(float(special.smirnov(n, d)))} for n, d in smirnov_points]

# --------------------------------------------------------------------------------------------
# PSI (numpy implementation of the definition in src/monitoring/statistics/psi.ts)
# --------------------------------------------------------------------------------------------


def psi_numpy(reference: np.ndarray, current: np.ndarray, bins: int, epsilon: float) -> float:
    ref = np.sort(np.asarray(reference, dtype=np.float64))
    cur = np.asarray(current, dtype=np.float64)
    edges = np.unique(np.array([np.quantile(ref, k / bins) for k in range(1, bins)], dtype=np.float64))
    ref_counts = np.bincount(np.searchsorted(edges, ref, side="left"), minlength=len(edges) + 1)
    cur_counts = np.bincount(np.searchsorted(edges, cur, side="left"), minlength=len(edges) + 1)
    p_ref = np.maximum(ref_counts / len(ref), epsilon)
    p_cur = np.maximum(cur_counts / len(cur), epsilon)
    return float(np.sum((p_cur - p_ref) * np.log(p_cur / p_ref)))


psi_vectors = []


def add_psi(vid: str, reference, current, bins: int = 10, epsilon: float = 1e-4) -> None:
    reference = sig(reference)
    current = sig(current)
    psi_vectors.append(
        {
            "id": vid,
            "reference": jarr(np.sort(reference)),
            "current": jarr(current),
            "bins": bins,
            "epsilon": epsilon,
            "psi": psi_numpy(reference, current, bins, epsilon),
        }
    )


add_psi("same-normal", rng(200).normal(0, 1, 1000), rng(201).normal(0, 1, 800))
add_psi("shift-0.5", rng(202).normal(0, 1, 1000), rng(203).normal(0.5, 1, 1000))
add_psi("shift-3-empty-bins", rng(204).normal(0, 1, 500), rng(205).normal(3, 1, 500))
add_psi("scale-2-bins-20", rng(206).normal(0, 1, 2000), rng(207).normal(0, 2, 1500), bins=20)
add_psi("int-ties-dup-edges", rng(208).integers(0, 4, 700), rng(209).integers(0, 5, 600))
add_psi("constant-reference", np.full(100, 2.0), rng(210).normal(2, 1, 100))
add_psi("constant-both", np.full(50, 1.0), np.full(70, 1.0))
add_psi("small-7-vs-5-bins-4", rng(211).normal(0, 1, 7), rng(212).normal(0, 1, 5), bins=4)
add_psi("values-on-edges", np.arange(1, 101, dtype=float), np.arange(1, 101, dtype=float) * 1.0)
add_psi("epsilon-1e-6-disjoint", rng(213).uniform(0, 1, 300), rng(214).uniform(5, 6, 300), epsilon=1e-6)
add_psi("bins-1", rng(215).normal(0, 1, 100), rng(216).normal(1, 1, 100), bins=1)
add_psi("bins-3-exponential", rng(217).exponential(1, 400), rng(218).exponential(1.5, 400), bins=3)
add_psi("rounded-ties-bins-10", sig(rng(219).normal(0, 1, 900), 1), sig(rng(220).normal(0.1, 1, 900), 1))

# Samples of 2 to 100 values at q in tenths, twentieths and quarters: gamma below, at and above 0.5,
# where the two halves of numpy's _lerp round differently.
QUANTILE_QS = [0, 0.05, 0.1, 0.2, 0.25, 0.3, 0.4, 0.5, 0.6, 0.7, 0.75, 0.8, 0.9, 0.95, 1]
quantile_vectors = []
for seed, n in [(230, 2), (231, 6), (232, 11), (233, 37), (234, 100)]:
    x = np.sort(sig(rng(seed).normal(0, 1, n)))
    quantile_vectors.append({"sorted": jarr(x), "q": QUANTILE_QS, "quantile": [float(np.quantile(x, q)) for q in QUANTILE_QS]})

# --------------------------------------------------------------------------------------------
# p-value corrections (statsmodels multipletests semantics, from the definitions)
# --------------------------------------------------------------------------------------------


def bonferroni(p: np.ndarray) -> np.ndarray:
    out = p * float(len(p))
    out[out > 1] = 1
    return out


def fdr_bh(p: np.ndarray) -> np.ndarray:
    order = np.argsort(p)
    ps = np.take(p, order)
    nobs = len(ps)
    ecdffactor = np.arange(1, nobs + 1) / float(nobs)
    raw = ps / ecdffactor
    corrected = np.minimum.accumulate(raw[::-1])[::-1]
    corrected[corrected > 1] = 1
    out = np.empty_like(corrected)
    out[order] = corrected
    return out


correction_inputs = [
    [0.01],
    [0.5, 0.01],
    [0.01, 0.02, 0.03, 0.04, 0.05],
    [0.04, 0.01, 0.03, 0.02, 0.05],
    [0.2, 0.2, 0.2, 0.01],
    [0.0, 1.0, 0.5, 0.0],
    [1e-12, 3e-7, 0.049, 0.051, 0.9, 0.3, 0.3],
    [0.9, 0.95, 0.99, 0.999],
    rng(300).uniform(0, 1, 25).tolist(),
    (rng(301).uniform(0, 1, 40) ** 4).tolist(),
]
correction_vectors = []
for ps in correction_inputs:
    p = np.asarray(ps, dtype=np.float64)
    correction_vectors.append(
        {"pvalues": jarr(p), "bonferroni": jarr(bonferroni(p.copy())), "fdr_bh": jarr(fdr_bh(p.copy()))}
    )

# --------------------------------------------------------------------------------------------

doc = {
    "generator": "tools/make-ks-vectors.py",
    "scipy": scipy.__version__,
    "numpy": np.__version__,
    "python": platform.python_version(),
    "notes": "null pvalue/sf means NaN; 'branch' records which scipy code path produced the value",
    "ks": ks_vectors,
    "kstwo": kstwo_vectors,
    "smirnov": smirnov_vectors,
    "psi": psi_vectors,
    "quantile": quantile_vectors,
    "correction": correction_vectors,
}
OUT.parent.mkdir(parents=True, exist_ok=True)
text = json.dumps(doc, separators=(",", ":"))
OUT.write_text(text + "\n")

branches: dict[str, int] = {}
for v in ks_vectors:
    branches[v["branch"]] = branches.get(v["branch"], 0) + 1
kb: dict[str, int] = {}
for v in kstwo_vectors:
    kb[v["branch"]] = kb.get(v["branch"], 0) + 1
print(f"wrote {OUT} ({len(text) / 1e6:.2f} MB): {len(ks_vectors)} ks, {len(kstwo_vectors)} kstwo, "
      f"{len(smirnov_vectors)} smirnov, {len(psi_vectors)} psi, {len(correction_vectors)} correction", file=sys.stderr)
print("ks branches: " + json.dumps(branches, sort_keys=True), file=sys.stderr)
print("kstwo branches: " + json.dumps(kb, sort_keys=True), file=sys.stderr)
pv = sorted(v["pvalue"] for v in ks_vectors if v["pvalue"] is not None)
print("ks p-values: " + " ".join(f"{p:.3g}" for p in pv), file=sys.stderr)
