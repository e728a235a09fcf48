"""Regenerate click-cases.json: how click itself parses argvs for the options listed in
shared/prefect/cli-2.14.json. Run from this directory with a Python that has click:

    python3 gen_click_cases.py ../../../../../shared/prefect/cli-2.14.json > click-cases.json

The Go test compares package clispec's parser against this file, so the two never drift.
"""
import json
import sys

import click

spec = json.load(open(sys.argv[1]))


def command(name):
    c = spec["commands"][name]
    params = []
    for a in c.get("arguments", []):
        nargs = -1 if a["type"].startswith("List[") else 1
        params.append(click.Argument([a["name"].lower()], nargs=nargs, required=a.get("required", False)))
    for o in c["options"]:
        decls = [o["name"]] + o.get("aliases", [])
        pname = o.get("param") or o["name"].lstrip("-").replace("-", "_")
        if o.get("flag"):
            params.append(click.Option(decls + [pname], is_flag=True, default=False))
        else:
            typ = click.INT if o["type"] == "int" else click.STRING
            params.append(click.Option(decls + [pname], type=typ, multiple=o.get("repeatable", False)))
    return click.Command(name.split()[-1], params=params, callback=lambda **kw: kw)


B = ["deployment", "build"]
EP = ["flows/hello.py:hello"]
argvs = [
    B + EP + ["-n", "x"],
    B + EP + ["-n", "x", "--interval", "1.5"],
    B + EP + ["-n", "x", "--interval", " 1_000 "],
    B + EP + ["-n", "x", "--interval", "+7"],
    B + EP + ["-n", "x", "--interval", "1__0"],
    B + EP + ["-n", "x", "--limit", "x"],
    B + EP + ["--schedule", "x"],
    B + EP + ["--tags", "x"],
    B + EP + ["--nam", "x"],
    B + EP + ["--paramz", "x"],
    B + EP + ["--o", "x"],
    B + EP + ["-x"],
    B + EP + ["-nx", "-abc"],
    B + EP + ["-an", "x"],
    B + EP + ["-ibprocess/dev"],
    B + EP + ["-ib=process/dev", "-n=x"],
    B + EP + ["--name=x", "--name", "y"],
    B + EP + ["--skip-upload=1"],
    B + EP + ["--apply=", "-n", "x"],
    B + EP + ["-n"],
    B + EP + ["--cron"],
    B + ["-n", "x"],
    B + EP + ["extra"],
    B + EP + ["extra", "more"],
    B + ["--", "-weird.py:f", "-n"],
    B + EP + ["-n", "--cron", "-t", "-x", "-t", "--y"],
    B + EP + ["-", "-n", "x"],
    B + EP + ["-t", "a,b", "--tag", "c", "-ta"],
    B + EP + ["--interval", "5", "--interval", "x"],
    B + EP + ["--help", "--bogus"],
    B + EP + ["--bogus", "--help"],
    B + EP + ["--no-schedule", "--cron", "x", "--rrule", "y"],
    ["block", "register", "-m", "prefect_aws.ecs"],
    ["block", "register", "--modul", "x"],
    ["block", "register", "extra"],
    ["deployment", "apply", "a.yaml", "b.yaml", "--upload", "-l", "3"],
    ["deployment", "apply"],
]

cases = []
for argv in argvs:
    name = "deployment build" if argv[:2] == B else " ".join(argv[:2])
    cmd = command(name)
    rest = argv[2:]
    case = {"argv": argv}
    try:
        ctx = cmd.make_context("prefect " + name, list(rest))
        case["exit"] = 0
        case["values"] = {k: v for k, v in ctx.params.items() if v not in (None, False, ())}
        for k, v in case["values"].items():
            if isinstance(v, tuple):
                case["values"][k] = list(v)
    except click.exceptions.Exit as e:
        case["exit"] = 0
        case["help"] = True
    except click.UsageError as e:
        case["exit"] = e.exit_code
        case["error"] = e.format_message()
    cases.append(case)

json.dump(cases, sys.stdout, indent=1, ensure_ascii=False)
print()
