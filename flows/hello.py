"""Smoke-test flow: proves the agent image, the blocks and the deployment path work."""
from prefect import flow, get_run_logger


@flow
def hello(number: int = 1) -> int:
    get_run_logger().info("hello number %d", number)
    return number
