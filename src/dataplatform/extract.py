"""Sources the flows read from."""
from datetime import date
from typing import Dict, List

# A stand-in for the warehouse query: deterministic rows so the flows run anywhere.
_UNIT_PRICES = {"eu": 12.5, "us": 14.0, "ca": 13.25, "apac": 11.0}


def fetch_orders(region: str, day: date) -> List[Dict]:
    price = _UNIT_PRICES.get(region, 10.0)
    return [
        {"region": region, "day": day.isoformat(), "sku": f"sku-{i}", "qty": i, "price": price}
        for i in range(1, 6)
    ]
