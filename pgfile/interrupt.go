package pgfile

import (
	"os"
	"os/signal"
	"sync"
	"syscall"
)

// temps holds the temporary files of the writes in progress, so that SIGINT, SIGTERM or
// SIGHUP (Ctrl+C, kill, a closed terminal) during a write removes them before the process
// ends: without a handler the process would die with the file still on disk. Signals are
// caught only while a write is in progress; the handler removes every temporary file and then
// re-raises the signal (reraise), so the process ends exactly as it would have without
// dsqlenv's handler, minus the litter. SIGKILL cannot be caught: its leftovers are harmless
// (mode 0600, a name no reader looks at).
var temps = &tempFiles{files: map[string]bool{}}

// interruptSignals are the signals whose default action ends the process while a write is
// in progress. A signal the process was started with ignored (SIGINT for `dsqlenv … &` in a
// script, SIGHUP under nohup) stays ignored: signal.Notify would install a handler for it.
var interruptSignals = []os.Signal{os.Interrupt, syscall.SIGTERM, syscall.SIGHUP}

type tempFiles struct {
	mu     sync.Mutex
	files  map[string]bool
	active int // writes in progress
	sigs   chan os.Signal
	done   chan struct{}
}

// begin starts catching the signals for a write; end stops once no write is in progress.
func (t *tempFiles) begin() {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.active++
	if t.active > 1 {
		return
	}
	t.sigs, t.done = make(chan os.Signal, 1), make(chan struct{})
	for _, s := range interruptSignals {
		if !signal.Ignored(s) {
			signal.Notify(t.sigs, s)
		}
	}
	go func(sigs chan os.Signal, done chan struct{}) {
		select {
		case s := <-sigs:
			t.die(s)
		case <-done:
		}
	}(t.sigs, t.done)
}

func (t *tempFiles) end() {
	t.mu.Lock()
	t.active--
	if t.active > 0 {
		t.mu.Unlock()
		return
	}
	sigs := t.sigs
	signal.Stop(sigs)
	close(t.done)
	t.mu.Unlock()
	// A signal that arrived while the watcher was already leaving is still owed its default.
	select {
	case s := <-sigs:
		t.die(s)
	default:
	}
}

// die removes every temporary file and re-raises s. It keeps the lock, so no rename or
// create runs between the removal and the end of the process.
func (t *tempFiles) die(s os.Signal) {
	t.mu.Lock()
	for name := range t.files {
		os.Remove(name)
	}
	reraise(s)
}

// create makes the temporary file in dir, mode 0600 from the start (os.CreateTemp), and
// registers it under the lock, so a signal cannot fall between its creation and its
// registration.
func (t *tempFiles) create(dir, pattern string) (*os.File, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	f, err := os.CreateTemp(dir, pattern)
	if err == nil {
		t.files[f.Name()] = true
	}
	return f, err
}

// rename moves a registered temporary file into place and forgets it.
func (t *tempFiles) rename(tmp, path string) error {
	t.mu.Lock()
	defer t.mu.Unlock()
	err := os.Rename(tmp, path)
	if err == nil {
		delete(t.files, tmp)
	}
	return err
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
