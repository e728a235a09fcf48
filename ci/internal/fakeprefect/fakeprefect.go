// Package fakeprefect is a stand-in for the `prefect` CLI (2.14) used by tests. It
// rejects every argv the real CLI rejects (package clispec, from cli-2.14.json),
// answers like the recorded real runs, records every call, and can be told to be slow,
// to fail, or to hang.
//
// Environment:
//
//	FAKE_PREFECT_CLI_SPEC  path of cli-2.14.json (required)
//	FAKE_PREFECT_LOG       file that receives one JSON line per call start and end
//	FAKE_PREFECT_DELAY     time each call takes (Go duration, e.g. 200ms)
//	FAKE_PREFECT_CPU       CPU time each call burns first, like Prefect's ~1.4 s import
//	FAKE_PREFECT_FAIL      comma list of deployment-name globs that fail (exit 1)
//	FAKE_PREFECT_HANG      comma list of deployment-name globs that never finish
//	FAKE_PREFECT_IGNORE_TERM  when "1", SIGTERM is ignored (to test SIGKILL after a grace)
//	FAKE_PREFECT_POOLS     comma list of existing work pools (unset: every pool exists)
//	FAKE_PREFECT_BLOCKS    comma list of existing blocks type/name (unset: every block exists)
//	FAKE_PREFECT_API_URL   a (fake) Prefect API, e.g. ci/prefectapi/prefectapitest: build -a
//	                       resolves -ib there, merges with the existing deployment (an
//	                       option left out keeps the server's value, as 2.14 does), checks
//	                       -p, upserts flow and deployment, and prints the server's id.
//	                       PREFECT_API_KEY, when set, is sent as a bearer token.
//	COLUMNS                when set, long lines are wrapped at this width like rich does
package fakeprefect

import (
	"crypto/sha1"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"os/signal"
	"path"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/acme-data/prefect-flows/ci/prefectcli/clispec"
)

// Record is one line of FAKE_PREFECT_LOG. Each call writes a "start" and, unless it is
// killed, an "end" record.
type Record struct {
	Event string    `json:"event"`
	PID   int       `json:"pid"`
	Argv  []string  `json:"argv"`
	Cwd   string    `json:"cwd"`
	Env   []string  `json:"env"` // names only, never values
	Start time.Time `json:"start"`
	End   time.Time `json:"end,omitzero"`
	Exit  int       `json:"exit"`
	// Signal names the signal that stopped the call, if any.
	Signal string `json:"signal,omitempty"`
}

// ReadLog parses a FAKE_PREFECT_LOG file.
func ReadLog(file string) ([]Record, error) {
	data, err := os.ReadFile(file)
	if os.IsNotExist(err) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("read fake prefect log: %w", err)
	}
	var recs []Record
	for _, line := range strings.Split(strings.TrimSpace(string(data)), "\n") {
		if line == "" {
			continue
		}
		var r Record
		if err := json.Unmarshal([]byte(line), &r); err != nil {
			return nil, fmt.Errorf("fake prefect log line %q: %w", line, err)
		}
		recs = append(recs, r)
	}
	return recs, nil
}

type call struct {
	mu     sync.Mutex
	stdout io.Writer
	stderr io.Writer
	rec    Record
	done   bool
	unlock func()
}

func (c *call) log(event string, exit int, sig string) {
	file := os.Getenv("FAKE_PREFECT_LOG")
	if file == "" {
		return
	}
	r := c.rec
	r.Event, r.Exit, r.Signal = event, exit, sig
	if event == "end" {
		r.End = time.Now()
	}
	line, _ := json.Marshal(r)
	// One write of a whole line on an O_APPEND file: concurrent calls never interleave.
	f, err := os.OpenFile(file, os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o644)
	if err != nil {
		fmt.Fprintf(c.stderr, "fake prefect: log: %v\n", err)
		return
	}
	defer f.Close()
	_, _ = f.Write(append(line, '\n'))
}

