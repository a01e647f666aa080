"""Reference values for packages/core/test/Stats.test.ts, computed independently of growlab's Stats.ts.

Run with a Python that has numpy and scipy (>= 1.11): python3 packages/core/test/support/statsReference.py
The test hard-codes what this prints (scipy 1.17.1, numpy 2.4.6 when recorded).

- Welch's interval: scipy.stats.ttest_ind(a, b, equal_var=False).confidence_interval(level)
- Holm: the textbook step-down definition, written as a loop over the sorted p-values (statsmodels is not installed
  here; its multipletests(method="holm") computes the same quantity)
- Benjamini-Hochberg: scipy.stats.false_discovery_control(ps, method="bh")
- Exact bootstrap: every ordered resample of each sample enumerated with itertools.product, np.percentile (linear)
"""
import itertools
import json

import numpy as np
import scipy
from scipy import stats

A = [0.612, 0.634, 0.641, 0.628]
B = [0.655, 0.671, 0.649]
A3 = [0.7399, 0.7352, 0.7421]
B3 = [0.7140, 0.7158, 0.7122]
P = [0.01, 0.04, 0.03, 0.005, float("nan"), 0.2, 0.04, 0.0001]


def holm(ps):
    ps = np.asarray(ps, dtype=float)
    finite = np.flatnonzero(~np.isnan(ps))
    order = finite[np.argsort(ps[finite], kind="stable")]
    m = len(order)
    out = np.full(len(ps), np.nan)
    for rank, i in enumerate(order):
        # adjusted p_(i) = max over j <= i of min(1, (m - j + 1) p_(j)), ranks 1-based
        out[i] = max(min(1.0, (m - j) * ps[order[j]]) for j in range(rank + 1))
    return out


def bh(ps):
    ps = np.asarray(ps, dtype=float)
    finite = ~np.isnan(ps)
    out = np.full(len(ps), np.nan)
    out[finite] = stats.false_discovery_control(ps[finite], method="bh")
    return out


def exact_bootstrap(a, b, level):
    ma = [np.mean(s) for s in itertools.product(a, repeat=len(a))]
    mb = [np.mean(s) for s in itertools.product(b, repeat=len(b))]
    d = np.array([x - y for x in ma for y in mb])
    return len(d), np.percentile(d, [100 * (1 - level) / 2, 100 * (1 + level) / 2]).tolist()


def welch_interval(a, b, level):
    return list(stats.ttest_ind(a, b, equal_var=False).confidence_interval(level))


print(json.dumps({
    "versions": {"scipy": scipy.__version__, "numpy": np.__version__},
    "welch_interval_A_B_95": welch_interval(A, B, 0.95),
    "welch_interval_A3_B3_90": welch_interval(A3, B3, 0.90),
    "holm": [None if np.isnan(v) else v for v in holm(P)],
    "bh": [None if np.isnan(v) else v for v in bh(P)],
    "bootstrap_A3_B3_95": exact_bootstrap(A3, B3, 0.95),
    "bootstrap_A_B_90": exact_bootstrap(A, B, 0.90),
}, indent=1))
