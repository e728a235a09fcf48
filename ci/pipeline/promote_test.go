package pipeline

import (
	"bytes"
	"context"
	"slices"
	"strings"
	"testing"

	"github.com/acme-data/prefect-flows/ci/config"
	"github.com/acme-data/prefect-flows/ci/internal/fakedagger"
)

// TestPromote: <env>-<sha> is pushed before anything is registered and its digest is
// PREFECT_IMAGE; the <env> tag moves to that same digest only once deploy and verify
// succeeded, so :<env> never names an image whose deploy failed.
func TestPromote(t *testing.T) {
	const (
		shaTag = "registry.example:5000/acme/prefect-flows:prod-abc1234"
		envTag = "registry.example:5000/acme/prefect-flows:prod"
	)
	for _, tc := range []struct {
		name        string
		fail        map[string]bool
		noRegistry  bool
		only        []string
		wantPushes  []string
		wantPromote StepStatus
	}{
		{"all good", nil, false, nil, []string{shaTag, envTag}, StepOK},
		{"a deployment fails", map[string]bool{"etl-prod": true}, false, nil, []string{shaTag}, StepNotRun},
		{"verify finds drift", map[string]bool{"read-back": true}, false, nil, []string{shaTag}, StepNotRun},
		{"DEPLOY_ONLY: part of the file", nil, false, []string{"etl-prod"}, []string{shaTag}, StepSkipped},
		{"no registry", nil, true, nil, nil, StepSkipped},
	} {
		t.Run(tc.name, func(t *testing.T) {
			srv := fakedagger.Start(t, fakedagger.WithHandler(handler(tc.fail)))
			c := connect(t, srv)
			var out bytes.Buffer
			o := prodOptions(t, c, &out)
			o.Only = tc.only
			if tc.noRegistry {
				o.Registry, o.RegistryUsername, o.RegistryPassword = "", "", config.Secret{}
				o.AllowUnpublishedImage = true
			}
			rep, err := Run(context.Background(), c, o)
			if (err != nil) != (tc.fail != nil) {
				t.Fatalf("Run: %v\n%s", err, out.String())
			}
			var addrs []string
			for _, p := range srv.Publishes() {
				addrs = append(addrs, p.Address)
			}
			if !slices.Equal(addrs, tc.wantPushes) {
				t.Errorf("pushed %q, want %q in this order", addrs, tc.wantPushes)
			}
			if got := stepStatus(rep, "promote"); got != tc.wantPromote {
				t.Errorf("promote = %s, want %s\n%s", got, tc.wantPromote, out.String())
			}
			pubs := srv.Publishes()
			if len(pubs) == 0 {
				return
			}
			if rep.ImageRef != pubs[0].Ref || !strings.HasPrefix(rep.ImageRef, shaTag+"@sha256:") {
				t.Errorf("PREFECT_IMAGE %q, want the digest ref of %s (%s)", rep.ImageRef, shaTag, pubs[0].Ref)
			}
			if infra := execsWith(srv, isInfra); len(infra) != 1 || infra[0].Env["PREFECT_IMAGE"] != pubs[0].Ref {
				t.Errorf("infra PREFECT_IMAGE is not the <env>-<sha> digest ref")
			}
			if len(pubs) == 2 && pubs[1].Digest != pubs[0].Digest {
				t.Errorf("promote pushed digest %s, deployed %s", pubs[1].Digest, pubs[0].Digest)
			}
		})
	}
}
