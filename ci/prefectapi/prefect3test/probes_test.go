package prefect3test

import (
	"encoding/json"
	"fmt"
	"os"
	"strings"
)

// probesFile holds requests the recordings do not have, each with the answer a real
// Prefect 3.8.3 server gave after the recorded timeline (written by TestRealServerAgrees
// -update). Ids in the answers are the recording's where the timeline made the object.
const probesFile = "testdata/probes.json"

type probe struct {
	Name     string          `json:"name"`
	Method   string          `json:"method"`
	Path     string          `json:"path"`
	Body     json.RawMessage `json:"body,omitempty"`
	Status   int             `json:"status"`
	Response any             `json:"response"`
}

func loadProbes() ([]step, error) {
	raw, err := os.ReadFile(probesFile)
	if err != nil {
		return nil, fmt.Errorf("probes: %w", err)
	}
	var list []probe
	if err := json.Unmarshal(raw, &list); err != nil {
		return nil, fmt.Errorf("%s: %w", probesFile, err)
	}
	steps := make([]step, len(list))
	for i, p := range list {
		if p.Name == "" || p.Method == "" || !strings.HasPrefix(p.Path, "/api/") {
			return nil, fmt.Errorf("%s: probe %d: want name, method and a path under /api/", probesFile, i)
		}
		steps[i] = step{Name: "probe " + p.Name, Method: p.Method, Path: p.Path, Body: p.Body,
			Status: p.Status, Resp: p.Response, HasResp: p.Status != 0, Probe: true}
	}
	return steps, nil
}

// saveProbes writes the real server's answers, its ids turned back into the recording's.
func saveProbes(steps []step, answers map[string]answerGot, realIDs *idMap) error {
	out := make([]probe, 0, len(steps))
	for _, s := range steps {
		a := answers[s.Name]
		p := probe{Name: strings.TrimPrefix(s.Name, "probe "), Method: s.Method, Path: s.Path, Body: s.Body, Status: a.Status}
		if len(a.Raw) > 0 {
			back := &idMap{fwd: realIDs.rev, rev: realIDs.fwd}
			if err := json.Unmarshal([]byte(back.apply(string(a.Raw))), &p.Response); err != nil {
				return fmt.Errorf("probe %s: %w", p.Name, err)
			}
		}
		out = append(out, p)
	}
	b, err := json.MarshalIndent(out, "", "  ")
	if err != nil {
		return err
	}
	return os.WriteFile(probesFile, append(b, '\n'), 0o644)
}
