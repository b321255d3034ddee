package profiles

import (
	"errors"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/dsqlenv/dsqlenv/internal/text"
)

const good = `defaults:
  aws_profile: work
  expires_in: 1h
profiles:
  prod:
    endpoint: abcdefghijklmnopqrstuvwxyz.dsql.us-east-1.on.aws
    user: app_rw
    port: 5433
    connect_timeout: 10
  dev:
    endpoint: devdevdevdevdevdevdevdevde.dsql.eu-west-1.on.aws
    expires_in: 900
    sslrootcert: amazon
`

func TestLoadKeepsOrderAndResolvesWithSources(t *testing.T) {
	f, err := Parse("p.yaml", []byte(good))
	if err != nil {
		t.Fatal(err)
	}
	if got := strings.Join(f.Names(), ","); got != "prod,dev" {
		t.Errorf("names = %s, want prod,dev (file order)", got)
	}
	c, err := f.Resolve("prod", "/home/u")
	if err != nil {
		t.Fatal(err)
	}
	if c.Host != "abcdefghijklmnopqrstuvwxyz.dsql.us-east-1.on.aws" || c.Region != "us-east-1" || c.User != "app_rw" ||
		c.Port != 5433 || c.Database != "postgres" || c.SSLMode != "verify-full" || c.SSLRootCert != RootAmazon || c.SSLNegotiation != "" ||
		c.ExpiresIn != time.Hour || c.AWSProfile != "work" || c.ConnectTimeout != 10 {
		t.Errorf("resolved %+v", c)
	}
	sources := map[string]string{}
	for _, s := range c.Settings {
		sources[s.Field] = s.Source
	}
	for field, want := range map[string]string{"endpoint": FromProfile, "region": FromEndpoint, "user": FromProfile,
		"database": FromBuiltin, "expires_in": FromDefaults, "aws_profile": FromDefaults} {
		if sources[field] != want {
			t.Errorf("source of %s = %q, want %q", field, sources[field], want)
		}
	}
	d, err := f.Resolve("dev", "/home/u")
	if err != nil {
		t.Fatal(err)
	}
	if d.ExpiresIn != 15*time.Minute || d.SSLRootCert != RootAmazon || d.Region != "eu-west-1" {
		t.Errorf("dev resolved %+v", d)
	}
}

func TestRegionFromEndpoint(t *testing.T) {
	for host, want := range map[string]string{
		"abc.dsql.us-east-1.on.aws":      "us-east-1",
		"abc.dsql-fnh4.eu-west-2.on.aws": "eu-west-2", // PrivateLink with private DNS
		"localhost":                      "",
		"vpce-1.dsql.amazonaws.com":      "",
	} {
		if got := RegionFromEndpoint(host); got != want {
			t.Errorf("RegionFromEndpoint(%s) = %q, want %q", host, got, want)
		}
	}
}

