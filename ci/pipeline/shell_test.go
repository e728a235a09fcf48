package pipeline

import (
	"os/exec"
	"testing"
)

func TestShellJoin(t *testing.T) {
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"prefect", "deployment", "build", "flows/a.py:f"}, "prefect deployment build flows/a.py:f"},
		{[]string{"--cron", "0 6 * * *"}, "--cron '0 6 * * *'"},
		{[]string{"-d", "it's"}, `-d 'it'\''s'`},
		{[]string{"--params", `{"a":[1,2]}`}, `--params '{"a":[1,2]}'`},
		{[]string{""}, "''"},
		{[]string{"$HOME", "a;b", "x`y`"}, `'$HOME' 'a;b' 'x` + "`y`'"},
	} {
		if got := ShellJoin(tc.args); got != tc.want {
			t.Errorf("ShellJoin(%q) = %s, want %s", tc.args, got, tc.want)
		}
	}
}

// A printed command must give back the same argv when a shell reads it.
func TestShellJoinRoundTrip(t *testing.T) {
	sh, err := exec.LookPath("sh")
	if err != nil {
		t.Skip("no sh to check the quoting against")
	}
	args := []string{"0 6 * * *", "it's", `{"a":"b c"}`, "", "$X", "a\nb", `back\slash`, "é"}
	script := "for a in " + ShellJoin(args) + `; do printf '%s\0' "$a"; done`
	out, err := exec.Command(sh, "-c", script).Output()
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	start := 0
	for i, c := range out {
		if c == 0 {
			got = append(got, string(out[start:i]))
			start = i + 1
		}
	}
	if len(got) != len(args) {
		t.Fatalf("shell read %d args, want %d: %q", len(got), len(args), got)
	}
	for i := range args {
		if got[i] != args[i] {
			t.Errorf("arg %d: shell read %q, want %q", i, got[i], args[i])
		}
	}
}
