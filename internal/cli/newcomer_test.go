package cli

import (
	"path/filepath"
	"strings"
	"testing"
)

// The newcomer's first hour, through the binary: what the CLI passes down reaches
// the messages.

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

func TestNewcomerOneBadProfileBreaksOnlyItself(t *testing.T) {
	dir := t.TempDir()
	cfg := writeFile(t, dir, "profiles.yaml", "profiles:\n  prod:\n    endpoint: abcdefghijklmnopqrstuvwxyz.dsql.us-east-1.on.aws\n"+
		"  bad:\n    endpoint: bbcdefghijklmnopqrstuvwxyz.dsql.us-east-1.on.aws\n    region: us-east1\n")
	env := awsEnv(t, true)
	if r := runBin(t, env, "--config", cfg, "bash", "prod"); r.code != 0 || !strings.Contains(r.stdout, "PGPASSWORD") {
		t.Errorf("bash prod: %+v", r)
	}
	wantErr := "dsqlenv: " + cfg + `:6: profile bad: region: "us-east1" is not an AWS region name such as us-east-1` + "\n"
	if r := runBin(t, env, "--config", cfg, "bash", "bad"); r.code != 1 || r.stderr != wantErr {
		t.Errorf("bash bad: exit %d, stderr %q\nwant %q", r.code, r.stderr, wantErr)
	}
	r := runBin(t, env, "--config", cfg, "list")
	if r.code != 0 || !strings.Contains(r.stdout, "prod ") || !strings.Contains(r.stdout, "bad (invalid)") || r.stderr != wantErr {
		t.Errorf("list: exit %d\nstdout %s\nstderr %q\nwant %q", r.code, r.stdout, r.stderr, wantErr)
	}
}

func TestNewcomerInitsExampleEndpointIsRefusedEverywhere(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "profiles.yaml")
	env := awsEnv(t, true, "DSQLENV_CONFIG="+path)
	if r := runBin(t, env, "init"); r.code != 0 {
		t.Fatalf("init: %+v", r)
	}
	want := path + ":22: profile prod: endpoint: edit the example endpoint from dsqlenv init: put in your cluster's endpoint (<cluster id>.dsql.<region>.on.aws, shown in the DSQL console), its ARN, or its cluster ID with region:"
	for _, args := range [][]string{{"show", "prod"}, {"bash", "prod"}, {"token", "prod"}, {"url", "prod"}} {
		if r := runBin(t, env, args...); r.code == 0 || r.stderr != "dsqlenv: "+want+"\n" {
			t.Errorf("%v: exit %d, stderr %q\nwant %q", args, r.code, r.stderr, want)
		}
	}
	if r := runBin(t, env, "list"); r.code != 0 || !strings.Contains(r.stdout, "prod (invalid)") || !strings.Contains(r.stderr, want) {
		t.Errorf("list: %+v", r)
	}
}
