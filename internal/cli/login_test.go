//go:build unix

package cli

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/dsqlenv/dsqlenv/emit"
	"github.com/dsqlenv/dsqlenv/internal/testkit"
)

// mfaConfig is the setup: a role with mfa_serial, assumed from a base profile with
// AWS's example keys.
const mfaConfig = `[profile mfa]
region = us-east-1
role_arn = arn:aws:iam::123456789012:role/dev
source_profile = base
mfa_serial = arn:aws:iam::123456789012:mfa/me

[profile base]
aws_access_key_id = AKIAIOSFODNN7EXAMPLE
aws_secret_access_key = wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY
`

// mfaEnv is an environment with the MFA role as profile p's aws_profile, STS at the stand-in,
// and no keys in the environment; it returns the home the AWS CLI's cache is under.
func mfaEnv(t *testing.T, sts *testkit.AWSStandIn) (env []string, home string) {
	env = awsEnv(t, false, "AWS_ENDPOINT_URL_STS="+sts.URL)
	for _, kv := range env {
		if v, ok := strings.CutPrefix(kv, "HOME="); ok {
			home = v
		}
	}
	// q reaches nothing: doctor's connection fails at once on a closed local port.
	cfg := writeFile(t, home, "profiles.yaml", "profiles:\n  p:\n    endpoint: "+matrixEndpoint+"\n    aws_profile: mfa\n"+
		fmt.Sprintf("  q:\n    endpoint: localhost\n    region: us-east-1\n    port: %d\n    aws_profile: mfa\n", testkit.FreePort(t)))
	if err := os.WriteFile(filepath.Join(home, "aws-config"), []byte(mfaConfig), 0o600); err != nil {
		t.Fatal(err)
	}
	return append(env, "DSQLENV_CONFIG="+cfg), home
}

// noTerminal runs dsqlenv in a session of its own, which has no controlling terminal: the
// open of /dev/tty fails as it does under CI, cron or a service.
func noTerminal(t *testing.T, env []string, args ...string) result {
	t.Helper()
	cmd := exec.Command(binPath, args...)
	cmd.Env = env
	cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true}
	return runCmd(t, cmd)
}

func TestMFAWithoutATerminalNamesLogin(t *testing.T) {
	sts := testkit.StartAWSStandIn(t)
	env, _ := mfaEnv(t, sts)
	r := noTerminal(t, env, "bash", "p")
	if r.code != 1 || r.stdout != "false\n" {
		t.Fatalf("exit %d, stdout %q, want 1 and false", r.code, r.stdout)
	}
	want := "dsqlenv: profile p: AWS profile mfa (from aws_profile:) needs an MFA code for arn:aws:iam::123456789012:mfa/me, and there is no terminal to ask on (/dev/tty: "
	if !strings.HasPrefix(r.stderr, want) || strings.Count(r.stderr, "\n") != 1 ||
		!strings.Contains(r.stderr, "run `dsqlenv login p` in a terminal, or any `aws … --profile mfa` command there") {
		t.Errorf("stderr %q\nwant one line starting %q and naming dsqlenv login p", r.stderr, want)
	}
	if n := len(sts.AssumeRoleCalls()); n != 0 {
		t.Errorf("%d AssumeRole calls without a code", n)
	}
}

