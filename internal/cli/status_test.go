package cli

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/dsqlenv/dsqlenv/emit"
	"github.com/dsqlenv/dsqlenv/internal/testkit"
	"github.com/dsqlenv/dsqlenv/profiles"
)

const statusHost = "abcdefghijklmnopqrstuvwxyz.dsql.us-east-1.on.aws"

// statusEnv is an in-process Env holding nothing but vars: no profiles file exists where
// DSQLENV_CONFIG points, and a signer that fails the test, so status can only have read the
// environment.
func statusEnv(t *testing.T, vars ...string) *Env {
	noMint := func(context.Context, *profiles.Connection) (string, error) {
		t.Error("status asked for a token")
		return "", context.Canceled
	}
	e := testEnv(noMint)
	e.Environ = append([]string{"DSQLENV_CONFIG=" + filepath.Join(t.TempDir(), "missing.yaml")}, vars...)
	return e
}

func expiresIn(d time.Duration) string {
	return "DSQLENV_EXPIRES_AT=" + strconv.FormatInt(fixedNow.Add(d).Unix(), 10)
}

func TestStatusReadsTheEnvironmentOnly(t *testing.T) {
	for _, tc := range []struct {
		left time.Duration
		want string
	}{
		{12*time.Minute + 34*time.Second, "12m"},
		{45 * time.Second, "45s"},
		{2*time.Hour + 5*time.Minute + 59*time.Second, "2h5m"},
		{time.Hour + 30*time.Second, "1h"},
		{168 * time.Hour, "168h"},
	} {
		r := runEnv(t, statusEnv(t, "DSQLENV_PROFILE=prod", "PGUSER=admin", "PGHOST="+statusHost, expiresIn(tc.left)), "status")
		if want := "prod admin@" + statusHost + ", token valid " + tc.want + "\n"; r.code != 0 || r.stdout != want || r.stderr != "" {
			t.Errorf("%s left: exit %d stdout %q stderr %q, want %q", tc.left, r.code, r.stdout, r.stderr, want)
		}
	}
}

// TestStatusFailsWithOneLine: exit 1, nothing on stdout and one line on stderr saying why,
// whatever the environment holds; hostile values are named, never acted on.
func TestStatusFailsWithOneLine(t *testing.T) {
	unknownShellHint := `DSQLENV_PROFILE is not set): run eval "$(dsqlenv bash PROFILE)"`
	if runtime.GOOS == "windows" {
		unknownShellHint = "DSQLENV_PROFILE is not set): run dsqlenv powershell PROFILE | iex" // Windows' own shell
	}
	for _, tc := range []struct {
		name string
		vars []string
		want string
	}{
		{"no profile", []string{"PGHOST=x", expiresIn(time.Hour)}, "no profile is active in this shell (DSQLENV_PROFILE is not set)"},
		{"expired", []string{"DSQLENV_PROFILE=prod", "PGUSER=admin", "PGHOST=" + statusHost, "SHELL=/bin/zsh", expiresIn(-3*time.Minute - 10*time.Second)},
			"prod admin@" + statusHost + `: the token expired 3m ago: run eval "$(dsqlenv zsh prod)" again`},
		{"expired in fish", []string{"DSQLENV_PROFILE=prod", "SHELL=/usr/local/bin/fish", expiresIn(-time.Hour)},
			"prod: the token expired 1h ago: run dsqlenv fish prod | source again"},
		{"an unknown shell", []string{"SHELL=/bin/tcsh", expiresIn(time.Hour)}, unknownShellHint},
		{"expires now", []string{"DSQLENV_PROFILE=prod", expiresIn(0)}, "prod: the token expired 0s ago"},
		{"no expiry", []string{"DSQLENV_PROFILE=prod", "PGHOST=h"}, `prod h: DSQLENV_EXPIRES_AT="" is not a Unix time`},
		{"code in the expiry", []string{"DSQLENV_PROFILE=prod", "DSQLENV_EXPIRES_AT=a[$(touch x)]"}, `DSQLENV_EXPIRES_AT="a[$(touch x)]" is not a Unix time`},
		{"escape in the profile", []string{"DSQLENV_PROFILE=\x1b]0;owned\x07", expiresIn(time.Hour)}, `DSQLENV_PROFILE="\x1b]0;owned\a" is not a profile name`},
		{"code in the profile", []string{"DSQLENV_PROFILE=$(touch x)", expiresIn(time.Hour)}, `DSQLENV_PROFILE="$(touch x)" is not a profile name`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := runEnv(t, statusEnv(t, tc.vars...), "status")
			if r.code != 1 || r.stdout != "" || strings.Count(r.stderr, "\n") != 1 || !strings.HasPrefix(r.stderr, "dsqlenv: ") ||
				!strings.Contains(r.stderr, tc.want) || strings.ContainsAny(r.stderr, "\x1b\x07") {
				t.Errorf("exit %d stdout %q stderr %q\nwant exit 1 and one line containing %q", r.code, r.stdout, r.stderr, tc.want)
			}
		})
	}
	// The shell that ran status beats $SHELL (a login shell), and a block from another file
	// than the default is re-run from that file.
	e := statusEnv(t, "DSQLENV_PROFILE=prod", "SHELL=/bin/bash", "DSQLENV_PROFILES_FILE=/srv/team/dsql.yaml", expiresIn(-time.Minute))
	e.ParentName = func() string { return "fish" }
	if r := runEnv(t, e, "status"); !strings.Contains(r.stderr, "run dsqlenv -c /srv/team/dsql.yaml fish prod | source again") {
		t.Errorf("status run by fish, the block from another file: %q", r.stderr)
	}
	r := runEnv(t, statusEnv(t, "DSQLENV_PROFILE=prod", expiresIn(time.Hour)), "status", "prod")
	if r.code != 2 || !strings.Contains(r.stderr, "status: takes no arguments") {
		t.Errorf("status with an argument: %+v", r)
	}
}

