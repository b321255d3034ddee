package cli

import (
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"strconv"
	"strings"
	"testing"

	"github.com/dsqlenv/dsqlenv/internal/testkit"
)

const helpProfiles = "profiles:\n" +
	"  help:\n    endpoint: aaaaaaaaaaaaaaaaaaaaaaaaaa.dsql.us-east-1.on.aws\n" +
	"  h:\n    endpoint: hhhhhhhhhhhhhhhhhhhhhhhhhh.dsql.us-east-1.on.aws\n"

func TestAProfileNamedHelpIsAProfile(t *testing.T) {
	cfg := writeFile(t, t.TempDir(), "p.yaml", helpProfiles)
	for _, args := range [][]string{{"bash", "help"}, {"zsh", "h"}, {"fish", "help"}, {"bash", "--", "help"}, {"bash", "h", "--debug"}} {
		r := runApp(t, fixedMint, append([]string{"-c", cfg}, args...)...)
		host := map[string]string{"help": "aaaa", "h": "hhhh"}[args[len(args)-1]]
		if args[len(args)-1] == "--debug" {
			host = "hhhh"
		}
		if r.code != 0 || !strings.Contains(r.stdout, "PGHOST") || !strings.Contains(r.stdout, host) || strings.Contains(r.stdout, "psql") {
			t.Errorf("%v: exit %d, stdout %q", args, r.code, r.stdout)
		}
	}
	r := runApp(t, fixedMint, "-c", cfg, "token", "h")
	if r.code != 0 || !strings.HasPrefix(r.stdout, "hhhh") {
		t.Errorf("token h: %+v", r)
	}
	svc := filepath.Join(t.TempDir(), "svc.conf")
	r = runApp(t, fixedMint, "-c", cfg, "service", "--file", svc, "h")
	if b, _ := os.ReadFile(svc); r.code != 0 || !strings.Contains(string(b), "[h]\n") {
		t.Errorf("service h: %+v\n%s", r, b)
	}
	// Only the flags ask for help, and then help goes to stdout with status 0.
	for _, args := range [][]string{{"bash", "--help"}, {"bash", "prod", "-h"}} {
		if r := runApp(t, fixedMint, args...); r.code != 0 || !strings.Contains(r.stdout, "Examples:") {
			t.Errorf("%v: %+v", args, r)
		}
	}
	// A PROFILE that looks like a flag is a PROFILE after --.
	if r := runApp(t, fixedMint, "-c", cfg, "bash", "--", "-x"); r.code != 1 || !strings.Contains(r.stderr, `no profile "-x"`) || r.stdout != "false\n" {
		t.Errorf("bash -- -x: %+v", r)
	}
}

const exampleSessionToken = "IQoJb3JpZ2luX2VjEXAMPLESESSIONTOKENdsqlenvTEST"

var fullSigRE = regexp.MustCompile(`X-Amz-Signature=([0-9a-f]{64})`)

