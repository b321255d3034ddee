// Package cli is dsqlenv's command line: one dispatcher (urfave/cli), one file per command,
// each with its definition next to the function that does the work.
package cli

import (
	"context"
	"io"
	"os"
	"strings"
	"time"

	"github.com/dsqlenv/dsqlenv/profiles"
)

// Env is everything about the process that a command may use. main resolves it once; tests
// pass their own. Nothing below main reads os.Getenv, the xdg package or runtime.GOOS.
type Env struct {
	Stdin            io.Reader
	Stdout, Stderr   io.Writer
	StdoutIsTerminal bool
	StdoutIsPipe     bool     // a pipe, as for eval "$(…)", eval (…) and | source
	StderrIsTerminal bool     // a person is watching: slow steps say what they wait for
	Environ          []string // NAME=value, as os.Environ returns it
	Now              func() time.Time
	GOOS             string
	Paths            Paths
	Mint             profiles.Minter
	Identity         profiles.Identifier // doctor's "who signs"; nil skips that check
	// LookupHost resolves a vpc_endpoint: name; nil is the system's resolver.
	LookupHost func(ctx context.Context, host string) ([]string, error)
	Executable string // this binary's absolute path, "" when unknown
	// ParentName names the process that started dsqlenv ("fish", "bash"), "" when unknown:
	// for the hint when a block is evaluated by another shell than it was written for.
	ParentName func() string
	Version    string
	// Signals delivers SIGINT, SIGTERM and SIGHUP (those not ignored at start) for the whole
	// run, and Exit ends the process when a signalled run does not unwind by itself; nil in
	// tests that run the app in-process.
	Signals <-chan os.Signal
	Exit    func(code int)
}

// Paths are the user's directories, resolved by main (adrg/xdg on every OS).
type Paths struct {
	Home       string
	ConfigHome string
	ConfigDirs []string
	DataHome   string
	StateHome  string
}

// Getenv returns a variable of Environ; on Windows names are compared without case.
func (e *Env) Getenv(name string) string {
	for i := len(e.Environ) - 1; i >= 0; i-- {
		k, v, _ := strings.Cut(e.Environ[i], "=")
		if k == name || (e.GOOS == "windows" && strings.EqualFold(k, name)) {
			return v
		}
	}
	return ""
}
