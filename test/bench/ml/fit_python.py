"""Fits XGBoost (hist) or LightGBM on the feature matrices written by compare.ts.

The protocol is the one etaops' training pipeline uses, so all engines do the same work:
  1. fit on the train part minus its latest `es_fraction` rows, early stopping on those rows;
  2. refit on the whole train part with the best number of trees;
  3. predict the holdout.
Fit seconds (wall) and fit CPU seconds (all threads) cover both fits including each library's
dataset construction (binning), as etaops' fit includes its binning. Peak RSS is this
process's maximum resident set size.

usage: fit_python.py ENGINE DIR [same|library-defaults]
  (DIR holds meta.json, X_train.f32, y_train.f64, X_test.f32)
  same (default): etaops' default parameters mapped to the library's names.
  library-defaults: the library's own defaults for the tree shape and learning rate (XGBoost:
  eta 0.3, depth 6; LightGBM: lr 0.1, 31 leaves, 20 rows per leaf), with the same threads,
  bins and early-stopping protocol.
prints one JSON line: engine, fitSeconds, peakRssMB, trees, predictions file
"""
import json
import os
import resource
import sys
import time

import numpy as np


def load(d):
    meta = json.load(open(os.path.join(d, "meta.json")))
    cols = meta["cols"]
    X = np.fromfile(os.path.join(d, "X_train.f32"), dtype=np.float32).reshape(-1, cols)
    y = np.fromfile(os.path.join(d, "y_train.f64"), dtype=np.float64)
    Xt = np.fromfile(os.path.join(d, "X_test.f32"), dtype=np.float32).reshape(-1, cols)
    return meta, X, y, Xt


def xgb_objective(p):
    loss = p["loss"]
    if loss == "l2":
        return {"objective": "reg:squarederror"}
    if loss == "l1":
        return {"objective": "reg:absoluteerror"}
    if loss == "huber":
        return {"objective": "reg:pseudohubererror", "huber_slope": p["huberDelta"]}
    return {"objective": "reg:quantileerror", "quantile_alpha": p["quantileAlpha"]}


def lgb_objective(p):
    loss = p["loss"]
    if loss == "l2":
        return {"objective": "regression"}
    if loss == "l1":
        return {"objective": "regression_l1"}
    if loss == "huber":
        return {"objective": "huber", "alpha": p["huberDelta"]}
    return {"objective": "quantile", "alpha": p["quantileAlpha"]}


def fit_xgboost(p, threads, X, y, n_es, library_defaults):
    import xgboost as xgb

    params = {
        "tree_method": "hist",
        "grow_policy": "lossguide",
        "max_leaves": p["maxLeaves"],
        "max_depth": p["maxDepth"],
        "eta": p["learningRate"],
        # With squared error every hessian is 1, so min_child_weight is a minimum row count.
        "min_child_weight": p["minDataInLeaf"],
        "reg_lambda": p["lambdaL2"],
        "gamma": p["minGainToSplit"],
        "max_bin": p["maxBins"],
        "subsample": p["rowSubsample"],
        "colsample_bytree": p["colSubsample"],
        "nthread": threads,
        "seed": p["seed"],
        **xgb_objective(p),
    }
    if library_defaults:
        for k in ("grow_policy", "max_leaves", "max_depth", "eta", "min_child_weight", "reg_lambda", "gamma"):
            del params[k]
    trees = p["numTrees"]
    if n_es > 0:
        dtr = xgb.QuantileDMatrix(X[:-n_es], y[:-n_es], nthread=threads, max_bin=p["maxBins"])
        dva = xgb.QuantileDMatrix(X[-n_es:], y[-n_es:], ref=dtr, nthread=threads, max_bin=p["maxBins"])
        probe = xgb.train(params, dtr, num_boost_round=trees, evals=[(dva, "valid")],
                          early_stopping_rounds=p["earlyStoppingRounds"], verbose_eval=False)
        trees = probe.best_iteration + 1
        del probe, dtr, dva
    dall = xgb.QuantileDMatrix(X, y, nthread=threads, max_bin=p["maxBins"])
    model = xgb.train(params, dall, num_boost_round=trees)
    return model, trees, lambda Xt: model.predict(xgb.DMatrix(Xt, nthread=threads))


def fit_lightgbm(p, threads, X, y, n_es, library_defaults):
    import lightgbm as lgb

    params = {
        "num_leaves": p["maxLeaves"],
        "max_depth": p["maxDepth"] if p["maxDepth"] > 0 else -1,
        "learning_rate": p["learningRate"],
        "min_data_in_leaf": p["minDataInLeaf"],
        "min_sum_hessian_in_leaf": p["minSumHessianInLeaf"],
        "lambda_l2": p["lambdaL2"],
        "min_gain_to_split": p["minGainToSplit"],
        "max_bin": p["maxBins"],
        "bagging_fraction": p["rowSubsample"],
        "bagging_freq": 1 if p["rowSubsample"] < 1 else 0,
        "feature_fraction": p["colSubsample"],
        "num_threads": threads,
        "seed": p["seed"],
        "verbose": -1,
        **lgb_objective(p),
    }
    if library_defaults:
        for k in ("num_leaves", "max_depth", "learning_rate", "min_data_in_leaf", "min_sum_hessian_in_leaf", "lambda_l2", "min_gain_to_split"):
            del params[k]
    trees = p["numTrees"]
    if n_es > 0:
        dtr = lgb.Dataset(X[:-n_es], y[:-n_es], free_raw_data=True)
        dva = lgb.Dataset(X[-n_es:], y[-n_es:], reference=dtr)
        probe = lgb.train(params, dtr, num_boost_round=trees, valid_sets=[dva],
                          callbacks=[lgb.early_stopping(p["earlyStoppingRounds"], verbose=False)])
        trees = max(1, probe.best_iteration)
        del probe, dtr, dva
    model = lgb.train(params, lgb.Dataset(X, y), num_boost_round=trees)
    return model, trees, lambda Xt: model.predict(Xt, num_threads=threads)


def main():
    engine, d = sys.argv[1], sys.argv[2]
    library_defaults = len(sys.argv) > 3 and sys.argv[3] == "library-defaults"
    meta, X, y, Xt = load(d)
    p, threads, n_es = meta["params"], meta["threads"], meta["earlyStoppingRows"]
    if p["earlyStoppingRounds"] == 0:
        n_es = 0
    fit = fit_xgboost if engine == "xgboost" else fit_lightgbm
    t0 = time.perf_counter()
    c0 = time.process_time()
    _, trees, predict = fit(p, threads, X, y, n_es, library_defaults)
    fit_seconds = time.perf_counter() - t0
    fit_cpu = time.process_time() - c0
    pred = np.asarray(predict(Xt), dtype=np.float64)
    name = engine + (" (library defaults)" if library_defaults else "")
    out = os.path.join(d, f"pred_{engine}{'_libdefaults' if library_defaults else ''}.f64")
    pred.tofile(out)
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(json.dumps({"engine": name, "fitSeconds": fit_seconds, "fitCpuSeconds": fit_cpu, "peakRssMB": peak, "trees": int(trees), "predictions": out}))


if __name__ == "__main__":
    main()
