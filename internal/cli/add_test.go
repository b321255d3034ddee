package cli

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// copyTestdata copies a file of testdata/add into the environment's home and returns its path.
func copyTestdata(t *testing.T, env []string, name string) (path string, data []byte) {
	t.Helper()
	data, err := os.ReadFile(filepath.Join("testdata", "add", name))
	if err != nil {
		t.Fatal(err)
	}
	path = filepath.Join(envValue(env, "HOME"), name)
	if err := os.WriteFile(path, data, 0o640); err != nil {
		t.Fatal(err)
	}
	return path, data
}

func TestAddKeepsAHandWrittenFile(t *testing.T) {
	srv := startFakeDSQL(t, twoRegions())
	env := dsqlEnv(t, srv)
	file, original := copyTestdata(t, env, "handwritten.yaml")
	r := runBin(t, env, "add", "orders", "--config", file, "--cluster", idOrdersEast2, "--region", "us-east-2", "--aws-profile", "work")
	wantErr := "dsqlenv: added profile orders to " + file + ": endpoint " + idOrdersEast2 + ".dsql.us-east-2.on.aws\ndsqlenv: next: dsqlenv show orders\n"
	if r.code != 0 || r.stdout != "" || r.stderr != wantErr {
		t.Fatalf("exit %d, stdout %q, stderr %q; want %q", r.code, r.stdout, r.stderr, wantErr)
	}
	got, _ := os.ReadFile(file)
	golden(t, filepath.Join("testdata", "golden", "add", "handwritten.yaml"), string(got))
	// Byte for byte: the file is the original with the new lines in one place.
	added := "    orders:\n        endpoint: " + idOrdersEast2 + ".dsql.us-east-2.on.aws\n        aws_profile: work\n"
	if strings.Replace(string(got), added, "", 1) != string(original) || !strings.Contains(string(got), "(not yet)\n\n    staging:   {endpoint: dddddddddddddddddddddddddd.dsql.us-west-2.on.aws}\n"+added+"\n# end") {
		t.Errorf("the file changed beyond the new profile:\n%s", got)
	}
	if st, _ := os.Stat(file); st.Mode().Perm() != permHere(0o640) {
		t.Errorf("mode %v: the file's own mode must stay", st.Mode().Perm())
	}
	r = runBin(t, env, "--config", file, "show", "orders")
	if r.code != 0 || !strings.Contains(r.stdout, "work") {
		t.Errorf("show orders: exit %d\n%s%s", r.code, r.stdout, r.stderr)
	}
}

func TestAddRefusesAnExistingNameWithoutForce(t *testing.T) {
	srv := startFakeDSQL(t, twoRegions())
	env := dsqlEnv(t, srv)
	file, original := copyTestdata(t, env, "handwritten.yaml")
	r := runBin(t, env, "add", "prod", "--config", file, "--cluster", fakeARN("us-east-2", idReports), "--aws-profile", "work")
	want := "dsqlenv: add: profile prod already exists in " + file + " (line 8): choose another NAME, or give --force to replace it\n"
	if got, _ := os.ReadFile(file); r.code != 1 || r.stderr != want || string(got) != string(original) {
		t.Errorf("exit %d, stderr %q; want %q and the file unchanged", r.code, r.stderr, want)
	}
	r = runBin(t, env, "add", "prod", "--config", file, "--cluster", fakeARN("us-east-2", idReports), "--aws-profile", "work", "--force")
	if r.code != 0 {
		t.Fatalf("--force: exit %d: %s", r.code, r.stderr)
	}
	got, _ := os.ReadFile(file)
	golden(t, filepath.Join("testdata", "golden", "add", "force.yaml"), string(got))
	// The profile is replaced where it stands, its head comment kept, everything else too.
	old := "        endpoint: aaaaaaaaaaaaaaaaaaaaaaaaa1.dsql.us-east-1.on.aws   # orders\n        user: app_rw\n        # database: orders   (not yet)\n"
	repl := "        endpoint: " + idReports + ".dsql.us-east-2.on.aws\n        aws_profile: work\n"
	if string(got) != strings.Replace(string(original), old, repl, 1) {
		t.Errorf("--force changed more than the profile:\n%s", got)
	}
}

