from prefect.flows import flow


@flow
def café():
    "Café ☕ flow."
