from prefect import flow


@flow(name="daily-sales-etl")
def daily_sales_etl(regions: list[str] = ["eu"], run_date: str | None = None, dry_run: bool = False):
    return regions
