#!/usr/bin/env python3
"""Write fixtures/statistic-vectors.json: every drift statistic of src/monitoring/statistics/,
computed by its Python peer on the same sample pairs, as a drift run computes it.

test/monitoring/statistics.test.ts runs each registered statistic's `compute` on these pairs and
compares field by field; a statistic in the list without a peer here fails that test. The deep
checks of KS's branches and PSI's options stay in fixtures/ks-vectors.json (make-ks-vectors.py).

Adding a statistic: a function in PEERS returning its fields by their names in the statistic's
`fields` (docs/extension.md). Deterministic: fixed seeds, samples rounded to 6 significant digits
before any peer sees them, so the committed numbers are exactly the inputs used.
Run with tools/make-statistic-vectors.sh (the pinned venv). Optional argument: output path.
"""

from __future__ import annotations

import json
import platform
import sys
import warnings
from pathlib import Path

import numpy as np
import scipy
from scipy import stats

ROOT = Path(__file__).resolve().parent.parent
OUT = Path(sys.argv[1]) if len(sys.argv) > 1 else ROOT / "fixtures" / "statistic-vectors.json"


def sig(x, digits: int = 6) -> np.ndarray:
    """Round every value to `digits` significant digits (exactly what JSON will carry)."""
    return np.array([float(f"{v:.{digits}g}") for v in np.asarray(x, dtype=np.float64).tolist()])


def rng(seed: int) -> np.random.Generator:
    return np.random.default_rng(seed)


# ---------------------------------------------------------------------------------------------
# Peers: one per statistic, keyed by its `name`; each answers the statistic's fields.
# ---------------------------------------------------------------------------------------------

KS_MAX_AUTO_N = 10000


def ks(ref: np.ndarray, cur: np.ndarray) -> dict:
    """scipy.stats.ks_2samp(method='auto'); method is the one scipy used after its fallback."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        r = stats.ks_2samp(ref, cur, alternative="two-sided", method="auto")
    switched = any("Switching to" in str(w.message) for w in caught)
    exact = max(len(ref), len(cur)) <= KS_MAX_AUTO_N and not switched
    return {"statistic": float(r.statistic), "p_value": float(r.pvalue), "method": "exact" if exact else "asymp"}


def psi(ref: np.ndarray, cur: np.ndarray, bins: int = 10, epsilon: float = 1e-4) -> dict:
    """The definition in src/monitoring/statistics/psi.ts, as make-ks-vectors.py's psi_numpy."""
    ref = np.sort(ref)
    edges = np.unique(np.array([np.quantile(ref, k / bins) for k in range(1, bins)]))
    ref_counts = np.bincount(np.searchsorted(edges, ref, side="left"), minlength=len(edges) + 1)
    cur_counts = np.bincount(np.searchsorted(edges, cur, side="left"), minlength=len(edges) + 1)
    p_ref = np.maximum(ref_counts / len(ref), epsilon)
    p_cur = np.maximum(cur_counts / len(cur), epsilon)
    return {"psi": float(np.sum((p_cur - p_ref) * np.log(p_cur / p_ref)))}


def wasserstein(ref: np.ndarray, cur: np.ndarray) -> dict:
    return {"wasserstein": float(stats.wasserstein_distance(ref, cur))}


PEERS = {"ks": ks, "psi": psi, "wasserstein": wasserstein}

# ---------------------------------------------------------------------------------------------
# Sample pairs: shifts, scales, ties, tiny and large samples (KS asymptotic above 10 000 a side),
# one value on a side.
# ---------------------------------------------------------------------------------------------

PAIRS = {
    "same-normal": (rng(1).normal(0, 1, 400), rng(2).normal(0, 1, 300)),
    "shift-0.3": (rng(3).normal(0, 1, 1000), rng(4).normal(0.3, 1, 800)),
    "scale-1.5": (rng(5).normal(10, 2, 500), rng(6).normal(10, 3, 700)),
    "integer-ties": (rng(7).integers(0, 5, 600), rng(8).integers(0, 6, 500)),
    "tiny-5-vs-7": (rng(9).normal(0, 1, 5), rng(10).normal(0.5, 1, 7)),
    "disjoint": (rng(11).uniform(0, 1, 50), rng(12).uniform(5, 6, 60)),
    "constant-both": (np.full(20, 2.0), np.full(30, 2.0)),
    "exponential-tail": (rng(13).exponential(1, 800), rng(14).exponential(1.3, 900)),
    "wide-scale": (rng(15).normal(3e6, 4e5, 300), rng(16).normal(3.1e6, 4e5, 300)),
    "asymptotic-10001-vs-2000": (rng(17).normal(0, 1, 10001), rng(18).normal(0.05, 1, 2000)),
    # One value on a side: each CDF is a single step (the sample's size of 1 at its edge).
    "single-vs-5": (np.array([2.0]), rng(19).normal(2, 1, 5)),
    "6-vs-single": (rng(20).normal(0, 1, 6), np.array([0.5])),
    "single-vs-single": (np.array([1.5]), np.array([-2.0])),
    # A constant reference against a spread current sample, ties across the two sides.
    "constant-vs-normal": (np.full(25, 3.0), rng(21).normal(3, 1, 40)),
}

vectors = []
for vid, (a, b) in PAIRS.items():
    ref, cur = sig(a), sig(b)
    vectors.append(
        {
            "id": vid,
            "reference": [float(v) for v in ref],
            "current": [float(v) for v in cur],
            "expected": {name: peer(ref, cur) for name, peer in PEERS.items()},
        }
    )

OUT.write_text(
    json.dumps(
        {
            "generator": "tools/make-statistic-vectors.py",
            "scipy": scipy.__version__,
            "numpy": np.__version__,
            "python": platform.python_version(),
            "vectors": vectors,
        },
        separators=(",", ":"),
    )
    + "\n"
)
print(f"wrote {OUT} ({len(vectors)} pairs x {len(PEERS)} statistics)", file=sys.stderr)
