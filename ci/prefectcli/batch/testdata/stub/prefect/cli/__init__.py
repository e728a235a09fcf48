from prefect.cli.root import app  # noqa: F401
