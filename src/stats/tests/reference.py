"""The reference values the stats tests compare against, computed independently of the harness.

Run with Python 3.11.7, numpy 2.4.6, scipy 1.17.1 and statsmodels 0.15.0:

    python3 -m venv /tmp/statsref && /tmp/statsref/bin/pip install scipy numpy statsmodels
    /tmp/statsref/bin/python src/stats/tests/reference.py

Each value is printed with repr(), so the Rust constants carry every digit.
"""
import numpy as np
import scipy
import statsmodels
from scipy import stats
from statsmodels.stats.proportion import proportion_confint

print("numpy", np.__version__, "scipy", scipy.__version__, "statsmodels", statsmodels.__version__)

ODD = [0.81, 0.77, 0.92, 0.64, 0.88, 0.71, 0.95, 0.59, 0.83]
EVEN_TIES = [3.0, 1.0, 4.0, 1.0, 5.0, 9.0, 2.0, 6.0]
PAIR = [1.0, 2.0]

print("\n# summary")
for name, xs in [("ODD", ODD), ("EVEN_TIES", EVEN_TIES), ("PAIR", PAIR)]:
    a = np.array(xs)
    print(name, "mean", repr(float(np.mean(a))), "sd", repr(float(np.std(a, ddof=1))),
          "sem", repr(float(stats.sem(a))))
    print(name, "percentile 0,25,50,75,100",
          [repr(float(v)) for v in np.percentile(a, [0, 25, 50, 75, 100])])
    print(name, "percentile 2.5,97.5, 10, 90",
          [repr(float(v)) for v in np.percentile(a, [2.5, 97.5, 10, 90])])

print("\n# wilson (z = norm.ppf(0.975))")
print("z", repr(float(stats.norm.ppf(0.975))))
for k, n in [(0, 10), (10, 10), (3, 10), (1, 1), (0, 1), (7, 23), (50, 100), (1, 1000)]:
    lo, hi = proportion_confint(k, n, alpha=0.05, method="wilson")
    print(f"wilson k={k} n={n}", repr(float(lo)), repr(float(hi)))

print("\n# mann-whitney")
MW = {
    "NO_TIES": ([0.81, 0.77, 0.92, 0.64, 0.88], [0.59, 0.71, 0.62, 0.55, 0.69, 0.74, 0.60]),
    "SEPARATED": ([1.0, 2.0, 3.0], [4.0, 5.0, 6.0, 7.0]),
    "SINGLETONS": ([1.0], [2.0]),
    "TEN_EACH": (
        [0.62, 0.71, 0.55, 0.80, 0.67, 0.74, 0.59, 0.77, 0.69, 0.73],
        [0.66, 0.85, 0.79, 0.90, 0.72, 0.88, 0.83, 0.64, 0.93, 0.81],
    ),
    "TIES": ([1.0, 2.0, 2.0, 3.0, 5.0, 5.0, 7.0], [2.0, 3.0, 3.0, 4.0, 6.0, 8.0, 8.0, 9.0, 10.0, 10.0]),
}
# TWENTY: two groups of 20 distinct values, a fixed permutation of 0..40 split in half.
perm = [int(v) for v in np.random.default_rng(7).permutation(40)]
MW["TWENTY"] = ([float(v) for v in perm[:20]], [float(v) + 0.5 * (v % 3 == 0) for v in perm[20:]])
print("TWENTY x", MW["TWENTY"][0])
print("TWENTY y", MW["TWENTY"][1])
for name, (x, y) in MW.items():
    for method in ["exact", "asymptotic"]:
        if method == "exact" and name == "TIES":
            continue
        r = stats.mannwhitneyu(x, y, alternative="two-sided", method=method, use_continuity=True)
        print(name, method, "U", repr(float(r.statistic)), "p", repr(float(r.pvalue)))
    # z and the rank-biserial r, independently of scipy: pairs counted directly, tie-corrected
    # variance from the tie counts.
    a, b = np.array(x), np.array(y)
    greater = float(np.sum(a[:, None] > b[None, :]))
    less = float(np.sum(a[:, None] < b[None, :]))
    n1, n2 = len(a), len(b)
    u = greater + 0.5 * (n1 * n2 - greater - less)
    n = n1 + n2
    _, t = np.unique(np.concatenate([a, b]), return_counts=True)
    var = n1 * n2 / 12 * ((n + 1) - np.sum(t**3 - t) / (n * (n - 1)))
    d = u - n1 * n2 / 2
    z = np.sign(d) * max(abs(d) - 0.5, 0) / np.sqrt(var)
    print(name, "pairs U", repr(u), "z", repr(float(z)), "r", repr((less - greater) / (n1 * n2)))

print("\n# kruskal-wallis")
KW = {
    "THREE_TIES": ([2.9, 3.0, 2.5, 2.6, 3.2], [3.8, 2.7, 4.0, 2.4], [2.8, 3.4, 3.7, 2.2, 2.0, 3.0, 2.5]),
    "FOUR_NO_TIES": ([0.61, 0.72, 0.58], [0.81, 0.77, 0.92, 0.64], [0.33, 0.47, 0.52, 0.40, 0.44], [0.70, 0.68]),
    "SINGLETONS": ([1.0], [2.0], [3.0]),
    "TWO": ([0.62, 0.71, 0.55, 0.80], [0.66, 0.85, 0.79, 0.90, 0.72]),
}
for name, groups in KW.items():
    r = stats.kruskal(*groups)
    n, k = sum(len(g) for g in groups), len(groups)
    h = float(r.statistic)
    eta = repr((h - k + 1) / (n - k)) if n > k else None
    print(name, "H", repr(h), "p", repr(float(r.pvalue)), "eps2", repr(h / (n - 1)), "eta2", eta)

print("\n# distribution functions")
for h, df in [(0.5, 1), (5.991464547107979, 2), (40.0, 3), (100.0, 4)]:
    print("chi2.sf", h, df, repr(float(stats.chi2.sf(h, df))))
for z in [0.0, 1.0, 1.959963984540054, 3.0, 8.0]:
    print("2*norm.sf", z, repr(float(2 * stats.norm.sf(z))))
