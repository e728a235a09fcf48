package prplan

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"strings"
	"time"
)

// GitHub is the little of the GitHub REST API the plan comment needs.
type GitHub struct {
	API   string // e.g. https://api.github.com (GITHUB_API_URL)
	Repo  string // owner/name (GITHUB_REPOSITORY)
	Token string // GITHUB_TOKEN; sent only as a header, never printed
	HTTP  *http.Client
}

// GitHubFromEnv is the client of a GitHub Actions run, or nil without a token or repository.
func GitHubFromEnv(get func(string) string) *GitHub {
	if get("GITHUB_TOKEN") == "" || get("GITHUB_REPOSITORY") == "" {
		return nil
	}
	api := get("GITHUB_API_URL")
	if api == "" {
		api = "https://api.github.com"
	}
	return &GitHub{API: strings.TrimRight(api, "/"), Repo: get("GITHUB_REPOSITORY"), Token: get("GITHUB_TOKEN")}
}

// PRNumber reads the pull request number from the event file of a pull_request run.
func PRNumber(eventPath string) (int, error) {
	if eventPath == "" {
		return 0, errors.New("GITHUB_EVENT_PATH is not set: not a pull request run")
	}
	b, err := os.ReadFile(eventPath)
	if err != nil {
		return 0, fmt.Errorf("read the event: %w", err)
	}
	var ev struct {
		Number      int `json:"number"`
		PullRequest struct {
			Number int `json:"number"`
		} `json:"pull_request"`
	}
	if err := json.Unmarshal(b, &ev); err != nil {
		return 0, fmt.Errorf("%s: %w", eventPath, err)
	}
	if ev.PullRequest.Number > 0 {
		return ev.PullRequest.Number, nil
	}
	if ev.Number > 0 {
		return ev.Number, nil
	}
	return 0, fmt.Errorf("%s: no pull request number (not a pull_request event)", eventPath)
}

type comment struct {
	ID      int64  `json:"id"`
	Body    string `json:"body"`
	HTMLURL string `json:"html_url"`
}

// UpsertComment updates the pull request's comment that starts with marker, or adds it,
// and returns its address.
func (g *GitHub) UpsertComment(ctx context.Context, pr int, marker, body string) (string, error) {
	var existing *comment
	for page := 1; page <= 20 && existing == nil; page++ {
		var list []comment
		if err := g.do(ctx, http.MethodGet, fmt.Sprintf("/repos/%s/issues/%d/comments?per_page=100&page=%d", g.Repo, pr, page), nil, &list); err != nil {
			return "", err
		}
		for i := range list {
			if strings.HasPrefix(list[i].Body, marker) {
				existing = &list[i]
				break
			}
		}
		if len(list) < 100 {
			break
		}
	}
	var out comment
	payload := map[string]string{"body": body}
	if existing != nil {
		if err := g.do(ctx, http.MethodPatch, fmt.Sprintf("/repos/%s/issues/comments/%d", g.Repo, existing.ID), payload, &out); err != nil {
			return "", err
		}
		return out.HTMLURL, nil
	}
	if err := g.do(ctx, http.MethodPost, fmt.Sprintf("/repos/%s/issues/%d/comments", g.Repo, pr), payload, &out); err != nil {
		return "", err
	}
	return out.HTMLURL, nil
}

func (g *GitHub) do(ctx context.Context, method, path string, in, out any) error {
	var body io.Reader
	if in != nil {
		b, err := json.Marshal(in)
		if err != nil {
			return err
		}
		body = bytes.NewReader(b)
	}
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, method, g.API+path, body)
	if err != nil {
		return fmt.Errorf("%s %s: %w", method, path, err)
	}
	req.Header.Set("Authorization", "Bearer "+g.Token)
	req.Header.Set("Accept", "application/vnd.github+json")
	req.Header.Set("X-GitHub-Api-Version", "2022-11-28")
	if in != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	hc := g.HTTP
	if hc == nil {
		hc = http.DefaultClient
	}
	resp, err := hc.Do(req)
	if err != nil {
		return fmt.Errorf("%s %s: %w", method, path, err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if resp.StatusCode/100 != 2 {
		hint := ""
		if resp.StatusCode == http.StatusForbidden || resp.StatusCode == http.StatusNotFound {
			hint = " (the token may not write pull request comments: `permissions: pull-requests: write`, and a fork's pull request gets a read-only token)"
		}
		return fmt.Errorf("%s %s: %s%s: %s", method, path, resp.Status, hint, strings.TrimSpace(string(b)))
	}
	if out != nil {
		if err := json.Unmarshal(b, out); err != nil {
			return fmt.Errorf("%s %s: answer: %w", method, path, err)
		}
	}
	return nil
}
