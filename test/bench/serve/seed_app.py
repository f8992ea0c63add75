"""The seed's serving design, rebuilt for the comparison: Flask behind gunicorn, scoring one
order per request with a scikit-learn pipeline (DictVectorizer + gradient-boosted trees)
unpickled at start-up. Trained by train_seed_model.py on the same data as the etaops model.

Run: gunicorn -w 2 -b 127.0.0.1:PORT seed_app:app   (SEED_MODEL=path/to/pipeline.pkl)
"""
import os
import pickle
from datetime import datetime

from flask import Flask, jsonify, request

from seed_features import prepare_features

with open(os.environ["SEED_MODEL"], "rb") as f:
    PIPELINE = pickle.load(f)

app = Flask("duration-prediction")


@app.route("/predict", methods=["POST"])
def predict_endpoint():
    order = request.get_json()
    features = prepare_features(order)
    prediction = float(PIPELINE.predict([features])[0])
    return jsonify({"prediction": prediction, "model_version": "seed"})
