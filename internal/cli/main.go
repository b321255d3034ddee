package cli

import (
	"context"
	"os"
	"os/signal"
	"runtime"
	"runtime/debug"
	"strings"
	"syscall"
	"time"

	"github.com/adrg/xdg"
	"golang.org/x/term"

	"github.com/dsqlenv/dsqlenv/profiles"
)

// version, commit and date are set at build time with -ldflags "-X
// github.com/dsqlenv/dsqlenv/internal/cli.version=…" (the Makefile and .ci/goreleaser.yaml set
// all three; date is the commit's, so that a rebuild gives the same binary). A plain `go install`
// gets the module version from the build information instead.
var version, commit, date = "", "", ""

// Main is the program: it resolves the process's facts once (streams, environment, clock, OS,
// the user's directories, the signer), runs the command line and exits with its status. The
// dsqlenv command calls it, and so does the test binary when the scenarios under
// testdata/script run it as dsqlenv (testscript.Main), so what ships is what is tested.
func Main() {
	// dsqlenv lives a few milliseconds, and what it allocates is bounded by the profiles
	// file's 4 MiB cap: collecting garbage four times less often saves a fifth of the
	// instructions of a 1,000-profile file and nothing else changes (make bench).
	debug.SetGCPercent(400)
	home, _ := os.UserHomeDir()
	self, _ := os.Executable()
	e := &Env{
		Stdin:            os.Stdin,
		Stdout:           os.Stdout,
		Stderr:           os.Stderr,
		StdoutIsTerminal: term.IsTerminal(int(os.Stdout.Fd())),
		StderrIsTerminal: term.IsTerminal(int(os.Stderr.Fd())),
		StdoutIsPipe:     isPipe(os.Stdout),
		Environ:          os.Environ(),
		Now:              time.Now,
		GOOS:             runtime.GOOS,
		Paths: Paths{
			Home:       home,
			ConfigHome: xdg.ConfigHome,
			ConfigDirs: xdg.ConfigDirs,
			DataHome:   xdg.DataHome,
			StateHome:  xdg.StateHome,
		},
		Mint:       profiles.MintWithSDK,
		Identity:   profiles.CallerIdentity,
		Executable: self,
		ParentName: ParentName,
		Version:    versionString(),
		Signals:    processSignals(),
		Exit:       os.Exit,
	}
	os.Exit(Run(context.Background(), e, os.Args))
}

// processSignals delivers SIGINT, SIGTERM and SIGHUP for the whole run. A signal the process
// was started with ignored (SIGINT for `dsqlenv … &` in a script, SIGHUP under nohup) stays
// ignored: signal.Notify would install a handler for it.
func processSignals() <-chan os.Signal {
	ch := make(chan os.Signal, 1)
	for _, s := range []os.Signal{os.Interrupt, syscall.SIGTERM, syscall.SIGHUP} {
		if !signal.Ignored(s) {
			signal.Notify(ch, s)
		}
	}
	return ch
}

func versionString() string {
	bi, _ := debug.ReadBuildInfo()
	return describeVersion(version, commit, date, bi)
}

// describeVersion is what --version prints after "dsqlenv version": the version, then the
// commit and its date where they are known, e.g. "v1.2.0 (commit 1a2b3c…, 2026-12-07T17:00:00Z)".
// What the linker flags leave empty comes from the build information: the module version for
// `go install …@v1.2.0`, the revision and its time for a `go build` in a git checkout.
func describeVersion(version, commit, date string, bi *debug.BuildInfo) string {
	if bi != nil {
		if version == "" && bi.Main.Version != "(devel)" {
			version = bi.Main.Version
		}
		for _, s := range bi.Settings {
			switch {
			case s.Key == "vcs.revision" && commit == "":
				commit = s.Value
			case s.Key == "vcs.time" && date == "":
				date = s.Value
			}
		}
	}
	if version == "" {
		version = "dev"
	}
	var about []string
	if commit != "" {
		about = append(about, "commit "+commit)
	}
	if date != "" {
		about = append(about, date)
	}
	if len(about) == 0 {
		return version
	}
	return version + " (" + strings.Join(about, ", ") + ")"
}

// isPipe says f is a pipe (a FIFO), as the output of a command substitution is.
func isPipe(f *os.File) bool {
	st, err := f.Stat()
	return err == nil && st.Mode()&os.ModeNamedPipe != 0
}
