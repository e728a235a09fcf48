from prefect import flow


@flow(name="served")
def _served():
    pass


def __getattr__(name):
    if name == "anything":
        return _served
    raise AttributeError(name)
