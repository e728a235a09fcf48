"""Regenerates cases.json: what pydantic 1.10 (Prefect 2.14's) says about each value.

Run with any Python that has pydantic 1.10, or pydantic 2.x (its pydantic.v1 is 1.10):
    python3 gen_cases.py > cases.json
Each case is an annotation, whether the default is None, a JSON value, and pydantic's
answer. "lenient" marks a refusal the Go checks deliberately do not try to predict.
"""
import json
from datetime import date, datetime
from typing import List, Optional

try:
    from pydantic.v1 import VERSION
    from pydantic.v1.decorator import ValidatedFunction
except ImportError:  # pydantic 1.x itself
    from pydantic import VERSION
    from pydantic.decorator import ValidatedFunction

S = object()  # "the default is not None"

CASES = [
    # annotation, default, value, lenient
    ("int", S, 5, False), ("int", S, "5", False), ("int", S, " 5 ", False), ("int", S, "+1_000", False),
    ("int", S, 2.5, False), ("int", S, True, False), ("int", S, "5.0", False), ("int", S, "ten", False),
    ("int", S, "0x10", False), ("int", S, "", False), ("int", S, "1__0", False), ("int", S, [1], False),
    ("int", S, {"a": 1}, False), ("int", S, None, False), ("int", None, None, False), ("int", S, "\t5", False),
    ("int", S, "\u0663", False), ("int", S, "5\n", False),
    ("float", S, 1.5, False), ("float", S, 2, False), ("float", S, "1e5", False), ("float", S, "1.e5", False),
    ("float", S, ".5", False), ("float", S, "inf", False), ("float", S, "-Infinity", False), ("float", S, "NaN", False),
    ("float", S, "1_0.5", False), ("float", S, ".", False), ("float", S, "e5", False), ("float", S, "1,5", False),
    ("float", S, "fast", False), ("float", S, [1.5], False), ("float", S, True, False), ("float", S, None, False),
    ("bool", S, True, False), ("bool", S, "yes", False), ("bool", S, "Yes", False), ("bool", S, "OFF", False),
    ("bool", S, "t", False), ("bool", S, "1", False), ("bool", S, 1, False), ("bool", S, 0.0, False),
    ("bool", S, 2, False), ("bool", S, 0.5, False), ("bool", S, "maybe", False), ("bool", S, " yes", False),
    ("bool", S, "", False), ("bool", S, [], False), ("bool", S, {}, False), ("bool", S, None, False),
    ("bool", None, None, False),
    ("str", S, "x", False), ("str", S, 5, False), ("str", S, 1.5, False), ("str", S, False, False),
    ("str", S, ["x"], False), ("str", S, {"a": "b"}, False), ("str", S, None, False), ("str", None, None, False),
    ("date", S, "2024-01-31", False), ("date", S, "2024-1-5", False), ("date", S, "2024-02-29", False),
    ("date", S, "2023-02-29", False), ("date", S, "2024-13-01", False), ("date", S, "0000-01-01", False),
    ("date", S, "2024-01-01T00:00:00", False), ("date", S, "tomorrow", False), ("date", S, " 2024-01-01", False),
    ("date", S, "1700000000", False), ("date", S, " 1700000000 ", False), ("date", S, 1700000000, False),
    ("date", S, 1.5, False), ("date", S, True, False), ("date", S, "", False), ("date", S, ["2024-01-01"], False),
    ("date", S, {"y": 2024}, False), ("date", S, None, False), ("date", None, None, False), ("date", S, "nan", True),
    ("date", S, "2024-01-01\n", False), ("date", S, "31.01.2024", False),
    ("datetime", S, "2024-01-31T09:00", False), ("datetime", S, "2024-01-31 09:00:00", False),
    ("datetime", S, "2024-01-31T09:00:00.1234567+01", False), ("datetime", S, "2024-01-31T09:00:00Z", False),
    ("datetime", S, "2024-01-31T09:00:00+0530", False), ("datetime", S, "2024-01-31T09:00:00+05:99", False),
    ("datetime", S, "2024-01-31T09:00:00+24:00", False), ("datetime", S, "2024-01-31T24:00", False),
    ("datetime", S, "2024-01-31T09:60", False), ("datetime", S, "2024-01-31T09:00:60", False),
    ("datetime", S, "2024-01-31", False), ("datetime", S, "2024-01-31T09", False), ("datetime", S, "now", False),
    ("datetime", S, "2024-02-30T09:00", False), ("datetime", S, 0, False), ("datetime", S, [], False),
    ("datetime", S, "2024-01-31T09:00:00.1234567890123", False),
    ("List[str]", S, ["eu"], False), ("List[str]", S, [], False), ("List[str]", S, "eu", False),
    ("List[str]", S, {"eu": 1}, False), ("List[str]", S, 5, False), ("List[str]", S, True, False),
    ("List[str]", S, None, False), ("List[str]", None, None, False), ("List[int]", S, ["x"], True),
    ("list", S, [1, "a"], False), ("list", S, "a,b", False), ("list[str]", S, "a", False),
    ("Optional[int]", S, None, False), ("Optional[int]", S, "x", False), ("Optional[int]", S, {}, False),
    ("Optional[List[str]]", S, None, False), ("Optional[List[str]]", S, "eu", False),
    ("Optional[date]", S, "2024-01-01T00:00:00", False), ("Optional[date]", S, None, False),
]


def main():
    ns = {"date": date, "datetime": datetime, "List": List, "Optional": Optional}
    out = []
    for ann, default, value, lenient in CASES:
        src = "def f(p: %s%s): pass" % (ann, "" if default is S else " = None")
        if default is S:
            src = "def f(p: %s = 0): pass" % ann
        exec(src, ns)
        vf = ValidatedFunction(ns["f"], config={"arbitrary_types_allowed": True})
        try:
            vf.init_model_instance(p=value)
            verdict = "ok"
        except Exception:  # pydantic's ValidationError, or a TypeError it lets through
            verdict = "error"
        out.append({"annotation": ann, "none_default": default is None, "value": value,
                    "pydantic": verdict, "lenient": lenient})
    print(json.dumps({"pydantic": VERSION, "cases": out}, indent=1, ensure_ascii=False))


main()
