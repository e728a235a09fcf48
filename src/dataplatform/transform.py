"""Pure transformations, easy to test without Prefect."""
from collections import defaultdict
from typing import Dict, Iterable


def daily_totals(orders: Iterable[Dict]) -> Dict[str, float]:
    totals: Dict[str, float] = defaultdict(float)
    for order in orders:
        totals[order["sku"]] += order["qty"] * order["price"]
    return dict(totals)