// TestLoadErrors is the profiles file's failure matrix: each bad input gives one error that
// names the file and, where there is one, the line.
func TestLoadErrors(t *testing.T) {
	ep := "    endpoint: abcdefghijklmnopqrstuvwxyz.dsql.us-east-1.on.aws\n"
	for _, tc := range []struct {
		name, yaml, want string
	}{
		{"empty", "", "p.yaml: is empty"},
		{"only comments", "# nothing\n", "p.yaml: holds no YAML document"},
		{"malformed", "profiles: [\n", "p.yaml:"},
		{"tab indent", "profiles:\n\tprod:\n" + ep, "p.yaml:2: indented with a tab"},
		{"unknown top field", "profile:\n  prod: {}\n", `p.yaml:1: unknown top-level field "profile" (the file holds defaults: and profiles:); did you mean "profiles"?`},
		{"unknown field", "profiles:\n  prod:\n" + ep + "    regoin: us-east-1\n", `p.yaml:4: profile prod: unknown field "regoin"; did you mean "region"?`},
		{"duplicate profile", "profiles:\n  prod:\n" + ep + "  prod:\n" + ep, `p.yaml:4: profile "prod" is defined twice (first on line 2)`},
		{"duplicate field", "profiles:\n  prod:\n" + ep + ep, `p.yaml:4: profile prod: field "endpoint" is given twice (first on line 3)`},
		{"port type", "profiles:\n  prod:\n" + ep + "    port: abc\n", `p.yaml:4: profile prod: port: expected a whole number, found "abc"`},
		{"port range", "profiles:\n  prod:\n" + ep + "    port: 70000\n", "p.yaml:4: profile prod: port: 70000 is out of range: use 1 to 65535"},
		{"expires too long", "profiles:\n  prod:\n" + ep + "    expires_in: 169h\n", "p.yaml:4: profile prod: expires_in: 169h is out of range"},
		{"expires zero", "profiles:\n  prod:\n" + ep + "    expires_in: 0\n", "p.yaml:4: profile prod: expires_in: 0 is out of range"},
		{"expires fraction", "profiles:\n  prod:\n" + ep + "    expires_in: 1.5s\n", "p.yaml:4: profile prod: expires_in: 1.5s is not a whole number of seconds"},
		{"expires garbage", "profiles:\n  prod:\n" + ep + "    expires_in: soon\n", `p.yaml:4: profile prod: expires_in: "soon" is not a duration`},
		{"sslmode", "profiles:\n  prod:\n" + ep + "    sslmode: disable\n", `p.yaml:4: profile prod: sslmode: "disable" is not allowed`},
		{"endpoint scheme", "profiles:\n  prod:\n    endpoint: https://x.dsql.us-east-1.on.aws\n", "p.yaml:3: profile prod: endpoint: \"https://x.dsql.us-east-1.on.aws\" has a scheme"},
		{"endpoint port", "profiles:\n  prod:\n    endpoint: x.dsql.us-east-1.on.aws:5432\n", "is not a bare host name"},
		{"region shape", "profiles:\n  prod:\n" + ep + "    region: US East\n", `p.yaml:4: profile prod: region: "US East" is not an AWS region name`},
		{"list value", "profiles:\n  prod:\n    endpoint: [a, b]\n", "p.yaml:3: profile prod: endpoint: expected a string, found a list"},
		{"null value", "profiles:\n  prod:\n" + ep + "    user:\n", `p.yaml:4: profile prod: field "user" has no value`},
		{"profile not a mapping", "profiles:\n  prod: hello\n", "p.yaml:2: profile prod: expected a mapping of settings"},
		{"no profiles", "defaults:\n  user: x\n", "p.yaml: defines no profiles"},
		{"list as a name", "profiles:\n  [a, b]:\n" + ep, `p.yaml:2: profiles: expected a profile name, found a list`},
		{"endpoint in defaults", "defaults:\n" + strings.Replace(ep, "    ", "  ", 1) + "profiles:\n  prod:\n" + ep, "p.yaml:2: defaults: endpoint belongs in each profile"},
		{"defaults type", "defaults:\n  port: x\nprofiles:\n  prod:\n" + ep, `p.yaml:2: defaults: port: expected a whole number`},
		{"two documents", "profiles:\n  prod:\n" + ep + "---\nprofiles: {}\n", "more than one YAML document"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f, err := Parse("p.yaml", []byte(tc.yaml))
			if err == nil {
				// A bad profile fails the commands that use it, not the file.
				_, err = f.Resolve("prod", t.TempDir())
			}
			if err == nil {
				t.Fatalf("no error; want %q", tc.want)
			}
			if !strings.Contains(err.Error(), tc.want) {
				t.Errorf("error %q\n want it to contain %q", err, tc.want)
			}
			if strings.Contains(err.Error(), "\n") {
				t.Errorf("error spans lines: %q", err)
			}
		})
	}
}

// A profile name that is no name fails its profile, not the file, as a bad field does.
func TestABadProfileNameFailsOnlyItself(t *testing.T) {
	ep := "    endpoint: abcdefghijklmnopqrstuvwxyz.dsql.us-east-1.on.aws\n"
	f, err := Parse("p.yaml", []byte("profiles:\n  prod:\n"+ep+"  -x:\n"+ep+"  \"a\\eb\":\n"+ep+"  dev:\n"+ep))
	if err != nil {
		t.Fatalf("one bad name failed the file: %v", err)
	}
	if got := strings.Join(f.Names(), " "); got != `prod -x a\x1bb dev` {
		t.Errorf("names %q: the bad ones are listed, their control characters escaped", got)
	}
	for _, name := range []string{"prod", "dev"} {
		if _, err := f.Resolve(name, "/home/u"); err != nil {
			t.Errorf("%s: %v", name, err)
		}
	}
	want := `p.yaml:4: profile name "-x": use letters, digits, '.', '_' and '-', starting with a letter or digit: rename it`
	if _, err := f.Lookup("-x"); err == nil || err.Error() != want {
		t.Errorf("-x: got %v, want %s", err, want)
	}
	if p := f.Profiles[1]; p.Fields.Endpoint.Value != "abcdefghijklmnopqrstuvwxyz.dsql.us-east-1.on.aws" {
		t.Errorf("what -x holds is kept, for list: %+v", p.Fields)
	}
	if _, err := f.Lookup(`a\x1bb`); err == nil || !strings.Contains(err.Error(), `p.yaml:6: profile name "a\x1bb"`) {
		t.Errorf("a control character: %v", err)
	}
}

