"""Test stand-in for the prefect package: prefect.cli.app (see cli/) for the batch runner,
and the flow decorator and loader (flows.py, utilities/) for the inspect program."""
__version__ = "2.14.21+standin"


def flow(*args, **kwargs):
    from prefect.flows import flow as _flow

    return _flow(*args, **kwargs)
