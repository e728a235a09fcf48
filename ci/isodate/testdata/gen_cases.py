"""Record what Prefect 2.14 makes of each anchor date in inputs.txt.

Usage: PYTHON_WITH_PREFECT gen_cases.py < inputs.txt > cases.json

Each input goes through IntervalSchedule(anchor_date=...), the model `prefect deployment
build --anchor-date` fills (DateTimeTZ -> pendulum.parse, then pendulum.instance), and
is serialised as build does before sending it. The
clock is set twice (pendulum's test "now") so values read relative to the time of
parsing are told apart from fixed ones.
"""
import datetime
import json
import sys

import pendulum
from prefect.client.schemas.schedules import IntervalSchedule

NOWS = [pendulum.datetime(2001, 2, 3, 4, 5, 6, tz="UTC"), pendulum.datetime(2002, 3, 4, 5, 6, 7, tz="UTC")]


def anchor(text, now):
    """(accepted, UTC instant or None when it is out of Python's range, offset seconds, error)"""
    pendulum.set_test_now(now)
    try:
        s = IntervalSchedule(interval=datetime.timedelta(seconds=60), anchor_date=text)
        s.json()  # what build sends to the server: an offset of a day or more fails here
    except Exception as exc:  # what build would print instead of a deployment
        return False, None, 0, type(exc).__name__
    finally:
        pendulum.set_test_now()
    a = s.anchor_date
    offset = int(a.utcoffset().total_seconds())
    try:
        utc = (datetime.datetime(a.year, a.month, a.day, a.hour, a.minute, a.second, a.microsecond)
               - datetime.timedelta(seconds=offset)).isoformat() + "Z"
    except OverflowError:
        utc = None
    return True, utc, offset, ""


def main():
    cases = []
    for line in sys.stdin.read().split("\n"):
        if line.startswith("#") or line == "":
            continue
        text = json.loads(line) if line.startswith('"') else line
        results = [anchor(text, now) for now in NOWS]
        ok, utc, offset, err = results[0]
        case = {"in": text, "ok": ok}
        if ok:
            case["relative"] = results[0][1] != results[1][1]
            case["utc"] = utc  # for a relative value: on the first clock, 2001-02-03T04:05:06Z
            case["offset"] = offset
        else:
            case["error"] = err
        cases.append(case)
    json.dump(cases, sys.stdout, indent=1, ensure_ascii=False)
    sys.stdout.write("\n")


if __name__ == "__main__":
    main()
