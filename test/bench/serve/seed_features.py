"""Feature preparation of the seed design (one dict per order, as its Flask app did)."""
from datetime import datetime, timedelta

NUMERIC = [
    "total_items", "subtotal", "num_distinct_items", "min_item_price", "max_item_price",
    "total_onshift_dashers", "total_busy_dashers", "total_outstanding_orders",
    "estimated_order_place_duration", "estimated_store_to_consumer_driving_duration",
]
CATEGORICAL = ["market_id", "store_primary_category", "order_protocol"]


def _number(v):
    if v is None or v == "":
        return 0.0
    return float(v)


def prepare_features(order):
    created = datetime.strptime(str(order["created_at"])[:19].replace("T", " "), "%Y-%m-%d %H:%M:%S")
    local = created - timedelta(hours=8)  # US/Pacific standard time, as the seed approximated
    features = {name: _number(order.get(name)) for name in NUMERIC}
    for name in CATEGORICAL:
        features[name] = str(order.get(name) or "missing")
    features["hour"] = local.hour
    features["day_of_week"] = local.weekday()
    onshift = features["total_onshift_dashers"]
    features["busy_ratio"] = features["total_busy_dashers"] / onshift if onshift > 0 else 0.0
    return features
