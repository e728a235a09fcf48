"""Fake flows with annotated parameters for the type checks (never run)."""
from datetime import date, datetime
from typing import List, Optional

import prefect


@prefect.flow
def typed(
    day: date,
    at: datetime = None,
    regions: List[str] = ["eu"],
    limit: int = 10,
    ratio: float = 1.0,
    dry_run: bool = False,
    label: str = "x",
    since: Optional[date] = None,
    anything=None,
):
    pass


@prefect.flow(validate_parameters=False)
def unvalidated(day: date = None, limit: int = 1):
    pass
