"""Fake flows whose signatures the parameter checks read (never run)."""
from datetime import date, datetime
from typing import Dict, List, Optional

from prefect import flow


@flow
def values(region, retries, day, stamp, ratio, big, negative, hex, flag, word, nothing,
           list, nested, hostile, copy=None):
    pass


@flow
def regional(region: str, limit: int = 10, extra: bool = False):
    pass


@flow(name="hourly-sync")
async def regional_hourly(region: str, limit: int):
    pass


@flow
def positional(
    source: str,  # required, positional-only (Prefect still passes it by name)
    /,
    day: date,
    regions: List[str] = ["eu", "us"],  # a comment with ) and ,
    sep: str = "a,b)",
    mapping: Dict[str, int] = {"a": (1, 2), "b": [3]},
    *,
    limit: int = 10,
    dry_run: bool,
) -> Optional[int]:
    pass


@flow(retries=2)
def variadic(region: str, *more, retries=3, **options) -> None:
    pass


@flow
def no_params():
    pass


@flow
def lambda_default(key=lambda a, b: a):
    pass
