package cli

import (
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/dsqlenv/dsqlenv/profiles"
	"github.com/dsqlenv/dsqlenv/templates"
)

func TestInitWritesTheFileEveryCommandReads(t *testing.T) {
	path := filepath.Join(t.TempDir(), "team", "profiles.yaml")
	e := testEnv(fixedMint, "DSQLENV_CONFIG="+path)
	if r := runEnv(t, e, "init", "--path"); r.code != 0 || r.stdout != path+"\n" {
		t.Fatalf("init --path: %+v", r)
	}
	if r := runEnv(t, e, "init"); r.code != 0 || !strings.Contains(r.stderr, "wrote "+path) {
		t.Fatalf("init: %+v", r)
	}
	if r := runEnv(t, e, "list"); r.code != 0 || !strings.Contains(r.stdout, "prod") {
		t.Errorf("list after init reads another file: %+v", r)
	}
	flag := filepath.Join(t.TempDir(), "flag.yaml")
	if r := runEnv(t, e, "--config", flag, "init"); r.code != 0 {
		t.Fatalf("init --config: %+v", r)
	}
	if _, err := os.Stat(flag); err != nil {
		t.Errorf("--config before init was not honoured: %v", err)
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

// TestStarterFileSuggestsEveryField: the starter file shows every field a profile and its
// proxy: block may hold, and PrivateLink without private DNS by vpc_endpoint:, not by the
// unverified route's options written by hand.
func TestStarterFileSuggestsEveryField(t *testing.T) {
	for _, name := range append(slices.Clone(profiles.FieldNames), profiles.ProxyFieldNames...) {
		if !regexp.MustCompile(`(?m)^ *#? *` + name + `:`).MatchString(templates.Profiles) {
			t.Errorf("the starter file does not suggest %s:", name)
		}
	}
	if strings.Contains(templates.Profiles, "amzn-cluster-id") {
		t.Error("the starter file suggests options: -c amzn-cluster-id=, the unverified PrivateLink route by hand: vpc_endpoint: is the way")
	}
}
