"""Prints what Prefect's own parameter validation says about each case of inputs.json.

Run with the Python of a Prefect install; the output is that major's record:
    python3 gen_cases.py inputs.json > prefect2.json   # Prefect 2.14 (pydantic 1.10)
    python3 gen_cases.py inputs.json > prefect3.json   # Prefect 3.8 (pydantic 2)
Each case of inputs.json is an annotation, whether the parameter's default is None
(else it is 0), a JSON value, and the majors on which the Go checks deliberately do not
predict a refusal ("lenient"). A flow `def f(p: <annotation> = <default>)` is made with
prefect.flow and Flow.validate_parameters({"p": value}) is called: the call a flow run
makes before the flow function runs.
"""
import importlib.util
import json
import logging
import os
import sys
import tempfile

import prefect
import pydantic
from prefect import flow
from prefect.exceptions import ParameterTypeError


def main(path):
    logging.disable(logging.CRITICAL)  # Prefect 3 logs every refusal at ERROR
    with open(path) as f:
        inputs = json.load(f)
    major = int(prefect.__version__.split(".")[0])
    # The flow functions live in a real file: Prefect reads a flow function's source.
    lines = ["from datetime import date, datetime", "from typing import List, Optional"]
    for i, case in enumerate(inputs["cases"]):
        default = "None" if case["none_default"] else "0"
        lines.append("def f%d(p: %s = %s): pass" % (i, case["annotation"], default))
    with tempfile.TemporaryDirectory() as tmp:
        path = os.path.join(tmp, "cases_module.py")
        with open(path, "w") as f:
            f.write("\n".join(lines) + "\n")
        spec = importlib.util.spec_from_file_location("cases_module", path)
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
        out = []
        for i, case in enumerate(inputs["cases"]):
            try:
                flow(getattr(module, "f%d" % i)).validate_parameters({"p": case["value"]})
                verdict = "ok"
            except ParameterTypeError:
                verdict = "error"
            out.append({"annotation": case["annotation"], "none_default": case["none_default"],
                        "value": case["value"], "verdict": verdict,
                        "lenient": major in case.get("lenient", [])})
    print(json.dumps({"prefect": prefect.__version__, "pydantic": pydantic.VERSION, "cases": out},
                     indent=1, ensure_ascii=False))


main(sys.argv[1])
