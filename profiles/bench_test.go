package profiles

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// manyProfiles is a profiles file with n profiles of a few fields each.
func manyProfiles(n int) []byte {
	var b strings.Builder
	b.WriteString("defaults:\n  user: admin\n  expires_in: 30m\nprofiles:\n")
	for i := range n {
		fmt.Fprintf(&b, "  p%04d:\n    endpoint: cluster%04d.dsql.us-east-1.on.aws\n    application_name: bench-%d\n    connect_timeout: 10\n", i, i, i)
	}
	return []byte(b.String())
}

func BenchmarkParse(b *testing.B) {
	for _, n := range []int{1, 1000} {
		data := manyProfiles(n)
		b.Run(fmt.Sprintf("profiles=%d", n), func(b *testing.B) {
			b.ReportAllocs()
			b.SetBytes(int64(len(data)))
			for b.Loop() {
				f, err := Parse("bench.yaml", data)
				if err != nil || len(f.Profiles) != n {
					b.Fatal(err)
				}
			}
		})
	}
}

func BenchmarkParseAndResolve1000(b *testing.B) {
	data := manyProfiles(1000)
	b.ReportAllocs()
	for b.Loop() {
		f, err := Parse("bench.yaml", data)
		if err != nil {
			b.Fatal(err)
		}
		if _, err := f.Resolve("p0500", "/home/u"); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkLoad1000 is the path a re-mint takes with a 1,000-profile file: read and parse it.
func BenchmarkLoad1000(b *testing.B) {
	path := filepath.Join(b.TempDir(), "p.yaml")
	if err := os.WriteFile(path, manyProfiles(1000), 0o600); err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		f, err := Load(path)
		if err != nil || len(f.Profiles) != 1000 {
			b.Fatal(err)
		}
	}
}
