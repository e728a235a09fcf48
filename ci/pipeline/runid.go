package pipeline

import (
	"crypto/rand"
	"encoding/hex"
	"time"
)

// newRunID is unique per invocation: the time alone could repeat across two machines
// sharing one engine cache.
func newRunID() string {
	var b [6]byte
	_, _ = rand.Read(b[:])
	return time.Now().UTC().Format("20060102T150405.000000000Z") + "-" + hex.EncodeToString(b[:])
}
