"""Stand-in for the `prefect` package in the batch runner's tests and benchmarks.

Importing it costs STUB_IMPORT_SECONDS (default 0), standing in for the 1.4 to 2.7 s
the real `import prefect` takes.
"""

import os
import time

__version__ = "2.14.21+stub"

time.sleep(float(os.environ.get("STUB_IMPORT_SECONDS") or 0))
