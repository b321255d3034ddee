package cli

import (
	"bytes"
	"fmt"
	"io"
	"os"
	"strings"
	"sync"

	"github.com/dsqlenv/dsqlenv/emit"
)

// run is one invocation: the process's Env plus what the command has staged. A command
// prints into out and stages the files it writes; the dispatcher writes both only when the
// command succeeded, so a failed command leaves no file behind and nothing a shell would run.
type run struct {
	*Env
	flags     globalFlagValues // the global flags as given (globalFlags)
	global    global           // the global settings, bound once by the app's Before (globals)
	args      []string         // the command line, without the program name
	out       output
	dialect   *emit.Dialect // the shell dialect this command line asks for, if any
	dialectAt int           // where its word is in args
	// noCommand is set when the line names no command dsqlenv knows: a failure then prints
	// false, since any shell may have been meant.
	noCommand bool
	// Files to write and notes to print once the command succeeded (see flush).
	preconditions []precondition
	made          []func() // the undos of preconditions already written (takeBack)
	writes, notes []stagedWrite
	// rendered is set when out holds code for a shell, which a terminal should not get.
	rendered bool

	endMu    sync.Mutex // the run ends once (end)
	ended    bool
	sigMu    sync.Mutex
	signal   os.Signal       // the signal that stopped the run, if any
	onSignal func(os.Signal) // set by takeSignals
}

type stagedWrite struct {
	key string
	do  func() (note string, err error)
}

// stage queues a file write for after the command succeeds. Writes with the same key happen
// once.
func (r *run) stage(key string, do func() (string, error)) { r.writes = addWrite(r.writes, key, do) }

// stagePrecondition queues a write that the command's own files depend on (the bundled
// roots, which a service file names): flush makes it before them, so that when it fails none
// of them is written; and when one of them fails, flush calls the undo it returned (nil for
// nothing to undo).
func (r *run) stagePrecondition(key string, do func() (undo func(), err error)) {
	for _, p := range r.preconditions {
		if p.key == key {
			return
		}
	}
	r.preconditions = append(r.preconditions, precondition{key, do})
}

type precondition struct {
	key string
	do  func() (undo func(), err error)
}

// takeBack undoes the preconditions that an earlier flush wrote (the roots file doctor writes
// for its psql check), for a command that fails after it flushed: a failed command leaves
// nothing behind.
func (r *run) takeBack() {
	for i := len(r.made) - 1; i >= 0; i-- {
		r.made[i]()
	}
	r.made = nil
}

// note queues a line for stderr, printed after the writes succeeded; the same key once.
func (r *run) note(key, text string) {
	r.notes = addWrite(r.notes, key, func() (string, error) { return text, nil })
}

func addWrite(ws []stagedWrite, key string, do func() (string, error)) []stagedWrite {
	for _, w := range ws {
		if w.key == key {
			return ws
		}
	}
	return append(ws, stagedWrite{key, do})
}

// flush makes the staged writes, preconditions first, and prints their notes on stderr once
// all of them are done. When a write fails, the preconditions are undone: a failed command
// leaves nothing behind (a roots file that was already there, even with other bytes, stays:
// it holds Amazon's roots either way). exec calls it before replacing the process; the dispatcher after
// every success.
func (r *run) flush() error {
	var undos []func()
	for _, p := range r.preconditions {
		undo, err := p.do()
		if err != nil {
			return err
		}
		if undo != nil {
			undos = append(undos, undo)
		}
	}
	var notes []string
	for _, w := range append(r.writes, r.notes...) {
		note, err := w.do()
		if err != nil {
			for i := len(undos) - 1; i >= 0; i-- {
				undos[i]()
			}
			return err
		}
		if note != "" {
			notes = append(notes, note)
		}
	}
	r.preconditions, r.writes, r.notes = nil, nil, nil
	r.made = append(r.made, undos...)
	for _, n := range notes {
		for _, line := range strings.Split(n, "\n") {
			r.say("%s", line)
		}
	}
	return nil
}

// output is a command's stdout. It is held until the command has succeeded, so that a failure
// prints nothing a shell would run; a report that a person watches as it goes (doctor)
// streams it instead.
type output struct {
	held   bytes.Buffer
	direct io.Writer
}

func (o *output) Write(p []byte) (int, error) {
	if o.direct != nil {
		return o.direct.Write(p)
	}
	return o.held.Write(p)
}

// stream sends every later write straight to w: for output that is not code for a shell.
func (o *output) stream(w io.Writer) { o.direct = w }

// Bytes is what was held.
func (o *output) Bytes() []byte { return o.held.Bytes() }

// say prints one line on stderr as "dsqlenv: LINE", safe for a terminal (a line break in it
// is escaped too): the one way dsqlenv speaks on stderr.
func (r *run) say(format string, args ...any) {
	fmt.Fprintf(r.Stderr, "dsqlenv: %s\n", termSafe(fmt.Sprintf(format, args...)))
}
