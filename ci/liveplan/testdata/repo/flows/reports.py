from prefect import flow


@flow(name="weekly-report")
def weekly_report(team: str) -> str:
    return team
