# The embedded read-back the pipeline ran before prefect-deploy list (inline Python, 2.14's
# schedule shape, at most 200 deployments): TestRealList compares the two on a real server.
import json, os, urllib.request
api = os.environ["PREFECT_API_URL"].rstrip("/")
def post(path, body):
    req = urllib.request.Request(api + path, data=json.dumps(body).encode(),
                                 headers={"Content-Type": "application/json"}, method="POST")
    with urllib.request.urlopen(req, timeout=30) as r:
        return json.load(r)
flows = {f["id"]: f["name"] for f in post("/flows/filter", {"limit": 200})}
deps = post("/deployments/filter", {"limit": 200})
for d in sorted(deps, key=lambda d: (flows.get(d["flow_id"], "?"), d["name"])):
    s = d.get("schedule") or {}
    when = s.get("cron") or s.get("rrule") or (f"every {s['interval']:g}s" if s.get("interval") else "no schedule")
    print(f"{flows.get(d['flow_id'], '?')}/{d['name']}  {d.get('entrypoint')}  {when}  "
          f"queue={d.get('work_queue_name')}  tags={','.join(d.get('tags') or [])}")
print(f"{len(deps)} deployment(s) on the embedded server")
