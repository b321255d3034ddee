package cli

import (
	"context"
	"fmt"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/urfave/cli/v2"

	"github.com/dsqlenv/dsqlenv/internal/text"
	"github.com/dsqlenv/dsqlenv/profiles"
)

// statusOptions are what `dsqlenv status` is told on its command line: nothing, it reads the
// shell's environment.
type statusOptions struct{}

func newStatusCommand(r *run) *cli.Command {
	var o statusOptions
	return &cli.Command{
		Name:     "status",
		Category: "Commands",
		Usage:    "say which profile this shell is connected to and how long its token lasts",
		Description: `Reads this shell's environment only (DSQLENV_PROFILE, PGUSER, PGHOST and
DSQLENV_EXPIRES_AT, which a block sets): no profiles file, no AWS, no network.
Prints "PROFILE USER@HOST, token valid 12m". Exit status 1, with the reason on
stderr, when no profile is active or its token has expired.

For the prompt itself, the hook (dsqlenv hook SHELL) defines dsqlenv_prompt, which
prints "prod 12m" (nothing without a profile) without starting a process:
   PS1='$(dsqlenv_prompt) \$ '                 # bash
   setopt PROMPT_SUBST; RPROMPT='$(dsqlenv_prompt)'   # zsh
   function fish_right_prompt; dsqlenv_prompt; end   # fish

Examples:
   dsqlenv status
   dsqlenv status || eval "$(dsqlenv bash prod)"`,
		Action: func(c *cli.Context) error {
			if _, err := args(c, "", 0, 0); err != nil {
				return err
			}
			return runStatus(c.Context, r, o)
		},
	}
}

func runStatus(_ context.Context, r *run, _ statusOptions) error {
	// Only what a block could have written is believed, as in the hooks: a profile name the
	// profiles file allows and whole Unix seconds.
	profile := r.Getenv("DSQLENV_PROFILE")
	switch {
	case profile == "":
		return fmt.Errorf("no profile is active in this shell (DSQLENV_PROFILE is not set): run %s", r.evalLine("PROFILE"))
	case !profiles.IsProfileName(profile):
		return fmt.Errorf("DSQLENV_PROFILE=%q is not a profile name: it was not set by dsqlenv; unset it or run %s again", profile, r.evalLine("PROFILE"))
	}
	who := profile
	if user, host := r.Getenv("PGUSER"), r.Getenv("PGHOST"); host != "" {
		if user != "" {
			host = user + "@" + host
		}
		who += " " + host
	}
	expires := r.Getenv("DSQLENV_EXPIRES_AT")
	secs, err := strconv.ParseUint(expires, 10, 63)
	if err != nil || len(expires) > 12 || strings.TrimLeft(expires, "0123456789") != "" {
		return fmt.Errorf("%s: DSQLENV_EXPIRES_AT=%q is not a Unix time, so the token's life is unknown: run %s again", who, expires, r.evalLine(profile))
	}
	left := int64(secs) - r.Now().Unix()
	if left > maxBelievableLeft {
		return fmt.Errorf("%s: DSQLENV_EXPIRES_AT=%s is more than 168h ahead, longer than any token lives, so it was not set by dsqlenv: run %s again", who, expires, r.evalLine(profile))
	}
	if left <= 0 {
		return fmt.Errorf("%s: the token expired %s ago: run %s again, or install the prompt hook (dsqlenv hook --help) to re-mint it before it does", who, timeLeft(-left), r.evalLine(profile))
	}
	_, err = fmt.Fprintf(&r.out, "%s, token valid %s\n", termSafe(who), timeLeft(left))
	return err
}

// evalLine is how this user's shell runs a block for profile, for status's hints: the shell
// is $SHELL's name when it is a dialect with an eval, else PowerShell on Windows and bash
// elsewhere.
func (r *run) evalLine(profile string) string {
	// The shell that ran status is the one to tell; $SHELL is only the login shell.
	d := r.parentShell()
	if d == nil {
		d = shellDialect(filepath.Base(r.Getenv("SHELL")))
	}
	if d == nil {
		d = shellDialect("bash")
		if r.GOOS == "windows" {
			d = shellDialect("powershell")
		}
	}
	args := []string{d.Name, profile}
	// The block came from the file DSQLENV_PROFILES_FILE names; when that is not the default
	// one, the line names it, or it would read another file (where the same name may be
	// another cluster).
	if file := r.Getenv("DSQLENV_PROFILES_FILE"); file != "" && file != r.profilesPath("") && !strings.ContainsFunc(file, text.IsControl) {
		args = append([]string{"-c", file}, args...)
	}
	return d.RunLine(args)
}

// maxBelievableLeft is the longest time left that status and the hooks' dsqlenv_prompt
// believe (the hooks say 604800; a test holds them equal): a token lives at most
// profiles.MaxExpiresIn, so anything further ahead was not written by a block. Both also
// take only whole seconds of at most 12 digits.
const maxBelievableLeft = int64(profiles.MaxExpiresIn / time.Second)

// timeLeft writes seconds the way the prompt functions of the hooks do, rounded down, so
// that `status` and the prompt agree: 45s, 12m, 1h, 2h5m.
func timeLeft(secs int64) string {
	switch {
	case secs < 60:
		return fmt.Sprintf("%ds", secs)
	case secs < 3600:
		return fmt.Sprintf("%dm", secs/60)
	case secs%3600/60 == 0:
		return fmt.Sprintf("%dh", secs/3600)
	}
	return fmt.Sprintf("%dh%dm", secs/3600, secs%3600/60)
}
