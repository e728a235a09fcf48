"""Daily sales ETL: one flow, deployed once per region group with its own schedule."""
from datetime import date, timedelta
from typing import List, Optional

from prefect import flow, get_run_logger, task

from dataplatform.extract import fetch_orders
from dataplatform.transform import daily_totals


@task(retries=2, retry_delay_seconds=30)
def extract(region: str, day: date) -> list:
    return fetch_orders(region, day)


@task
def load(region: str, totals: dict, dry_run: bool) -> int:
    logger = get_run_logger()
    if dry_run:
        logger.info("dry run: would write %d rows for %s", len(totals), region)
        return 0
    logger.info("writing %d rows for %s", len(totals), region)
    return len(totals)


@flow(log_prints=True)
def daily_sales_etl(
    run_date: Optional[date] = None,
    regions: List[str] = ["eu"],
    dry_run: bool = False,
) -> int:
    """Extract yesterday's orders (or run_date's) per region, total them, load them."""
    day = run_date or date.today() - timedelta(days=1)
    written = 0
    for region in regions:
        orders = extract(region, day)
        written += load(region, daily_totals(orders), dry_run)
    print(f"{day.isoformat()}: {written} rows for {', '.join(regions)}")
    return written
