import pandas_that_is_missing  # noqa: F401