// finish ends the call once, whichever of the command and a signal comes first.
func (c *call) finish(exit int, sig string) int {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.done {
		select {} // the other path is already exiting
	}
	c.done = true
	if c.unlock != nil {
		c.unlock()
	}
	c.log("end", exit, sig)
	return exit
}

// Main runs the fake with argv (after the executable) and returns the exit code.
func Main(argv []string) int {
	cwd, _ := os.Getwd()
	c := &call{stdout: os.Stdout, stderr: os.Stderr, rec: Record{
		PID: os.Getpid(), Argv: argv, Cwd: cwd, Env: envNames(), Start: time.Now(),
	}}
	c.log("start", 0, "")

	sigs := make(chan os.Signal, 1)
	signal.Notify(sigs, syscall.SIGTERM, syscall.SIGINT)
	go func() {
		for s := range sigs {
			if s == syscall.SIGTERM && os.Getenv("FAKE_PREFECT_IGNORE_TERM") == "1" {
				fmt.Fprintln(c.stderr, "fake prefect: ignoring SIGTERM")
				continue
			}
			code, name := 130, "SIGINT"
			if s == syscall.SIGTERM {
				code, name = 143, "SIGTERM"
			}
			// click prints "Aborted!" when interrupted.
			fmt.Fprintln(c.stderr, "Aborted!")
			os.Exit(c.finish(code, name))
		}
	}()
	return c.finish(c.run(argv, cwd), "")
}

func envNames() []string {
	var names []string
	for _, kv := range os.Environ() {
		name, _, _ := strings.Cut(kv, "=")
		if strings.HasPrefix(name, "PREFECT_") || strings.HasPrefix(name, "AWS_") {
			names = append(names, name)
		}
	}
	sort.Strings(names)
	return names
}

func (c *call) run(argv []string, cwd string) int {
	specPath := os.Getenv("FAKE_PREFECT_CLI_SPEC")
	if specPath == "" {
		fmt.Fprintln(c.stderr, "fake prefect: FAKE_PREFECT_CLI_SPEC is not set")
		return 3
	}
	spec, err := clispec.Load(specPath)
	if err != nil {
		fmt.Fprintf(c.stderr, "fake prefect: %v\n", err)
		return 3
	}
	inv, out := spec.Parse(argv)
	name := ""
	if inv != nil {
		name, _ = inv.Last("--name")
		if inv.Command == "block register" {
			name = "block register"
		}
	}
	// Hold the output file for the whole call, so that two concurrent builds
	// writing one file are caught even when they do not overlap in their last
	// microseconds.
	var build *clispec.Build
	if inv != nil && inv.Command == "deployment build" {
		build, _ = clispec.AsBuild(inv)
		if len(inv.Args) > 0 && strings.Contains(inv.Args[0], ":") && build.PreFlow() == nil {
			outFile := absIn(cwd, build.OutputFile())
			lock := outFile + ".fake-prefect-lock"
			f, err := os.OpenFile(lock, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o644)
			if err != nil {
				return c.emit(clispec.Outcome{Exit: 1, Stdout: "An exception occurred.\n",
					Stderr: fmt.Sprintf("Traceback (most recent call last):\nfake prefect: output file %s is being written by another build at the same time\n", outFile)})
			}
			fmt.Fprintf(f, "%d\n", os.Getpid())
			f.Close()
			c.unlock = func() { os.Remove(lock) }
		}
	}

	if matchAny(os.Getenv("FAKE_PREFECT_HANG"), name) {
		select {}
	}
	if d := os.Getenv("FAKE_PREFECT_CPU"); d != "" {
		dur, err := time.ParseDuration(d)
		if err != nil {
			fmt.Fprintf(c.stderr, "fake prefect: FAKE_PREFECT_CPU: %v\n", err)
			return 3
		}
		burn(dur)
	}
	if d := os.Getenv("FAKE_PREFECT_DELAY"); d != "" {
		dur, err := time.ParseDuration(d)
		if err != nil {
			fmt.Fprintf(c.stderr, "fake prefect: FAKE_PREFECT_DELAY: %v\n", err)
			return 3
		}
		time.Sleep(dur)
	}
	if out != nil {
		return c.emit(*out)
	}
	switch inv.Command {
	case "deployment build":
		return c.build(build, cwd, name)
	case "block register":
		return c.register(inv, name)
	default:
		return c.emit(clispec.Outcome{Exit: 1, Stdout: "fake prefect: " + inv.Command + " is not faked\n"})
	}
}

