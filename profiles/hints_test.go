package profiles

import (
	"strings"
	"testing"
)

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
