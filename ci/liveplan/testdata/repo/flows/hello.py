"""Smoke-test flow."""
from prefect import flow


@flow
def hello(number: int = 1) -> int:
    return number
