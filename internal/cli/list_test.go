package cli

import (
	"strings"
	"testing"
)

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
