"""What the scanner decides on its own.

@flow
def in_docstring():
    pass
"""
from prefect import flow, task


@flow
def hello(name: str = "world"):
    pass


def plain():
    pass


@task
def a_task():
    pass


class Klass:
    def method(self):
        pass
