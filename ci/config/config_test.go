package config

import (
	"encoding/json"
	"fmt"
	"maps"
	"os"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"

	"dagger.io/dagger"
)

type fromEnvCase struct {
	Name    string            `json:"name"`
	Env     string            `json:"env"`
	Base    string            `json:"base"`
	Dir     string            `json:"dir"`
	Vars    map[string]string `json:"vars"`
	WantErr string            `json:"wantErr"`
	Want    map[string]string `json:"want"`
}

func loadCases(t *testing.T) []fromEnvCase {
	t.Helper()
	b, err := os.ReadFile("testdata/fromenv.json")
	if err != nil {
		t.Fatal(err)
	}
	var f struct {
		Bases map[string]map[string]string `json:"bases"`
		Cases []fromEnvCase                `json:"cases"`
	}
	if err := json.Unmarshal(b, &f); err != nil {
		t.Fatalf("testdata/fromenv.json: %v", err)
	}
	for i, tc := range f.Cases {
		vars := maps.Clone(f.Bases[tc.Base])
		if vars == nil {
			vars = map[string]string{}
		}
		maps.Copy(vars, tc.Vars)
		f.Cases[i].Vars = vars
	}
	return f.Cases
}

// view flattens what the cases can ask about, defaults included.
func view(c Config) map[string]string {
	return map[string]string{
		"Embedded": strconv.FormatBool(c.Embedded()), "Registry": c.Registry, "Concurrency": strconv.Itoa(c.Concurrency),
		"Runner": c.Runner, "DeployRunner": c.DeployRunner(), "DeployConcurrency": strconv.Itoa(c.DeployConcurrency()),
		"DeployTimeout": c.DeployTimeout().String(), "Repository": c.Repository(), "Owner": c.Owner,
		"ECS.CPU": c.ECS.CPU, "ECS.Memory": c.ECS.Memory, "Prune": strconv.FormatBool(c.Prune), "TakeOver": strconv.FormatBool(c.TakeOver),
		"DaggerProgress": c.DaggerProgress, "LogGroups": strconv.FormatBool(c.LogGroups),
		"AllowUnpublishedImage": strconv.FormatBool(c.AllowUnpublishedImage), "GitSHA": c.GitSHA,
		"Only": strings.Join(c.Only, "|"), "StepSummaryPath": c.StepSummaryPath, "BaseImage": c.BaseImage,
		"RegistryUsername": c.RegistryUsername, "WorkPoolType": c.WorkPoolType(),
		"PoolAnyType": strconv.FormatBool(c.PoolAnyType), "PoolUpdateTemplate": strconv.FormatBool(c.PoolUpdateTemplate),
	}
}

