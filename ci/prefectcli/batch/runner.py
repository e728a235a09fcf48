"""Run many `prefect` CLI invocations in one warm Python process.

Importing Prefect costs 1.4 to 2.7 s; a `deployment build` costs about 0.4 s. This
runner pays the import once and then runs each job through Prefect's own CLI
application, `prefect.cli.app(argv, standalone_mode=False)`, exactly the code the
`prefect` executable runs.

Protocol (one JSON object per line, UTF-8):
  out  {"ready": true, "pid": N, "python": "3.11.7"}    once, after the import
       {"ready": false, "error": "<traceback>"}          the import failed (exit 3)
  in   {"id": "7", "argv": ["deployment", "build", ...]}  argv after `prefect`
       ("argvb": [base64, ...] instead of "argv" carries arguments that are not
       valid UTF-8; they are decoded with os.fsdecode, as Python decodes sys.argv)
  out  {"id": "7", "exit_code": 0, "stdout": "...", "stderr": "...", "seconds": 0.41}
       plus "error" when the job line itself was unusable (exit_code 2 then).

Usage:
  python3 -u runner.py               jobs on stdin, results on stdout, one at a time
  python3 -u runner.py --jobs FILE   jobs from FILE, results on stdout (for places
                                     without an interactive stdin, e.g. a Dagger exec)

Only the protocol is written to the real stdout: file descriptor 1 is pointed at
stderr before Prefect is imported, so stray writes (C extensions, child processes,
threads outliving their job) can never corrupt a result line. Standard library
only, Python 3.8+.
"""

import base64
import io
import json
import os
import sys
import time
import traceback
import warnings


class _Capture(io.StringIO):
    """One job's stdout or stderr.

    A pipe in the real CLI has an encoding; StringIO reports None, which makes click
    believe the stream is misconfigured ASCII.
    """

    @property
    def encoding(self):
        return "utf-8"

    @property
    def errors(self):
        return "strict"


class _Switch(object):
    """Stands in for sys.stdout / sys.stderr for the whole life of the process.

    Code that captures the stream object once (logging.StreamHandler built on first
    use, rich Consoles built with file=sys.stderr, Prefect's PrefectConsoleHandler
    whose Console holds the stream it was built with) keeps this object, so pointing
    it at the current job's buffer routes their output to that job and never to an
    older job's buffer. Swapping sys.stdout per job would not: such objects would
    keep writing into the first job's buffer.
    """

    def __init__(self, target):
        self._target = target

    def _set(self, target):
        self._target = target

    def write(self, s):
        return self._target.write(s)

    def writelines(self, lines):
        return self._target.writelines(lines)

    def flush(self):
        return self._target.flush()

    def isatty(self):
        return False

    def fileno(self):
        return self._target.fileno()

    def __getattr__(self, name):
        return getattr(self._target, name)


def _exit_code_of_system_exit(exc):
    code = exc.code
    if code is None:
        return 0
    if isinstance(code, int) and not isinstance(code, bool):
        return code
    # sys.exit("message") prints the message on stderr and exits 1.
    print(code, file=sys.stderr)
    return 1


def _is_click_abort(exc):
    cls = type(exc)
    return cls.__name__ == "Abort" and cls.__module__.startswith("click")


def _run_app(app, argv):
    """Run one CLI invocation in this process and return its exit code.

    Mirrors what the `prefect` executable does with the same argv:
    - with standalone_mode=False click RETURNS the code of typer.Exit (Prefect's
      exit_with_error raises typer.Exit(1) after printing its message on stdout);
      a command that succeeds returns None (or 0);
    - click exceptions (usage errors, exit code 2) are re-raised: printed with their
      own show(), which writes "Usage: ... Try ... Error: ..." to stderr (the CLI
      draws the same text inside a rich box);
    - Abort (Ctrl-C or EOF at a prompt) prints "Aborted!" and exits 1, as click does;
    - anything else is what Prefect's with_cli_exception_handling would report:
      the traceback on stderr, "An exception occurred." on stdout, exit 1.
    """
    try:
        rv = app(list(argv), standalone_mode=False, prog_name="prefect")
    except SystemExit as exc:
        return _exit_code_of_system_exit(exc)
    except KeyboardInterrupt:
        raise
    except Exception as exc:  # noqa: BLE001 - every failure becomes an exit code
        exit_code = getattr(exc, "exit_code", None)
        if isinstance(exit_code, int) and callable(getattr(exc, "show", None)):
            exc.show()
            return exit_code
        if isinstance(exit_code, int):
            return exit_code
        if _is_click_abort(exc):
            print("Aborted!", file=sys.stderr)
            return 1
        traceback.print_exc()
        print("An exception occurred.")
        return 1
    if rv is None or isinstance(rv, bool) or not isinstance(rv, int):
        return 0
    return rv


