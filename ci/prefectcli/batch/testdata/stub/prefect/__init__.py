"""Stand-in for the `prefect` package in the batch runner's tests and benchmarks.

Importing it costs STUB_IMPORT_SECONDS (default 0), standing in for the 1.4 to 2.7 s
the real `import prefect` takes. With STUB_BURN=1 that time (and each job's
STUB_JOB_SECONDS) is spent burning CPU, as the real import does, instead of sleeping.
"""

import os
import time

__version__ = "2.14.21+stub"


def _charge(seconds):
    if seconds <= 0:
        return
    if os.environ.get("STUB_BURN") == "1":
        end = time.process_time() + seconds
        while time.process_time() < end:
            pass
    else:
        time.sleep(seconds)


_charge(float(os.environ.get("STUB_IMPORT_SECONDS") or 0))
