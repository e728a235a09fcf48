"""Stand-in for Prefect's CLI application in the wrapper's batch-runner tests.

app() runs each job's argv through the fake `prefect` (the Go binary in
FAKE_PREFECT_BIN that the CLI-runner tests run), so both runners are checked against
the same fake, the same call log (FAKE_PREFECT_LOG) and the same failure switches
(FAKE_PREFECT_FAIL, _HANG, ...). It returns the exit code as prefect.cli.app does
with standalone_mode=False, and writes the fake's output to sys.stdout/sys.stderr,
which the batch runner captures per job.

STANDIN_LOG: append {"pid": runner pid, "name": deployment} per job, to prove the
job ran in a runner process (and in which one), not through the CLI fallback.
STANDIN_CRASH: a glob of deployment names whose job kills the runner process
mid-job, as a segfault would.
"""

import fnmatch
import json
import os
import subprocess
import sys


def _name(argv):
    for i, a in enumerate(argv[:-1]):
        if a == "-n":
            return argv[i + 1]
    return ""


def app(argv, standalone_mode=True, prog_name=None):
    name = _name(argv)
    log = os.environ.get("STANDIN_LOG")
    if log:
        with open(log, "a", encoding="utf-8") as f:
            f.write(json.dumps({"pid": os.getpid(), "name": name}) + "\n")
    crash = os.environ.get("STANDIN_CRASH")
    if crash and fnmatch.fnmatchcase(name, crash):
        sys.stdout.write("Found flow 'hello'\n")
        os._exit(3)
    p = subprocess.run([os.environ["FAKE_PREFECT_BIN"]] + list(argv), stdin=subprocess.DEVNULL,
                       stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    sys.stdout.write(p.stdout.decode("utf-8", "replace"))
    sys.stderr.write(p.stderr.decode("utf-8", "replace"))
    return p.returncode
