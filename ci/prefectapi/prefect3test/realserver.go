package prefect3test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"time"
)

// The helpers below are for the opt-in tests against a REAL, throwaway Prefect 3.8.3 server
// (PREFECT3_E2E_API_URL): one way to talk to it and one way to give it the recorded pools.

// CallAttempts bounds Call's tries of one request.
const CallAttempts = 6

// callBackoff is Call's first wait before trying again; it doubles per attempt.
var callBackoff = 200 * time.Millisecond

// Call sends one request with a JSON body (none when body is nil) and returns the status
// and the answer. It tries again, with backoff from 200 ms, up to CallAttempts times on a
// reset connection (uvicorn closes an idle keep-alive connection after 5 s, and a request
// sent on it just then is reset) and on 503, which a 3.8.3 server on SQLite answers while
// another write (often its scheduler's) holds the database. It uses context.Background:
// tests call it from Cleanup too, after their own context is done.
func Call(method, url string, body any) (int, []byte, error) {
	var payload []byte
	if body != nil {
		var err error
		if payload, err = json.Marshal(body); err != nil {
			return 0, nil, err
		}
	}
	var last error
	delay := callBackoff
	for attempt := 1; attempt <= CallAttempts; attempt++ {
		if attempt > 1 {
			time.Sleep(delay)
			delay *= 2
		}
		req, err := http.NewRequestWithContext(context.Background(), method, url, bytes.NewReader(payload))
		if err != nil {
			return 0, nil, err
		}
		if payload != nil {
			req.Header.Set("Content-Type", "application/json")
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			last = err
			continue
		}
		out, err := io.ReadAll(resp.Body)
		resp.Body.Close()
		if err != nil {
			last = err
			continue
		}
		if resp.StatusCode == http.StatusServiceUnavailable && attempt < CallAttempts {
			last = fmt.Errorf("%s %s: 503 %s", method, url, out)
			continue
		}
		return resp.StatusCode, out, nil
	}
	return 0, nil, fmt.Errorf("%s %s: %d attempts: %w", method, url, CallAttempts, last)
}

// EnsureRecordedPools creates on the server at base (ending in /api) the recorded work
// pools, "pool" (process) and "ecs-pool" (ecs, from prefect-aws), with their recorded base
// job templates, when it lacks them; a pool that exists is left as it is.
func EnsureRecordedPools(base string) error {
	for _, name := range []string{"pool", "ecs-pool"} {
		st, body, err := Call("GET", base+"/work_pools/"+name, nil)
		if err != nil {
			return err
		}
		if st == http.StatusOK {
			continue
		}
		if st != http.StatusNotFound {
			return fmt.Errorf("GET /work_pools/%s: %d %s", name, st, body)
		}
		rec, err := ReadExchange("api/work-pool-" + name + ".json")
		if err != nil {
			return err
		}
		var pool struct {
			Type            string         `json:"type"`
			BaseJobTemplate map[string]any `json:"base_job_template"`
		}
		if err := json.Unmarshal(rec.Response, &pool); err != nil {
			return fmt.Errorf("api/work-pool-%s.json: response: %w", name, err)
		}
		st, body, err = Call("POST", base+"/work_pools/", map[string]any{"name": name, "type": pool.Type, "base_job_template": pool.BaseJobTemplate})
		if err != nil {
			return err
		}
		if st != http.StatusCreated {
			return fmt.Errorf("create work pool %s: %d %s", name, st, body)
		}
	}
	return nil
}
