"""Load each entrypoint given as an argument with Prefect's own loader.

Run from the repository root the entrypoints are relative to. Prints one JSON line per
entrypoint: {"entrypoint", "ok", "flow_name", "error"}; a failure does not stop the rest.
"""
import contextlib
import json
import sys
import traceback

from prefect.flows import load_flow_from_entrypoint


def main(entrypoints):
    for entrypoint in entrypoints:
        result = {"entrypoint": entrypoint, "ok": True, "flow_name": "", "error": ""}
        try:
            with contextlib.redirect_stdout(sys.stderr):
                result["flow_name"] = load_flow_from_entrypoint(entrypoint).name
        except BaseException as exc:  # a flow file may even call sys.exit()
            result["ok"] = False
            result["error"] = "".join(traceback.format_exception_only(type(exc), exc)).strip()
        print(json.dumps(result), flush=True)


if __name__ == "__main__":
    main(sys.argv[1:])
