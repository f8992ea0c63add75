#!/usr/bin/env python3
"""Reference values for etaops' drift statistics, computed with SciPy/NumPy.

Writes test/unit/fixtures/drift-stats.json (checked in); the unit tests compare etaops'
TypeScript implementations with these numbers to 1e-6. Run through
`test/bench/drift/venv.sh`, which builds the bench virtualenv (test/bench/.venv-drift).

Evidently-specific wrapping (dropping NaN, scaling expected counts, the binning used by
Jensen-Shannon and PSI, the normed Wasserstein) is reproduced here in a few lines of NumPy,
mirroring evidently/calculations/stattests/*.py, so that the fixtures need SciPy only.
"""
import json
import math
import os
import sys

import numpy as np
import scipy
from scipy import stats
from scipy.spatial import distance
from scipy.stats import kstwo

OUT = os.path.join(os.path.dirname(__file__), "..", "..", "unit", "fixtures", "drift-stats.json")
rng = np.random.default_rng(20261203)


def clean(values):
    """JSON: NaN becomes null (a missing value); everything else a float."""
    return [None if (isinstance(v, float) and math.isnan(v)) else float(v) for v in values]


def r3(a):
    """Three decimals keep the fixture file small (and make ties)."""
    return np.round(np.asarray(a, dtype=float), 3)


def dropna(a):
    a = np.asarray(a, dtype=float)
    return a[np.isfinite(a)]


def num(x):
    x = float(x)
    if math.isnan(x):
        return None
    if math.isinf(x):
        return "inf" if x > 0 else "-inf"
    return x


# ---------------------------------------------------------------- special functions
special = {"chi2_sf": [], "norm_cdf": []}
for df in [1, 2, 3, 5, 10, 37, 100]:
    for x in [0.01, 0.5, 1.0, 3.84, 10.0, 50.0, 150.0]:
        special["chi2_sf"].append({"x": x, "df": df, "sf": num(stats.chi2.sf(x, df))})
for z in [-8.0, -3.0, -1.96, -0.5, 0.0, 0.3, 1.0, 1.96, 2.5, 4.0, 6.0]:
    special["norm_cdf"].append({"z": z, "cdf": num(stats.norm.cdf(z))})

# ---------------------------------------------------------------- Kolmogorov distribution
kolm = []
for n in [3, 10, 50, 140, 141, 500, 2000, 20000, 100000, 250000]:
    for x in [0.001, 0.004, 0.01, 0.02, 0.05, 0.1, 0.2, 0.3, 0.6, 0.9]:
        kolm.append({"n": n, "x": x, "sf": num(kstwo.sf(x, n))})
smir = []
for n in [2, 5, 20, 100, 1000, 50000]:
    for x in [0.01, 0.05, 0.1, 0.3, 0.5, 0.8]:
        smir.append({"n": n, "x": x, "sf": num(scipy.special.smirnov(n, x))})

# ---------------------------------------------------------------- KS two-sample
ks_cases = []


def ks_case(name, a, b):
    a, b = r3(a), r3(b)
    r = stats.ks_2samp(dropna(a), dropna(b))
    ks_cases.append({"name": name, "a": clean(a), "b": clean(b), "statistic": num(r.statistic), "pvalue": num(r.pvalue)})


ks_case("equal sizes, same distribution", rng.normal(0, 1, 60), rng.normal(0, 1, 60))
ks_case("equal sizes, shifted", rng.normal(0, 1, 80), rng.normal(0.6, 1, 80))
ks_case("unequal sizes, same distribution", rng.normal(0, 1, 73), rng.normal(0, 1, 41))
ks_case("unequal sizes, shifted", rng.normal(0, 1, 300), rng.normal(0.3, 1.2, 170))
ks_case("ties (integers 0..6)", rng.integers(0, 7, 200).astype(float), rng.integers(0, 8, 150).astype(float))
ks_case("ties, gcd > 1 (400 vs 600)", np.round(rng.gamma(2, 3, 400)), np.round(rng.gamma(2.2, 3, 600)))
ks_case("one value each", [1.0], [2.0])
ks_case("constant equal", [5.0] * 20, [5.0] * 30)
ks_case("constant different", [5.0] * 20, [6.0] * 30)
ks_case("with NaNs (dropped)", list(rng.normal(0, 1, 50)) + [float("nan")] * 7, list(rng.normal(0.2, 1, 45)) + [float("nan")] * 3)
ks_case("small vs large (1000 vs 9000)", np.round(rng.lognormal(6, 0.5, 1000)), np.round(rng.lognormal(6.05, 0.5, 4000)))
ks_case("asymptotic (10001 vs 3000)", np.round(rng.normal(0, 1, 10001), 2), np.round(rng.normal(0.08, 1, 1500), 2))

