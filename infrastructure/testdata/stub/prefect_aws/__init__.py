"""Test stand-in for prefect_aws: records what the block scripts save, needs no Prefect."""
import json
import os


def record(kind, name, fields):
    with open(os.environ["STUB_SAVED"], "a", encoding="utf-8") as out:
        out.write(json.dumps({"type": kind, "name": name, "fields": fields}, sort_keys=True) + "\n")


class _Block:
    _slug = ""

    def __init__(self, **fields):
        self.fields = fields

    def save(self, name, overwrite=False):
        if not overwrite:
            raise ValueError("the block scripts must overwrite: re-runs update the block")
        shown = {k: (v.fields if isinstance(v, _Block) else v) for k, v in self.fields.items()}
        record(self._slug, name, shown)


class AwsCredentials(_Block):
    _slug = "aws-credentials"


if os.environ.get("STUB_IMPORT_MARK"):
    open(os.environ["STUB_IMPORT_MARK"], "w").close()
