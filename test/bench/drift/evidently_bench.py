#!/usr/bin/env python3
"""Evidently's side of `make bench-drift` (run by test/bench/drift/bench.ts).

1. For each scenario folder (reference.csv, current.csv: the 13 model inputs + target), runs
   Evidently's DataDriftPreset with its default tests and prints, per column, Evidently's test
   and decision next to etaops' under the 'evidently' rule (should match) and the 'etaops'
   rule (differs where etaops fixes a misfire).
2. Times Report.run on the big reference/current files (the same 13 columns); read_csv is not
   timed. Last line of output: JSON with the timing and the agreement counts.
"""
import argparse
import json
import time
import warnings

import pandas as pd
import evidently
from evidently import ColumnMapping
from evidently.metric_preset import DataDriftPreset
from evidently.report import Report

warnings.filterwarnings("ignore")

CATEGORICAL = ["market_id", "store_primary_category", "order_protocol"]
NUMERIC = [
    "total_items", "subtotal", "num_distinct_items", "min_item_price", "max_item_price",
    "total_onshift_dashers", "total_busy_dashers", "total_outstanding_orders",
    "estimated_order_place_duration", "estimated_store_to_consumer_driving_duration",
]
TEST_NAMES = {"K-S p_value": "ks", "chi-square p_value": "chisquare", "Z-test p_value": "z",
              "Wasserstein distance (normed)": "wasserstein", "Jensen-Shannon distance": "jensenshannon", "PSI": "psi"}


def run_drift(ref, cur, numeric):
    mapping = ColumnMapping(numerical_features=numeric, categorical_features=CATEGORICAL, target=None, prediction=None)
    report = Report(metrics=[DataDriftPreset()])
    t0 = time.perf_counter()
    report.run(reference_data=ref, current_data=cur, column_mapping=mapping)
    seconds = time.perf_counter() - t0
    result = None
    for m in report.as_dict()["metrics"]:
        if "drift_by_columns" in m["result"]:
            result = m["result"]
    cols = {}
    for name, c in result["drift_by_columns"].items():
        cols[name] = {"test": TEST_NAMES.get(c["stattest_name"], c["stattest_name"]), "score": c["drift_score"], "drifted": bool(c["drift_detected"])}
    return cols, seconds


def read(path, columns):
    return pd.read_csv(path, usecols=columns, dtype={c: "object" for c in ["store_primary_category"]})


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--scenarios", default="")
    ap.add_argument("--etaops", default="")
    ap.add_argument("--reference", required=True)
    ap.add_argument("--current", required=True)
    a = ap.parse_args()

    agreement = {}
    if a.scenarios and a.etaops:
        ours = json.load(open(a.etaops))
        for scenario in ours:
            cols13 = CATEGORICAL + NUMERIC + ["target"]
            ref = read(f"{a.scenarios}/{scenario}/reference.csv", cols13)
            cur = read(f"{a.scenarios}/{scenario}/current.csv", cols13)
            ev, _ = run_drift(ref, cur, NUMERIC + ["target"])
            print(f"\n== {scenario}: {len(ref)} vs {len(cur)} rows")
            print(f"{'column':46} {'Evidently':>24} {'etaops (evidently rule)':>28} {'etaops (etaops rule)':>26}")
            same_rule = same_default = total = 0
            for col in cols13:
                e = ev[col]
                r1 = ours[scenario]["evidently"][col]
                r2 = ours[scenario]["etaops"][col]
                fmt = lambda d: f"{d['test']} {d['score']:.3g} {'DRIFT' if d['drifted'] else 'ok'}" if d["score"] is not None else f"{d['test']} - {'DRIFT' if d['drifted'] else 'ok'}"
                mark = "" if e["drifted"] == r2["drifted"] else "  <- differs"
                print(f"{col:46} {fmt(e):>24} {fmt(r1):>28} {fmt(r2):>26}{mark}")
                total += 1
                same_rule += int(e["drifted"] == r1["drifted"] and e["test"] == r1["test"])
                same_default += int(e["drifted"] == r2["drifted"])
            print(f"agreement with Evidently: evidently rule {same_rule}/{total} (test and decision), etaops rule {same_default}/{total} (decision)")
            agreement[scenario] = {"columns": total, "evidently_rule_same": same_rule, "etaops_rule_same": same_default}

    ref = read(a.reference, CATEGORICAL + NUMERIC)
    cur = read(a.current, CATEGORICAL + NUMERIC)
    ev, seconds = run_drift(ref, cur, NUMERIC)
    print(f"\nEvidently {evidently.__version__} DataDriftPreset on {len(ref)} vs {len(cur)} rows x 13 columns: {seconds:.2f} s")
    print(json.dumps({"evidently_seconds": seconds, "evidently_version": evidently.__version__,
                      "evidently_drifted": [c for c, v in ev.items() if v["drifted"]], "agreement": agreement}))


if __name__ == "__main__":
    main()