// TestMFAPromptsOnceOnTheTerminal: on a terminal (script(1) gives the pty), the first eval
// asks for the code on /dev/tty, never on stdout or stderr; the second, and a run with no
// terminal at all, use the AWS CLI's cache: one STS call in all.
func TestMFAPromptsOnceOnTheTerminal(t *testing.T) {
	scriptCmd := testkit.RequireTool(t, "script") // util-linux
	sts := testkit.StartAWSStandIn(t)
	env, home := mfaEnv(t, sts)
	dir := t.TempDir()
	run := filepath.Join(dir, "run.sh")
	q := emit.QuotePOSIX
	writeExecutable(t, run, "#!/bin/sh\n"+
		"block=$("+q(binPath)+" bash p 2>"+q(dir+"/err1")+") || exit 1\n"+
		"printf '%s' \"$block\" > "+q(dir+"/out1")+"\n"+
		"eval \"$block\"\n"+
		"eval \"$("+q(binPath)+" bash p 2>"+q(dir+"/err2")+")\" || exit 1\n"+
		"echo \"REPORT token=$PGPASSWORD\"\n")
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, scriptCmd, "-qec", run, "/dev/null")
	cmd.Env = env
	stdin, err := cmd.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	var tty bytes.Buffer
	cmd.Stdout, cmd.Stderr = &tty, &tty
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	io.WriteString(stdin, "123456\n") // typed ahead: the terminal holds the line until it is read
	err = cmd.Wait()
	stdin.Close()
	if err != nil {
		t.Fatalf("on a pty: %v\n%s", err, tty.String())
	}
	prompt := "Enter MFA code for arn:aws:iam::123456789012:mfa/me (AWS profile mfa): "
	if n := strings.Count(tty.String(), prompt); n != 1 {
		t.Errorf("the terminal shows the prompt %d times, want once:\n%q", n, tty.String())
	}
	for _, f := range []string{"out1", "err1", "err2"} {
		if b, _ := os.ReadFile(filepath.Join(dir, f)); strings.Contains(string(b), "Enter MFA code") {
			t.Errorf("%s holds the prompt: %q", f, b)
		}
	}
	if !strings.Contains(tty.String(), "REPORT token="+matrixEndpoint) {
		t.Errorf("no token after two evals:\n%s", tty.String())
	}
	calls := sts.AssumeRoleCalls()
	if len(calls) != 1 || calls[0].Get("TokenCode") != "123456" || calls[0].Get("SerialNumber") != "arn:aws:iam::123456789012:mfa/me" {
		t.Fatalf("AssumeRole calls %v, want one with the typed code and the serial", calls)
	}
	// A run with no terminal at all now finds the credentials in the cache.
	if r := noTerminal(t, env, "token", "p"); r.code != 0 {
		t.Errorf("with the cache filled, a run with no terminal: exit %d, %s", r.code, r.stderr)
	}
	if n := len(sts.AssumeRoleCalls()); n != 1 {
		t.Errorf("%d AssumeRole calls after the cached runs, want 1", n)
	}
	entries, _ := os.ReadDir(filepath.Join(home, ".aws", "cli", "cache"))
	if len(entries) != 1 {
		t.Errorf("cache holds %v, want one entry", entries)
	}
}

