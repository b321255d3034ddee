package pgfile

import (
	"errors"
	"fmt"
	"os"
	"sync"
)

// temps holds the temporary files of the writes in progress, so that a signal (Ctrl+C, kill,
// a closed terminal) during a write can remove them before the process ends: the process's
// one signal handler (internal/cli) calls AbortWrites and then exits. SIGKILL cannot be
// caught: its leftovers are harmless (mode 0600, a name no reader looks at).
var temps = &tempFiles{files: map[string]bool{}}

type tempFiles struct {
	mu      sync.Mutex
	files   map[string]bool // full paths
	aborted bool
}

// errAborted is what a write gets once AbortWrites ran: the process is ending.
var errAborted = errors.New("interrupted")

// AbortWrites removes the temporary files of every write in progress, and makes every later
// create or rename fail, so that no file lands once the process is ending. A signal handler
// calls it before it exits; it returns at once.
func AbortWrites() {
	temps.mu.Lock()
	defer temps.mu.Unlock()
	temps.aborted = true
	for name := range temps.files {
		os.Remove(name)
		delete(temps.files, name)
	}
}

// discard removes a temporary file that was not renamed (after a failure).
func (t *tempFiles) discard(tmp string) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.files[tmp] {
		os.Remove(tmp)
		delete(t.files, tmp)
	}
}

// UnsafeDirError refuses to write into a directory that someone else owns or can write.
type UnsafeDirError struct {
	Dir string
	Why string
}

func (e *UnsafeDirError) Error() string {
	return fmt.Sprintf("the directory %s %s: dsqlenv writes only into a directory of your own that no one else can write (as root with another user's HOME or XDG_DATA_HOME, which sudo -E and su without - keep? use sudo -i or su -, or point XDG_DATA_HOME at a directory of your own)", e.Dir, e.Why)
}