func TestFromEnv(t *testing.T) {
	for _, tc := range loadCases(t) {
		t.Run(tc.Name, func(t *testing.T) {
			dir := "/repo"
			if tc.Dir != "" {
				dir = tc.Dir
			}
			c, err := FromEnv(tc.Env, dir, func(k string) string { return tc.Vars[k] })
			if tc.WantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.WantErr) {
					t.Fatalf("err = %v, want %q", err, tc.WantErr)
				}
				if strings.Contains(err.Error(), "\n") {
					t.Errorf("error is not one line: %q", err)
				}
				if strings.Contains(err.Error(), "pw@") {
					t.Errorf("error echoes the secret value: %q", err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			got := view(c)
			for k, want := range tc.Want {
				g, ok := got[k]
				if !ok {
					t.Fatalf("testdata/fromenv.json: %q asks about %s, which view does not show", tc.Name, k)
				}
				if g != want {
					t.Errorf("%s = %q, want %q", k, g, want)
				}
			}
		})
	}
}

// TestModuleRouteAgrees: the Dagger module fills the same type with Dagger secrets
// (their plaintext unknown here) and goes through the same Check, so it refuses the
// same configurations with the same words. The one rule it cannot apply is the URL's
// scheme: that needs the plaintext.
func TestModuleRouteAgrees(t *testing.T) {
	asModule := func(c Config) Config {
		for _, s := range c.secrets() {
			if s.s.Set() {
				*s.s = FromDagger(&dagger.Secret{})
			}
		}
		return c
	}
	n := 0
	for _, tc := range loadCases(t) {
		c, err := parse(tc.Env, "/repo", func(k string) string { return tc.Vars[k] })
		if err != nil {
			continue // a value that does not parse: the module's arguments are typed
		}
		envErr, modErr := c.Check(), asModule(c).Check()
		if strings.Contains(fmt.Sprint(envErr), "does not start with http") {
			continue
		}
		n++
		if fmt.Sprint(envErr) != fmt.Sprint(modErr) {
			t.Errorf("%s:\n  environment: %v\n  module:      %v", tc.Name, envErr, modErr)
		}
	}
	if n < 20 {
		t.Errorf("only %d cases compared", n)
	}
}

func TestCheckDeploy(t *testing.T) {
	c := Config{Env: "prod", SourceDir: "/repo", PrefectAPIURL: Plaintext("https://x/api")}
	want := "REGISTRY is not set: the image would not be published, yet the infrastructure blocks on PREFECT_API_URL would name prefect-flows:prod"
	if err := c.CheckDeploy(); err == nil || !strings.HasPrefix(err.Error(), want) {
		t.Errorf("err = %v, want %q", err, want)
	}
	for _, ok := range []Config{
		{Env: "dev", SourceDir: "/repo"},
		{Env: "prod", SourceDir: "/repo", PrefectAPIURL: Plaintext("https://x/api"), AllowUnpublishedImage: true},
		{Env: "prod", SourceDir: "/repo", PrefectAPIURL: FromDagger(&dagger.Secret{}), Registry: "ghcr.io"},
	} {
		if err := ok.CheckDeploy(); err != nil {
			t.Errorf("%+v: %v", ok, err)
		}
	}
}

func TestSecretsDoNotPrint(t *testing.T) {
	c := Config{PrefectAPIKey: Plaintext("pnu_abcdef"), RegistryPassword: Plaintext("tok-123456"), AWSSecretAccessKey: Plaintext("aws-abcdef")}
	for _, format := range []string{"%v", "%+v", "%#v", "%s"} {
		out := fmt.Sprintf(format, c)
		for _, secret := range []string{"pnu_abcdef", "tok-123456", "aws-abcdef"} {
			if strings.Contains(out, secret) {
				t.Errorf("%s of Config shows a secret: %s", format, out)
			}
		}
	}
	if got := c.Plaintexts(); !slices.Equal(got, []string{"tok-123456", "pnu_abcdef", "aws-abcdef"}) {
		t.Errorf("Plaintexts = %d values", len(got))
	}
}

func TestPlaintextNeedsBind(t *testing.T) {
	defer func() {
		if recover() == nil {
			t.Error("a plaintext secret reached Dagger() unbound")
		}
	}()
	Plaintext("x").Dagger()
}

// TestEveryReadmeRowIsRead: every variable of the README's configuration table is read
// by FromEnv or ImageEnv (the module's routes are checked by ci/pipeline's module test),
// so the table and the one type cannot drift apart.
func TestEveryReadmeRowIsRead(t *testing.T) {
	readme, err := os.ReadFile("../../README.md")
	if err != nil {
		t.Fatal(err)
	}
	_, sec, ok := strings.Cut(string(readme), "\n## Configuration\n")
	if !ok {
		t.Fatal("README.md has no ## Configuration section")
	}
	sec, _, _ = strings.Cut(sec, "\n## ")
	name := regexp.MustCompile("`([A-Z][A-Z0-9_]*(?:<ENV>)?)`")
	var rows []string
	for _, line := range strings.Split(sec, "\n") {
		if cell, _, ok := strings.Cut(strings.TrimPrefix(line, "| "), " |"); ok && strings.HasPrefix(line, "| `") {
			for _, m := range name.FindAllStringSubmatch(cell, -1) {
				rows = append(rows, m[1])
			}
		}
	}
	if len(rows) < 20 {
		t.Fatalf("README.md's configuration table has %d names; the parse is broken", len(rows))
	}
	read := map[string]bool{}
	getenv := func(k string) string { read[k] = true; return "" }
	if _, err := FromEnv("dev", "/repo", getenv); err != nil {
		t.Fatal(err)
	}
	ImageEnv(getenv)
	for _, r := range rows {
		if strings.HasSuffix(r, "<ENV>") {
			continue // mage planPR's per-environment APIs (ci/prplan)
		}
		if !read[r] {
			t.Errorf("README.md configuration row %s is not read by config.FromEnv", r)
		}
	}
}
