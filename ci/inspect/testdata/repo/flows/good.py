import os
import sys

from prefect.flows import flow

print("printed while importing: must not reach the JSON")
os.write(1, b"written to fd 1 while importing\n")


@flow
def daily_sales(region: str = "eu", days=7, note=None):
    """Sum the day's sales.

        Indented detail line.
    """


@flow(name="Named Flow", version="1.0", description="From the decorator")
def named():
    pass


def plain():
    pass
