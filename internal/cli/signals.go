package cli

import (
	"context"
	"fmt"
	"os"
	"syscall"
	"time"

	"github.com/dsqlenv/dsqlenv/pgfile"
)

// signalGrace is how long a signalled run may take to unwind by itself (the cancelled
// context kills a credential_process group, and its failure is reported the usual way)
// before the handler reports the failure and exits anyway.
const signalGrace = 3 * time.Second

// watchSignals is the process's one signal handler, for the whole run: SIGINT, SIGTERM or
// SIGHUP cancel ctx (which kills a running credential_process and everything it started),
// stop every file write (pgfile.AbortWrites removes the temporary files; no rename lands
// after it), and end the run as a failure with status 128+n: `false` for a shell, then one
// line. It returns when done is closed.
func (r *run) watchSignals(sigs <-chan os.Signal, cancel context.CancelFunc, done <-chan struct{}) {
	var s os.Signal
	select {
	case s = <-sigs:
	case <-done:
		return
	}
	r.sigMu.Lock()
	r.signal = s
	r.sigMu.Unlock()
	cancel()
	pgfile.AbortWrites()
	select {
	case <-done: // finish reported it, with signalStatus
		return
	case <-time.After(signalGrace):
	}
	if code, ok := r.end(nil, 0); ok && r.Exit != nil {
		r.Exit(code)
	}
}

// signalled is the error for a run ended by a signal, or nil.
func (r *run) signalled() error {
	r.sigMu.Lock()
	s := r.signal
	r.sigMu.Unlock()
	if s == nil {
		return nil
	}
	n, name := 1, s.String()
	if sig, ok := s.(syscall.Signal); ok {
		n = int(sig)
		switch sig {
		case syscall.SIGINT:
			name = "SIGINT"
		case syscall.SIGTERM:
			name = "SIGTERM"
		case syscall.SIGHUP:
			name = "SIGHUP"
		}
	}
	return &codedError{msg: fmt.Sprintf("stopped by %s: nothing was written", name), code: 128 + n}
}
