package main

import (
	"bytes"
	"context"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/dsqlenv/dsqlenv/emit"
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
		"dsqlenv --help": "", "dsqlenv --nope bash": "", "dsqlenv tcsh": "", "dsqlenv __complete --cur=": "", "dsqlenv help bash": "",
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
