package prefect3test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"regexp"
	"sort"
	"strings"
	"testing"
	"time"
)

var (
	uuidIn      = regexp.MustCompile(`[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}`)
	timestampRE = regexp.MustCompile(`^(\d{4}-\d\d-\d\d)T\d\d:\d\d:\d\d(\.\d+)?(Z|[+-]\d\d:\d\d)$`)
)

// idMap pairs the ids of one side (the recording) with those of the other (a server),
// one to one. It is learnt from the answers and applied to the requests.
type idMap struct{ fwd, rev map[string]string }

func newIDMap() *idMap { return &idMap{fwd: map[string]string{}, rev: map[string]string{}} }

// bind pairs a with b; false when either is already paired with another id.
func (m *idMap) bind(a, b string) bool {
	a, b = strings.ToLower(a), strings.ToLower(b)
	if x, ok := m.fwd[a]; ok {
		return x == b
	}
	if _, ok := m.rev[b]; ok {
		return false
	}
	m.fwd[a], m.rev[b] = b, a
	return true
}

// apply replaces the ids of side a in s by their pair (unknown ids stay as they are).
func (m *idMap) apply(s string) string {
	return uuidIn.ReplaceAllStringFunc(s, func(id string) string {
		if x, ok := m.fwd[strings.ToLower(id)]; ok {
			return x
		}
		return id
	})
}

// comparer compares a wanted JSON answer with a got one, modulo ids (paired one to one
// by ids) and server-made timestamps: `created`/`updated`, and any timestamp of a
// volatile day (the day of the recording, or today for a live server), which only has to
// be a timestamp. Client-sent timestamps (anchor dates) are compared exactly.
// `last_polled` is set by workers polling, so only its presence is compared.
type comparer struct {
	ids      *idMap
	volatile map[string]bool
	diffs    []string
}

func newComparer(ids *idMap) *comparer {
	now := time.Now().UTC()
	return &comparer{ids: ids, volatile: map[string]bool{
		"2026-12-03": true, now.Format("2006-01-02"): true, now.Add(-24 * time.Hour).Format("2006-01-02"): true,
	}}
}

func (c *comparer) diff(path, format string, args ...any) {
	if len(c.diffs) < 12 {
		c.diffs = append(c.diffs, path+": "+fmt.Sprintf(format, args...))
	}
}

func (c *comparer) compare(path, key string, want, got any) {
	switch w := want.(type) {
	case map[string]any:
		if _, ok := w["$elided"]; ok {
			return
		}
		g, ok := got.(map[string]any)
		if !ok {
			c.diff(path, "want an object, got %s", short(got))
			return
		}
		keys := map[string]bool{}
		for k := range w {
			keys[k] = true
		}
		for k := range g {
			keys[k] = true
		}
		sorted := make([]string, 0, len(keys))
		for k := range keys {
			sorted = append(sorted, k)
		}
		sort.Strings(sorted)
		for _, k := range sorted {
			wv, wok := w[k]
			gv, gok := g[k]
			switch {
			case !gok:
				c.diff(path+"."+k, "missing (want %s)", short(wv))
			case !wok:
				c.diff(path+"."+k, "unexpected key (got %s)", short(gv))
			case k == "last_polled":
			default:
				c.compare(path+"."+k, k, wv, gv)
			}
		}
	case []any:
		g, ok := got.([]any)
		if !ok {
			c.diff(path, "want a list, got %s", short(got))
			return
		}
		if len(w) != len(g) {
			c.diff(path, "want %d items, got %d: %s", len(w), len(g), short(got))
			return
		}
		for i := range w {
			c.compare(fmt.Sprintf("%s[%d]", path, i), "", w[i], g[i])
		}
	case string:
		g, ok := got.(string)
		if !ok {
			c.diff(path, "want %q, got %s", w, short(got))
			return
		}
		if m := timestampRE.FindStringSubmatch(w); m != nil && (key == "created" || key == "updated" || c.volatile[m[1]]) {
			if !timestampRE.MatchString(g) {
				c.diff(path, "want a timestamp, got %q", g)
			}
			return
		}
		wIDs, gIDs := uuidIn.FindAllString(w, -1), uuidIn.FindAllString(g, -1)
		if len(wIDs) > 0 && len(wIDs) == len(gIDs) &&
			uuidIn.ReplaceAllString(w, "<id>") == uuidIn.ReplaceAllString(g, "<id>") {
			for i := range wIDs {
				if !c.ids.bind(wIDs[i], gIDs[i]) {
					c.diff(path, "id %s is paired with %s elsewhere, got %s", wIDs[i], c.ids.fwd[strings.ToLower(wIDs[i])], gIDs[i])
				}
			}
			return
		}
		if w != g {
			c.diff(path, "want %q, got %q", w, g)
		}
	default:
		if !jsonEqual(want, got) {
			c.diff(path, "want %s, got %s", short(want), short(got))
		}
	}
}

