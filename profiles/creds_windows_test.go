package profiles

import (
	"path/filepath"
	"strings"
	"testing"

	"golang.org/x/sys/windows"
)

// TestWindowsTaskkillIsTheSystemOne: the taskkill.exe that ends a credential_process's tree
// is the one in the system directory whatever the environment says: with %SystemRoot% left
// out (a parent that passes a bare environment) or pointed at the current directory, a path
// built from it would run a taskkill.exe planted there.
func TestWindowsTaskkillIsTheSystemOne(t *testing.T) {
	sys, err := windows.GetSystemDirectory()
	if err != nil {
		t.Fatal(err)
	}
	want := filepath.Join(sys, "taskkill.exe")
	for _, root := range []string{"", "."} {
		t.Setenv("SystemRoot", root)
		if got := taskkill(); !strings.EqualFold(got, want) {
			t.Errorf("SystemRoot=%q: taskkill() = %s, want %s", root, got, want)
		}
	}
}