// TestDebugNeverShowsASecret runs every command that mints, with --debug and a session
// token: the signatures it produced, the session token and the secret key never reach
// stderr, and --debug shows where it redacted them. doctor prints no token at all.
func TestDebugNeverShowsASecret(t *testing.T) {
	dir := t.TempDir()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	closedPort := l.Addr().(*net.TCPAddr).Port
	l.Close() // a port nothing listens on: doctor's connection checks fail at once, locally
	cfg := writeFile(t, dir, "p.yaml", "profiles:\n  demo:\n    endpoint: "+matrixEndpoint+"\n  local:\n    endpoint: 127.0.0.1\n"+
		"    region: us-east-1\n    port: "+strconv.Itoa(closedPort)+"\n    sslrootcert: amazon\n    connect_timeout: 2\n")
	pass := filepath.Join(dir, "pgpass")
	env := awsEnv(t, true, "AWS_SESSION_TOKEN="+exampleSessionToken, "DSQLENV_CONFIG="+cfg)
	for _, args := range [][]string{
		{"bash", "demo"}, {"fish", "demo"}, {"powershell", "demo"}, {"cmd", "demo"}, {"bat", "demo"}, {"env", "demo"},
		{"json", "demo"}, {"token", "demo"}, {"pgpass", "--file", pass, "demo"}, {"doctor", "local"},
		{"exec", "demo", "--", "sh", "-c", `printf '%s\n' "$PGPASSWORD"`},
	} {
		if args[0] == "exec" && runtime.GOOS == "windows" {
			continue // no sh there; exec on Windows: TestWindowsExecPassesArgumentsEnvironmentAndStatus
		}
		r := runBin(t, env, append([]string{"--debug"}, args...)...)
		if args[0] != "doctor" && r.code != 0 {
			t.Errorf("%v: exit %d: %s", args, r.code, r.stderr)
			continue
		}
		produced := r.stdout
		if args[0] == "pgpass" {
			b, _ := os.ReadFile(pass)
			produced = string(b)
		}
		sigs := fullSigRE.FindAllStringSubmatch(produced, -1)
		if args[0] == "doctor" {
			if len(sigs) > 0 || strings.Contains(r.stdout+r.stderr, exampleSessionToken) {
				t.Errorf("doctor printed a token:\n%s%s", r.stdout, r.stderr)
			}
		} else if len(sigs) == 0 {
			t.Errorf("%v: no token in the output to check against", args)
		}
		for _, m := range sigs {
			if strings.Contains(r.stderr, m[1]) {
				t.Errorf("%v: the signature reached stderr:\n%s", args, r.stderr)
			}
		}
		for _, secret := range []string{exampleSessionToken, testkit.ExampleSecret} {
			if strings.Contains(r.stderr, secret) {
				t.Errorf("%v: a secret reached stderr:\n%s", args, r.stderr)
			}
		}
		if args[0] != "doctor" && (!strings.Contains(r.stderr, "X-Amz-Signature=REDACTED") || !strings.Contains(r.stderr, "X-Amz-Security-Token=REDACTED")) {
			t.Errorf("%v: --debug shows no redacted token:\n%s", args, r.stderr)
		}
	}
	if st, err := os.Stat(pass); err != nil || st.Mode().Perm() != permHere(0o600) {
		t.Errorf("pgpass mode: %v %v", st.Mode(), err)
	}
}

// TestUnknownCommandPrintsFalse: a mistyped or missing command word prints a lone false, so
// `eval "$(…)" && psql` stops in bash, zsh and dash, and `… | source; and psql` in fish.
func TestUnknownCommandPrintsFalse(t *testing.T) {
	for _, args := range [][]string{{"bsah", "prod"}, {"Bash", "prod"}, {"zhs", "prod"}, {"bash-prod"}, {"fsh", "prod"}, {"--debug"}, {"--timeout", "5s"}, {}} {
		r := runBin(t, awsEnv(t, true), args...)
		if r.code != 2 || r.stdout != "false\n" || r.stderr == "" {
			t.Errorf("dsqlenv %s: exit %d stdout %q stderr %q", strings.Join(args, " "), r.code, r.stdout, r.stderr)
		}
	}
	for _, sh := range []string{"bash", "zsh", "dash"} {
		script := `eval "$("$BIN" bsah prod)" && echo RAN; echo DONE`
		cmd := exec.Command(testkit.RequireTool(t, sh), "-c", script)
		cmd.Env = awsEnv(t, true, "BIN="+binPath)
		r := runCmd(t, cmd)
		if strings.Contains(r.stdout, "RAN") || !strings.Contains(r.stdout, "DONE") {
			t.Errorf("%s ran the next command after a mistyped shell name: %q", sh, r.stdout)
		}
	}
	cmd := exec.Command(testkit.RequireTool(t, "fish"), "--no-config", "-c", `"$BIN" fsh prod | source; and echo RAN; echo DONE`)
	cmd.Env = awsEnv(t, true, "BIN="+binPath)
	if r := runCmd(t, cmd); strings.Contains(r.stdout, "RAN") || !strings.Contains(r.stdout, "DONE") {
		t.Errorf("fish ran the next command after a mistyped shell name: %q", r.stdout)
	}
}

const hardHost = "abcdefghijklmnopqrstuvwxyz.dsql.us-east-1.on.aws"

// TestTopLevelHelp: both USAGE lines sit at the section's indent, and the examples show the
// proxy and login beside the shells.
func TestTopLevelHelp(t *testing.T) {
	r := runApp(t, fixedMint, "--help")
	usage, _, _ := strings.Cut(r.stdout, "\n\n")
	if want := "USAGE:\n   dsqlenv [--config FILE] SHELL PROFILE\n   dsqlenv COMMAND [options] [arguments...]"; r.code != 0 || !strings.Contains(r.stdout, "\n"+want+"\n") {
		t.Errorf("--help's USAGE section:\n%s\nwant:\n%s", usage, want)
	}
	for _, want := range []string{"\n      dsqlenv login prod ", "\n      dsqlenv proxy prod "} {
		if !strings.Contains(r.stdout, want) {
			t.Errorf("--help's examples lack %q:\n%s", strings.TrimSpace(want), r.stdout)
		}
	}
}
