package prefectapi_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/acme-data/prefect-flows/ci/prefectapi"
	"github.com/acme-data/prefect-flows/ci/prefectapi/prefectapitest"
)

// sleeper records the waits instead of sleeping.
type sleeper struct {
	mu    sync.Mutex
	waits []time.Duration
}

func (s *sleeper) Sleep(_ context.Context, d time.Duration) error {
	s.mu.Lock()
	s.waits = append(s.waits, d)
	s.mu.Unlock()
	return nil
}

func newClient(t *testing.T, url, key string, opts ...prefectapi.Option) (*prefectapi.Client, *sleeper) {
	t.Helper()
	s := &sleeper{}
	base := []prefectapi.Option{prefectapi.WithSleeper(s.Sleep), prefectapi.WithJitter(func() float64 { return 0 })}
	c, err := prefectapi.New(url, key, append(base, opts...)...)
	if err != nil {
		t.Fatal(err)
	}
	return c, s
}

func readJSON(t *testing.T, path string, v any) {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(b, v); err != nil {
		t.Fatalf("%s: %v", path, err)
	}
}

func TestScheduleShapes(t *testing.T) {
	type want struct {
		Kind     string `json:"kind"`
		Cron     string `json:"cron"`
		Interval int64  `json:"interval"`
		RRule    string `json:"rrule"`
		Timezone string `json:"timezone"`
		Anchor   string `json:"anchor"`
		DayOr    bool   `json:"day_or"`
	}
	var table map[string]*want
	readJSON(t, "testdata/schedules.json", &table)
	shapes := map[string]prefectapitest.Shape{"2.14": prefectapitest.Shape214, "2.16": prefectapitest.Shape216, "schedules-only": prefectapitest.ShapeSchedulesOnly}
	for shapeName, shape := range shapes {
		fake := prefectapitest.New(t, prefectapitest.WithShape(shape))
		c, _ := newClient(t, fake.URL, "")
		for name, w := range table {
			t.Run(shapeName+"/"+name, func(t *testing.T) {
				d, err := c.ReadDeploymentByName(context.Background(), "hello", name)
				if err != nil {
					t.Fatal(err)
				}
				if w == nil {
					if d.Schedule != nil || d.ScheduleCount != 0 {
						t.Fatalf("want no schedule, got %+v (count %d)", d.Schedule, d.ScheduleCount)
					}
					return
				}
				s := d.Schedule
				if s == nil {
					t.Fatal("schedule missing")
				}
				got := want{Kind: string(s.Kind), Cron: s.Cron, Interval: s.IntervalSeconds, RRule: s.RRule, Timezone: s.Timezone, DayOr: s.CronDayOr()}
				if !s.Anchor.IsZero() {
					got.Anchor = s.Anchor.Time.UTC().Format(time.RFC3339)
				}
				if got != *w {
					t.Errorf("got %+v, want %+v", got, *w)
				}
				if !d.ScheduleActive || s.Inactive || d.ScheduleCount != 1 {
					t.Errorf("active=%v schedule.inactive=%v count=%d", d.ScheduleActive, s.Inactive, d.ScheduleCount)
				}
			})
		}
	}
}