func (c *call) emit(o clispec.Outcome) int {
	io.WriteString(c.stdout, wrap(o.Stdout))
	io.WriteString(c.stderr, o.Stderr)
	return o.Exit
}

func (c *call) build(b *clispec.Build, cwd, name string) int {
	if f := b.PreFlow(); f != nil {
		return c.emit(f.Outcome(""))
	}
	ep := b.Entrypoint()
	fpath, fn := ep[:strings.LastIndex(ep, ":")], ep[strings.LastIndex(ep, ":")+1:]
	flowName, msg := loadFlow(cwd, fpath, fn)
	if msg != "" {
		return c.emit(clispec.Outcome{Exit: 1, Stdout: msg + "\n"})
	}
	found := fmt.Sprintf("Found flow %s\n", pyRepr(flowName))
	if rel, err := filepath.Rel(cwd, absIn(cwd, fpath)); err != nil || strings.HasPrefix(rel, "..") {
		return c.emit((&clispec.Failure{Exception: true, Msg: fmt.Sprintf("ValueError: '%s' is not in the subpath of '%s'", absIn(cwd, fpath), cwd)}).Outcome(found))
	}
	api := newAPIClient()
	blockID := ""
	if ib := b.Value("--infra-block"); ib != "" {
		typ, blk, ok := strings.Cut(ib, "/")
		if !ok {
			return c.emit((&clispec.Failure{Exception: true, Msg: "ValueError: not enough values to unpack (expected 2, got 1)"}).Outcome(found))
		}
		if list, set := os.LookupEnv("FAKE_PREFECT_BLOCKS"); set && !inList(list, ib) {
			return c.emit((&clispec.Failure{Exception: true, Msg: fmt.Sprintf("ValueError: Unable to find block document named %s for block type %s", blk, typ)}).Outcome(found))
		}
		if api != nil {
			id, f := api.blockID(ib)
			if f != nil {
				return c.emit(f.Outcome(found))
			}
			blockID = id
		}
	}
	if f := b.PostFlow(); f != nil {
		return c.emit(f.Outcome(found))
	}
	if matchAny(os.Getenv("FAKE_PREFECT_FAIL"), name) {
		return c.emit((&clispec.Failure{Exception: true, Msg: "httpx.HTTPStatusError: Server error '500 Internal Server Error' for url 'http://127.0.0.1:4200/api/deployments/'\nFor more information check: https://httpstatuses.com/500"}).Outcome(found))
	}
	outFile := absIn(cwd, b.OutputFile())
	yaml := fmt.Sprintf("###\n### A complete description of a Prefect Deployment for flow %s\n###\nname: %s\nentrypoint: %s\n", pyRepr(flowName), strconv.Quote(name), strconv.Quote(ep))
	if err := os.WriteFile(outFile, []byte(yaml), 0o644); err != nil {
		return c.emit((&clispec.Failure{Exception: true, Msg: "FileNotFoundError: " + err.Error()}).Outcome(found))
	}
	stdout := found + fmt.Sprintf("Deployment YAML created at '%s'.\n", outFile)
	pool := b.Value("--pool")
	if !b.Has("--apply") {
		return c.emit(clispec.Outcome{Stdout: stdout})
	}
	if pool != "" {
		if list, set := os.LookupEnv("FAKE_PREFECT_POOLS"); set && !inList(list, pool) {
			stdout += fmt.Sprintf("\nThis deployment specifies a work pool name of %s, but no such work pool exists.\n\nTo create a work pool via the CLI:\n\n$ prefect work-pool create %s\n\nWork pool not found!\n", pyRepr(pool), pyRepr(pool))
			return c.emit(clispec.Outcome{Exit: 1, Stdout: stdout})
		}
	}
	id := DeploymentID(flowName, name)
	if api != nil {
		var out *clispec.Outcome
		var f *clispec.Failure
		if id, out, f = api.apply(b, cwd, flowName, name, blockID); f != nil {
			return c.emit(f.Outcome(stdout))
		} else if out != nil {
			return c.emit(clispec.Outcome{Exit: out.Exit, Stdout: stdout + out.Stdout})
		}
	}
	stdout += fmt.Sprintf("Deployment '%s/%s' successfully created with id '%s'.\n", flowName, name, id)
	if pool != "" {
		stdout += fmt.Sprintf("\nTo execute flow runs from this deployment, start an agent that pulls work from the %s work pool:\n$ prefect agent start -p %s\n", pyRepr(pool), pyRepr(pool))
	} else {
		q := b.Value("--work-queue")
		if q == "" {
			q = "default"
		}
		stdout += fmt.Sprintf("\nTo execute flow runs from this deployment, start an agent that pulls work from the %s work queue:\n$ prefect agent start -q %s\n", pyRepr(q), pyRepr(q))
	}
	return c.emit(clispec.Outcome{Stdout: stdout})
}

