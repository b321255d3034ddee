package profiles

import (
	"strings"
	"testing"
)

const clusterID = "abcdefghijklmnopqrstuvw123"

func TestClusterIDExpandsWithTheRegion(t *testing.T) {
	for _, tc := range []struct {
		name, yaml string
		line       int
	}{
		{"region in the profile", "profiles:\n  prod:\n    endpoint: " + clusterID + "\n    region: eu-west-1\n", 3},
		{"region in the defaults", "defaults:\n  region: eu-west-1\nprofiles:\n  prod:\n    endpoint: " + clusterID + "\n", 5},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f, err := Parse("p.yaml", []byte(tc.yaml))
			if err != nil {
				t.Fatal(err)
			}
			c, err := f.Resolve("prod", "/home/u")
			if err != nil {
				t.Fatal(err)
			}
			want := clusterID + ".dsql.eu-west-1.on.aws"
			if c.Host != want || c.Region != "eu-west-1" {
				t.Errorf("host %q region %q, want %q in eu-west-1", c.Host, c.Region, want)
			}
			ep := c.setting("endpoint")
			if ep.Value != want || ep.Source != FromClusterID || ep.Line != tc.line {
				t.Errorf("endpoint setting %+v, want %s from %q on line %d", ep, want, FromClusterID, tc.line)
			}
			if s := f.Summary(&f.Profiles[0]); s.Host != want || s.Region != "eu-west-1" {
				t.Errorf("list summary %+v", s)
			}
		})
	}
}

func TestClusterIDWithoutARegionNamesTheFieldAndLine(t *testing.T) {
	f, err := Parse("p.yaml", []byte("profiles:\n  prod:\n    user: app\n    endpoint: "+clusterID+"\n"))
	if err != nil {
		t.Fatal(err)
	}
	_, err = f.Resolve("prod", "/home/u")
	want := "p.yaml:4: profile prod: endpoint " + clusterID + " is a bare cluster ID: add region:"
	if err == nil || !strings.Contains(err.Error(), want) || strings.Contains(err.Error(), "\n") {
		t.Errorf("error %v\nwant one line containing %q", err, want)
	}
}

// TestOnlyBareClusterIDsExpand: host names that merely look close are left as written.
func TestOnlyBareClusterIDsExpand(t *testing.T) {
	for _, host := range []string{
		"abcdefghijklmnopqrstuvw12",   // 25 characters
		"abcdefghijklmnopqrstuvw1234", // 27
		"ABCDEFGHIJKLMNOPQRSTUVW123",  // upper case
		"localhost",
		clusterID + ".dsql.us-east-1.on.aws",
		"abcdefghijklm-nopqrstuvw12",
	} {
		f, err := Parse("p.yaml", []byte("profiles:\n  prod:\n    endpoint: "+host+"\n    region: us-east-1\n"))
		if err != nil {
			t.Fatal(err)
		}
		c, err := f.Resolve("prod", "/home/u")
		if err != nil {
			t.Fatalf("%s: %v", host, err)
		}
		if c.Host != host || c.setting("endpoint").Source != FromProfile {
			t.Errorf("%s became %s (%s)", host, c.Host, c.setting("endpoint").Source)
		}
	}
}