func TestReadDeploymentByNameFields(t *testing.T) {
	fake := prefectapitest.New(t)
	c, _ := newClient(t, fake.URL, "")
	ctx := context.Background()
	d, err := c.ReadDeploymentByName(ctx, "hello", "RecCron")
	if err != nil {
		t.Fatal(err)
	}
	if d.Version != "1.2.3" || d.Description != "" || d.WorkPoolName != "pool" || d.WorkQueueName != "dev" ||
		strings.Join(d.Tags, ",") != "dev,x" || d.Parameters["number"] != float64(7) ||
		d.InfrastructureDocumentID != "0111c32f-c4e5-44e3-a414-bf7a7de15d9f" || d.FlowID != prefectapitest.HelloFlowID {
		t.Errorf("unexpected %+v", d)
	}
	_, err = c.ReadDeploymentByName(ctx, "hello", "nope")
	if !errors.Is(err, prefectapi.ErrNotFound) {
		t.Fatalf("want ErrNotFound, got %v", err)
	}
	if !strings.Contains(err.Error(), "Deployment not found") {
		t.Errorf("message %q lacks the server's detail", err)
	}
	blk, err := c.ReadBlockDocumentByID(ctx, d.InfrastructureDocumentID)
	if err != nil {
		t.Fatal(err)
	}
	if blk.Ref() != "process/dev" {
		t.Errorf("block ref %q", blk.Ref())
	}
	if _, err := c.ReadBlockDocument(ctx, "process", "dev"); err != nil {
		t.Fatal(err)
	}
	if _, err := c.ReadBlockDocument(ctx, "ecs-task", "dev"); !errors.Is(err, prefectapi.ErrNotFound) {
		t.Errorf("want ErrNotFound for a missing block, got %v", err)
	}
	names, err := c.ReadFlowNames(ctx, []string{d.FlowID, d.FlowID})
	if err != nil || names[d.FlowID] != "hello" {
		t.Errorf("flow names %v, %v", names, err)
	}
	fl, err := c.ReadFlow(ctx, d.FlowID)
	if err != nil || fl.Name != "hello" {
		t.Errorf("flow %+v, %v", fl, err)
	}
	pools, err := c.ReadWorkPools(ctx)
	if err != nil || len(pools) != 2 || pools[0].Name != "default-agent-pool" {
		t.Errorf("pools %+v, %v", pools, err)
	}
	if err := c.Health(ctx); err != nil {
		t.Error(err)
	}
}

func TestListDeploymentsPages(t *testing.T) {
	fake := prefectapitest.New(t, prefectapitest.Empty())
	for i := 0; i < 450; i++ {
		tags := []string{"team"}
		if i%3 == 0 {
			tags = append(tags, "managed-by:prefect-flows:dev")
		}
		fake.AddDeployment(prefectapitest.Seed{Flow: "hello", Name: fmt.Sprintf("d%03d", i), Tags: tags})
	}
	c, _ := newClient(t, fake.URL, "")
	cases := []struct {
		name      string
		filter    prefectapi.DeploymentFilter
		want      int
		wantPages []int // offsets
	}{
		{"all", prefectapi.DeploymentFilter{}, 450, []int{0, 200, 400}},
		{"by tag", prefectapi.DeploymentFilter{TagsAll: []string{"managed-by:prefect-flows:dev"}}, 150, []int{0}},
		{"page size above the cap", prefectapi.DeploymentFilter{PageSize: 1000}, 450, []int{0, 200, 400}},
		{"exact multiple", prefectapi.DeploymentFilter{PageSize: 150}, 450, []int{0, 150, 300, 450}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			fake.ResetRequests()
			got, err := c.ListDeployments(context.Background(), tc.filter)
			if err != nil {
				t.Fatal(err)
			}
			if len(got) != tc.want {
				t.Fatalf("got %d deployments, want %d", len(got), tc.want)
			}
			seen := map[string]bool{}
			for _, d := range got {
				if seen[d.ID] {
					t.Fatalf("%s listed twice", d.Name)
				}
				seen[d.ID] = true
			}
			var offsets []int
			for _, r := range fake.Requests() {
				var body struct {
					Limit       int            `json:"limit"`
					Offset      int            `json:"offset"`
					Deployments map[string]any `json:"deployments"`
				}
				if err := json.Unmarshal(r.Body, &body); err != nil {
					t.Fatal(err)
				}
				if body.Limit > prefectapi.MaxPageSize {
					t.Errorf("limit %d above the server cap", body.Limit)
				}
				if len(tc.filter.TagsAll) > 0 {
					tags, _ := body.Deployments["tags"].(map[string]any)
					if fmt.Sprint(tags["all_"]) != fmt.Sprint(tc.filter.TagsAll) {
						t.Errorf("filter body %s", r.Body)
					}
				}
				offsets = append(offsets, body.Offset)
			}
			if fmt.Sprint(offsets) != fmt.Sprint(tc.wantPages) {
				t.Errorf("offsets %v, want %v", offsets, tc.wantPages)
			}
		})
	}
}