// TestStatusThroughTheBinary: with no HOME, no profiles file and no AWS settings at all.
func TestStatusThroughTheBinary(t *testing.T) {
	exp := strconv.FormatInt(time.Now().Unix()+754, 10) // 12m34s: far from a minute's edge
	r := runBin(t, []string{"DSQLENV_PROFILE=prod", "PGUSER=admin", "PGHOST=" + statusHost, "DSQLENV_EXPIRES_AT=" + exp}, "status")
	if want := "prod admin@" + statusHost + ", token valid 12m\n"; r.code != 0 || r.stdout != want || r.stderr != "" {
		t.Errorf("exit %d stdout %q stderr %q, want %q", r.code, r.stdout, r.stderr, want)
	}
	r = runBin(t, []string{"DSQLENV_PROFILE=prod", "DSQLENV_EXPIRES_AT=1"}, "status")
	if r.code != 1 || r.stdout != "" || !strings.Contains(r.stderr, "prod: the token expired") {
		t.Errorf("expired: %+v", r)
	}
	r = runBin(t, []string{}, "status")
	if r.code != 1 || r.stdout != "" || !strings.Contains(r.stderr, "no profile is active") {
		t.Errorf("no profile: %+v", r)
	}
}

// noProcessPath is a PATH that runs nothing but counting stand-ins for date and dsqlenv: a
// prompt function that started any program would either fail ("command not found") or be
// counted.
func noProcessPath(t *testing.T) (dir, countFile string) {
	dir = t.TempDir()
	countFile = filepath.Join(dir, "count")
	for name, real := range map[string]string{"date": "/bin/date", "dsqlenv": binPath} {
		script := "#!/bin/sh\necho run >> " + emit.QuotePOSIX(countFile) + "\nexec " + emit.QuotePOSIX(real) + ` "$@"` + "\n"
		writeExecutable(t, filepath.Join(dir, name), script)
	}
	return dir, countFile
}

// promptCases are DSQLENV_PROFILE and DSQLENV_EXPIRES_AT (relative to now when a number of
// seconds, else literal) and what dsqlenv_prompt prints for them ("re:" a pattern, where the
// shell's clock may have moved on: each case leaves at least 10 s for that).
var promptCases = []struct {
	profile, expires, want string
}{
	{"prod", "+754", "prod 12m"},
	{"prod.eu-1", "+45", `re:^prod\.eu-1 (3[5-9]|4[0-5])s$`},
	{"prod", "+7530", "prod 2h5m"},
	{"prod", "+604000", "prod 167h46m"}, // 40 s from the next minute
	{"prod", "+604900", "prod ?"},       // over 168 h: not a token's life
	{"prod", "9999999999999", "prod ?"},
	{"prod", "+3630", "prod 1h"},
	{"prod", "-5", "prod expired"},
	{"prod", "0999", "prod expired"}, // 999 s after 1970: a leading zero is not octal
	{"prod", "", "prod ?"},
	{"prod", "1234567890123", "prod ?"},
	{"prod", "a[$(touch pwned)]", "prod ?"},
	{"prod", "$(touch pwned)", "prod ?"},
	{"prod", "`touch pwned`", "prod ?"},
	{"", "+754", ""},
	{"$(touch pwned)", "+754", ""},
	{"x;touch pwned", "+754", ""},
	{"a[$(touch pwned)]", "+754", ""},
	{"%F{red}prod", "+754", ""}, // a zsh prompt escape
	{"prod\n", "+754", ""},
}