// TestRoleRunsShareOneSTSCall: 20 consecutive runs with an assumed role make one STS call; login
// fetches anew and says until when the credentials hold; DSQLENV_CREDENTIAL_CACHE=off stays
// out of the cache.
func TestRoleRunsShareOneSTSCall(t *testing.T) {
	sts := testkit.StartAWSStandIn(t)
	env, home := mfaEnv(t, sts)
	noMFA := strings.Replace(mfaConfig, "mfa_serial = arn:aws:iam::123456789012:mfa/me\n", "", 1)
	if err := os.WriteFile(filepath.Join(home, "aws-config"), []byte(noMFA), 0o600); err != nil {
		t.Fatal(err)
	}
	for range 20 {
		if r := runBin(t, env, "bash", "p"); r.code != 0 {
			t.Fatalf("bash: exit %d, %s", r.code, r.stderr)
		}
	}
	if n := len(sts.AssumeRoleCalls()); n != 1 {
		t.Errorf("%d AssumeRole calls for 20 runs, want 1", n)
	}
	cache := filepath.Join(home, ".aws", "cli", "cache")
	if r := runBin(t, env, "--debug", "token", "p"); !strings.Contains(r.stderr, "dsqlenv: debug: AWS CLI credential cache: using "+cache+string(filepath.Separator)) {
		t.Errorf("--debug does not say the cache was used:\n%s", r.stderr)
	}
	// show and doctor say where the credentials come from.
	cached := "STS AssumeRole, cached until "
	if r := runBin(t, env, "show", "p"); !strings.Contains(r.stdout, "note: credentials: "+cached) || !strings.Contains(r.stdout, "(AWS CLI cache, "+cache+string(filepath.Separator)) {
		t.Errorf("show with the cache filled:\n%s", r.stdout)
	}
	if r := runBin(t, env, "doctor", "q"); !strings.Contains(r.stdout, "ok    q: credentials from AWS profile mfa (from aws_profile:), "+cached) {
		t.Errorf("doctor with the cache filled:\n%s", r.stdout)
	}
	r := runBin(t, env, "login", "p")
	if r.code != 0 || r.stdout != "" || !strings.Contains(r.stderr, "p: AWS profile mfa (from aws_profile:): STS AssumeRole, valid until ") ||
		!strings.Contains(r.stderr, "kept in "+cache+string(filepath.Separator)) {
		t.Errorf("login: exit %d, stdout %q, stderr %q", r.code, r.stdout, r.stderr)
	}
	if n := len(sts.AssumeRoleCalls()); n != 2 {
		t.Errorf("%d AssumeRole calls after login, want 2: login fetches anew", n)
	}
	os.RemoveAll(cache)
	if r := runBin(t, env, "show", "p"); !strings.Contains(r.stdout, "note: credentials: STS AssumeRole, not cached: the next mint calls it") {
		t.Errorf("show with the cache empty:\n%s", r.stdout)
	}
	if r := runBin(t, append(env, "DSQLENV_CREDENTIAL_CACHE=off"), "token", "p"); r.code != 0 {
		t.Fatalf("token with the cache off: exit %d, %s", r.code, r.stderr)
	}
	if r := runBin(t, append(env, "DSQLENV_CREDENTIAL_CACHE=off"), "login", "p"); r.code != 0 || !strings.Contains(r.stderr, "; not kept: the credential cache is off") {
		t.Errorf("login with the cache off: exit %d, %q", r.code, r.stderr)
	}
	if _, err := os.Stat(cache); !os.IsNotExist(err) || len(sts.AssumeRoleCalls()) != 4 {
		t.Errorf("with DSQLENV_CREDENTIAL_CACHE=off: %s %v, %d calls (want no cache, 4 calls)", cache, err, len(sts.AssumeRoleCalls()))
	}
}

// TestSSORunsShareOneCall: 20 consecutive runs with an SSO role make one GetRoleCredentials call
// (the SSO token planted where `aws sso login` leaves it); with the SSO login expired, login
// says to run aws sso login.
func TestSSORunsShareOneCall(t *testing.T) {
	sso := testkit.StartAWSStandIn(t)
	env, home := mfaEnv(t, sso)
	env = append(env, "AWS_ENDPOINT_URL_SSO="+sso.URL)
	ssoConfig := "[profile mfa]\nsso_start_url = https://example.awsapps.com/start\nsso_region = us-east-1\nsso_account_id = 123456789012\nsso_role_name = Admin\n"
	if err := os.WriteFile(filepath.Join(home, "aws-config"), []byte(ssoConfig), 0o600); err != nil {
		t.Fatal(err)
	}
	testkit.WriteSSOToken(t, home, "https://example.awsapps.com/start", time.Now().Add(time.Hour))
	for range 20 {
		if r := runBin(t, env, "bash", "p"); r.code != 0 {
			t.Fatalf("bash: exit %d, %s", r.code, r.stderr)
		}
	}
	if calls := sso.SSOCalls(); len(calls) != 1 || calls[0].Get("token") != "cached-token" {
		t.Errorf("GetRoleCredentials calls %v for 20 runs, want 1 with the planted token", calls)
	}
	testkit.WriteSSOToken(t, home, "https://example.awsapps.com/start", time.Now().Add(-time.Hour))
	r := runBin(t, env, "login", "p")
	if r.code != 1 || !strings.Contains(r.stderr, "run `aws sso login --profile mfa`") || len(sso.SSOCalls()) != 1 {
		t.Errorf("login with the SSO login expired: exit %d, %q, %d calls", r.code, r.stderr, len(sso.SSOCalls()))
	}
}
