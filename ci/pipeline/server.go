package pipeline

import (
	"context"
	_ "embed"
	"fmt"
	"strconv"
	"strings"

	"dagger.io/dagger"

	"github.com/acme-data/prefect-flows/ci/pyprog"
)

// Embedded Prefect server: reached under this alias from the register and deploy execs.
const (
	serverAlias = "prefect"
	serverPort  = 4200
)

// EmbeddedAPIURL is PREFECT_API_URL inside the pipeline's containers in embedded mode.
var EmbeddedAPIURL = "http://" + serverAlias + ":" + strconv.Itoa(serverPort) + "/api"

//go:embed health.py
var healthSource []byte

// HealthProgram is health.py: it waits until the embedded server answers on its health URL.
var HealthProgram = pyprog.New("ci/pipeline/health.py", healthSource)

type serverStep struct{}

func (serverStep) String() string {
	return "server: start a throwaway Prefect server from the image (dev without PREFECT_API_URL)"
}

func (serverStep) Run(ctx context.Context, st *State) error {
	if !st.Opts.Embedded() {
		return Skip("PREFECT_API_URL is set: deploying to the real Prefect API")
	}
	fmt.Fprintln(st.out, banner)
	img := st.Image
	if st.prefect3() {
		// The same command starts a Prefect 3 server; its UI setting is named
		// server.ui.enabled there (PREFECT_UI_ENABLED stays for Prefect 2).
		img = img.WithEnvVariable("PREFECT_SERVER_UI_ENABLED", "false")
	}
	svc := img.
		WithEnvVariable("PREFECT_UI_ENABLED", "false").
		WithEnvVariable("PREFECT_SERVER_ANALYTICS_ENABLED", "false").
		WithEnvVariable("DO_NOT_TRACK", "1").
		WithEnvVariable("CACHEBUSTER", st.RunID).
		WithExposedPort(serverPort).
		AsService(dagger.ContainerAsServiceOpts{Args: []string{
			"prefect", "server", "start", "--host", "0.0.0.0", "--port", strconv.Itoa(serverPort),
		}})
	// A bound service stops when no exec references it any more, and with it its SQLite
	// database. Starting it explicitly keeps one server alive from registration through
	// the last deployment and the read-back; Run stops it at the end.
	started, err := svc.Start(ctx)
	if err != nil {
		return fmt.Errorf("start the embedded Prefect server: %w", err)
	}
	st.Server = started
	health := withProgram(st.Image.
		WithServiceBinding(serverAlias, started).
		WithEnvVariable("CACHEBUSTER", st.RunID), HealthProgram).
		WithExec(HealthProgram.ContainerArgs(EmbeddedAPIURL + "/health"))
	out, err := health.Stdout(ctx)
	if err != nil {
		return fmt.Errorf("wait for the embedded Prefect server: %w", execDetail(err))
	}
	printIndented(st.out, out)
	return nil
}

const banner = `    ========================================================================
    EMBEDDED MODE: PREFECT_API_URL is not set. Deploying into a throwaway
    Prefect server inside Dagger. NOTHING reaches the real Prefect.
    ========================================================================`

func printIndented(w interface{ Write([]byte) (int, error) }, s string) {
	s = strings.TrimRight(s, "\n")
	if s == "" {
		return
	}
	for _, line := range strings.Split(s, "\n") {
		fmt.Fprintf(w, "    | %s\n", line)
	}
}
