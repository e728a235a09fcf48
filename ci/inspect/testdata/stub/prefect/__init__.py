"""Stand-in for Prefect's loader in ci/inspect's tests: the names inspect_flows.py uses.
STUB_PREFECT_VERSION makes it another Prefect (e.g. 3.8.3+stub)."""
import os

__version__ = os.environ.get("STUB_PREFECT_VERSION", "2.14.21+stub")
