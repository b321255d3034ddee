package profiles

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"os"
	"strings"
	"sync"
	"time"

	"golang.org/x/term"

	"github.com/dsqlenv/dsqlenv/internal/text"
)

// NoTerminalError is an MFA code that could not be asked for: the terminal could not be
// opened (a pipe, CI, a service). CredentialsError says what to run instead.
type NoTerminalError struct {
	Serial string // mfa_serial
	Device string // the terminal tried: /dev/tty, CONIN$
	Err    error
}

func (e *NoTerminalError) Error() string {
	return fmt.Sprintf("an MFA code for %s is needed and there is no terminal to ask on (%s: %v)", e.Serial, e.Device, e.Err)
}

func (e *NoTerminalError) Unwrap() error { return e.Err }

// askMFA asks for the code of the MFA device serial on the controlling terminal, as the AWS
// CLI does (botocore: "Enter MFA code for <serial>: "), naming the AWS profile too. It never
// reads stdin or writes stdout: under eval "$(dsqlenv bash prod)" stdout is captured, and
// stdin may be a pipe. The code is not echoed, as the CLI's getpass does not echo it. From
// before echo goes off, hold has the function that turns it back on (nil once the read is over): the
// read itself cannot be interrupted, so a caller that gives up on it (a signal) restores the
// terminal before the process exits.
func askMFA(serial, awsProfile, ttyIn, ttyOut string, hold func(restore func())) (string, error) {
	in, err := os.OpenFile(ttyIn, os.O_RDWR, 0)
	if err != nil {
		return "", &NoTerminalError{Serial: serial, Device: ttyIn, Err: unwrapPathErr(err)}
	}
	defer in.Close()
	out := in
	if ttyOut != ttyIn {
		if out, err = os.OpenFile(ttyOut, os.O_WRONLY, 0); err != nil {
			return "", &NoTerminalError{Serial: serial, Device: ttyOut, Err: unwrapPathErr(err)}
		}
		defer out.Close()
	}
	fmt.Fprintf(out, "Enter MFA code for %s (AWS profile %s): ", text.EscapeControls(serial), text.EscapeControls(awsProfile))
	line, err := readHidden(in, out, hold)
	code := strings.TrimSpace(line)
	if code == "" {
		if err == nil {
			err = fmt.Errorf("no code was typed")
		}
		return "", fmt.Errorf("reading the MFA code for %s from %s: %w", serial, ttyIn, err)
	}
	return code, nil
}

// readHidden reads a line from in with echo off when in is a terminal (termios ECHO on Unix,
// the console's ENABLE_ECHO_INPUT on Windows: echoOff and readLine), and ends the line on
// out, since the Enter typed was not echoed either. Anything else (a file a test gives) is
// read as it is.
//
// hold gets the function that turns echo back on before echo goes off, so a caller that
// gives up (a signal) can never miss it; that function and the turning off take one lock,
// and once the caller gave up echo is not turned off at all: else a signal between the two
// would turn echo "back" on first, and the process would exit with it off.
func readHidden(in, out *os.File, hold func(restore func())) (string, error) {
	fd := int(in.Fd())
	if !term.IsTerminal(fd) {
		return bufio.NewReader(in).ReadString('\n')
	}
	var (
		mu     sync.Mutex
		on     func() // turns echo back on while it is off
		gaveUp bool
	)
	restore := func() {
		mu.Lock()
		defer mu.Unlock()
		gaveUp = true
		if on != nil {
			on()
			on = nil
		}
	}
	defer restore()
	// A caller that gives up also ends the prompt's line, so what it prints next (an error,
	// the shell's prompt) starts on a line of its own.
	hold(sync.OnceFunc(func() { restore(); fmt.Fprintln(out) }))
	defer hold(nil)
	beforeEchoOff()
	mu.Lock()
	if gaveUp {
		mu.Unlock()
		return "", errors.New("the run gave up before the code was read")
	}
	on, err := echoOff(fd)
	mu.Unlock()
	if err != nil {
		return "", err
	}
	line, err := readLine(in)
	fmt.Fprintln(out)
	return line, err
}

// beforeEchoOff runs in readHidden between handing over the restore function and turning echo
// off: a test's hook for a caller that gives up in that moment.
var beforeEchoOff = func() {}

func unwrapPathErr(err error) error {
	if pe, ok := err.(*os.PathError); ok {
		return pe.Err
	}
	return err
}

// WithTimeoutExceptTyping is context.WithTimeout(parent, d) whose clock stops while an MFA
// code is being typed: --timeout guards the network and the credential sources, not the
// person at the terminal (the AWS CLI waits for the code as long as it takes). A mint under
// it finds it through its context and pauses it for the prompt.
func WithTimeoutExceptTyping(parent context.Context, d time.Duration) (context.Context, context.CancelFunc) {
	t := &typingDeadline{parent: parent, done: make(chan struct{}), deadline: time.Now().Add(d)}
	t.mu.Lock()
	t.timer = time.AfterFunc(d, func() { t.end(context.DeadlineExceeded) })
	t.mu.Unlock()
	stop := context.AfterFunc(parent, func() { t.end(parent.Err()) })
	return t, func() { stop(); t.end(context.Canceled) }
}

// typingDeadline is the context of WithTimeoutExceptTyping.
type typingDeadline struct {
	parent context.Context
	done   chan struct{}

	mu       sync.Mutex
	deadline time.Time
	timer    *time.Timer
	paused   time.Time // when the prompt began; zero when the clock runs
	err      error
}

type typingKey struct{}

func (t *typingDeadline) Deadline() (time.Time, bool) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if !t.paused.IsZero() {
		return t.deadline.Add(time.Since(t.paused)), true
	}
	return t.deadline, true
}

func (t *typingDeadline) Done() <-chan struct{} { return t.done }

func (t *typingDeadline) Err() error {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.err
}

func (t *typingDeadline) Value(key any) any {
	if key == (typingKey{}) {
		return t
	}
	return t.parent.Value(key)
}

func (t *typingDeadline) end(err error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.err == nil {
		t.err = err
		t.timer.Stop()
		close(t.done)
	}
}

// pause stops the clock; resume starts it again with the time it had left.
func (t *typingDeadline) pause() {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.err == nil && t.paused.IsZero() && t.timer.Stop() {
		t.paused = time.Now()
	}
}

func (t *typingDeadline) resume() {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.err != nil || t.paused.IsZero() {
		return
	}
	t.deadline = t.deadline.Add(time.Since(t.paused))
	t.paused = time.Time{}
	t.timer = time.AfterFunc(time.Until(t.deadline), func() { t.end(context.DeadlineExceeded) })
}

// pauseForTyping stops the clock of a WithTimeoutExceptTyping above ctx, if any, until the
// returned function runs.
func pauseForTyping(ctx context.Context) (resume func()) {
	t, ok := ctx.Value(typingKey{}).(*typingDeadline)
	if !ok {
		return func() {}
	}
	t.pause()
	return t.resume
}
