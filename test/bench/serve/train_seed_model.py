"""Trains the seed design's scikit-learn pipeline on a DoorDash CSV and pickles it.
usage: python train_seed_model.py DATA.csv OUT.pkl"""
import csv
import pickle
import sys
from datetime import datetime

from sklearn.ensemble import HistGradientBoostingRegressor
from sklearn.feature_extraction import DictVectorizer
from sklearn.pipeline import make_pipeline

from seed_features import prepare_features


def main(data, out):
    features, target = [], []
    with open(data, newline="") as f:
        for row in csv.DictReader(f):
            if not row["actual_delivery_time"]:
                continue
            created = datetime.strptime(row["created_at"], "%Y-%m-%d %H:%M:%S")
            delivered = datetime.strptime(row["actual_delivery_time"], "%Y-%m-%d %H:%M:%S")
            seconds = (delivered - created).total_seconds()
            if not 0 < seconds < 6 * 3600:
                continue
            features.append(prepare_features(row))
            target.append(seconds)
    pipeline = make_pipeline(DictVectorizer(sparse=False), HistGradientBoostingRegressor(max_iter=200))
    pipeline.fit(features, target)
    with open(out, "wb") as f:
        pickle.dump(pipeline, f)
    print(f"trained the seed pipeline on {len(target)} rows")


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2])
