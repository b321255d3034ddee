package profiles

import (
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

// The fuzz targets start from the committed corpus in testdata/fuzz/<target>.

// FuzzParse: any bytes give a File or one error line naming the file; never a panic. Every
// File that parses survives the cache unchanged.
func FuzzParse(f *testing.F) {
	f.Fuzz(func(t *testing.T, data []byte) {
		got, err := Parse("p.yaml", data)
		if err != nil {
			if msg := err.Error(); !strings.HasPrefix(msg, "p.yaml") || strings.Contains(msg, "\n") {
				t.Fatalf("error %q: want one line starting with the file name", msg)
			}
			return
		}
		dir := t.TempDir()
		cpath := filepath.Join(dir, "c.cache")
		if err := writeCache(dir, cpath, "key", got); err != nil {
			t.Fatal(err)
		}
		back, err := readCache(cpath, "key")
		if err != nil {
			t.Fatalf("the cache of a parsed file does not read back: %v", err)
		}
		back.Path = got.Path
		if !reflect.DeepEqual(back, got) {
			t.Fatalf("cache round trip changed the file:\n got %+v\nwant %+v", back, got)
		}
	})
}

// FuzzReadCache: a damaged cache file is refused, never a panic and never half-read.
func FuzzReadCache(f *testing.F) {
	f.Fuzz(func(t *testing.T, data []byte) {
		p := filepath.Join(t.TempDir(), "c")
		os.WriteFile(p, data, 0o600)
		got, err := readCache(p, "key")
		if err == nil && (got == nil || len(got.Profiles) == 0) {
			t.Fatalf("readCache accepted %q without profiles", data)
		}
	})
}
