package pipeline

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/acme-data/prefect-flows/ci/deploycli"
)

// The README's "## The pipeline" lists the steps in the order deploySteps runs them, and
// no step is named after the live plan: `plan` is the diff against the server
// (prefect-deploy plan, mage plan, dagger call plan), and a step that loads and validates
// the file called plan would say otherwise in every log line, summary row and error.
func TestStepNames(t *testing.T) {
	readme, err := os.ReadFile("../../README.md")
	if err != nil {
		t.Fatal(err)
	}
	listed, err := readmeSteps(string(readme))
	if err != nil {
		t.Fatal(err)
	}
	run := stepNames(deploySteps)
	livePlan := livePlanCommands(t)
	for _, p := range checkSteps(listed, run, livePlan) {
		t.Error(p)
	}
	// The image-only run is the deploy's steps it needs, in the same order.
	img := stepNames(imageSteps)
	i := 0
	for _, name := range run {
		if i < len(img) && img[i] == name {
			i++
		}
	}
	if i != len(img) {
		t.Errorf("imageSteps %v are not deploySteps %v in their order", img, run)
	}
}

// checkSteps holds a README step list and a pipeline's step names to the rules above:
// each case is a README under testdata/steps and the steps of a pipeline.
func TestCheckSteps(t *testing.T) {
	steps := []string{"validate", "image", "pools", "report"}
	for _, tc := range []struct {
		readme string
		steps  []string
		want   []string // one substring per problem, in order; none when they agree
	}{
		{"agrees.md", steps, nil},
		{"plan.md", steps, []string{
			`README.md: step 1 is called "plan", the live plan's name`,
			`README.md lists the steps [plan image report], the pipeline runs [validate image pools report]`,
		}},
		{"agrees.md", []string{"plan", "image", "pools", "report"}, []string{
			`pipeline: step 1 is called "plan", the live plan's name`,
			`README.md lists the steps [validate image pools report], the pipeline runs [plan image pools report]`,
		}},
		{"order.md", steps, []string{"README.md lists the steps [validate report image], the pipeline runs [validate image pools report]"}},
		{"agrees.md", []string{"validate", "image", "pools", "image", "report"}, []string{
			`pipeline: step 4 is called "image" like step 2`,
			"README.md lists the steps",
		}},
	} {
		t.Run(tc.readme+"/"+strings.Join(tc.steps, ","), func(t *testing.T) {
			readme, err := os.ReadFile(filepath.Join("testdata", "steps", tc.readme))
			if err != nil {
				t.Fatal(err)
			}
			listed, err := readmeSteps(string(readme))
			if err != nil {
				t.Fatal(err)
			}
			got := checkSteps(listed, tc.steps, []string{"plan"})
			if len(got) != len(tc.want) {
				t.Fatalf("problems:\n%s\nwant %d: %q", strings.Join(got, "\n"), len(tc.want), tc.want)
			}
			for i, w := range tc.want {
				if !strings.Contains(got[i], w) {
					t.Errorf("problem %d = %q, want it to contain %q", i+1, got[i], w)
				}
			}
		})
	}
	if _, err := readmeSteps(mustRead(t, filepath.Join("testdata", "steps", "nolist.md"))); err == nil || !strings.Contains(err.Error(), "no numbered list of steps") {
		t.Errorf("a pipeline section without its list: err = %v", err)
	}
}

func mustRead(t *testing.T, path string) string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func stepNames(steps []Step) []string {
	names := make([]string, len(steps))
	for i, s := range steps {
		names[i] = stepName(s)
	}
	return names
}

var (
	numberedItem = regexp.MustCompile(`^\d+\. `)
	boldName     = regexp.MustCompile(`\*\*([a-z][a-z-]*)\*\*`)
)

// readmeSteps is every bold name in the numbered list of README's "## The pipeline", in
// order: an item opens with its step's name, and the pools step (Prefect 3's stand-in for
// register) is bold inside register's item.
func readmeSteps(readme string) ([]string, error) {
	_, sec, ok := strings.Cut(readme, "\n## The pipeline\n")
	if !ok {
		return nil, fmt.Errorf("README.md has no ## The pipeline section")
	}
	sec, _, _ = strings.Cut(sec, "\n#")
	var names []string
	inList := false
	for _, line := range strings.Split(sec, "\n") {
		if numberedItem.MatchString(line) {
			inList = true
		} else if !inList || !strings.HasPrefix(line, " ") {
			if inList {
				break
			}
			continue
		}
		for _, m := range boldName.FindAllStringSubmatch(line, -1) {
			names = append(names, m[1])
		}
	}
	if len(names) == 0 {
		return nil, fmt.Errorf("README.md's ## The pipeline has no numbered list of steps (1. **name**: ...)")
	}
	return names, nil
}

// checkSteps says what is wrong with the README's step list and the pipeline's steps:
// a step named after the live plan, a name used twice, the two lists disagreeing.
func checkSteps(readme, run, livePlan []string) []string {
	var probs []string
	for _, l := range []struct {
		where string
		names []string
	}{{"README.md", readme}, {"pipeline", run}} {
		for i, name := range l.names {
			if slices.Contains(livePlan, name) {
				probs = append(probs, fmt.Sprintf("%s: step %d is called %q, the live plan's name (the diff against the server): name the step for what it does", l.where, i+1, name))
			}
			if j := slices.Index(l.names, name); j < i {
				probs = append(probs, fmt.Sprintf("%s: step %d is called %q like step %d: the summary could not tell them apart", l.where, i+1, name, j+1))
			}
		}
	}
	if !slices.Equal(readme, run) {
		probs = append(probs, fmt.Sprintf("README.md lists the steps %v, the pipeline runs %v: the README's ## The pipeline must list them in pipeline.go's order", readme, run))
	}
	return probs
}

// livePlanCommands are the prefect-deploy commands that diff against the server, found
// by asking each command of its usage for its flags: those with --detailed-exitcode
// (mage plan and dagger call plan run `prefect-deploy plan`).
func livePlanCommands(t *testing.T) []string {
	t.Helper()
	var usage, stderr bytes.Buffer
	if code := deploycli.Main(context.Background(), []string{"help"}, &usage, &stderr, nil); code != 0 {
		t.Fatalf("prefect-deploy help: exit %d: %s", code, stderr.String())
	}
	var plan []string
	for _, line := range strings.Split(usage.String(), "\n") {
		cmd, ok := strings.CutPrefix(strings.TrimSpace(line), "prefect-deploy ")
		if !ok {
			continue
		}
		cmd, _, _ = strings.Cut(cmd, " ")
		var out bytes.Buffer
		deploycli.Main(context.Background(), []string{cmd, "-h"}, &out, &out, nil)
		if strings.Contains(out.String(), "-detailed-exitcode") {
			plan = append(plan, cmd)
		}
	}
	if !slices.Contains(plan, "plan") {
		t.Fatalf("prefect-deploy's commands with -detailed-exitcode are %v, want plan among them (the live plan): the test no longer finds it", plan)
	}
	return plan
}
