package profiles

import (
	"strings"
	"testing"
)

// loadErr is the error a command using profile name gets from a profiles file holding text:
// the file's own (Parse), else the profile's (Resolve).
func loadErr(text, name string) error {
	f, err := Parse("p.yaml", []byte(text))
	if err != nil {
		return err
	}
	_, err = f.Resolve(name, "/home/u")
	return err
}

func TestFieldHintsPointWhereOtherToolsMeanIt(t *testing.T) {
	for key, want := range map[string]string{"host": "endpoint", "hostname": "endpoint", "username": "user", "profile": "aws_profile", "dbname": "database",
		"regoin": "region"} {
		y := "profiles:\n  prod:\n    endpoint: a.dsql.us-east-1.on.aws\n    " + key + ": x\n"
		f, err := Parse("p.yaml", []byte(y))
		if err == nil {
			_, err = f.Resolve("prod", "/home/u")
		}
		if err == nil || !strings.Contains(err.Error(), `p.yaml:4: profile prod: unknown field "`+key+`"; did you mean "`+want+`"?`) {
			t.Errorf("%s: got %v, want a hint for %s", key, err, want)
		}
	}
}

func TestQuotedPortIsANumber(t *testing.T) {
	for _, q := range []string{`"5433"`, `'5433'`} {
		f, err := Parse("p.yaml", []byte("defaults:\n  connect_timeout: \"7\"\nprofiles:\n  prod:\n    endpoint: a.dsql.us-east-1.on.aws\n    port: "+q+"\n"))
		if err != nil {
			t.Fatalf("port: %s: %v", q, err)
		}
		c, err := f.Resolve("prod", "/home/u")
		if err != nil || c.Port != 5433 || c.ConnectTimeout != 7 {
			t.Errorf("port: %s: %+v %v", q, c, err)
		}
	}
	for _, bad := range []string{`"54 32"`, `"5432x"`, `"70000"`, `""`} {
		f, err := Parse("p.yaml", []byte("profiles:\n  prod:\n    endpoint: a.dsql.us-east-1.on.aws\n    port: "+bad+"\n"))
		if err == nil {
			_, err = f.Resolve("prod", "/home/u")
		}
		if err == nil || !strings.Contains(err.Error(), "p.yaml:4: profile prod: port: ") {
			t.Errorf("port: %s: got %v", bad, err)
		}
	}
}

func TestClusterARNIsReadAsClusterIDAndRegion(t *testing.T) {
	arn := "arn:aws:dsql:eu-west-1:123456789012:cluster/" + clusterID
	want := clusterID + ".dsql.eu-west-1.on.aws"
	for _, tc := range []struct{ name, extra string }{{"alone", ""}, {"with the same region", "    region: eu-west-1\n"}} {
		f, err := Parse("p.yaml", []byte("profiles:\n  prod:\n    endpoint: "+arn+"\n"+tc.extra))
		if err != nil {
			t.Fatalf("%s: %v", tc.name, err)
		}
		c, err := f.Resolve("prod", "/home/u")
		if err != nil {
			t.Fatalf("%s: %v", tc.name, err)
		}
		if c.Host != want || c.Region != "eu-west-1" {
			t.Errorf("%s: host %q region %q", tc.name, c.Host, c.Region)
		}
		if ep := c.setting("endpoint"); ep.Value != want || ep.Source != FromARN || ep.Line != 3 {
			t.Errorf("%s: endpoint setting %+v", tc.name, ep)
		}
		if s := f.Summary(&f.Profiles[0]); s.Host != want || s.Region != "eu-west-1" {
			t.Errorf("%s: list summary %+v", tc.name, s)
		}
	}
	f, err := Parse("p.yaml", []byte("profiles:\n  prod:\n    endpoint: "+arn+"\n    region: us-east-1\n"))
	if err == nil {
		_, err = f.Resolve("prod", "/home/u")
	}
	if err == nil || !strings.Contains(err.Error(), "p.yaml:4: profile prod: region us-east-1 contradicts the endpoint, which is in eu-west-1") {
		t.Errorf("contradicting region: %v", err)
	}
	for _, bad := range []string{"arn:aws:dsql:eu-west-1:123456789012:cluster/short", "arn:aws:rds:eu-west-1:123456789012:cluster/" + clusterID,
		"arn:aws:dsql:eu-west-1:1234:cluster/" + clusterID} {
		f, err := Parse("p.yaml", []byte("profiles:\n  prod:\n    endpoint: "+bad+"\n"))
		if err == nil {
			_, err = f.Resolve("prod", "/home/u")
		}
		if err == nil || !strings.Contains(err.Error(), "is not a DSQL cluster ARN") {
			t.Errorf("%s: got %v", bad, err)
		}
	}
}

