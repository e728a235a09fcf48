"""Read infrastructure blocks before the pipeline overwrites them, and put them back.

    python blocks.py snapshot SLUG/NAME...   one JSON object on stdout: {"blocks": [...]}
    python blocks.py restore FILE            FILE is that object; one line per block

Runs in the agent image against PREFECT_API_URL (and PREFECT_API_KEY for Prefect Cloud),
with the standard library only: no Prefect import, so a restore after Ctrl-C takes well
under a second. Documents are read with include_secrets=false, so no secret value ever
reaches stdout, a file or the engine's cache: secret fields come back obfuscated, and the
server keeps its current value for an obfuscated one when the document is written back.
A nested block (aws_credentials) is written back as a reference to the same document.
"""
import json
import os
import sys
import urllib.error
import urllib.parse
import urllib.request

API = os.environ.get("PREFECT_API_URL", "").rstrip("/")


def call(method, path, body=None):
    req = urllib.request.Request(API + path, method=method,
                                 data=None if body is None else json.dumps(body).encode())
    req.add_header("Content-Type", "application/json")
    key = os.environ.get("PREFECT_API_KEY")
    if key:
        req.add_header("Authorization", "Bearer " + key)
    try:
        with urllib.request.urlopen(req, timeout=30) as r:
            text = r.read()
            return r.status, (json.loads(text) if text else None)
    except urllib.error.HTTPError as e:
        detail = e.read().decode(errors="replace")[:500]
        return e.code, detail


def read(ref):
    slug, _, name = ref.partition("/")
    q = lambda s: urllib.parse.quote(s, safe="")
    status, doc = call("GET", f"/block_types/slug/{q(slug)}/block_documents/name/{q(name)}?include_secrets=false")
    if status == 404:
        return None
    if status != 200:
        raise SystemExit(f"read {ref}: HTTP {status}: {doc}")
    return doc


def snapshot(refs):
    out = []
    for ref in refs:
        doc = read(ref)
        if doc is None:
            out.append({"ref": ref, "exists": False})
            continue
        data = dict(doc.get("data") or {})
        for key, r in (doc.get("block_document_references") or {}).items():
            data[key] = {"$ref": {"block_document_id": r["block_document"]["id"]}}
        out.append({
            "ref": ref, "exists": True, "id": doc["id"], "updated": doc.get("updated"),
            "image": (doc.get("data") or {}).get("image"),
            "update": {"block_schema_id": doc["block_schema_id"], "data": data, "merge_existing_data": False},
        })
    print(json.dumps({"blocks": out}, sort_keys=True))


def restore(path):
    with open(path) as f:
        blocks = json.load(f)["blocks"]
    failed = 0
    for b in blocks:
        ref = b["ref"]
        if not b["exists"]:
            # Deployments built in this run may already use it; deleting it would break them.
            print(f"left {ref}: it did not exist before this run, so it stays as this run saved it")
            continue
        status, detail = call("PATCH", f"/block_documents/{b['id']}", b["update"])
        if status != 204:
            print(f"FAILED to restore {ref}: HTTP {status}: {detail}")
            failed += 1
            continue
        now = read(ref) or {}
        image = (now.get("data") or {}).get("image")
        if image != b.get("image"):
            print(f"FAILED to restore {ref}: it names image {image} after the write, want {b.get('image')}")
            failed += 1
            continue
        print(f"restored {ref} to its previous document (image {image})")
    sys.exit(1 if failed else 0)


if __name__ == "__main__":
    if not API:
        sys.exit("blocks.py: PREFECT_API_URL is not set")
    if len(sys.argv) >= 2 and sys.argv[1] == "snapshot":
        snapshot(sys.argv[2:])
    elif len(sys.argv) == 3 and sys.argv[1] == "restore":
        restore(sys.argv[2])
    else:
        sys.exit("usage: blocks.py snapshot SLUG/NAME... | blocks.py restore FILE")
