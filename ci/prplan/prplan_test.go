package prplan_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/acme-data/prefect-flows/ci/prefectapi/prefectapitest"
	"github.com/acme-data/prefect-flows/ci/prplan"
)

func TestTouched(t *testing.T) {
	b, err := os.ReadFile("testdata/touched.json")
	require.NoError(t, err)
	var cases []struct {
		Name        string
		Files, Want []string
	}
	require.NoError(t, json.Unmarshal(b, &cases))
	for _, c := range cases {
		assert.Equal(t, c.Want, prplan.Touched([]string{"dev", "prod"}, c.Files), c.Name)
	}
}

// fakeGitHub stores issue comments like GitHub's REST API.
type fakeGitHub struct {
	mu       sync.Mutex
	comments map[int64]string
	next     int64
	calls    []string
	forbid   bool
}

func (f *fakeGitHub) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.calls = append(f.calls, r.Method+" "+r.URL.Path)
	if r.Header.Get("Authorization") != "Bearer tok" {
		http.Error(w, `{"message":"Bad credentials"}`, http.StatusUnauthorized)
		return
	}
	if f.forbid && r.Method != http.MethodGet {
		http.Error(w, `{"message":"Resource not accessible by integration"}`, http.StatusForbidden)
		return
	}
	var in struct{ Body string }
	if r.Body != nil {
		b, _ := io.ReadAll(r.Body)
		_ = json.Unmarshal(b, &in)
	}
	switch {
	case r.Method == http.MethodGet && r.URL.Path == "/repos/acme-data/prefect-flows/issues/7/comments":
		var list []map[string]any
		for id, body := range f.comments {
			list = append(list, map[string]any{"id": id, "body": body})
		}
		list = append(list, map[string]any{"id": 999, "body": "LGTM"})
		_ = json.NewEncoder(w).Encode(list)
	case r.Method == http.MethodPost && r.URL.Path == "/repos/acme-data/prefect-flows/issues/7/comments":
		f.next++
		f.comments[f.next] = in.Body
		_ = json.NewEncoder(w).Encode(map[string]any{"id": f.next, "html_url": fmt.Sprintf("https://github.example/c/%d", f.next)})
	case r.Method == http.MethodPatch && strings.HasPrefix(r.URL.Path, "/repos/acme-data/prefect-flows/issues/comments/"):
		var id int64
		fmt.Sscan(strings.TrimPrefix(r.URL.Path, "/repos/acme-data/prefect-flows/issues/comments/"), &id)
		if _, ok := f.comments[id]; !ok {
			http.NotFound(w, r)
			return
		}
		f.comments[id] = in.Body
		_ = json.NewEncoder(w).Encode(map[string]any{"id": id, "html_url": fmt.Sprintf("https://github.example/c/%d", id)})
	default:
		http.NotFound(w, r)
	}
}

type run struct {
	environ        []string
	summary        string
	stdout, stderr bytes.Buffer
}

func setup(t *testing.T, gh *fakeGitHub, extra ...string) *run {
	t.Helper()
	dir := t.TempDir()
	event := filepath.Join(dir, "event.json")
	require.NoError(t, os.WriteFile(event, []byte(`{"number": 7, "pull_request": {"number": 7}}`), 0o644))
	srv := httptest.NewServer(gh)
	t.Cleanup(srv.Close)
	r := &run{summary: filepath.Join(dir, "summary.md")}
	r.environ = append([]string{
		"GITHUB_REPOSITORY=acme-data/prefect-flows", "GITHUB_TOKEN=tok", "GITHUB_API_URL=" + srv.URL,
		"GITHUB_EVENT_PATH=" + event, "GITHUB_STEP_SUMMARY=" + r.summary, "GITHUB_SHA=0123456789abcdef",
		"PREFECT_OWNER=acme-data/prefect-flows",
	}, extra...)
	return r
}

func (r *run) do(t *testing.T, changed ...string) error {
	t.Helper()
	return prplan.Run(context.Background(), prplan.Options{
		Root: "testdata/repo", Environ: r.environ, Stdout: &r.stdout, Stderr: &r.stderr,
		Changed: func(context.Context) ([]string, error) { return changed, nil },
	})
}

