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

// TestListAgreesWithShow: list marks invalid what show refuses (here a vpc_endpoint: that
// names no DSQL endpoint service beside a public endpoint:, which Resolve rejects though the
// file decodes), and shows the host show does: with vpc_endpoint:, the PrivateLink name.
func TestListAgreesWithShow(t *testing.T) {
	cfg := writeFile(t, t.TempDir(), "p.yaml", "profiles:\n"+
		"  pl:\n    endpoint: abcdefghijklmnopqrstuvwxyz.dsql.us-east-1.on.aws\n    vpc_endpoint: vpce-0a1b-c2d3.dsql-fnh4.us-east-1.vpce.amazonaws.com\n"+
		"  odd:\n    endpoint: bbcdefghijklmnopqrstuvwxyz.dsql.us-east-1.on.aws\n    vpc_endpoint: endpoint.example.com\n")
	privateName := "abcdefghijklmnopqrstuvwxyz.dsql-fnh4.us-east-1.on.aws"
	if got := show(t, cfg, "pl"); !strings.Contains(got, privateName) {
		t.Fatalf("show pl lacks %s:\n%s", privateName, got)
	}
	shown := runApp(t, fixedMint, "-c", cfg, "show", "odd")
	if shown.code != 1 || !strings.Contains(shown.stderr, "vpc_endpoint endpoint.example.com does not name the cluster's endpoint service") {
		t.Fatalf("show odd: %+v", shown)
	}
	r := runApp(t, fixedMint, "-c", cfg, "list")
	rows := map[string]string{}
	for _, line := range strings.Split(r.stdout, "\n") {
		if f := strings.Fields(line); len(f) > 1 {
			rows[f[0]] = strings.Join(f[1:], " ")
		}
	}
	if r.code != 0 || rows["pl"] != privateName+" admin us-east-1" {
		t.Errorf("list shows pl as %q, not by the name show gives (%s): %+v", rows["pl"], privateName, r)
	}
	if !strings.HasPrefix(rows["odd"], "(invalid)") || !strings.Contains(r.stderr, strings.TrimPrefix(strings.TrimSpace(shown.stderr), "dsqlenv: ")) {
		t.Errorf("list does not mark odd invalid with show's reason: odd %q\nstderr %s\nshow said %s", rows["odd"], r.stderr, shown.stderr)
	}
}
