package deploycli_test

import (
	"context"
	"encoding/json"
	"fmt"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestRealList: on a real Prefect 2.14 server, `prefect-deploy list` prints what the
// inline Python it replaced printed (testdata/list/readback-2.14.py), and past 200
// deployments, where that script stopped, it still lists every one.
func TestRealList(t *testing.T) {
	r := findRealPrefect(t)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	prefix := "e2e-" + r.run + "-list-"
	var created []string
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
		defer cancel()
		for _, id := range created {
			assert.NoError(t, r.api.DeleteDeployment(ctx, id))
		}
	})
	flows := map[string]string{}
	add := func(flow, name string, extra map[string]any) {
		t.Helper()
		if flows[flow] == "" {
			f, err := r.api.CreateFlow(ctx, prefix+flow)
			require.NoError(t, err)
			flows[flow] = f.ID
		}
		body := map[string]any{"name": prefix + name, "flow_id": flows[flow], "is_schedule_active": false, "tags": []string{"e2e-list"}}
		for k, v := range extra {
			body[k] = v
		}
		b, err := json.Marshal(body)
		require.NoError(t, err)
		d, _, err := r.api.CreateDeployment(ctx, b)
		require.NoError(t, err)
		created = append(created, d.ID)
	}
	add("b", "cron", map[string]any{"schedule": map[string]any{"cron": "0 3 * * *", "timezone": "Europe/Berlin"}, "entrypoint": "flows/b.py:b", "work_queue_name": "q-b"})
	add("a", "interval", map[string]any{"schedule": map[string]any{"interval": 3600, "anchor_date": "2026-01-01T00:00:00+00:00", "timezone": "UTC"}, "entrypoint": "flows/a.py:a"})
	add("a", "odd-interval", map[string]any{"schedule": map[string]any{"interval": 90}, "tags": []string{"x", "y"}})
	add("a", "rrule", map[string]any{"schedule": map[string]any{"rrule": "FREQ=DAILY;INTERVAL=2", "timezone": "UTC"}})
	add("a", "manual", nil)

	python := func() string {
		t.Helper()
		script, err := filepath.Abs(filepath.Join("testdata", "list", "readback-2.14.py"))
		require.NoError(t, err)
		cmd := exec.CommandContext(ctx, r.pythonForBlocks(), script)
		cmd.Env = r.env
		out, err := cmd.Output()
		require.NoError(t, err, "the old read-back script")
		return string(out)
	}
	list := func() string {
		t.Helper()
		code, stdout, stderr := r.cli(t, "list", "--on", "the embedded server")
		require.Equal(t, 0, code, stderr)
		return stdout
	}
	if n := len(strings.Split(strings.TrimSpace(python()), "\n")) - 1; n < 200 {
		assert.Equal(t, python(), list(), "the listing differs from the inline Python's")
	} else {
		t.Logf("the server already holds %d+ deployments: the old script cannot list them all, no comparison", n)
	}

	for i := range 200 {
		add("many", fmt.Sprintf("many-%03d", i), nil)
	}
	out := list()
	lines := strings.Split(strings.TrimSuffix(out, "\n"), "\n")
	var n int
	_, err := fmt.Sscanf(lines[len(lines)-1], "%d deployment(s) on the embedded server", &n)
	require.NoError(t, err, "last line %q", lines[len(lines)-1])
	assert.Equal(t, len(lines)-1, n, "count line against the lines listed")
	assert.GreaterOrEqual(t, n, 205)
	for i := range 200 {
		// No work_queue_name in the body: a 2.14 server stores null.
		line := fmt.Sprintf("%smany/%smany-%03d  None  no schedule  queue=None  tags=e2e-list\n", prefix, prefix, i)
		assert.True(t, strings.Contains(out, line), "not listed: %s", line)
	}
	t.Logf("prefect-deploy list: %s", lines[len(lines)-1])
	oldLines := strings.Split(strings.TrimSpace(python()), "\n")
	t.Logf("the inline Python listed %s", oldLines[len(oldLines)-1])
}