class Runner(object):
    def __init__(self, app, out_switch, err_switch, idle_out, idle_err):
        self.app = app
        self.out_switch = out_switch
        self.err_switch = err_switch
        self.idle_out = idle_out
        self.idle_err = idle_err
        self.cwd = os.getcwd()

    def run(self, argv):
        """Run one job with its own stdout/stderr; undo what it changed in the process."""
        out, err = _Capture(), _Capture()
        saved_argv = sys.argv[:]
        saved_path = sys.path[:]
        saved_env = dict(os.environ)
        sys.argv = ["prefect"] + list(argv)
        self.out_switch._set(out)
        self.err_switch._set(err)
        start = time.perf_counter()
        try:
            # catch_warnings restores filters the job changed and resets the
            # once-per-location registry, so a warning shows in every job that
            # triggers it, as it would in a fresh process.
            with warnings.catch_warnings():
                code = _run_app(self.app, argv)
        finally:
            seconds = time.perf_counter() - start
            self.out_switch._set(self.idle_out)
            self.err_switch._set(self.idle_err)
            sys.argv = saved_argv
            sys.path[:] = saved_path
            if dict(os.environ) != saved_env:
                os.environ.clear()
                os.environ.update(saved_env)
            try:
                os.chdir(self.cwd)
            except OSError:
                pass
        return code, out.getvalue(), err.getvalue(), seconds


def _decode_job(line):
    """Return (id, argv, error); id may be known even when the job is unusable."""
    try:
        job = json.loads(line)
    except ValueError as exc:
        return None, None, "malformed job line: %s" % exc
    if not isinstance(job, dict):
        return None, None, "malformed job line: not a JSON object"
    job_id = job.get("id")
    if not isinstance(job_id, str):
        return None, None, "malformed job: id must be a string"
    if "argvb" in job:
        raw = job.get("argvb")
        if not isinstance(raw, list) or not all(isinstance(a, str) for a in raw):
            return job_id, None, "malformed job: argvb must be a list of strings"
        try:
            argv = [os.fsdecode(base64.b64decode(a, validate=True)) for a in raw]
        except ValueError as exc:
            return job_id, None, "malformed job: argvb: %s" % exc
        return job_id, argv, None
    argv = job.get("argv")
    if not isinstance(argv, list) or not all(isinstance(a, str) for a in argv):
        return job_id, None, "malformed job: argv must be a list of strings"
    return job_id, argv, None


def _write(proto, obj):
    proto.write(json.dumps(obj) + "\n")
    proto.flush()


def _lines(stream):
    for raw in stream:
        line = raw.decode("utf-8", "replace").strip()
        if line:
            yield line


def main(args):
    jobs_path = None
    if len(args) == 2 and args[0] == "--jobs":
        jobs_path = args[1]
    elif args:
        sys.stderr.write("usage: runner.py [--jobs FILE]\n")
        return 2

    # The protocol owns private copies of fds 0 and 1. A job never sees them:
    # fd 0 reads /dev/null (as for the CLI run without stdin) and fd 1 goes to stderr.
    proto_out = os.fdopen(os.dup(1), "w", encoding="utf-8", newline="\n")
    proto_in = None if jobs_path else os.fdopen(os.dup(0), "rb")
    devnull = os.open(os.devnull, os.O_RDONLY)
    os.dup2(devnull, 0)
    os.close(devnull)
    sys.stdout.flush()
    os.dup2(2, 1)
    sys.stdin = open(os.devnull, "r")
    real_err = sys.stderr
    idle_out = real_err  # between jobs, stray output goes to the runner's own stderr
    out_switch, err_switch = _Switch(idle_out), _Switch(real_err)
    sys.stdout, sys.stderr = out_switch, err_switch

    try:
        from prefect.cli import app
    except BaseException:  # noqa: BLE001 - report any import failure, then stop
        _write(proto_out, {"ready": False, "error": traceback.format_exc()})
        return 3
    _write(
        proto_out,
        {"ready": True, "pid": os.getpid(), "python": sys.version.split()[0]},
    )

    runner = Runner(app, out_switch, err_switch, idle_out, real_err)
    source = open(jobs_path, "rb") if jobs_path else proto_in
    with source:
        for line in _lines(source):
            job_id, argv, error = _decode_job(line)
            if error is not None:
                _write(
                    proto_out,
                    {
                        "id": job_id,
                        "exit_code": 2,
                        "stdout": "",
                        "stderr": "",
                        "seconds": 0.0,
                        "error": error,
                    },
                )
                continue
            code, out, err, seconds = runner.run(argv)
            _write(
                proto_out,
                {
                    "id": job_id,
                    "exit_code": code,
                    "stdout": out,
                    "stderr": err,
                    "seconds": round(seconds, 3),
                },
            )
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
