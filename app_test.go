package main

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/dsqlenv/dsqlenv/emit"
	"github.com/dsqlenv/dsqlenv/profiles"
)

// TestOneCommandAppBehavesLikeTheWholeApp: Run builds only the command a line names; for
// help, usage errors and real runs it must print and return exactly what the whole app does.
func TestOneCommandAppBehavesLikeTheWholeApp(t *testing.T) {
	cfg := writeFile(t, t.TempDir(), "p.yaml", "profiles:\n  prod:\n    endpoint: "+matrixEndpoint+"\n")
	dir := t.TempDir()
	t.Setenv("HOME", dir)
	t.Setenv("PGSERVICEFILE", dir+"/pg_service.conf")
	t.Setenv("PGPASSFILE", dir+"/pgpass")
	names := append(emit.Names(), commandNames()...)
	for _, name := range names {
		variants := [][]string{{name, "--help"}, {name, "--nope"}, {"--timeout", "5s", name, "--unset"}}
		switch name {
		case "init", "service", "pgpass", "cert", "doctor": // they write files or reach the network
		default:
			variants = append(variants, []string{name}, []string{"-c", cfg, name, "prod"}, []string{"--debug", "--config=" + cfg, name, "nope"})
		}
		for _, args := range variants {
			full := runWithApp(t, true, args)
			one := runWithApp(t, false, args)
			if full != one {
				t.Errorf("%v: one-command app differs:\n%s\nwhole app:\n%s", args, one, full)
			}
		}
	}
	for args, want := range map[string]string{
		"dsqlenv bash prod": "bash", "dsqlenv -c f --debug list": "list", "dsqlenv --timeout=3s token p": "token",
		"dsqlenv --help": "", "dsqlenv --nope bash": "", "dsqlenv tcsh": "", "dsqlenv -c": "", "dsqlenv -config x bash p": "",
		"dsqlenv -c=f --debug --timeout 2s show p": "show", "dsqlenv __complete --cur=": "", "dsqlenv help bash": "",
	} {
		if got := commandOf(strings.Fields(args)); got != want {
			t.Errorf("commandOf(%s) = %q, want %q", args, got, want)
		}
	}
}

func runWithApp(t *testing.T, whole bool, args []string) string {
	var out, errb bytes.Buffer
	e := &Env{Stdin: strings.NewReader(""), Stdout: &out, Stderr: &errb, Getenv: os.Getenv, Now: func() time.Time { return fixedNow }, Mint: fixedMint}
	argv := append([]string{"dsqlenv"}, args...)
	var code int
	if whole {
		code = runCLI(context.Background(), e, newApp(e, ""), argv)
	} else {
		code = Run(context.Background(), e, argv)
	}
	return strings.Join([]string{string(rune('0' + code)), out.String(), errb.String()}, "\n--\n")
}

