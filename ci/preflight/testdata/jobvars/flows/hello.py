from prefect import flow


@flow
def hello():
    pass