// promptScript calls dsqlenv_prompt once per case, each output between markers, with the
// case's values set in the shell (not exported: the function reads shell variables too).
func promptScript(shell string, now int64) string {
	var b strings.Builder
	for i, c := range promptCases {
		exp := c.expires
		if strings.HasPrefix(exp, "+") || strings.HasPrefix(exp, "-") {
			d, _ := strconv.ParseInt(exp, 10, 64)
			exp = strconv.FormatInt(now+d, 10)
		}
		q := emit.QuotePOSIX
		if shell == "fish" {
			q = emit.QuoteFish
		}
		set := "DSQLENV_PROFILE=" + q(c.profile) + "; DSQLENV_EXPIRES_AT=" + q(exp) + "; "
		if shell == "fish" {
			set = "set -gx DSQLENV_PROFILE " + q(c.profile) + "; set -gx DSQLENV_EXPIRES_AT " + q(exp) + "; "
		}
		b.WriteString(set + "echo '<" + strconv.Itoa(i) + ">'; dsqlenv_prompt; echo '</>'\n")
	}
	return b.String()
}

// TestPromptFunctionsInRealShells runs dsqlenv_prompt from each hook in a real shell whose
// PATH holds only counting stand-ins, checks what it prints, that it started no process, and
// that no hostile value ran: the stand-ins and a marker file would tell.
func TestPromptFunctionsInRealShells(t *testing.T) {
	for _, shell := range []string{"bash", "zsh", "fish"} {
		t.Run(shell, func(t *testing.T) {
			exe := testkit.RequireTool(t, shell)
			path, count := noProcessPath(t)
			work := t.TempDir()
			hook := hookFor(t, shell, filepath.Join(path, "dsqlenv"))
			// The hook is loaded with the real PATH (bash's clock may call date once there,
			// as on a bash without printf %(%s)T); then PATH is the stand-ins alone.
			now := time.Now().Unix()
			var args []string
			switch shell {
			case "fish":
				args = []string{"--no-config", "-c", hook + "\nset -gx PATH " + emit.QuoteFish(path) + "\n" + promptScript(shell, now)}
			case "zsh":
				args = []string{"-f", "-c", hook + "\nPATH=" + emit.QuotePOSIX(path) + "\n" + promptScript(shell, now)}
			default:
				args = []string{"--norc", "--noprofile", "-c", hook + "\nPATH=" + emit.QuotePOSIX(path) + "\n" + promptScript(shell, now)}
			}
			cmd := exec.Command(exe, args...)
			cmd.Env = []string{"PATH=" + os.Getenv("PATH"), "HOME=" + work, "TERM=dumb"}
			cmd.Dir = work
			r := runCmd(t, cmd)
			if r.code != 0 || r.stderr != "" {
				t.Fatalf("exit %d, stderr %q", r.code, r.stderr)
			}
			for i, c := range promptCases {
				open, close := "<"+strconv.Itoa(i)+">\n", "</>"
				_, rest, ok := strings.Cut(r.stdout, open)
				got, _, ok2 := strings.Cut(rest, close)
				if !ok || !ok2 {
					t.Fatalf("case %d missing in output %q", i, r.stdout)
				}
				if re, ok := strings.CutPrefix(c.want, "re:"); ok && regexp.MustCompile(re).MatchString(got) {
					continue
				}
				if got != c.want {
					t.Errorf("DSQLENV_PROFILE=%q DSQLENV_EXPIRES_AT=%q: printed %q, want %q", c.profile, c.expires, got, c.want)
				}
			}
			if n := starts(t, count); n != 0 {
				t.Errorf("%d prompts started %d processes (date or dsqlenv)", len(promptCases), n)
			}
			if _, err := os.Stat(filepath.Join(work, "pwned")); err == nil {
				t.Error("a hostile value ran a command")
			}
		})
	}
}

// TestPromptAgreesWithStatus: for the same environment the prompt function and `dsqlenv
// status` give the same time left.
func TestPromptAgreesWithStatus(t *testing.T) {
	for _, left := range []int64{754, 7530, 3630} { // far from a minute's edge: the two clocks are read apart
		exp := strconv.FormatInt(time.Now().Unix()+left, 10)
		env := []string{"PATH=" + os.Getenv("PATH"), "DSQLENV_PROFILE=prod", "PGUSER=admin", "PGHOST=h", "DSQLENV_EXPIRES_AT=" + exp}
		r := runBin(t, env, "status")
		_, status, _ := strings.Cut(strings.TrimSpace(r.stdout), "token valid ")
		cmd := exec.Command(testkit.RequireTool(t, "bash"), "--norc", "--noprofile", "-c", hookFor(t, "bash", binPath)+"\ndsqlenv_prompt")
		cmd.Env = env
		p := runCmd(t, cmd)
		if p.stdout != "prod "+status {
			t.Errorf("%d s left: prompt %q, status %q", left, p.stdout, r.stdout)
		}
	}
}