// TestFastPathMatchesTheApp runs the lines fastRun takes both ways: through fastRun, and
// through the whole urfave/cli app. Output, errors and exit status must be identical.
func TestFastPathMatchesTheApp(t *testing.T) {
	dir := t.TempDir()
	cfg := writeFile(t, dir, "p.yaml", "profiles:\n  prod:\n    endpoint: "+matrixEndpoint+"\n  quote:\n    endpoint: "+matrixEndpoint+
		"\n    user: 'say \"hi\"'\n  amazon:\n    endpoint: "+matrixEndpoint+"\n    sslrootcert: amazon\n")
	bad := writeFile(t, dir, "bad.yaml", "profiles:\n  prod:\n    prot: 1\n")
	failMint := func(_ context.Context, c *profiles.Connection) (string, error) {
		return "", &profiles.CredentialsError{Profile: c.Profile, Err: fmt.Errorf("none")}
	}
	var lines [][]string
	for _, sh := range emit.Names() {
		for _, arg := range []string{"prod", "nope", "--unset", "quote", "amazon"} {
			lines = append(lines, []string{sh, arg})
		}
	}
	for _, sh := range []string{"bash", "zsh", "fish", "powershell", "pwsh"} {
		lines = append(lines, []string{"hook", sh}, []string{"completion", sh})
	}
	lines = append(lines, []string{"list"}, []string{"show", "prod"}, []string{"show", "nope"})
	for _, env := range [][2]string{{cfg, ""}, {bad, ""}, {filepath.Join(dir, "missing.yaml"), ""}, {cfg, "5s"}, {cfg, "soon"}} {
		config := env[0]
		t.Setenv("DSQLENV_CONFIG", config)
		t.Setenv("DSQLENV_TIMEOUT", env[1])
		for _, mint := range []profiles.Minter{fixedMint, failMint} {
			for _, line := range append(append(append([][]string{}, lines...), withFlags([]string{"-c", cfg}, lines)...),
				withFlags([]string{"--debug", "--config=" + bad}, lines)...) {
				argv := append([]string{"dsqlenv"}, line...)
				var out, errb bytes.Buffer
				e := &Env{Stdin: strings.NewReader(""), Stdout: &out, Stderr: &errb, Getenv: os.Getenv, Now: func() time.Time { return fixedNow }, Mint: mint}
				code, ok := fastRun(context.Background(), e, argv)
				if !ok {
					t.Fatalf("%v: fastRun did not take it", line)
				}
				fast := fmt.Sprintf("%d\n--\n%s\n--\n%s", code, out.String(), errb.String())
				out.Reset()
				errb.Reset()
				code = runCLI(context.Background(), e, newApp(e, ""), argv)
				whole := fmt.Sprintf("%d\n--\n%s\n--\n%s", code, out.String(), errb.String())
				if fast != whole {
					t.Errorf("DSQLENV_CONFIG=%s DSQLENV_TIMEOUT=%s %v:\nfast path:\n%s\nwhole app:\n%s", filepath.Base(config), env[1], line, fast, whole)
				}
			}
		}
	}
	for _, argv := range [][]string{{"dsqlenv", "bash"}, {"dsqlenv", "bash", "-c", "x"}, {"dsqlenv", "bash", "--debug"}, {"dsqlenv", "list", "x"},
		{"dsqlenv", "--timeout", "1s", "bash", "prod"}, {"dsqlenv", "bash", "help"}, {"dsqlenv", "show", "h"}, {"dsqlenv", "list", "--debug"}, {"dsqlenv", "-c", "x", "bash"}, {"dsqlenv", "-config", "x", "bash", "prod"},
		{"dsqlenv", "hook", "tcsh"}, {"dsqlenv", "bash", "a", "b"}, {"dsqlenv", "tcsh", "prod"}} {
		if _, ok := fastRun(context.Background(), &Env{Getenv: os.Getenv}, argv); ok {
			t.Errorf("%v: fastRun took a line the app must parse", argv)
		}
	}
}

// TestFlagsBeatTheEnvironment: --config and --timeout on the line win over DSQLENV_CONFIG and
// DSQLENV_TIMEOUT, whether given before the command or after it.
func TestFlagsBeatTheEnvironment(t *testing.T) {
	cfg := writeFile(t, t.TempDir(), "p.yaml", "profiles:\n  prod:\n    endpoint: "+matrixEndpoint+"\n")
	t.Setenv("DSQLENV_CONFIG", "/nonexistent/profiles.yaml")
	t.Setenv("DSQLENV_TIMEOUT", "soon")
	for _, args := range [][]string{{"--config", cfg, "--timeout", "5s", "bash", "prod"}, {"bash", "-c", cfg, "--timeout=5s", "prod"}, {"-c", cfg, "list"}} {
		if r := runApp(t, fixedMint, args...); r.code != 0 || r.stderr != "" {
			t.Errorf("%v: exit %d: %s", args, r.code, r.stderr)
		}
	}
	r := runApp(t, fixedMint, "-c", cfg, "bash", "prod")
	if r.code != 1 || r.stderr != "dsqlenv: DSQLENV_TIMEOUT=\"soon\" is not a duration such as 10s or 2m: fix or unset it\n" || r.stdout != "false\n" {
		t.Errorf("bad DSQLENV_TIMEOUT: %+v", r)
	}
	if r := runApp(t, fixedMint, "-c", cfg, "--timeout", "0s", "bash", "prod"); r.code != 2 || !strings.Contains(r.stderr, "--timeout 0s: give a duration above zero") {
		t.Errorf("--timeout 0s: %+v", r)
	}
}

func withFlags(flags []string, lines [][]string) [][]string {
	var out [][]string
	for _, l := range lines {
		out = append(out, append(append([]string{}, flags...), l...))
	}
	return out
}