var knownBlockModules = map[string]int{"prefect_aws.ecs": 2, "prefect_aws.credentials": 2, "prefect_aws": 7}

func (c *call) register(inv *clispec.Invocation, name string) int {
	mod, hasM := inv.Last("--module")
	_, hasF := inv.Last("--file")
	switch {
	case hasM && hasF:
		return c.emit(clispec.Outcome{Exit: 1, Stdout: "Please provide either a module or a file containing blocks to register, but not both\n"})
	case !hasM && !hasF:
		return c.emit(clispec.Outcome{Exit: 1, Stdout: "Please provide a module or file containing blocks to be registered.\n"})
	case hasF:
		return c.emit(clispec.Outcome{Exit: 1, Stdout: "fake prefect: block register -f is not faked\n"})
	}
	n, ok := knownBlockModules[mod]
	if !ok {
		return c.emit(clispec.Outcome{Exit: 1, Stdout: fmt.Sprintf("Unable to load %s. Please make sure the module is installed in your current environment.\n", mod)})
	}
	if matchAny(os.Getenv("FAKE_PREFECT_FAIL"), name) {
		return c.emit(clispec.Outcome{Exit: 1, Stdout: "An exception occurred.\n", Stderr: "Traceback (most recent call last):\nhttpx.ConnectError: All connection attempts failed\n"})
	}
	return c.emit(clispec.Outcome{Stdout: fmt.Sprintf("Successfully registered %d blocks\n\nTo configure the newly registered blocks, go to the Blocks page in the Prefect UI.\n", n)})
}

// DeploymentID is the fake's id for a deployment: derived from flow and name so that
// deploying it again "updates" it under the same id, as the real server does.
func DeploymentID(flow, name string) string {
	h := sha1.Sum([]byte(flow + "/" + name))
	h[6] = h[6]&0x0f | 0x50
	h[8] = h[8]&0x3f | 0x80
	return fmt.Sprintf("%x-%x-%x-%x-%x", h[0:4], h[4:6], h[6:8], h[8:10], h[10:16])
}

var (
	defRe      = regexp.MustCompile(`^(?:async\s+)?def\s+([A-Za-z_][A-Za-z0-9_]*)\s*\(`)
	flowDecoRe = regexp.MustCompile(`^@(?:prefect\.)?flow\s*(?:\(|$)`)
	flowNameRe = regexp.MustCompile(`\bname\s*=\s*(?:"([^"\\]*)"|'([^'\\]*)')`)
)

