from prefect import flow


@flow(name="daily-etl")
def daily_etl(regions: list = None):
    return regions
