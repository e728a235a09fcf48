"""Re-exports a flow: only Prefect's loader can tell what hello2 is."""
from flows.hello import hello as hello2  # noqa: F401