func TestLoadAcceptsUTF8BOM(t *testing.T) {
	f, err := Parse("p.yaml", []byte("\xef\xbb\xbf"+good))
	if err != nil || len(f.Profiles) != 2 {
		t.Fatalf("with a BOM: %v", err)
	}
}

func TestLoadFileErrors(t *testing.T) {
	dir := t.TempDir()
	if _, err := Load(filepath.Join(dir, "missing.yaml")); !errors.Is(err, ErrNotFound) || !strings.Contains(err.Error(), "dsqlenv init") {
		t.Errorf("missing file: %v", err)
	}
	if _, err := Load(dir); err == nil || !strings.Contains(err.Error(), "is a directory") {
		t.Errorf("directory: %v", err)
	}
	if os.Geteuid() != 0 && runtime.GOOS != "windows" { // root reads any file; Windows has no mode bits
		p := filepath.Join(dir, "locked.yaml")
		os.WriteFile(p, []byte(good), 0o000)
		if _, err := Load(p); err == nil || !strings.Contains(err.Error(), "permission denied") {
			t.Errorf("unreadable: %v", err)
		}
	}
}

func TestResolveErrors(t *testing.T) {
	dir := t.TempDir()
	for _, tc := range []struct{ name, yaml, want string }{
		{"no endpoint", "profiles:\n  prod:\n    user: x\n", "p.yaml:2: profile prod: endpoint is missing"},
		{"region mismatch", "profiles:\n  prod:\n    endpoint: a.dsql.us-east-1.on.aws\n    region: eu-west-1\n",
			"p.yaml:4: profile prod: region eu-west-1 contradicts the endpoint, which is in us-east-1"},
		{"system with require", "profiles:\n  prod:\n    endpoint: a.dsql.us-east-1.on.aws\n    sslmode: require\n    sslrootcert: system\n",
			"p.yaml:4: profile prod: sslmode require cannot be used with sslrootcert: system"},
		{"missing root file", "profiles:\n  prod:\n    endpoint: a.dsql.us-east-1.on.aws\n    sslrootcert: ~/nope.pem\n",
			"p.yaml:4: profile prod: sslrootcert " + filepath.Join(dir, "nope.pem") + " does not exist"},
		{"unknown profile", "profiles:\n  prod:\n    endpoint: a.dsql.us-east-1.on.aws\n  prod2:\n    endpoint: b.dsql.us-east-1.on.aws\n",
			`no profile "prdo" in p.yaml: did you mean "prod", "prod2"?`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f, err := Parse("p.yaml", []byte(tc.yaml))
			if err != nil {
				t.Fatal(err)
			}
			name := "prod"
			if tc.name == "unknown profile" {
				name = "prdo"
			}
			_, err = f.Resolve(name, dir)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("error %v\n want it to contain %q", err, tc.want)
			}
		})
	}
}

func TestResolveExpandsHomeInRootCert(t *testing.T) {
	dir := t.TempDir()
	os.WriteFile(filepath.Join(dir, "ca.pem"), []byte("x"), 0o644)
	f, err := Parse("p.yaml", []byte("profiles:\n  p:\n    endpoint: localhost\n    region: us-east-1\n    sslrootcert: ~/ca.pem\n"))
	if err != nil {
		t.Fatal(err)
	}
	c, err := f.Resolve("p", dir)
	if err != nil || c.SSLRootCert != filepath.Join(dir, "ca.pem") {
		t.Fatalf("got %+v, %v", c, err)
	}
}

func TestErrorsStayOnOneLine(t *testing.T) {
	for _, y := range []string{"00\n000", "profiles:\n  p:\n    endpoint: \"a\\nb\\u001b[31m\"\n", "profile: \"x\\ny\"\n"} {
		err := loadErr(y, "p")
		if err == nil {
			t.Fatalf("%q parsed", y)
		}
		if strings.ContainsFunc(err.Error(), text.IsControl) {
			t.Errorf("%q: error holds a control character: %q", y, err)
		}
	}
}