// loadFlow finds fn in the Python file as Prefect's import would, from its text:
// a top-level def or async def under @flow, @flow(...), @prefect.flow or
// @prefect.flow(...). It returns the flow's name, or the message Prefect prints.
func loadFlow(cwd, fpath, fn string) (string, string) {
	src, err := os.ReadFile(absIn(cwd, fpath))
	if err != nil {
		return "", fmt.Sprintf("Script at %s encountered an exception: FileNotFoundError(2, 'No such file or directory')", pyRepr(fpath))
	}
	var decorators []string
	depth := 0
	for _, line := range strings.Split(string(src), "\n") {
		trimmed := strings.TrimRight(line, " \t\r")
		if depth > 0 {
			decorators[len(decorators)-1] += "\n" + trimmed
			depth += strings.Count(trimmed, "(") - strings.Count(trimmed, ")")
			continue
		}
		switch {
		case strings.HasPrefix(trimmed, "@"):
			decorators = append(decorators, trimmed)
			depth = strings.Count(trimmed, "(") - strings.Count(trimmed, ")")
		case defRe.MatchString(trimmed):
			if defRe.FindStringSubmatch(trimmed)[1] == fn {
				for _, d := range decorators {
					if flowDecoRe.MatchString(d) {
						if m := flowNameRe.FindStringSubmatch(d); m != nil {
							return m[1] + m[2], ""
						}
						return strings.ReplaceAll(fn, "_", "-"), ""
					}
				}
				return "", fmt.Sprintf("Function with name %s is not a flow. Make sure that it is decorated with '@flow'.", pyRepr(fn))
			}
			decorators = nil
		case trimmed == "" || strings.HasPrefix(trimmed, "#") || strings.HasPrefix(line, " ") || strings.HasPrefix(line, "\t"):
		default:
			decorators = nil
		}
	}
	return "", fmt.Sprintf("Flow function with name %s not found in %s.", pyRepr(fn), pyRepr(fpath))
}

func absIn(cwd, p string) string {
	if filepath.IsAbs(p) {
		return filepath.Clean(p)
	}
	return filepath.Join(cwd, p)
}

func inList(list, v string) bool {
	for _, e := range strings.Split(list, ",") {
		if strings.TrimSpace(e) == v {
			return true
		}
	}
	return false
}

func matchAny(globs, name string) bool {
	if globs == "" || name == "" {
		return false
	}
	for _, g := range strings.Split(globs, ",") {
		if ok, _ := path.Match(strings.TrimSpace(g), name); ok {
			return true
		}
	}
	return false
}

func pyRepr(s string) string {
	if strings.Contains(s, "'") && !strings.Contains(s, `"`) {
		return `"` + s + `"`
	}
	return "'" + strings.ReplaceAll(s, "'", `\'`) + "'"
}

// wrap folds lines longer than $COLUMNS at spaces, as rich does on a narrow terminal.
func wrap(s string) string {
	width, err := strconv.Atoi(os.Getenv("COLUMNS"))
	if err != nil || width <= 0 {
		return s
	}
	var out []string
	for _, line := range strings.Split(s, "\n") {
		for len(line) > width {
			cut := strings.LastIndex(line[:width+1], " ")
			if cut <= 0 {
				break
			}
			out = append(out, line[:cut+1])
			line = line[cut+1:]
		}
		out = append(out, line)
	}
	return strings.Join(out, "\n")
}

// burn keeps one core busy for d of this process's CPU time, so that builds compete
// for the CPUs as real Python imports do.
func burn(d time.Duration) {
	start := cpuTime()
	x := 1.0
	for cpuTime()-start < d {
		for i := 0; i < 100000; i++ {
			x = x*1.0000001 + 1e-9
		}
	}
	_ = x
}
