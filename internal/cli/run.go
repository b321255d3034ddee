package cli

import (
	"bytes"
	"fmt"
	"sort"
	"strings"

	"github.com/dsqlenv/dsqlenv/emit"
)

// run is one invocation: the process's Env plus what the command has staged. A command
// prints into out and stages the files it writes; the dispatcher writes both only when the
// command succeeded, so a failed command leaves no file behind and nothing a shell would run.
type run struct {
	*Env
	args    []string // the command line, without the program name
	out     bytes.Buffer
	dialect *emit.Dialect // the shell dialect this command line asks for, if any
	writes  []stagedWrite
	// rendered is set when out holds code for a shell, which a terminal should not get.
	rendered bool
}

type stagedWrite struct {
	key string
	do  func() (note string, err error)
}

// stage queues a file write for after the command succeeds. Writes with the same key (the
// bundled root certificate, wanted by several profiles) happen once.
func (r *run) stage(key string, do func() (string, error)) {
	for _, w := range r.writes {
		if w.key == key {
			return
		}
	}
	r.writes = append(r.writes, stagedWrite{key, do})
}

// flush makes the staged writes, in order, and prints their notes on stderr once all of them
// are done. exec calls it before replacing the process; the dispatcher after every success.
func (r *run) flush() error {
	// The bundled roots go last: they are the same bytes for every run, so when the
	// command's own file cannot be written nothing is left behind, and when the roots cannot
	// be, the error says so and the next run that needs them writes them.
	sort.SliceStable(r.writes, func(i, j int) bool { return r.writes[j].key == amazonRootKey && r.writes[i].key != amazonRootKey })
	var notes []string
	for _, w := range r.writes {
		note, err := w.do()
		if err != nil {
			return err
		}
		if note != "" {
			notes = append(notes, note)
		}
	}
	r.writes = nil
	for _, n := range notes {
		for _, line := range strings.Split(n, "\n") {
			fmt.Fprintf(r.Stderr, "dsqlenv: %s\n", termSafe(line))
		}
	}
	return nil
}
