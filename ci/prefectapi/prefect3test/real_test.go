package prefect3test

import (
	"encoding/json"
	"flag"
	"fmt"
	"net/http"
	"net/url"
	"os"
	"strings"
	"testing"
	"time"
)

// envE2EURL names a THROWAWAY Prefect 3 server for TestRealServerAgrees. It is not
// PREFECT_E2E_API_URL (the Prefect 2 tests' server): the two majors need two servers.
const envE2EURL = "PREFECT3_E2E_API_URL"

var updateProbes = flag.Bool("update", false, "with "+envE2EURL+": write the real server's answers to the probes into "+probesFile)

// realSkip is why the real-server test cannot run, "" when it can.
func realSkip(getenv func(string) string) string {
	if getenv(envE2EURL) == "" {
		return envE2EURL + " is not set: this test needs a THROWAWAY Prefect 3.8.3 server (e.g. " +
			"`bash ../shared/prefect3/real/server.sh start ROOT 4341`, then " + envE2EURL +
			"=http://127.0.0.1:4341/api; .ci/real-prefect3 does all of it); it DELETES every deployment, flow and work pool there"
	}
	return ""
}

func TestRealSkipReason(t *testing.T) {
	if got := realSkip(func(string) string { return "" }); !strings.Contains(got, envE2EURL+" is not set") || !strings.Contains(got, "THROWAWAY") {
		t.Errorf("skip reason %q", got)
	}
	if got := realSkip(func(string) string { return "http://127.0.0.1:4341/api" }); got != "" {
		t.Errorf("skips with the URL set: %q", got)
	}
}

// wipe deletes every deployment, flow and work pool of the throwaway server at base.
func wipe(t *testing.T, base string) {
	t.Helper()
	for _, kind := range []struct{ filter, del, key string }{
		{"/deployments/filter", "/deployments/", "id"},
		{"/flows/filter", "/flows/", "id"},
		{"/work_pools/filter", "/work_pools/", "name"},
	} {
		st, body, err := Call("POST", base+kind.filter, map[string]any{})
		var list []map[string]any
		if err == nil && st == 200 {
			err = json.Unmarshal(body, &list)
		}
		if err != nil || st != 200 {
			t.Fatalf("wipe: POST %s: %d %s %v", kind.filter, st, body, err)
		}
		for _, o := range list {
			if st, _, err := Call("DELETE", base+kind.del+url.PathEscape(fmt.Sprint(o[kind.key])), nil); err != nil || st != 204 && st != 404 {
				t.Fatalf("wipe: DELETE %s%v: %d %v", kind.del, o[kind.key], st, err)
			}
		}
	}
}

// TestRealServerAgrees runs the recorded timeline against a real Prefect 3 server and
// against the fake, both starting empty, and checks that they answer each step the same
// (status, keys, values modulo ids and server timestamps). How the real server compares
// with the recording is logged, not asserted (its ids and clock differ, the rest should not).
func TestRealServerAgrees(t *testing.T) {
	if why := realSkip(os.Getenv); why != "" {
		t.Skip(why)
	}
	base := strings.TrimRight(os.Getenv(envE2EURL), "/")
	// A fresh connection per request: uvicorn closes idle keep-alive connections after 5 s,
	// and a request racing that close fails with "connection reset by peer".
	client := &http.Client{Timeout: 60 * time.Second, Transport: &http.Transport{DisableKeepAlives: true}}
	resp, err := client.Get(base + "/admin/version")
	if err != nil {
		t.Fatalf("%s=%s: %v", envE2EURL, base, err)
	}
	var version string
	err = json.NewDecoder(resp.Body).Decode(&version)
	resp.Body.Close()
	if err != nil || !strings.HasPrefix(version, "3.") {
		t.Fatalf("%s=%s is not a Prefect 3 server (GET /admin/version: %q, %v)", envE2EURL, base, version, err)
	}
	if version != Version {
		t.Logf("the real server is %s; the fake imitates %s", version, Version)
	}
	wipe(t, base)

	steps, err := recordedTimeline()
	if err != nil {
		t.Fatal(err)
	}
	probes, err := loadProbes()
	if err != nil {
		t.Fatal(err)
	}
	steps = append(steps, probes...)
	answers := map[string]answerGot{}
	f := New(t, Empty())
	realIDs, fakeIDs, pair := newIDMap(), newIDMap(), newIDMap()
	agree, asRecorded := 0, 0
	for _, s := range steps {
		real, err := send(client, base, s, realIDs)
		if err != nil {
			t.Fatal(err)
		}
		fake, err := send(http.DefaultClient, f.URL, s, fakeIDs)
		if err != nil {
			t.Fatal(err)
		}
		if s.Probe {
			answers[s.Name] = real
		}
		if d := check(s, real, realIDs); len(d) == 0 {
			asRecorded++
		} else {
			t.Logf("%s: the real server differs from the recording:\n  %s", s.Name, strings.Join(d, "\n  "))
		}
		check(s, fake, fakeIDs) // learn the fake's ids for the next requests
		c := newComparer(pair)
		c.compare("body", "", real.Body, fake.Body)
		if real.Status != fake.Status {
			c.diffs = append([]string{fmt.Sprintf("status: real %d, fake %d", real.Status, fake.Status)}, c.diffs...)
		}
		if len(c.diffs) > 0 {
			t.Errorf("%s: %s %s: the fake differs from the real server (want = real):\n  %s", s.Name, s.Method, s.Path, strings.Join(c.diffs, "\n  "))
			continue
		}
		agree++
	}
	if *updateProbes {
		if err := saveProbes(probes, answers, realIDs); err != nil {
			t.Fatal(err)
		}
		t.Logf("wrote the real server's answers to %s", probesFile)
	}
	t.Logf("real Prefect %s: %d of %d steps answered the same by the fake; %d of %d as recorded", version, agree, len(steps), asRecorded, len(steps))
}
