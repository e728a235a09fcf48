from prefect import flow


@flow(log_prints=True)
def hello(number: int = 1):
    print(f"hello {number}")
