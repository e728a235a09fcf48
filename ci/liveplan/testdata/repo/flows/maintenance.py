from prefect import flow


@flow
def cleanup_flow_runs(older_than_days: int = 30) -> None:
    pass
