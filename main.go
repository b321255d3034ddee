// Command dsqlenv prints shell code that connects psql and every libpq program to an Amazon
// Aurora DSQL cluster: a freshly minted IAM auth token as PGPASSWORD, verified TLS and the
// rest of the libpq settings, from named profiles in a YAML file.
//
// main resolves the process's facts once (streams, environment, clock, OS, the user's
// directories, the signer) and hands them to internal/cli, which nothing else reads them for.
package main

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

	"github.com/dsqlenv/dsqlenv/internal/cli"
	"github.com/dsqlenv/dsqlenv/profiles"
)

// version is set at build time with -ldflags "-X main.version=…"; a plain `go install` gets
// the module version from the build information instead.
var version = ""

func main() {
	// dsqlenv lives a few milliseconds, and what it allocates is bounded by the profiles
	// file's 4 MiB cap: collecting garbage four times less often saves a fifth of the
	// instructions of a 1,000-profile file and nothing else changes (make bench).
	debug.SetGCPercent(400)
	home, _ := os.UserHomeDir()
	self, _ := os.Executable()
	e := &cli.Env{
		Stdin:            os.Stdin,
		Stdout:           os.Stdout,
		Stderr:           os.Stderr,
		StdoutIsTerminal: term.IsTerminal(int(os.Stdout.Fd())),
		StderrIsTerminal: term.IsTerminal(int(os.Stderr.Fd())),
		Environ:          os.Environ(),
		Now:              time.Now,
		GOOS:             runtime.GOOS,
		Paths: cli.Paths{
			Home:       home,
			ConfigHome: xdg.ConfigHome,
			ConfigDirs: xdg.ConfigDirs,
			DataHome:   xdg.DataHome,
			StateHome:  xdg.StateHome,
		},
		Mint:       profiles.MintWithSDK,
		Identity:   profiles.CallerIdentity,
		Executable: self,
		ParentName: cli.ParentName,
		Version:    versionString(),
		Signals:    signals(),
		Exit:       os.Exit,
	}
	os.Exit(cli.Run(context.Background(), e, os.Args))
}

// signals delivers SIGINT, SIGTERM and SIGHUP for the whole run. A signal the process was
// started with ignored (SIGINT for `dsqlenv … &` in a script, SIGHUP under nohup) stays
// ignored: signal.Notify would install a handler for it.
func signals() <-chan os.Signal {
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
