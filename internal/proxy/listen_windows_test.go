package proxy

import (
	"path/filepath"
	"strings"
	"testing"
)

// TestListenUnixRefusedOnWindows: on Windows the proxy listens on loopback TCP only, and says so.
func TestListenUnixRefusedOnWindows(t *testing.T) {
	ln, err := ListenUnix(filepath.Join(t.TempDir(), ".s.PGSQL.5432"))
	if err == nil {
		ln.Close()
		t.Fatal("ListenUnix listened on Windows")
	}
	if !strings.Contains(err.Error(), "listen on a loopback TCP port") {
		t.Errorf("error %q does not name the way out", err)
	}
}
