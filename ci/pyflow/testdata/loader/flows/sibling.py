from prefect import flow


@flow(name="sibling-flow")
def sib_flow():
    pass
