package profiles

import (
	"strings"
	"testing"
)

// The fuzz targets start from the committed corpus in testdata/fuzz/<target>.

// FuzzParse: any bytes give a File or one error line naming the file; never a panic. Every
// profile of a File that parses resolves or fails with one line naming the file.
func FuzzParse(f *testing.F) {
	f.Fuzz(func(t *testing.T, data []byte) {
		got, err := Parse("p.yaml", data)
		if err != nil {
			if msg := err.Error(); !strings.HasPrefix(msg, "p.yaml") || strings.Contains(msg, "\n") {
				t.Fatalf("error %q: want one line starting with the file name", msg)
			}
			return
		}
		for _, name := range got.Names() {
			if _, err := got.Resolve(name, "/home/u"); err != nil && strings.Contains(err.Error(), "\n") {
				t.Fatalf("resolve %s: error %q is not one line", name, err)
			}
		}
	})
}
