package pipeline

import (
	"context"
	"fmt"
)

// Lists the embedded server's deployments as "flow/name  entrypoint  schedule  queue  tags".
const readBackScript = `import json, os, urllib.request
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
`

type readBackStep struct{}

func (readBackStep) String() string {
	return "read-back: list the deployments the embedded Prefect server now holds"
}

// Runs after a failed deploy too: what did reach the server is worth seeing.
func (readBackStep) always() {}

func (readBackStep) Run(ctx context.Context, st *State) error {
	if !st.Opts.embedded() {
		return Skip("deployed to the real Prefect API")
	}
	if st.Registered == nil {
		return Skip("nothing was registered")
	}
	out, err := st.Registered.WithExec([]string{"python", "-c", readBackScript}).Stdout(ctx)
	if err != nil {
		return fmt.Errorf("read the deployments back: %w", execDetail(err))
	}
	st.ReadBack = out
	printIndented(st.out, out)
	fmt.Fprintln(st.out, "    NOTE: embedded mode — these deployments live in a throwaway server that stops when this run ends; nothing reached the real Prefect.")
	return nil
}
