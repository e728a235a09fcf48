# Fixture only: spec.Load checks that the flow file exists.
from prefect import flow


@flow
def hello():
    pass
