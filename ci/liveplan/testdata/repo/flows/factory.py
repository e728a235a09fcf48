"""Flows made by a factory and re-exported: only Prefect's loader can name them."""
from prefect import flow

from flows.hello import hello as hello_again  # noqa: F401


def make_flow(name):
    def body(number: int = 1):
        return number

    return flow(body, name=name)


made = make_flow("made-flow")