func TestAddCreatingCluster(t *testing.T) {
	srv := startFakeDSQL(t, twoRegions())
	env := dsqlEnv(t, srv)
	file := filepath.Join(envValue(env, "HOME"), "cfg", "profiles.yaml")
	// The ARN names the region; AWS_PROFILE chooses the credentials, so no aws_profile: is written.
	r := runBin(t, append(env, "AWS_PROFILE=east2"), "add", "fresh", "--config", file, "--cluster", fakeARN("us-east-1", idNew))
	wantErr := "dsqlenv: added profile fresh to " + file + ": endpoint " + idNew + ".dsql.us-east-1.on.aws\n" +
		"dsqlenv: note: cluster " + idNew + " is CREATING, not ACTIVE yet: connections fail until it is (dsqlenv clusters shows its status)\n" +
		"dsqlenv: next: dsqlenv show fresh\n"
	if r.code != 0 || r.stderr != wantErr {
		t.Fatalf("exit %d, stderr %q; want %q", r.code, r.stderr, wantErr)
	}
	got, _ := os.ReadFile(file)
	want := "# dsqlenv profiles (`dsqlenv add` wrote this file; every field: dsqlenv init --path, then the README)\nprofiles:\n  fresh:\n    endpoint: " + idNew + ".dsql.us-east-1.on.aws\n"
	if string(got) != want {
		t.Errorf("file:\n%s\nwant:\n%s", got, want)
	}
}

func TestAddKeepsCRLF(t *testing.T) {
	srv := startFakeDSQL(t, twoRegions())
	env := dsqlEnv(t, srv)
	file := filepath.Join(envValue(env, "HOME"), "crlf.yaml")
	original := "profiles:\r\n  a: # first\r\n    endpoint: " + idReports + ".dsql.us-east-2.on.aws\r\n"
	os.WriteFile(file, []byte(original), 0o600)
	r := runBin(t, env, "add", "b", "--config", file, "--cluster", idOrdersEast1+".dsql.us-east-1.on.aws", "--aws-profile", "work")
	got, _ := os.ReadFile(file)
	if want := original + "  b:\r\n    endpoint: " + idOrdersEast1 + ".dsql.us-east-1.on.aws\r\n    aws_profile: work\r\n"; r.code != 0 || string(got) != want {
		t.Errorf("exit %d %s, file %q; want %q", r.code, r.stderr, got, want)
	}
}

func TestAddFailures(t *testing.T) {
	f := twoRegions()
	srv := startFakeDSQL(t, f)
	env := dsqlEnv(t, srv)
	file := filepath.Join(envValue(env, "HOME"), "profiles.yaml")
	for _, tc := range []struct {
		args []string
		code int
		want string
	}{
		{[]string{"add"}, 2, "dsqlenv: add: missing NAME (usage: dsqlenv add NAME --cluster CLUSTER)\n"},
		{[]string{"add", "prod"}, 2, "dsqlenv: add: which cluster? give --cluster ID (with --region), ARN or ENDPOINT (dsqlenv clusters lists them)\n"},
		{[]string{"add", "-prod", "--cluster", idNew}, 2, ""}, // a flag urfave/cli does not know
		{[]string{"add", "bad/name", "--cluster", idNew}, 2, "dsqlenv: add: profile name \"bad/name\": use letters, digits, '.', '_' and '-', starting with a letter or digit\n"},
		{[]string{"add", "p", "--cluster", "nope"}, 2, "dsqlenv: add: --cluster nope is not a cluster ID (26 lower-case letters and digits), ARN or endpoint\n"},
		{[]string{"add", "p", "--cluster", fakeARN("us-east-1", idNew), "--region", "us-east-2"}, 2, "dsqlenv: add: --cluster " + fakeARN("us-east-1", idNew) + " is in us-east-1, not --region us-east-2: leave --region out\n"},
		{[]string{"add", "p", "--cluster", idNew, "--no-check"}, 2, "dsqlenv: add: --no-check needs the cluster's region: give --region, or the cluster's ARN or endpoint\n"},
		{[]string{"add", "p", "--cluster", idReports, "--region", "us-east-1", "--aws-profile", "work"}, 1,
			"dsqlenv: add: no cluster " + idReports + " in us-east-1 for AWS profile work (from --aws-profile): check the ID and the region (dsqlenv clusters --region us-east-1 lists them)\n"},
		{[]string{"add", "p", "--cluster", idReports, "--region", "us-east-1"}, 1, "dsqlenv: add: no AWS credentials from the default AWS credential chain: "},
	} {
		r := runBin(t, env, append(tc.args, "--config", file)...)
		if _, err := os.Stat(file); r.code != tc.code || r.stdout != "" || !strings.HasPrefix(r.stderr, tc.want) || strings.Count(r.stderr, "\n") != 1 || err == nil {
			t.Errorf("%v: exit %d, stdout %q, stderr %q; want exit %d, %q and no file", tc.args, r.code, r.stdout, r.stderr, tc.code, tc.want)
		}
	}
	f.setDeny("GetCluster")
	r := runBin(t, env, "add", "p", "--config", file, "--cluster", idNew, "--aws-profile", "work")
	want := "dsqlenv: add: access denied: AWS profile work (from --aws-profile) may not call dsql:GetCluster in us-east-1 (not authorized to perform: dsql:GetCluster): allow dsql:GetCluster in its IAM policy, or use another --aws-profile\n"
	if _, err := os.Stat(file); r.code != 1 || r.stderr != want || err == nil {
		t.Errorf("access denied: exit %d, stderr %q; want %q and no file", r.code, r.stderr, want)
	}
	// --no-check asks nothing, so it works without credentials or permissions.
	r = runBin(t, env, "add", "p", "--config", file, "--cluster", idNew, "--region", "us-east-1", "--no-check")
	if got, _ := os.ReadFile(file); r.code != 0 || !strings.HasSuffix(string(got), "profiles:\n  p:\n    endpoint: "+idNew+".dsql.us-east-1.on.aws\n") {
		t.Errorf("--no-check: exit %d %s: %s", r.code, r.stderr, got)
	}
}

