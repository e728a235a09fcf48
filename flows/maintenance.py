"""Housekeeping flows that keep the Prefect workspace tidy."""
from typing import List

import prefect


@prefect.flow(log_prints=True)
def cleanup_flow_runs(older_than_days: int = 30, states: List[str] = ["COMPLETED"]) -> None:
    """Report flow runs in the given states older than older_than_days."""
    print(f"would delete {', '.join(states)} runs older than {older_than_days} days")
