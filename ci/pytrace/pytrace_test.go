package pytrace

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

type failureCase struct {
	Name       string   `json:"name"`
	Code       int      `json:"code"`
	Stdout     string   `json:"stdout"`
	Stderr     string   `json:"stderr"`
	StderrFile string   `json:"stderr_file"`
	Error      string   `json:"error"`
	OutputHas  []string `json:"output_has"`
}

func TestFromOutput(t *testing.T) {
	b, err := os.ReadFile(filepath.Join("testdata", "cases.json"))
	if err != nil {
		t.Fatal(err)
	}
	var cases []failureCase
	if err := json.Unmarshal(b, &cases); err != nil {
		t.Fatal(err)
	}
	for _, c := range cases {
		t.Run(c.Name, func(t *testing.T) {
			if c.StderrFile != "" {
				b, err := os.ReadFile(filepath.Join("testdata", c.StderrFile))
				if err != nil {
					t.Fatal(err)
				}
				c.Stderr = string(b)
			}
			f := FromOutput(c.Code, c.Stdout, c.Stderr)
			if f.Error() != c.Error {
				t.Errorf("Error() = %q, want %q", f.Error(), c.Error)
			}
			if strings.Contains(f.Error(), "\n") {
				t.Errorf("Error() spans lines: %q", f.Error())
			}
			for _, want := range c.OutputHas {
				if !strings.Contains(f.Output, want) {
					t.Errorf("Output lacks %q:\n%s", want, f.Output)
				}
			}
			if n := strings.Count(f.Output, "\n") + 1; n > 2*(MaxOutputLines+1)+1 {
				t.Errorf("Output has %d lines, want at most %d per stream", n, MaxOutputLines+1)
			}
			if len(c.OutputHas) == 0 && f.Output != "" {
				t.Errorf("Output = %q, want empty", f.Output)
			}
		})
	}
}
