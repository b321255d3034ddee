package cli

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// TestFlagsAnywhere: global flags after any command, a flag left without its value, exec's
// flags between PROFILE and COMMAND, and user paths with ~, all through the one dispatcher.
func TestFlagsAnywhere(t *testing.T) {
	dir := t.TempDir()
	cfg := writeFile(t, dir, "p.yaml", "profiles:\n  prod:\n    endpoint: "+matrixEndpoint+"\n")
	for _, args := range [][]string{{"list", "--config", cfg}, {"show", "prod", "-c", cfg, "--debug"}, {"hook", "bash", "--debug"}, {"bash", "prod", "--config=" + cfg, "--timeout", "5s"}} {
		if r := runApp(t, fixedMint, args...); r.code != 0 {
			t.Errorf("%v: %+v", args, r)
		}
	}
	for _, args := range [][]string{{"-c", cfg, "service", "prod", "--file"}, {"bash", "prod", "-c"}, {"-c", cfg, "pgpass", "prod", "--file"}, {"--config"}} {
		r := runApp(t, fixedMint, args...)
		if r.code != 2 || !strings.Contains(r.stderr, "needs a value") {
			t.Errorf("%v: %+v", args, r)
		}
		if _, err := os.Stat("--"); err == nil {
			os.Remove("--")
			t.Errorf("%v wrote a file named --", args)
		}
	}
	if r := runApp(t, fixedMint, "bash", "prod", "-c"); r.stdout != "false\n" {
		t.Errorf("a bash line with a flag left without its value printed %q", r.stdout)
	}
	// exec: dsqlenv's flags before COMMAND, COMMAND's own after it.
	r := runBin(t, awsEnv(t, true, "DSQLENV_CONFIG="+cfg), "exec", "prod", "--debug", "--", "argsecho", "--debug")
	if r.code != 0 || !strings.HasPrefix(r.stdout, "\"--debug\"\nPGHOST="+matrixEndpoint+"\n") || !strings.Contains(r.stderr, "debug:") {
		t.Errorf("exec with --debug after PROFILE: %+v", r)
	}
	// --file=~/x is the user's home, never a directory named ~.
	e := testEnv(fixedMint, "DSQLENV_CONFIG="+cfg)
	e.Paths.Home = t.TempDir()
	if r := runEnv(t, e, "service", "--file=~/svc.conf", "prod"); r.code != 0 {
		t.Fatalf("service --file=~/svc.conf: %+v", r)
	}
	if _, err := os.Stat(filepath.Join(e.Paths.Home, "svc.conf")); err != nil {
		t.Errorf("~ in --file was not the home directory: %v", err)
	}
	// A section outlives its profile: --remove needs only the name.
	svc := filepath.Join(e.Paths.Home, "svc.conf")
	cfg2 := writeFile(t, dir, "other.yaml", "profiles:\n  other:\n    endpoint: "+matrixEndpoint+"\n")
	if r := runEnv(t, e, "-c", cfg2, "service", "--remove", "--file", svc, "prod"); r.code != 0 || !strings.Contains(r.stderr, "removed [prod]") {
		t.Errorf("removing the section of a deleted profile: %+v", r)
	}
}

// TestAFlagValueIsNeverHelp: --file -h names a file called -h; the PROFILE that follows
// still limits the command to that profile.
func TestAFlagValueIsNeverHelp(t *testing.T) {
	dir := t.TempDir()
	cfg := writeFile(t, dir, "p.yaml", "profiles:\n  prod:\n    endpoint: "+hardHost+"\n  dev:\n    endpoint: bbcdefghijklmnopqrstuvwxyz.dsql.us-east-1.on.aws\n")
	env := awsEnv(t, true)
	run := func(args ...string) result {
		cmd := exec.Command(binPath, append([]string{"-c", cfg}, args...)...)
		cmd.Env, cmd.Dir = env, dir
		return runCmd(t, cmd)
	}
	passDir := t.TempDir()
	if r := run("service", "--file", "-h", "prod"); r.code != 0 {
		t.Fatalf("service: %+v", r)
	}
	if b, _ := os.ReadFile(filepath.Join(dir, "-h")); !strings.Contains(string(b), "[prod]") || strings.Contains(string(b), "[dev]") {
		t.Errorf("service --file -h prod wrote:\n%s", b)
	}
	run("service", "--file", "-h", "dev")
	if r := run("service", "--remove", "--file", "-h", "prod"); r.code != 0 {
		t.Fatalf("service --remove: %+v", r)
	}
	if b, _ := os.ReadFile(filepath.Join(dir, "-h")); strings.Contains(string(b), "[prod]") || !strings.Contains(string(b), "[dev]") {
		t.Errorf("service --remove --file -h prod left:\n%s", b)
	}
	cmd := exec.Command(binPath, "-c", cfg, "pgpass", "--file", "-h", "prod")
	cmd.Env, cmd.Dir = env, passDir
	if r := runCmd(t, cmd); r.code != 0 || !strings.Contains(r.stderr, "wrote 1 token(s)") {
		t.Errorf("pgpass --file -h prod: %+v", r)
	}
	if b, _ := os.ReadFile(filepath.Join(passDir, "-h")); strings.Count(string(b), "\n") != 1 || !strings.HasPrefix(string(b), hardHost+":") {
		t.Errorf("pgpass --file -h prod wrote:\n%s", b)
	}
}