# ---------------------------------------------------------------- chi-square on counts
chi_cases = []
for name, obs, exp in [
    ("uniform", [10, 12, 8, 10], [10, 10, 10, 10]),
    ("shifted", [30, 5, 5, 60], [25, 25, 25, 25]),
    ("two categories", [48, 52], [50, 50]),
    ("many categories", list(rng.integers(5, 40, 30)), None),
]:
    obs = np.asarray(obs, dtype=float)
    exp = np.full_like(obs, obs.sum() / len(obs)) if exp is None else np.asarray(exp, dtype=float)
    r = stats.chisquare(obs, exp)
    chi_cases.append({"name": name, "observed": obs.tolist(), "expected": exp.tolist(), "statistic": num(r.statistic), "pvalue": num(r.pvalue)})


# ---------------------------------------------------------------- Evidently column tests on labels
def value_counts(a):
    vals, counts = np.unique(np.asarray([x for x in a if x is not None], dtype=object).astype(str), return_counts=True)
    return dict(zip(vals.tolist(), counts.tolist()))


def evidently_chi(ref, cur):
    rc, cc = value_counts(ref), value_counts(cur)
    keys = sorted(set(rc) | set(cc))
    n_ref, n_cur = sum(rc.values()), sum(cc.values())
    k_norm = n_cur / n_ref
    with np.errstate(divide="ignore", invalid="ignore"):
        return stats.chisquare([cc.get(k, 0) for k in keys], [rc.get(k, 0) * k_norm for k in keys]).pvalue


def evidently_z(ref, cur):
    ref = [x for x in ref if x is not None]
    cur = [x for x in cur if x is not None]
    keys = sorted(set(ref) | set(cur))
    if len(set(ref)) == 1 and len(set(cur)) == 1 and ref[0] == cur[0]:
        return 1.0
    r = np.array([0 if x == keys[0] else 1 for x in ref], dtype=float)
    c = np.array([0 if x == keys[0] else 1 for x in cur], dtype=float)
    n1, n2 = len(r), len(c)
    p1, p2 = r.sum() / n1, c.sum() / n2
    P = (p1 * n1 + p2 * n2) / (n1 + n2)
    z = (p1 - p2) / np.sqrt(P * (1 - P) * (1.0 / n1 + 1.0 / n2))
    return 2 * (1 - stats.norm.cdf(abs(z)))


def labels(probs, n, names):
    return [names[i] for i in rng.choice(len(names), size=n, p=probs)]


cat_cases = []
names = ["american", "pizza", "mexican", "burger", "sandwich"]
for name, ref, cur in [
    ("same shares", labels([0.4, 0.2, 0.2, 0.1, 0.1], 500, names), labels([0.4, 0.2, 0.2, 0.1, 0.1], 300, names)),
    ("moved shares", labels([0.4, 0.2, 0.2, 0.1, 0.1], 500, names), labels([0.2, 0.2, 0.2, 0.2, 0.2], 300, names)),
    ("missing labels", labels([0.5, 0.3, 0.2, 0, 0], 400, names) + [None] * 40, labels([0.45, 0.35, 0.2, 0, 0], 200, names) + [None] * 5),
]:
    cat_cases.append({"name": name, "reference": ref, "current": cur, "chisquare_pvalue": num(evidently_chi(ref, cur))})

bin_cases = []
for name, ref, cur in [
    ("binary same", labels([0.7, 0.3], 600, ["1", "2"]), labels([0.7, 0.3], 400, ["1", "2"])),
    ("binary moved", labels([0.7, 0.3], 600, ["1", "2"]), labels([0.55, 0.45], 400, ["1", "2"])),
    ("binary constant equal", ["1"] * 50, ["1"] * 20),
    ("binary one side constant", ["1"] * 50, ["1"] * 15 + ["2"] * 5),
]:
    bin_cases.append({"name": name, "reference": ref, "current": cur, "z_pvalue": num(evidently_z(ref, cur))})

# ---------------------------------------------------------------- Wasserstein (normed as Evidently)
w_cases = []
for name, a, b in [
    ("normal shift", rng.normal(0, 1, 500), rng.normal(0.3, 1, 700)),
    ("ties", rng.integers(0, 10, 300).astype(float), rng.integers(1, 11, 200).astype(float)),
    ("with NaNs", list(rng.exponential(100, 80)) + [float("nan")] * 4, list(rng.exponential(120, 60)) + [float("nan")]),
    ("constant reference", [3.0] * 40, list(rng.normal(3, 0.1, 30))),
    ("skewed money", np.round(rng.lognormal(7.5, 0.6, 1000)), np.round(rng.lognormal(7.5, 0.6, 1000) * 1.1)),
]:
    a, b = r3(a), r3(b)
    ra, rb = dropna(a), dropna(b)
    wd = stats.wasserstein_distance(ra, rb)
    w_cases.append({"name": name, "a": clean(a), "b": clean(b), "distance": num(wd), "normed": num(wd / max(np.std(ra), 0.001))})