func TestErrorMessages(t *testing.T) {
	var cases []struct {
		Name       string `json:"name"`
		Status     int    `json:"status"`
		Key        string `json:"key"`
		BaseSuffix string `json:"base_suffix"`
		Want       string `json:"want"`
		Is         string `json:"is"`
	}
	readJSON(t, "testdata/errors.json", &cases)
	sentinels := map[string]error{"unauthorized": prefectapi.ErrUnauthorized, "forbidden": prefectapi.ErrForbidden}
	for _, tc := range cases {
		t.Run(tc.Name, func(t *testing.T) {
			fake := prefectapitest.New(t)
			fake.ForceStatus(tc.Status)
			url := fake.URL
			if tc.BaseSuffix != "" {
				url = strings.TrimSuffix(fake.URL, "/api") + tc.BaseSuffix
			}
			c, _ := newClient(t, url, tc.Key)
			_, err := c.ReadDeploymentByName(context.Background(), "hello", "RecCron")
			if err == nil {
				t.Fatal("want an error")
			}
			msg := err.Error()
			if !strings.Contains(msg, tc.Want) {
				t.Errorf("message %q does not contain %q", msg, tc.Want)
			}
			if strings.Contains(msg, "\n") {
				t.Errorf("message is not one line: %q", msg)
			}
			if tc.Key != "" && strings.Contains(msg, tc.Key) {
				t.Errorf("message leaks the key: %q", msg)
			}
			if tc.Is != "" && !errors.Is(err, sentinels[tc.Is]) {
				t.Errorf("errors.Is(%s) false for %v", tc.Is, err)
			}
			if errors.Is(err, prefectapi.ErrNotFound) {
				t.Errorf("must not look like a missing deployment: %v", err)
			}
			wantAttempts := 1
			if tc.Status >= 500 {
				wantAttempts = prefectapi.DefaultRetry.MaxAttempts
			}
			if n := len(fake.Requests()); n != wantAttempts {
				t.Errorf("%d requests, want %d", n, wantAttempts)
			}
		})
	}
}

func TestAuthHeader(t *testing.T) {
	fake := prefectapitest.New(t, prefectapitest.WithAPIKey("pnu_k"))
	c, _ := newClient(t, fake.URL, "pnu_k")
	if _, err := c.ReadDeploymentByName(context.Background(), "hello", "RecCron"); err != nil {
		t.Fatal(err)
	}
	noKey, _ := newClient(t, fake.URL, "")
	_, err := noKey.ReadDeploymentByName(context.Background(), "hello", "RecCron")
	if !errors.Is(err, prefectapi.ErrUnauthorized) {
		t.Fatalf("want 401, got %v", err)
	}
	reqs := fake.Requests()
	if !reqs[0].Auth || !reqs[0].AuthOK || reqs[1].Auth {
		t.Errorf("auth headers: %+v", reqs)
	}
}

func TestRetries(t *testing.T) {
	date := time.Date(2026, 11, 25, 20, 0, 0, 0, time.UTC)
	cases := []struct {
		name      string
		faults    []prefectapitest.Fault
		wantWaits []time.Duration
		wantErr   string
		requests  int
	}{
		{"429 with Retry-After seconds", []prefectapitest.Fault{{Status: 429, RetryAfter: "7"}}, []time.Duration{7 * time.Second}, "", 2},
		{"429 with Retry-After date", []prefectapitest.Fault{{Status: 429, RetryAfter: date.Add(3 * time.Second).Format(http.TimeFormat)}}, []time.Duration{3 * time.Second}, "", 2},
		{"429 without Retry-After backs off", []prefectapitest.Fault{{Status: 429}}, []time.Duration{250 * time.Millisecond}, "", 2},
		{"429 asking too long", []prefectapitest.Fault{{Status: 429, RetryAfter: "3600"}}, nil, "Retry-After 1h0m0s is longer", 1},
		{"5xx then success", []prefectapitest.Fault{{Status: 503}, {Status: 500}}, []time.Duration{250 * time.Millisecond, 500 * time.Millisecond}, "", 3},
		{"5xx until attempts run out", []prefectapitest.Fault{{Status: 500}, {Status: 500}, {Status: 502}, {Status: 503}}, []time.Duration{250 * time.Millisecond, 500 * time.Millisecond, time.Second}, "503 Service Unavailable (after 4 attempts)", 4},
		{"422 is not retried", []prefectapitest.Fault{{Status: 422}}, nil, "422 Unprocessable Entity", 1},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			fake := prefectapitest.New(t)
			fake.Inject(tc.faults...)
			c, s := newClient(t, fake.URL, "", prefectapi.WithClock(func() time.Time { return date }))
			_, err := c.ReadDeploymentByName(context.Background(), "hello", "RecCron")
			if tc.wantErr == "" && err != nil {
				t.Fatal(err)
			}
			if tc.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tc.wantErr)) {
				t.Fatalf("error %v, want %q", err, tc.wantErr)
			}
			if fmt.Sprint(s.waits) != fmt.Sprint(tc.wantWaits) {
				t.Errorf("waits %v, want %v", s.waits, tc.wantWaits)
			}
			if n := len(fake.Requests()); n != tc.requests {
				t.Errorf("%d requests, want %d", n, tc.requests)
			}
		})
	}
}

