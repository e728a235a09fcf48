"""Stand-in for Prefect's loader in ci/inspect's tests: the names inspect_flows.py uses."""
__version__ = "2.14.21+stub"