// TestPlanComment: with dev's secret the PR gets dev's live plan in the summary and in
// one comment, which the next run updates instead of adding a second; prod, without its
// secret (as in a fork's pull request), is validated and scripted instead.
func TestPlanComment(t *testing.T) {
	api := prefectapitest.New(t)
	gh := &fakeGitHub{comments: map[int64]string{}}
	r := setup(t, gh, "PREFECT_API_URL_DEV="+api.URL)
	require.NoError(t, r.do(t, "flows/hello.py"), r.stderr.String())
	require.Len(t, gh.comments, 1)
	body := gh.comments[1]
	assert.True(t, strings.HasPrefix(body, prplan.CommentMarker))
	assert.Contains(t, body, "#### Environment dev")
	assert.Contains(t, body, "**Plan: 1 to create, 0 to update, 0 to delete, 0 unchanged.**")
	assert.Contains(t, body, "### prod: no live plan\n\nPREFECT_API_URL_PROD is not available")
	assert.Contains(t, body, "prefect deployment build flows/hello.py:hello -n hello-prod")
	assert.NotContains(t, body, api.URL, "the API URL is a secret")
	summary, err := os.ReadFile(r.summary)
	require.NoError(t, err)
	assert.Equal(t, body, string(summary))
	assert.Contains(t, r.stdout.String(), "Plan comment: https://github.example/c/1")

	r2 := setup(t, gh, "PREFECT_API_URL_DEV="+api.URL)
	require.NoError(t, r2.do(t, "prefect-deployments-dev.yaml"))
	assert.Len(t, gh.comments, 1, "the comment is updated, not added")
	assert.NotContains(t, gh.comments[1], "prod", "only dev is touched now")
	assert.Contains(t, gh.calls, "PATCH /repos/acme-data/prefect-flows/issues/comments/1")
}

// TestPlanCommentForbidden: a fork's read-only token cannot comment; the run still
// succeeds with the plan in the summary, and says why there is no comment.
func TestPlanCommentForbidden(t *testing.T) {
	gh := &fakeGitHub{comments: map[int64]string{}, forbid: true}
	r := setup(t, gh)
	require.NoError(t, r.do(t, "prefect-deployments-prod.yaml"))
	assert.Empty(t, gh.comments)
	assert.Contains(t, r.stderr.String(), "pull request comment not written (the step summary has the plan)")
	assert.Contains(t, r.stderr.String(), "403 Forbidden")
	summary, err := os.ReadFile(r.summary)
	require.NoError(t, err)
	assert.Contains(t, string(summary), "### prod: no live plan")
}

// TestPlanFailure: an unreachable API fails the run, after the summary is written.
func TestPlanFailure(t *testing.T) {
	gh := &fakeGitHub{comments: map[int64]string{}}
	srv := httptest.NewServer(http.NotFoundHandler())
	srv.Close()
	r := setup(t, gh, "PREFECT_API_URL_DEV="+srv.URL+"/api")
	err := r.do(t, "prefect-deployments-dev.yaml")
	require.Error(t, err)
	assert.Contains(t, err.Error(), "plan failed for dev")
	assert.Contains(t, gh.comments[1], "### dev: plan failed")
	assert.NotContains(t, gh.comments[1], srv.URL)
}

func TestPRNumber(t *testing.T) {
	dir := t.TempDir()
	for body, want := range map[string]int{`{"pull_request": {"number": 12}}`: 12, `{"number": 3}`: 3, `{"ref": "main"}`: 0} {
		p := filepath.Join(dir, "e.json")
		require.NoError(t, os.WriteFile(p, []byte(body), 0o644))
		n, err := prplan.PRNumber(p)
		assert.Equal(t, want, n, body)
		assert.Equal(t, want == 0, err != nil, body)
	}
	_, err := prplan.PRNumber("")
	assert.ErrorContains(t, err, "GITHUB_EVENT_PATH is not set")
}
