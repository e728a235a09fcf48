package prefect3test

import (
	"net/http"
	"net/http/httptest"
	"sync/atomic"
	"testing"
	"time"
)

// Call tries a 503 again (a busy SQLite on the real server) and gives up after
// CallAttempts, returning the last answer; other statuses come back at once.
func TestCallRetries503(t *testing.T) {
	defer func(d time.Duration) { callBackoff = d }(callBackoff)
	callBackoff = time.Millisecond
	for _, tc := range []struct {
		name      string
		busy      int32 // answers of 503 before a 200
		wantCalls int32
		wantSt    int
	}{
		{"answers at once", 0, 1, 200},
		{"busy twice", 2, 3, 200},
		{"always busy", 100, CallAttempts, 503},
	} {
		var calls atomic.Int32
		srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if calls.Add(1) <= tc.busy {
				w.WriteHeader(http.StatusServiceUnavailable)
				return
			}
			w.WriteHeader(http.StatusOK)
			w.Write([]byte(`{}`))
		}))
		st, _, err := Call("POST", srv.URL+"/x", map[string]any{"a": 1})
		srv.Close()
		if err != nil || st != tc.wantSt || calls.Load() != tc.wantCalls {
			t.Errorf("%s: status %d, %d calls, err %v; want %d after %d calls", tc.name, st, calls.Load(), err, tc.wantSt, tc.wantCalls)
		}
	}
}
