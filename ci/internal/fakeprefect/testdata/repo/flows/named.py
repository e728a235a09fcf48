import prefect


@prefect.flow(
    name="Daily Sales",
    retries=2,
)
async def daily_sales(day: str = "2024-01-01"):
    return day


def helper():
    return None
