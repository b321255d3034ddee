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
	for {
		select {
		case s = <-sigs:
		case <-done:
			return
		}
		r.sigMu.Lock()
		h := r.onSignal
		if h == nil {
			r.signal = s
		}
		r.sigMu.Unlock()
		if h == nil {
			break
		}
		h(s) // a long-running command's own handling (proxy)
	}
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

// takeSignals hands every later signal to h instead: a command that runs until it is told
// to stop (proxy) ends on its own terms.
func (r *run) takeSignals(h func(os.Signal)) {
	r.sigMu.Lock()
	r.onSignal = h
	r.sigMu.Unlock()
}

// signalled is the error for a run ended by a signal, or nil.
func (r *run) signalled() error {
	r.sigMu.Lock()
	s := r.signal
	r.sigMu.Unlock()
	if s == nil {
		return nil
	}
	n := 1
	if sig, ok := s.(syscall.Signal); ok {
		n = int(sig)
	}
	return &codedError{msg: fmt.Sprintf("stopped by %s: nothing was written", signalName(s)), code: 128 + n}
}

// signalName is SIGINT, SIGTERM or SIGHUP, or Go's name for another signal.
func signalName(s os.Signal) string {
	switch s {
	case syscall.SIGINT:
		return "SIGINT"
	case syscall.SIGTERM:
		return "SIGTERM"
	case syscall.SIGHUP:
		return "SIGHUP"
	}
	return s.String()
}