func TestTimeout(t *testing.T) {
	fake := prefectapitest.New(t)
	fake.Inject(prefectapitest.Fault{Delay: 5 * time.Second}, prefectapitest.Fault{Delay: 5 * time.Second})
	c, _ := newClient(t, fake.URL, "", prefectapi.WithTimeout(30*time.Millisecond),
		prefectapi.WithRetry(prefectapi.RetryPolicy{MaxAttempts: 2, BaseDelay: time.Millisecond}))
	_, err := c.ReadDeploymentByName(context.Background(), "hello", "RecCron")
	var te *prefectapi.TransportError
	if !errors.As(err, &te) || !te.IsTimeout() {
		t.Fatalf("want a timeout, got %v", err)
	}
	if !strings.Contains(err.Error(), "no answer within 30ms (after 2 attempts)") {
		t.Errorf("message %q", err)
	}
	// A slow first answer is retried and the second one wins.
	fake.Inject(prefectapitest.Fault{Delay: 5 * time.Second})
	if _, err := c.ReadDeploymentByName(context.Background(), "hello", "RecCron"); err != nil {
		t.Fatalf("retry after a timeout: %v", err)
	}
}

func TestConnectionRefused(t *testing.T) {
	fake := prefectapitest.New(t)
	url := fake.URL
	c, s := newClient(t, url, "", prefectapi.WithRetry(prefectapi.RetryPolicy{MaxAttempts: 3, BaseDelay: time.Millisecond}))
	fake.Close()
	_, err := c.ReadDeploymentByName(context.Background(), "hello", "RecCron")
	var te *prefectapi.TransportError
	if !errors.As(err, &te) || te.Attempts != 3 || len(s.waits) != 2 {
		t.Fatalf("got %v (waits %v)", err, s.waits)
	}
	if !strings.Contains(err.Error(), "check PREFECT_API_URL") {
		t.Errorf("message %q", err)
	}
}

func TestPatchAndDelete(t *testing.T) {
	fake := prefectapitest.New(t)
	c, _ := newClient(t, fake.URL, "")
	ctx := context.Background()
	id := fake.DeploymentID("hello", "RecCron")
	if err := c.PatchDeployment(ctx, id, map[string]any{"tags": []string{"only"}, "parameters": map[string]any{}}); err != nil {
		t.Fatal(err)
	}
	d, err := c.ReadDeployment(ctx, id)
	if err != nil {
		t.Fatal(err)
	}
	if strings.Join(d.Tags, ",") != "only" || len(d.Parameters) != 0 || d.WorkQueueName != "dev" {
		t.Errorf("after patch: %+v", d)
	}
	err = c.PatchDeployment(ctx, id, map[string]any{"flow_name": "x"})
	if err == nil || !strings.Contains(err.Error(), "422") || !strings.Contains(err.Error(), "extra fields not permitted") {
		t.Errorf("unknown field: %v", err)
	}
	if err := c.DeleteDeployment(ctx, id); err != nil {
		t.Fatal(err)
	}
	if err := c.DeleteDeployment(ctx, id); !errors.Is(err, prefectapi.ErrNotFound) {
		t.Errorf("second delete: %v", err)
	}
	if fake.Count() != 4 {
		t.Errorf("%d deployments left", fake.Count())
	}
}

func TestNewRejectsBadURL(t *testing.T) {
	for _, u := range []string{"", "127.0.0.1:4200/api", "ftp://x/api", "https://user:secret@/api"} {
		_, err := prefectapi.New(u, "")
		if err == nil {
			t.Errorf("%q accepted", u)
			continue
		}
		if strings.Contains(err.Error(), "secret") {
			t.Errorf("error echoes the URL: %v", err)
		}
	}
}
