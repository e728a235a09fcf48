package schedule

import "testing"

func BenchmarkCheckCron(b *testing.B) {
	for b.Loop() {
		if err := CheckCron("*/15 9-17 * JAN-MAR mon-fri"); err != nil {
			b.Fatal(err)
		}
	}
}
