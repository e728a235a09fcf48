from prefect import flow


@flow
def hello(number: int = 1):
    print(number)
