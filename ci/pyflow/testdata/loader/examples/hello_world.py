"""A flow module that other files re-export."""
from prefect import flow


@flow
def hello(name: str = "world"):
    print(f"hello {name}")


def helper():
    return 1