func TestOneBadProfileFailsOnlyItself(t *testing.T) {
	text := "profiles:\n  prod:\n    endpoint: a.dsql.us-east-1.on.aws\n  bad:\n    endpoint: b.dsql.us-east-1.on.aws\n    region: us-east1\n    user: app\n"
	f, err := Parse("p.yaml", []byte(text))
	if err != nil {
		t.Fatalf("one bad profile failed the file: %v", err)
	}
	if c, err := f.Resolve("prod", "/home/u"); err != nil || c.Host != "a.dsql.us-east-1.on.aws" {
		t.Errorf("the good profile: %+v %v", c, err)
	}
	want := `p.yaml:6: profile bad: region: "us-east1" is not an AWS region name such as us-east-1`
	if _, err := f.Resolve("bad", "/home/u"); err == nil || err.Error() != want {
		t.Errorf("the bad profile: got %v\nwant %s", err, want)
	}
	p := &f.Profiles[1]
	if p.Err == nil || p.Err.Error() != want {
		t.Errorf("Profile.Err = %v", p.Err)
	}
	// What could be read is kept, for list: the fields before and after the bad one.
	if s := f.Summary(p); s.Host != "b.dsql.us-east-1.on.aws" || s.User != "app" {
		t.Errorf("summary of the bad profile: %+v", s)
	}
}

func TestFileLevelErrorsStayFatal(t *testing.T) {
	ep := "    endpoint: a.dsql.us-east-1.on.aws\n"
	for name, text := range map[string]string{
		"duplicate profile":      "profiles:\n  prod:\n" + ep + "  prod:\n" + ep,
		"unknown top-level key":  "profile:\n  prod:\n" + ep,
		"YAML syntax":            "profiles:\n  prod:\n" + ep + "   region: us-east-1\n",
		"bad default":            "defaults:\n  region: us-east1\nprofiles:\n  prod:\n" + ep,
		"field indented as name": "profiles:\n  prod:\n" + ep + "  user: app\n",
	} {
		if _, err := Parse("p.yaml", []byte(text)); err == nil {
			t.Errorf("%s: the file loaded", name)
		}
	}
	if _, err := Parse("p.yaml", []byte("profiles:\n  prod:\n"+ep+"  user: app\n")); err == nil ||
		err.Error() != "p.yaml:4: user: is indented like a profile name, but it is a field: indent it like the fields of the profile above" {
		t.Errorf("field indented as a profile name: %v", err)
	}
}

func TestYAMLSyntaxErrorsSayTheLineInWords(t *testing.T) {
	ep := "    endpoint: a.dsql.us-east-1.on.aws\n"
	for _, tc := range []struct{ name, text, want string }{
		{"key indented too little", "profiles:\n  prod:\n" + ep + "   region: us-east-1\n",
			"p.yaml:4: this line does not line up with the lines above it: indent every field of a profile by the same number of spaces, and each profile name by the same, fewer spaces (YAML: did not find expected key)"},
		{"key indented too much", "profiles:\n  prod:\n" + ep + "      region: us-east-1\n",
			`p.yaml:4: unexpected "key: value" on this line: is it indented more than the line above (the fields of a profile line up), or does a value hold ": " (then put it in quotes)? (YAML: mapping values are not allowed in this context)`},
		{"a later profile indented too little", "profiles:\n  prod:\n" + ep + "  dev:\n" + ep + "    user: x\n region: us-east-1\n",
			"p.yaml:7: this line does not line up"},
		{"unclosed quote", "profiles:\n  prod:\n    endpoint: \"a.dsql.us-east-1.on.aws\n    user: x\n",
			"p.yaml:3: the file ends inside a quoted value or a bracket opened here: close it"},
	} {
		_, err := Parse("p.yaml", []byte(tc.text))
		if err == nil || !strings.HasPrefix(err.Error(), tc.want) {
			t.Errorf("%s: got %v\nwant %s", tc.name, err, tc.want)
		}
	}
}

func TestNoteEnvironmentFollowsTheSDKsOrder(t *testing.T) {
	for _, tc := range []struct {
		env           map[string]string
		varName, name string
	}{
		{map[string]string{"AWS_PROFILE": "work", "AWS_DEFAULT_PROFILE": "old"}, "AWS_PROFILE", "work"},
		{map[string]string{"AWS_DEFAULT_PROFILE": "old"}, "AWS_DEFAULT_PROFILE", "old"},
		{map[string]string{}, "", ""},
	} {
		c := &Connection{}
		c.NoteEnvironment(func(k string) string { return tc.env[k] })
		if c.AWSProfileEnv != tc.varName || c.EnvAWSProfile != tc.name {
			t.Errorf("%v: got %s=%s", tc.env, c.AWSProfileEnv, c.EnvAWSProfile)
		}
	}
}