func TestAddInitFromAWS(t *testing.T) {
	srv := startFakeDSQL(t, twoRegions())
	env := dsqlEnv(t, srv)
	file := filepath.Join(envValue(env, "XDG_CONFIG_HOME"), "dsqlenv", "profiles.yaml")
	r := runBin(t, env, "init", "--from-aws", "--aws-profile", "work", "--region", "us-east-2")
	want := "# dsqlenv profiles (`dsqlenv add` wrote this file; every field: dsqlenv init --path, then the README)\nprofiles:\n" +
		"  orders-db:\n    endpoint: " + idOrdersEast2 + ".dsql.us-east-2.on.aws\n    aws_profile: work\n" +
		"  reports:\n    endpoint: " + idReports + ".dsql.us-east-2.on.aws\n    aws_profile: work\n"
	if got, _ := os.ReadFile(file); r.code != 0 || string(got) != want || r.stderr != "dsqlenv: added profiles orders-db, reports to "+file+"\n" ||
		!strings.HasPrefix(r.stdout, "Orders DB\t"+idOrdersEast2) {
		t.Fatalf("exit %d, stdout %q, stderr %q, file:\n%s", r.code, r.stdout, r.stderr, got)
	}
	r = runBin(t, env, "init", "--from-aws", "--aws-profile", "work")
	if r.code != 1 || r.stderr != "dsqlenv: init: "+file+" already exists: dsqlenv clusters --add adds the clusters to it\n" {
		t.Errorf("second init: exit %d, stderr %q", r.code, r.stderr)
	}
	os.Remove(file)
	r = runBin(t, env, "init", "--from-aws", "--aws-profile", "work", "--region", "eu-west-1")
	if _, err := os.Stat(file); r.code != 1 || err == nil || r.stdout != "" ||
		r.stderr != "dsqlenv: init --from-aws: no DSQL cluster to add in eu-west-1 for AWS profile work (from --aws-profile): name other regions with --region or another --aws-profile, or run dsqlenv init for the commented example\n" {
		t.Errorf("no clusters: exit %d, stdout %q, stderr %q", r.code, r.stdout, r.stderr)
	}
	if r := runBin(t, env, "init", "--region", "us-east-1"); r.code != 2 {
		t.Errorf("--region without --from-aws: exit %d, %s", r.code, r.stderr)
	}
}

// Without --aws-profile, the check signs as the profile will: with the file's defaults.
func TestAddChecksWithTheDefaultsAWSProfile(t *testing.T) {
	srv := startFakeDSQL(t, twoRegions())
	env := dsqlEnv(t, srv)
	file, original := copyTestdata(t, env, "handwritten.yaml") // defaults: aws_profile: team
	r := runBin(t, env, "add", "fresh", "--config", file, "--cluster", fakeARN("us-east-1", idNew))
	want := "dsqlenv: add: no AWS profile team (from aws_profile: under defaults:) in "
	if got, _ := os.ReadFile(file); r.code != 1 || !strings.HasPrefix(r.stderr, want) || !strings.Contains(r.stderr, "change aws_profile: under defaults:") || string(got) != string(original) {
		t.Errorf("exit %d, stderr %q; want %q… and the file unchanged", r.code, r.stderr, want)
	}
	os.WriteFile(envValue(env, "AWS_SHARED_CREDENTIALS_FILE"), []byte("[team]\naws_access_key_id = AKIAIOSFODNN7EXAMPLE\naws_secret_access_key = wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY\n"), 0o600)
	r = runBin(t, env, "add", "fresh", "--config", file, "--cluster", fakeARN("us-east-1", idNew))
	if got, _ := os.ReadFile(file); r.code != 0 || !strings.Contains(string(got), "    fresh:\n        endpoint: "+idNew+".dsql.us-east-1.on.aws\n\n# end") {
		t.Errorf("exit %d, stderr %q, file:\n%s", r.code, r.stderr, got)
	}
}
