package fakedagger

import (
	"context"
	"strconv"
	"testing"
)

// BenchmarkExecMiss is one SDK query whose exec is not cached (a new
// cache buster each time): parse, validate, fold the chain, call the handler.
func BenchmarkExecMiss(b *testing.B) {
	ctx := context.Background()
	srv := Start(b)
	client, err := srv.Connect(ctx)
	if err != nil {
		b.Fatal(err)
	}
	base := client.Container().From("alpine").WithSecretVariable("KEY", client.SetSecret("key", "v"))
	b.ResetTimer()
	for i := range b.N {
		if _, err := base.WithEnvVariable("CACHEBUSTER", strconv.Itoa(i)).WithExec([]string{"echo", "hi"}).Stdout(ctx); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkExecHit is the same query answered from the cache.
func BenchmarkExecHit(b *testing.B) {
	ctx := context.Background()
	srv := Start(b)
	client, err := srv.Connect(ctx)
	if err != nil {
		b.Fatal(err)
	}
	c := client.Container().From("alpine").WithEnvVariable("CACHEBUSTER", "x").WithExec([]string{"echo", "hi"})
	b.ResetTimer()
	for range b.N {
		if _, err := c.Stdout(ctx); err != nil {
			b.Fatal(err)
		}
	}
	if n := srv.ExecCalls("echo", "hi"); n != 1 {
		b.Fatalf("handler calls = %d, want 1", n)
	}
}
