import functools

from prefect import flow


def my_flow(fn):
    return flow(name="my-" + fn.__name__)(fn)


@my_flow
def decorated(day: str = "2024-01-01"):
    pass


@functools.lru_cache
def cached():
    pass
