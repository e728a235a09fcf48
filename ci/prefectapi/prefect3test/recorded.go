package prefect3test

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"

	"github.com/acme-data/prefect-flows/ci/internal/shareddata"
)

// RecordedDir is ../shared/prefect3/recorded (or its committed snapshot).
func RecordedDir() (string, error) { return shareddata.Path("prefect3/recorded") }

// Recorded is what the fake takes from the recordings of the real 3.8.3 server.
type Recorded struct {
	// Pools are the objects of api/work-pools-filter.json ("ecs-pool", "pool"), with the
	// base job templates Prefect's process worker and prefect-aws 0.7.11 made.
	Pools []map[string]any
	// Queues are the default queues of Pools, by pool name (the recorded ids).
	Queues map[string]map[string]any
	// Timezones are the names the server's RRuleSchedule.timezone pattern allows
	// (api/post-malformed-bad-timezone-422.json), which is also what its CronSchedule and
	// IntervalSchedule accept: the interpreter's tz database in the Debian trixie chroot.
	Timezones map[string]bool
	// TimezonePattern is that pattern as the server prints it in its 422 answer.
	TimezonePattern string
}

// Exchange is one recorded api/*.json file: a request and the answer.
type Exchange struct {
	Request struct {
		Method string          `json:"method"`
		Path   string          `json:"path"`
		Body   json.RawMessage `json:"body"`
	} `json:"request"`
	Status   int             `json:"status"`
	Response json.RawMessage `json:"response"`
}

// ReadExchange reads recorded/<rel> (an api/ or errors/ file).
func ReadExchange(rel string) (Exchange, error) {
	var e Exchange
	err := readJSON(rel, &e)
	return e, err
}

func readJSON(rel string, v any) error {
	dir, err := RecordedDir()
	if err != nil {
		return err
	}
	p := filepath.Join(dir, filepath.FromSlash(rel))
	b, err := os.ReadFile(p)
	if err != nil {
		return fmt.Errorf("prefect3 recording: %w", err)
	}
	if err := json.Unmarshal(b, v); err != nil {
		return fmt.Errorf("prefect3 recording %s: %w", p, err)
	}
	return nil
}

// LoadRecorded reads the parts of the recordings the fake answers from.
func LoadRecorded() (*Recorded, error) {
	r := &Recorded{Queues: map[string]map[string]any{}, Timezones: map[string]bool{}}
	pools, err := ReadExchange("api/work-pools-filter.json")
	if err != nil {
		return nil, err
	}
	if err := json.Unmarshal(pools.Response, &r.Pools); err != nil {
		return nil, fmt.Errorf("api/work-pools-filter.json: response: %w", err)
	}
	var queues []map[string]any
	q, err := ReadExchange("api/ecs-pool-queues-filter.json")
	if err != nil {
		return nil, err
	}
	if err := json.Unmarshal(q.Response, &queues); err != nil {
		return nil, fmt.Errorf("api/ecs-pool-queues-filter.json: response: %w", err)
	}
	for _, qu := range queues {
		if qu["name"] == "default" {
			r.Queues["ecs-pool"] = qu
		}
	}
	// The process pool's default queue is not recorded on its own: it is the ecs one's twin
	// with the id the pool names.
	for _, p := range r.Pools {
		if p["name"] == "pool" && r.Queues["ecs-pool"] != nil {
			qu := clone(r.Queues["ecs-pool"])
			qu["id"], qu["work_pool_id"], qu["work_pool_name"] = p["default_queue_id"], p["id"], "pool"
			r.Queues["pool"] = qu
		}
	}
	tz, err := ReadExchange("api/post-malformed-bad-timezone-422.json")
	if err != nil {
		return nil, err
	}
	var body struct {
		Detail []struct {
			Type string         `json:"type"`
			Ctx  map[string]any `json:"ctx"`
		} `json:"exception_detail"`
	}
	if err := json.Unmarshal(tz.Response, &body); err != nil {
		return nil, fmt.Errorf("api/post-malformed-bad-timezone-422.json: %w", err)
	}
	for _, d := range body.Detail {
		if p, ok := d.Ctx["pattern"].(string); ok && d.Type == "string_pattern_mismatch" {
			r.TimezonePattern = p
		}
	}
	if r.TimezonePattern == "" {
		return nil, fmt.Errorf("api/post-malformed-bad-timezone-422.json: no string_pattern_mismatch with a pattern")
	}
	for _, name := range strings.Split(r.TimezonePattern, "|") {
		if !regexp.MustCompile(`^[A-Za-z0-9_+\-/]+$`).MatchString(name) {
			return nil, fmt.Errorf("api/post-malformed-bad-timezone-422.json: timezone pattern is not a plain list of names (%q)", name)
		}
		r.Timezones[name] = true
	}
	return r, nil
}

func clone(m map[string]any) map[string]any {
	b, err := json.Marshal(m)
	if err != nil {
		panic(err)
	}
	var out map[string]any
	if err := json.Unmarshal(b, &out); err != nil {
		panic(err)
	}
	return out
}
