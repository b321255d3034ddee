package pgfile

import (
	"fmt"
	"strings"
	"testing"
)

// BenchmarkMergeService replaces one section of a 1,000-section service file, as
// `dsqlenv service prod` does in a big shared file, and rewrites all of them.
func BenchmarkMergeService(b *testing.B) {
	var file strings.Builder
	var all []Section
	for i := range 1000 {
		name := fmt.Sprintf("svc%04d", i)
		fmt.Fprintf(&file, "# service %d\n[%s]\nhost=cluster%04d.dsql.us-east-1.on.aws\nport=5432\ndbname=postgres\nuser=admin\nsslmode=verify-full\n\n", i, name, i)
		all = append(all, Section{Name: name, Keys: []KV{{"host", "new.dsql.us-east-1.on.aws"}, {"port", "5432"}, {"sslmode", "verify-full"}}})
	}
	data := []byte(file.String())
	for _, tc := range []struct {
		name     string
		sections []Section
	}{{"one", all[500:501]}, {"all", all}} {
		b.Run(tc.name, func(b *testing.B) {
			b.ReportAllocs()
			b.SetBytes(int64(len(data)))
			for b.Loop() {
				out, _, err := MergeService(data, tc.sections, false, true)
				if err != nil || len(out) == 0 {
					b.Fatal(err)
				}
			}
		})
	}
}
