"""Inspect flows the way `prefect deployment build` sees them, once, in one process.

Usage: python inspect_flows.py ENTRYPOINT...   (run from the directory entrypoints are relative to)

Prints ONE JSON document on stdout (Python's json.dumps defaults, like Prefect's client):
  {"format": 1, "prefect_version": "2.14.21", "python": "3.11.6", "error": null,
   "flows": [{"entrypoint", "ok", "error", "flow_name", "function", "deployment_entrypoint",
              "parameter_openapi_schema", "version", "description", "file_md5"}]}
- parameter_openapi_schema is parameter_schema(flow).dict(): the object the CLI sends,
  byte for byte once dumped (recorded on 2.14.21). On Prefect 3 it is
  parameter_schema(flow).model_dump(mode="json", exclude_unset=True), which is what
  `prefect deploy` and flow.deploy() store (recorded on 3.8.3: a plain dump adds
  "required": [] and "definitions": {} when they are empty).
- version and description are the flow's own (flow.version: md5 of the flow file unless
  @flow(version=...); flow.description: @flow(description=...) or the cleaned docstring),
  which is what the CLI fills in when -v / -d are absent.
- deployment_entrypoint is the entrypoint as the CLI stores it: the file relative to the
  working directory, ':', the Python function name.
- error is the exception's text (format_exception_only); one bad flow does not hide the
  others. A top-level "error" means Prefect itself did not import.
Whatever flow modules print while imported goes to stderr (file descriptor 1 is pointed
at stderr while they load), so stdout holds the document only.
Standard library and Prefect's own functions only: it runs in the deploy image as is.
"""
import contextlib
import hashlib
import json
import os
import sys
import traceback

FORMAT = 1
PREFECT_MAJOR = 2  # set from prefect.__version__ once Prefect is imported


def error_text(exc):
    return "".join(traceback.format_exception_only(type(exc), exc)).strip()


def inspect_one(entrypoint, load_flow_from_entrypoint, parameter_schema):
    out = {"entrypoint": entrypoint, "ok": False, "error": None}
    try:
        flow = load_flow_from_entrypoint(entrypoint)
        ps = parameter_schema(flow)
        if PREFECT_MAJOR >= 3:
            schema = ps.model_dump(mode="json", exclude_unset=True)
        else:
            schema = ps.dict()
        path, func = entrypoint.rsplit(":", 1)
        flow_file = getattr(flow.fn, "__globals__", {}).get("__file__") or path
        try:
            rel = os.path.relpath(os.path.abspath(flow_file), os.path.abspath("."))
        except ValueError:  # another drive on Windows
            rel = path
        with open(flow_file, "rb") as fh:
            md5 = hashlib.md5(fh.read()).hexdigest()
        version = flow.version
        out.update(
            ok=True,
            flow_name=flow.name,
            function=flow.fn.__name__,
            deployment_entrypoint=rel.replace(os.sep, "/") + ":" + flow.fn.__name__,
            parameter_openapi_schema=schema,
            version=None if version is None else str(version),
            description=flow.description,
            file_md5=md5,
        )
    except BaseException as exc:  # a flow module may even call sys.exit()
        if isinstance(exc, KeyboardInterrupt):
            raise
        out["error"] = error_text(exc)
    return out


def main(argv):
    # Keep the real stdout for the document; everything else printed goes to stderr,
    # also what C extensions write to file descriptor 1.
    sys.stdout.flush()
    real_out = os.fdopen(os.dup(1), "w", encoding="utf-8")
    os.dup2(2, 1)
    doc = {"format": FORMAT, "prefect_version": None, "python": sys.version.split()[0], "error": None, "flows": []}
    code = 0
    try:
        with contextlib.redirect_stdout(sys.stderr):
            import prefect
            from prefect.flows import load_flow_from_entrypoint
            from prefect.utilities.callables import parameter_schema

            doc["prefect_version"] = prefect.__version__
            global PREFECT_MAJOR
            PREFECT_MAJOR = int(prefect.__version__.split(".")[0])
            seen = set()
            for ep in argv:
                if ep in seen:
                    continue
                seen.add(ep)
                doc["flows"].append(inspect_one(ep, load_flow_from_entrypoint, parameter_schema))
    except BaseException as exc:
        if isinstance(exc, KeyboardInterrupt):
            raise
        doc["error"] = error_text(exc)
        code = 1
    real_out.write(json.dumps(doc) + "\n")
    real_out.flush()
    return code


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
