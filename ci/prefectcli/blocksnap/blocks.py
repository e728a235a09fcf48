"""Read blocks before the pipeline overwrites them, and put them back.

    python blocks.py snapshot SLUG/NAME...   one JSON object on stdout: {"blocks": [...]}
    python blocks.py restore FILE            FILE is that object; one line per block
    python blocks.py discard FILE            the run went through: delete the snapshot's copies

Runs in the image against PREFECT_API_URL (and PREFECT_API_KEY for Prefect Cloud), with
the standard library only: no Prefect import, so a restore after Ctrl-C takes well under
a second. Documents are read with include_secrets=false, so no secret value ever reaches
stdout, a file or the engine's cache: secret fields come back obfuscated. A nested block
(aws_credentials) is written back as a reference to the same document.

A document with secrets of its own (prefect-aws's AwsCredentials: aws_secret_access_key)
cannot be put back from what stdout may carry: an obfuscated secret written back keeps the
server's current value, which is the one this run saved, so an old key id would be paired
with a new secret. For such a document the snapshot keeps a copy on the server itself, an
anonymous block document written from this process's memory; stdout names only its id.
restore writes the original back from that copy and deletes it, discard deletes it when
the run went through. A secret is never printed: the answers to those calls are not shown.
"""
import json
import os
import sys
import urllib.error
import urllib.parse
import urllib.request

API = os.environ.get("PREFECT_API_URL", "").rstrip("/")


def call(method, path, body=None, quiet=False):
    """quiet: the request or its answer may hold a secret, so an error answer is not kept."""
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
        detail = "(answer not shown: it may echo a secret)" if quiet else e.read().decode(errors="replace")[:500]
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


def own_data(doc):
    """The document's data with each nested block as a reference to its document."""
    data = dict(doc.get("data") or {})
    for key, r in (doc.get("block_document_references") or {}).items():
        data[key] = {"$ref": {"block_document_id": r["block_document"]["id"]}}
    return data


def has_own_secrets(doc):
    """Whether a secret field lives in this document's data rather than in a nested block's."""
    fields = ((doc.get("block_schema") or {}).get("fields") or {}).get("secret_fields") or []
    refs = doc.get("block_document_references") or {}
    data = doc.get("data") or {}
    return any(f.split(".")[0] not in refs and data.get(f.split(".")[0]) is not None for f in fields)


def keep_copy(ref, doc):
    """Copies doc, secrets included, into a new anonymous document; returns its id."""
    status, full = call("GET", f"/block_documents/{doc['id']}?include_secrets=true", quiet=True)
    if status != 200:
        raise SystemExit(f"copy {ref}: read it with its secrets: HTTP {status}: {full}")
    body = {"block_schema_id": full["block_schema_id"], "block_type_id": full["block_type_id"],
            "data": own_data(full), "is_anonymous": True}
    status, made = call("POST", "/block_documents/", body, quiet=True)
    if status not in (200, 201):
        raise SystemExit(f"copy {ref}: save the copy: HTTP {status}: {made}")
    return made["id"]


def snapshot(refs):
    out = []
    for ref in refs:
        doc = read(ref)
        if doc is None:
            out.append({"ref": ref, "exists": False})
            continue
        b = {
            "ref": ref, "exists": True, "id": doc["id"], "updated": doc.get("updated"),
            "image": (doc.get("data") or {}).get("image"),
            "update": {"block_schema_id": doc["block_schema_id"], "data": own_data(doc), "merge_existing_data": False},
        }
        if has_own_secrets(doc):
            b["backup"] = keep_copy(ref, doc)
        out.append(b)
    print(json.dumps({"blocks": out}, sort_keys=True))


def put_back(b):
    """Writes b's previous document back; returns the line to print, or raises ValueError."""
    ref, update = b["ref"], b["update"]
    if b.get("backup"):
        status, full = call("GET", f"/block_documents/{b['backup']}?include_secrets=true", quiet=True)
        if status != 200:
            raise ValueError(f"read the copy {b['backup']}: HTTP {status}: {full}")
        update = dict(update, data=own_data(full))
    status, detail = call("PATCH", f"/block_documents/{b['id']}", update, quiet=bool(b.get("backup")))
    if status != 204:
        raise ValueError(f"HTTP {status}: {detail}")
    now = read(ref) or {}
    image = (now.get("data") or {}).get("image")
    if image != b.get("image"):
        raise ValueError(f"it names image {image} after the write, want {b.get('image')}")
    if not b.get("backup") and image is not None:
        return f"restored {ref} to its previous document (image {image})"
    if own_data(now) != b["update"]["data"]:
        raise ValueError("it does not read back as the snapshot found it")
    if not b.get("backup"):
        # No image and no secret of its own: aws-credentials/<env> saved without keys.
        return f"restored {ref} to its previous document"
    status, detail = call("DELETE", f"/block_documents/{b['backup']}")
    left = "" if status in (200, 204) else f"; could not delete the copy {b['backup']} (HTTP {status}): delete it by hand"
    return f"restored {ref} to its previous document (secrets included, from the copy the snapshot kept){left}"


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
        try:
            print(put_back(b))
        except ValueError as e:
            keep = f" (its previous document, secrets included, is the anonymous block document {b['backup']})" if b.get("backup") else ""
            print(f"FAILED to restore {ref}: {e}{keep}")
            failed += 1
    sys.exit(1 if failed else 0)


def discard(path):
    with open(path) as f:
        blocks = json.load(f)["blocks"]
    failed = 0
    for b in blocks:
        if not b.get("backup"):
            continue
        status, detail = call("DELETE", f"/block_documents/{b['backup']}")
        if status in (200, 204, 404):
            print(f"deleted the snapshot's copy of {b['ref']}")
        else:
            print(f"FAILED to delete the snapshot's copy of {b['ref']} (anonymous block document {b['backup']}): HTTP {status}: {detail}")
            failed += 1
    sys.exit(1 if failed else 0)


if __name__ == "__main__":
    if not API:
        sys.exit("blocks.py: PREFECT_API_URL is not set")
    if len(sys.argv) >= 2 and sys.argv[1] == "snapshot":
        snapshot(sys.argv[2:])
    elif len(sys.argv) == 3 and sys.argv[1] == "restore":
        restore(sys.argv[2])
    elif len(sys.argv) == 3 and sys.argv[1] == "discard":
        discard(sys.argv[2])
    else:
        sys.exit("usage: blocks.py snapshot SLUG/NAME... | blocks.py restore FILE | blocks.py discard FILE")
