"""Fake flows for the spec tests (never run).

@flow
def in_docstring():
    pass
"""
import prefect
from prefect import flow, task


@task
def extract():
    return 1


@flow
def daily(day: str = "2024-01-01", regions: list[str] = None):
    extract()


@flow(name="hourly-sync", log_prints=True)
async def hourly(items: list):
    pass


@prefect.flow(
    # a comment inside the decorator
    retries=2,
    name='weekly report',
)
@some_other_decorator
def weekly_report():
    pass


@flow  # the main one
def with_comment():
    pass


@flow(task_runner=Runner(name="not-the-flow-name"), retries=1)
def nested_name_arg():
    pass


@prefect.flow
def dotted():
    pass


def plain_function():
    pass


@task
def a_task():
    pass


class Holder:
    @flow
    def method(self):
        pass


@flow(name="bad/name")
def slash_name():
    pass
