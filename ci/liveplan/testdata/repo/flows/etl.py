from typing import List

from prefect import flow


@flow(log_prints=True)
def daily_sales_etl(regions: List[str], dry_run: bool = False) -> int:
    return len(regions)