# ---------------------------------------------------------------- JS and PSI with Evidently's binning
def binned(ref, cur, numeric, feel_zeroes):
    ref = dropna(ref) if numeric else np.asarray([x for x in ref if x is not None], dtype=object)
    cur = dropna(cur) if numeric else np.asarray([x for x in cur if x is not None], dtype=object)
    n_vals = len(set(ref.tolist()))
    if numeric and n_vals > 20:
        bins = np.histogram_bin_edges(np.concatenate([ref, cur]), bins="sturges")
        rp = np.histogram(ref, bins)[0] / len(ref)
        cp = np.histogram(cur, bins)[0] / len(cur)
    else:
        keys = sorted(set(ref.tolist()) | set(cur.tolist()), key=str)
        rl, cl = ref.tolist(), cur.tolist()
        rp = np.array([rl.count(k) / len(rl) for k in keys])
        cp = np.array([cl.count(k) / len(cl) for k in keys])
    if feel_zeroes:
        for arr in (rp, cp):
            m = min(arr[arr != 0])
            np.place(arr, arr == 0, m / 10**6 if m <= 0.0001 else 0.0001)
    return rp, cp


div_cases = []
for name, ref, cur, numeric in [
    ("numeric same", rng.normal(10, 2, 1500), rng.normal(10, 2, 1200), True),
    ("numeric shifted", rng.normal(10, 2, 1500), rng.normal(11, 2, 1200), True),
    ("numeric with NaNs and outlier", list(rng.gamma(2, 50, 1500)) + [float("nan")] * 30 + [90000.0], list(rng.gamma(2, 55, 1200)) + [float("nan")] * 2, True),
    ("numeric few values", rng.integers(1, 5, 1500).astype(float), rng.integers(1, 6, 1500).astype(float), True),
    ("categorical", labels([0.4, 0.2, 0.2, 0.1, 0.1], 1500, names), labels([0.3, 0.3, 0.2, 0.1, 0.1], 1200, names), False),
    ("categorical unseen in reference", labels([0.5, 0.5, 0, 0, 0], 1000, names), labels([0.4, 0.4, 0.1, 0.05, 0.05], 800, names), False),
]:
    if numeric:
        ref, cur = r3(ref), r3(cur)
    rp, cp = binned(ref, cur, numeric, False)
    js = distance.jensenshannon(rp, cp)
    rp2, cp2 = binned(ref, cur, numeric, True)
    psi = float(np.sum((rp2 - cp2) * np.log(rp2 / cp2)))
    enc = (lambda v: clean(v)) if numeric else (lambda v: list(v))
    div_cases.append({"name": name, "kind": "numeric" if numeric else "categorical", "reference": enc(ref), "current": enc(cur), "jensenshannon": num(js), "psi": num(psi)})

# ---------------------------------------------------------------- chi-square test of homogeneity (2 x k)
homog = []
for name, ref, cur in [
    ("same shares", [120, 80, 40, 10], [61, 39, 22, 3]),
    ("moved shares", [120, 80, 40, 10], [30, 60, 40, 20]),
    ("category only in current", [200, 150, 50, 0], [98, 80, 20, 2]),
]:
    r = stats.chi2_contingency(np.array([ref, cur], dtype=float), correction=False)
    homog.append({"name": name, "reference": ref, "current": cur, "statistic": num(r.statistic), "pvalue": num(r.pvalue)})

out = {
    "generated_by": "test/bench/drift/make_fixtures.py",
    "python": sys.version.split()[0],
    "numpy": np.__version__,
    "scipy": scipy.__version__,
    "special": special,
    "kolmogorov_sf": kolm,
    "smirnov_sf": smir,
    "ks_2samp": ks_cases,
    "chisquare": chi_cases,
    "categorical_chisquare": cat_cases,
    "binary_z": bin_cases,
    "wasserstein": w_cases,
    "divergence": div_cases,
    "chisquare_homogeneity": homog,
}
with open(OUT, "w") as f:
    json.dump(out, f, separators=(",", ":"))
    f.write("\n")
print(f"wrote {os.path.relpath(OUT)} ({os.path.getsize(OUT)} bytes)")
