"""Stand-in for Prefect 2.14's CLI application (`prefect.cli.app`).

It answers `deployment build` the way the recordings in
shared/prefect/recorded/cli-cases.json show the real CLI does, with the same
mechanics as Prefect + typer + click under `app(argv, standalone_mode=False)`:
- errors print on stdout and raise Exit(1), which the app turns into a RETURNED 1;
- usage errors raise a click UsageError (exit_code 2) that the caller must show();
- an unexpected exception inside a command is caught by the command wrapper (as
  prefect/cli/_utilities.py with_cli_exception_handling does), which prints the
  traceback on stderr and "An exception occurred." on stdout and returns 1.

The flow function named in the entrypoint selects extra behaviours for tests:
  nope     "Flow function with name 'nope' not found in '<path>'.", exit 1
  crash    prints a line, then os._exit(3) in the middle of the job
  hang     prints a line, then sleeps forever
  noisy    prints STUB_NOISY_LINES (default 2000) lines tagged with the name on both streams
  explode  raises outside the command wrapper (the runner itself must report it)
  sysexit  raises SystemExit(7)
  logwarn  logs a warning through a handler built on first use (like Prefect's
           setup_logging), tagged with the name
  warn     warns (a UserWarning shows once per place in a process; every job must get it)
  leak     changes cwd, os.environ, sys.argv, sys.path and warning filters, and warns
Anything else is a valid flow. `--cron "61 * * * *"` fails inside the command.

Environment: STUB_JOB_SECONDS (sleep per build), STUB_BURN=1 (burn that much CPU
time instead of sleeping), STUB_RECORD_DIR (append {pid, argv, cwd, ...} per job to
<dir>/<pid>.jsonl).
"""

import base64
import functools
import hashlib
import json
import logging
import os
import sys
import time
import traceback
import warnings

_BUILD_USAGE = "[OPTIONS] ENTRYPOINT"


def _show(exc, file):
    # What click's UsageError.show prints; typer draws the same text in a rich box.
    if file is None:
        file = sys.stderr
    file.write(
        "Usage: prefect %s %s\n"
        "Try 'prefect %s --help' for help.\n\n"
        "Error: %s\n" % (exc.command, exc.usage, exc.command, exc.message)
    )


try:
    import click

    class UsageError(click.UsageError):
        """A click usage error whose show() prints what typer/click print for it."""

        def __init__(self, message, command="deployment build", usage=_BUILD_USAGE):
            super().__init__(message)
            self.command = command
            self.usage = usage

        def show(self, file=None):
            _show(self, file)

    Exit = click.exceptions.Exit
except ImportError:  # the runner must not depend on click being the real one

    class UsageError(Exception):
        exit_code = 2

        def __init__(self, message, command="deployment build", usage=_BUILD_USAGE):
            super().__init__(message)
            self.message = message
            self.command = command
            self.usage = usage

        def show(self, file=None):
            _show(self, file)

    class Exit(RuntimeError):
        def __init__(self, code=0):
            super().__init__(code)
            self.exit_code = code


_VALUE_OPTIONS = {
    "--name": "name", "-n": "name",
    "--description": "description", "-d": "description",
    "--version": "version", "-v": "version",
    "--tag": "tag", "-t": "tag",
    "--work-queue": "work_queue", "-q": "work_queue",
    "--pool": "pool", "-p": "pool",
    "--limit": "limit", "-l": "limit",
    "--infra": "infra", "-i": "infra",
    "--infra-block": "infra_block", "-ib": "infra_block",
    "--override": "override",
    "--storage-block": "storage_block", "-sb": "storage_block",
    "--cron": "cron",
    "--interval": "interval",
    "--anchor-date": "anchor_date",
    "--rrule": "rrule",
    "--timezone": "timezone",
    "--path": "path",
    "--output": "output", "-o": "output",
    "--param": "param",
    "--params": "params",
}
_FLAGS = {"--skip-upload", "--apply", "-a", "--no-schedule"}
_REPEATABLE = {"tag", "override", "param"}

_log_handler = None


def _record(argv):
    folder = os.environ.get("STUB_RECORD_DIR")
    if not folder:
        return
    entry = {
        "pid": os.getpid(),
        "argv": list(argv),
        # The bytes the process got, as the CLI gets them from exec: os.fsencode
        # undoes the surrogateescape decoding of sys.argv.
        "argv_b64": [base64.b64encode(os.fsencode(a)).decode("ascii") for a in argv],
        "cwd": os.getcwd(),
        "leak_env": os.environ.get("STUB_LEAK"),
        "sys_argv": list(sys.argv),
        "path_leak": "/stub-leak" in sys.path,
    }
    with open(os.path.join(folder, "%d.jsonl" % os.getpid()), "a") as f:
        f.write(json.dumps(entry) + "\n")


def _work():
    import prefect

    prefect._charge(float(os.environ.get("STUB_JOB_SECONDS") or 0))


def exit_with_error(message, code=1):
    print(message)
    raise Exit(code)


def with_cli_exception_handling(fn):
    @functools.wraps(fn)
    def wrapper(*args, **kwargs):
        try:
            return fn(*args, **kwargs)
        except (Exit, UsageError):
            raise
        except Exception:
            traceback.print_exc()
            exit_with_error("An exception occurred.")

    return wrapper


