package pgfile

import (
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"golang.org/x/sys/windows"
)

// holdOpen opens path the way an editor, an indexer or a virus scanner does: shared for
// reading and writing but not for delete, so Windows refuses a rename over it while it is open.
func holdOpen(t *testing.T, path string) (release func()) {
	t.Helper()
	p, err := windows.UTF16PtrFromString(path)
	if err != nil {
		t.Fatal(err)
	}
	h, err := windows.CreateFile(p, windows.GENERIC_READ, windows.FILE_SHARE_READ|windows.FILE_SHARE_WRITE, nil,
		windows.OPEN_EXISTING, windows.FILE_ATTRIBUTE_NORMAL, 0)
	if err != nil {
		t.Fatal(err)
	}
	var once sync.Once
	release = func() { once.Do(func() { windows.CloseHandle(h) }) }
	t.Cleanup(release)
	return release
}

// withSleep replaces the pause between rename attempts for the test.
func withSleep(t *testing.T, f func(time.Duration)) {
	old := sleep
	sleep = f
	t.Cleanup(func() { sleep = old })
}

// leftBehind lists the temporary files in dir.
func leftBehind(t *testing.T, dir string) []string {
	t.Helper()
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var temps []string
	for _, e := range entries {
		if strings.Contains(e.Name(), ".tmp-") {
			temps = append(temps, e.Name())
		}
	}
	return temps
}

// TestReplaceWaitsForAFileHeldOpen: a file held open for a moment is replaced once it is let
// go. The hold ends at the first pause between attempts, so no clock is involved.
func TestReplaceWaitsForAFileHeldOpen(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, ".pg_service.conf")
	os.WriteFile(path, []byte("[a]\nhost=1\n"), 0o600)
	release := holdOpen(t, path)
	pauses := 0
	withSleep(t, func(time.Duration) { pauses++; release() })
	if _, err := Edit(testLocks(t), path, 0o600, mergeProd); err != nil {
		t.Fatalf("replacing a file held for a moment: %v", err)
	}
	if pauses == 0 {
		t.Fatal("the first rename went through the hold: this test proves nothing here")
	}
	if b, _ := os.ReadFile(path); !strings.HasPrefix(string(b), "[a]\nhost=1\n") || !strings.Contains(string(b), "[prod]") {
		t.Errorf("content %q", b)
	}
	if temps := leftBehind(t, dir); len(temps) > 0 {
		t.Errorf("temporary files left behind: %v", temps)
	}
}

// TestReplaceOfAFileHeldTooLongFailsCleanly: held past the retries, the replace fails with
// one line naming the file, having waited renameRetry; the file is unchanged and nothing is
// left behind. The hold ends only after Edit returned.
func TestReplaceOfAFileHeldTooLongFailsCleanly(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, ".pg_service.conf")
	orig := "[a]\nhost=1\n"
	os.WriteFile(path, []byte(orig), 0o600)
	release := holdOpen(t, path)
	var waited time.Duration
	withSleep(t, func(d time.Duration) { waited += d })
	_, err := Edit(testLocks(t), path, 0o600, mergeProd)
	release()
	if err == nil || !strings.HasPrefix(err.Error(), "cannot replace "+path+": ") || !strings.HasSuffix(err.Error(), "(the file is unchanged)") {
		t.Fatalf("error %v, want cannot replace %s: … (the file is unchanged)", err, path)
	}
	if waited < renameRetry || waited > renameRetry+time.Second {
		t.Errorf("gave up after %s of pauses, want about %s", waited, renameRetry)
	}
	if b, _ := os.ReadFile(path); string(b) != orig {
		t.Errorf("the file changed: %q", b)
	}
	if temps := leftBehind(t, dir); len(temps) > 0 {
		t.Errorf("temporary files left behind: %v", temps)
	}
}
