// Command prefect is the fake Prefect CLI the tests build; see package fakeprefect.
package main

import (
	"os"

	"github.com/acme-data/prefect-flows/ci/internal/fakeprefect"
)

func main() {
	os.Exit(fakeprefect.Main(os.Args[1:]))
}
