package cli

import (
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/dsqlenv/dsqlenv/emit"
	"github.com/dsqlenv/dsqlenv/internal/testkit"
)

// TestMalformedCredentialProcessOutputIsNotPrinted: a credential_process whose JSON is almost
// right (a trailing comma) still holds a secret key; the SDK's error quotes the output whole.
func TestMalformedCredentialProcessOutputIsNotPrinted(t *testing.T) {
	testkit.UnixOnly(t, "its credential_process is a sh command line")
	dir := t.TempDir()
	cfg := writeFile(t, dir, "p.yaml", "profiles:\n  p:\n    endpoint: "+matrixEndpoint+"\n    aws_profile: bad\n")
	awsConfig := writeFile(t, dir, "aws-config", "[profile bad]\ncredential_process = printf '{\"Version\": 1, \"AccessKeyId\": \"AKIAIOSFODNN7EXAMPLE\", \"SecretAccessKey\": \"SUPERSECRETKEYVALUE1234\", \"SessionToken\": \"TOKENSECRET\",}'\n")
	env := append(awsEnv(t, false, "DSQLENV_CONFIG="+cfg), "AWS_CONFIG_FILE="+awsConfig)
	for _, args := range [][]string{{"bash", "p"}, {"--debug", "token", "p"}, {"doctor", "p"}} {
		r := runBin(t, env, args...)
		if r.code != 1 || strings.Contains(r.stdout+r.stderr, "SUPERSECRET") || strings.Contains(r.stdout+r.stderr, "TOKENSECRET") {
			t.Errorf("%v: exit %d, a secret reached the output:\n%s%s", args, r.code, r.stdout, r.stderr)
		}
		if !strings.Contains(r.stdout+r.stderr, "not the JSON the AWS CLI expects") || !strings.Contains(r.stdout+r.stderr, "run the credential_process of AWS profile bad") {
			t.Errorf("%v: the message does not say what is wrong:\n%s%s", args, r.stdout, r.stderr)
		}
	}
}

func TestNewcomerSSONeverLoggedInThroughAWSProfile(t *testing.T) {
	dir := t.TempDir()
	cfg := writeFile(t, dir, "profiles.yaml", "profiles:\n  prod:\n    endpoint: abcdefghijklmnopqrstuvwxyz.dsql.us-east-1.on.aws\n")
	env := awsEnv(t, false, "AWS_PROFILE=work")
	// awsEnv's HOME is where the SDK looks for ~/.aws/sso/cache: nothing there, never logged in.
	awsConfig := ""
	for _, kv := range env {
		if v, ok := strings.CutPrefix(kv, "AWS_CONFIG_FILE="); ok {
			awsConfig = v
		}
	}
	writeFile(t, filepath.Dir(awsConfig), filepath.Base(awsConfig),
		"[profile work]\nsso_start_url = https://example.awsapps.com/start\nsso_region = us-east-1\nsso_account_id = 123456789012\nsso_role_name = Admin\n")
	r := runBin(t, env, "--config", cfg, "bash", "prod")
	want := "dsqlenv: profile prod: not logged in to SSO for AWS profile work (from AWS_PROFILE): run `aws sso login --profile work`\n"
	if r.code != 1 || r.stderr != want {
		t.Errorf("exit %d, stderr %q\nwant %q", r.code, r.stderr, want)
	}
}

// TestSlowCredentialsSayWhatTheyWaitFor: a credential_process that takes 15 s; at a terminal
// dsqlenv says after 2 s what it waits for (13 s of slack), piped it says nothing.
func TestSlowCredentialsSayWhatTheyWaitFor(t *testing.T) {
	testkit.UnixOnly(t, "its credential_process is a sh command line")
	dir := t.TempDir()
	creds := writeFile(t, dir, "creds.json", `{"Version": 1, "AccessKeyId": "AKIAIOSFODNN7EXAMPLE", "SecretAccessKey": "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"}`)
	awsCfg := writeFile(t, dir, "aws-config", "[profile slow]\ncredential_process = sh -c 'sleep 15; cat "+creds+"'\n")
	cfg := writeFile(t, dir, "p.yaml", "profiles:\n  s:\n    endpoint: "+hardHost+"\n    aws_profile: slow\n")
	env := awsEnv(t, false, "AWS_CONFIG_FILE="+awsCfg)
	const want = "dsqlenv: waiting for AWS credentials from AWS profile slow (from aws_profile:) (a credential_process, SSO or STS; giving up after 30s, --timeout)"
	t.Run("terminal", func(t *testing.T) {
		t.Parallel()
		cmd := exec.Command(testkit.RequireTool(t, "script"), "-qec", emit.QuotePOSIX(binPath)+" -c "+emit.QuotePOSIX(cfg)+" token s", "/dev/null")
		cmd.Env = env
		r := runCmd(t, cmd)
		if r.code != 0 || !strings.Contains(r.stdout, want) || !strings.Contains(r.stdout, hardHost+"?Action=DbConnectAdmin") {
			t.Errorf("at a terminal: exit %d\n%q", r.code, r.stdout)
		}
	})
	t.Run("piped", func(t *testing.T) {
		t.Parallel()
		r := runBin(t, env, "-c", cfg, "token", "s")
		if r.code != 0 || strings.Contains(r.stderr, "waiting") || !strings.HasPrefix(r.stdout, hardHost+"?Action=DbConnectAdmin") {
			t.Errorf("piped: %+v", r)
		}
	})
}
