package fakedagger

import (
	"context"
	"os"
	"path/filepath"
	"testing"
)

// TestDirExists: which directories an exec's container has, from its image and from
// what the chain did to it. A command that writes into a missing directory fails on a
// real engine, so the handlers that model such commands need this to be right.
func TestDirExists(t *testing.T) {
	host := t.TempDir()
	if err := os.MkdirAll(filepath.Join(host, "flows", "sub"), 0o755); err != nil {
		t.Fatal(err)
	}
	var got *Exec
	_, c := connect(t, WithImageDirs("/opt/prefect"), WithHandler(func(ex Exec) ExecResult {
		if ex.Args[0] == "probe" {
			got = &ex
		}
		return ExecResult{Files: map[string]string{"/var/out/w/result.txt": "x"}}
	}))
	ctr := c.Container().From("python:3.11-slim").
		WithWorkdir("/work/dir").
		WithNewFile("/tmp/batch/runner.py", "print()").
		WithDirectory("/tmp/prefect-deploy", c.Directory()).
		WithDirectory("/src", c.Host().Directory(host)).
		WithMountedCache("/cache/pip", c.CacheVolume("pip")).
		WithExec([]string{"write"}).
		WithExec([]string{"probe"})
	if _, err := ctr.Sync(context.Background()); err != nil {
		t.Fatal(err)
	}
	if got == nil {
		t.Fatal("probe did not run")
	}
	for _, tc := range []struct {
		dir  string
		want bool
	}{
		{"/", true},
		{"/tmp", true},                // every image
		{"/opt/prefect", true},        // WithImageDirs
		{"/work/dir", true},           // withWorkdir
		{"/work", true},               // its parent
		{".", true},                   // relative to the workdir
		{"/tmp/batch", true},          // withNewFile's parent
		{"/tmp/prefect-deploy", true}, // withDirectory of an empty directory
		{"/src/flows/sub", true},      // inside a host directory, present on the host
		{"/src/nope", false},          // inside a host directory, absent on the host
		{"/cache/pip", true},          // mount point
		{"/cache", true},
		{"/var/out/w", true}, // written by an earlier exec
		{"/tmp/prefect-deployx", false},
		{"/tmp/missing", false},
		{"/opt/prefect/flows", false},
		{"missing", false},
	} {
		if g := got.DirExists(tc.dir); g != tc.want {
			t.Errorf("DirExists(%q) = %v, want %v", tc.dir, g, tc.want)
		}
	}
	// A scratch container has only /.
	var scratch *Exec
	_, c2 := connect(t, WithHandler(func(ex Exec) ExecResult { scratch = &ex; return ExecResult{} }))
	if _, err := c2.Container().WithExec([]string{"x"}).Sync(context.Background()); err != nil {
		t.Fatal(err)
	}
	if scratch.DirExists("/tmp") || !scratch.DirExists("/") {
		t.Errorf("scratch: /tmp %v, / %v; want false, true", scratch.DirExists("/tmp"), scratch.DirExists("/"))
	}
}
