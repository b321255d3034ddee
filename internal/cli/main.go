package cli

import (
	"context"
	"os"
	"os/signal"
	"runtime"
	"runtime/debug"
	"syscall"
	"time"

	"github.com/adrg/xdg"
	"golang.org/x/term"

	"github.com/dsqlenv/dsqlenv/profiles"
)

// version is set at build time with -ldflags "-X github.com/dsqlenv/dsqlenv/internal/cli.version=…";
// a plain `go install` gets the module version from the build information instead.
var version = ""

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
	if version != "" {
		return version
	}
	if bi, ok := debug.ReadBuildInfo(); ok && bi.Main.Version != "" && bi.Main.Version != "(devel)" {
		return bi.Main.Version
	}
	return "dev"
}

// isPipe says f is a pipe (a FIFO), as the output of a command substitution is.
func isPipe(f *os.File) bool {
	st, err := f.Stat()
	return err == nil && st.Mode()&os.ModeNamedPipe != 0
}
