package pipeline

import (
	"os"
	"testing"
)

// testOwner is the owner every test runs as: without it the owner would come from the
// machine (GITHUB_REPOSITORY, the checkout's git remote), and a fork's CI would see
// different ownership tags from the golden files'.
const testOwner = "acme-data/prefect-flows"

func TestMain(m *testing.M) {
	os.Setenv("PREFECT_OWNER", testOwner)
	os.Exit(m.Run())
}