// TestPromptInARealPrompt: the documented prompt settings show the profile at a real
// interactive bash and zsh prompt.
func TestPromptInARealPrompt(t *testing.T) {
	exp := strconv.FormatInt(time.Now().Unix()+754, 10)
	env := []string{"PATH=" + os.Getenv("PATH"), "TERM=dumb", "HOME=" + t.TempDir(), "DSQLENV_PROFILE=prod", "DSQLENV_EXPIRES_AT=" + exp}
	for shell, setup := range map[string]string{"bash": "", "zsh": "setopt PROMPT_SUBST\n"} {
		script := "eval " + emit.QuotePOSIX(hookFor(t, shell, binPath)) + "\n" + setup + "PS1='[$(dsqlenv_prompt)] '\n:\n"
		_, stderr := interactive(t, shell, env, script)
		if !strings.Contains(stderr, "[prod 12m] ") {
			t.Errorf("%s: no [prod 12m] prompt in %q", shell, stderr)
		}
	}
}

// TestShowAndListExpandAClusterID: a bare cluster ID with a region is the public endpoint
// everywhere, and show says where the host name came from. (With status, what a user reads
// about a connection.)
func TestShowAndListExpandAClusterID(t *testing.T) {
	cfg := writeFile(t, t.TempDir(), "p.yaml", "profiles:\n  prod:\n    region: eu-west-1\n    endpoint: abcdefghijklmnopqrstuvw123\n")
	host := "abcdefghijklmnopqrstuvw123.dsql.eu-west-1.on.aws"
	r := runApp(t, fixedMint, "-c", cfg, "show", "prod")
	if want := regexp.MustCompile(`(?m)^  endpoint +` + regexp.QuoteMeta(host) + ` +expanded from the cluster ID and region, line 4$`); r.code != 0 || !want.MatchString(r.stdout) {
		t.Errorf("show lacks %s:\n%s%s", want, r.stdout, r.stderr)
	}
	if r = runApp(t, fixedMint, "-c", cfg, "list"); !strings.Contains(r.stdout, "prod     "+host) {
		t.Errorf("list:\n%s", r.stdout)
	}
	if r = runApp(t, fixedMint, "-c", cfg, "bash", "prod"); !strings.Contains(r.stdout, "export PGHOST='"+host+"';") ||
		!strings.Contains(r.stdout, "export PGPASSWORD='"+host+"?Action=DbConnectAdmin") {
		t.Errorf("block:\n%s", r.stdout)
	}
	noRegion := writeFile(t, t.TempDir(), "p.yaml", "profiles:\n  prod:\n    endpoint: abcdefghijklmnopqrstuvw123\n")
	if r = runApp(t, fixedMint, "-c", noRegion, "bash", "prod"); r.code != 1 ||
		!strings.Contains(r.stderr, "p.yaml:3: profile prod: endpoint abcdefghijklmnopqrstuvw123 is a bare cluster ID: add region:") {
		t.Errorf("no region: exit %d stderr %q", r.code, r.stderr)
	}
}

// TestStatusAndPromptBelieveTheSameExpiry: a DSQLENV_EXPIRES_AT beyond 168 h, or not whole
// seconds, is unknown to both.
func TestStatusAndPromptBelieveTheSameExpiry(t *testing.T) {
	bash, _ := emit.Lookup("bash")
	if !strings.Contains(bash.Hook, "(( left > 604800 ))") || maxBelievableLeft != 604800 {
		t.Fatal("the bash prompt and status no longer share the 168 h rule")
	}
	now := time.Now().Unix()
	for _, exp := range []string{"9999999999999", strconv.FormatInt(now+604900, 10), "12.5"} {
		env := []string{"PATH=" + os.Getenv("PATH"), "GORACE=" + os.Getenv("GORACE"), "DSQLENV_PROFILE=prod", "DSQLENV_EXPIRES_AT=" + exp}
		r := runBin(t, env, "status")
		cmd := exec.Command(testkit.RequireTool(t, "bash"), "--norc", "--noprofile", "-c", hookFor(t, "bash", binPath)+"\ndsqlenv_prompt")
		cmd.Env = env
		p := runCmd(t, cmd)
		if r.code != 1 || r.stdout != "" || p.stdout != "prod ?" {
			t.Errorf("DSQLENV_EXPIRES_AT=%s: status %+v, prompt %q", exp, r, p.stdout)
		}
	}
}