def _parse(args):
    opts = {"flags": set()}
    positional = []
    i = 0
    while i < len(args):
        arg = args[i]
        if arg.startswith("-") and len(arg) > 1:
            name, eq, value = arg.partition("=")
            if name in _FLAGS and not eq:
                opts["flags"].add(name)
                i += 1
                continue
            key = _VALUE_OPTIONS.get(name)
            if key is None:
                if name == "--schedule":
                    raise UsageError(
                        "No such option: --schedule (Possible options: --help, --no-schedule)"
                    )
                raise UsageError("No such option: %s" % name)
            if not eq:
                if i + 1 >= len(args):
                    raise UsageError("Option '%s' requires an argument." % name)
                value = args[i + 1]
                i += 1
            if key == "interval":
                try:
                    int(value)
                except ValueError:
                    raise UsageError(
                        "Invalid value for '--interval': '%s' is not a valid integer."
                        % value
                    )
            if key in _REPEATABLE:
                opts.setdefault(key, []).append(value)
            else:
                opts[key] = value
        else:
            positional.append(arg)
        i += 1
    if len(positional) != 1:
        raise UsageError("Missing argument 'ENTRYPOINT'.")
    return positional[0], opts


def _setup_logging():
    # Like Prefect's setup_logging: the handler takes the sys.stderr object of the
    # moment it is built and keeps it.
    global _log_handler
    if _log_handler is None:
        _log_handler = logging.StreamHandler()
        logging.getLogger("prefect.stub").addHandler(_log_handler)
        logging.getLogger("prefect.stub").propagate = False


@with_cli_exception_handling
def build(entrypoint, opts):
    _work()
    if ":" not in entrypoint:
        exit_with_error(
            "Your flow entrypoint must include the name of the function that is the"
            " entrypoint to your flow.\nTry %s:<flow_name>" % entrypoint
        )
    path, func = entrypoint.rsplit(":", 1)
    name = opts.get("name")
    if not name:
        exit_with_error(
            "A name for this deployment must be provided with the '--name' flag."
        )
    if func == "nope":
        exit_with_error(
            "Flow function with name %r not found in %r." % (func, path)
        )
    print("Found flow %r" % func)
    if func == "crash":
        sys.stdout.flush()
        os._exit(3)
    if func == "hang":
        sys.stdout.flush()
        while True:
            time.sleep(3600)
    if func == "noisy":
        for i in range(int(os.environ.get("STUB_NOISY_LINES") or 2000)):
            print("%s out %d" % (name, i))
            print("%s err %d" % (name, i), file=sys.stderr)
    if func == "sysexit":
        raise SystemExit(7)
    if func == "logwarn":
        _setup_logging()
        logging.getLogger("prefect.stub").warning("warning from %s", name)
    if func == "leak":
        os.chdir(os.path.dirname(os.getcwd()) or "/")
        os.environ["STUB_LEAK"] = name or "leak"
        sys.argv.append("leaked")
        sys.path.append("/stub-leak")
        warnings.simplefilter("ignore")
    if func in ("warn", "leak"):
        warnings.warn("stub warning from %s" % name, UserWarning)
    if opts.get("cron") == "61 * * * *":
        raise ValueError(
            '1 validation error for CronSchedule\ncron\n  Invalid cron string: "61 * * * *"'
            " (type=value_error)"
        )
    output = opts.get("output") or "%s-deployment.yaml" % func
    print("Deployment YAML created at %r." % os.path.join(os.getcwd(), output))
    digest = hashlib.md5(os.fsencode(name)).hexdigest()
    dep_id = "-".join(
        (digest[:8], digest[8:12], digest[12:16], digest[16:20], digest[20:])
    )
    print(
        "Deployment '%s/%s' successfully created with id '%s'."
        % (func.replace("_", "-"), name, dep_id)
    )
    print()
    if opts.get("pool"):
        print(
            "To execute flow runs from this deployment, start an agent that pulls work"
            " from the %r work pool:\n$ prefect agent start -p %r"
            % (opts["pool"], opts["pool"])
        )
    else:
        queue = opts.get("work_queue") or "default"
        print(
            "To execute flow runs from this deployment, start an agent that pulls work"
            " from the %r work queue:\n$ prefect agent start -q %r" % (queue, queue)
        )


def _invoke(argv):
    _record(argv)
    if argv[:1] != ["deployment"]:
        raise UsageError(
            "No such command %r." % (argv[:1] or [""])[0],
            command="", usage="[OPTIONS] COMMAND [ARGS]...",
        )
    if argv[1:2] != ["build"]:
        raise UsageError(
            "No such command %r." % (argv[1:2] or [""])[0],
            command="deployment", usage="[OPTIONS] COMMAND [ARGS]...",
        )
    entrypoint, opts = _parse(argv[2:])
    if entrypoint.endswith(":explode"):
        raise RuntimeError("stub exploded outside the command wrapper")
    return build(entrypoint, opts)


class App(object):
    """Callable like a typer app: app(args=None, standalone_mode=True, prog_name=None)."""

    def __call__(self, args=None, standalone_mode=True, prog_name=None):
        if args is None:
            args = sys.argv[1:]
        try:
            rv = _invoke(list(args))
        except Exit as exc:
            if standalone_mode:
                sys.exit(exc.exit_code)
            return exc.exit_code
        except UsageError as exc:
            if not standalone_mode:
                raise
            exc.show()
            sys.exit(exc.exit_code)
        if standalone_mode:
            sys.exit(0)
        return rv


app = App()