func jsonEqual(a, b any) bool {
	x, _ := json.Marshal(a)
	y, _ := json.Marshal(b)
	return bytes.Equal(x, y)
}

func short(v any) string {
	b, _ := json.Marshal(v)
	if len(b) > 160 {
		return string(b[:160]) + "..."
	}
	return string(b)
}

// answerGot is what a server said to one step.
type answerGot struct {
	Status int
	Body   any
	Raw    []byte
}

// send runs step s against base (…/api), with the recording's ids mapped by ids. A 503
// is retried a few times, as Prefect's own client does: a real server on SQLite answers
// 503 when its background services hold the database lock.
func send(client *http.Client, base string, s step, ids *idMap) (answerGot, error) {
	var a answerGot
	var err error
	for try := 0; try < 5; try++ {
		if try > 0 {
			time.Sleep(time.Duration(try) * 500 * time.Millisecond)
		}
		if a, err = sendOnce(client, base, s, ids); err != nil || a.Status != http.StatusServiceUnavailable {
			break
		}
	}
	return a, err
}

func sendOnce(client *http.Client, base string, s step, ids *idMap) (answerGot, error) {
	path := ids.apply(strings.TrimPrefix(s.Path, "/api"))
	var body io.Reader
	if s.Body != nil {
		body = strings.NewReader(ids.apply(string(s.Body)))
	}
	req, err := http.NewRequest(s.Method, base+path, body)
	if err != nil {
		return answerGot{}, fmt.Errorf("%s: %w", s.Name, err)
	}
	if s.Body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := client.Do(req)
	if err != nil {
		return answerGot{}, fmt.Errorf("%s: %s %s: %w", s.Name, s.Method, path, err)
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(resp.Body)
	if err != nil {
		return answerGot{}, fmt.Errorf("%s: read the answer: %w", s.Name, err)
	}
	a := answerGot{Status: resp.StatusCode, Raw: raw}
	if len(bytes.TrimSpace(raw)) > 0 {
		if err := json.Unmarshal(raw, &a.Body); err != nil {
			return a, fmt.Errorf("%s: answer is not JSON (%d): %.200s", s.Name, resp.StatusCode, raw)
		}
	}
	return a, nil
}

// check compares a server's answer with the recorded one; the ids it meets are paired
// in ids. It returns what differs.
func check(s step, got answerGot, ids *idMap) []string {
	c := newComparer(ids)
	if s.HasResp {
		c.compare("body", "", s.Resp, got.Body)
	}
	if s.Status != 0 && got.Status != s.Status {
		c.diffs = append([]string{fmt.Sprintf("status: want %d, got %d", s.Status, got.Status)}, c.diffs...)
	}
	return c.diffs
}

// TestReplayRecordings replays every recorded request against the fake, in the order the
// real server saw them, then the probes of testdata/probes.json, and compares each answer
// with the one the real server gave.
func TestReplayRecordings(t *testing.T) {
	steps, err := recordedTimeline()
	if err != nil {
		t.Fatal(err)
	}
	probes, err := loadProbes()
	if err != nil {
		t.Fatal(err)
	}
	steps = append(steps, probes...)
	f := New(t, Empty())
	ids := newIDMap()
	recorded, agree := 0, 0
	for _, s := range steps {
		got, err := send(http.DefaultClient, f.URL, s, ids)
		if err != nil {
			t.Fatal(err)
		}
		diffs := check(s, got, ids)
		if !s.Setup {
			recorded++
		}
		if len(diffs) > 0 {
			t.Errorf("%s: %s %s: the fake differs from the recording:\n  %s", s.Name, s.Method, s.Path, strings.Join(diffs, "\n  "))
			continue
		}
		if !s.Setup {
			agree++
		}
	}
	t.Logf("%d of %d recorded exchanges and probes answered as recorded (%d setup steps)", agree, recorded, len(steps)-recorded)
	if recorded < 150 {
		t.Errorf("only %d recorded exchanges replayed; the timeline lost some files", recorded)
	}
}
