package profiles

import (
	"strings"
	"testing"
	"time"
)

// TestProxyBlockResolvesEachSettingFromProfileElseDefaults: a profile's proxy: setting wins
// over the defaults' one, setting by setting, and each keeps its line.
func TestProxyBlockResolvesEachSettingFromProfileElseDefaults(t *testing.T) {
	f, err := Parse("p.yaml", []byte(`defaults:
  proxy:
    warm: 2
    drain: 10s
profiles:
  prod:
    endpoint: abcdefghijklmnopqrstuvwxyz.dsql.us-east-1.on.aws
    proxy:
      listen: 127.0.0.1:6432
      drain: 45
  dev:
    endpoint: devdevdevdevdevdevdevdevde.dsql.eu-west-1.on.aws
`))
	if err != nil {
		t.Fatal(err)
	}
	c, err := f.Resolve("prod", "/home/u")
	if err != nil {
		t.Fatal(err)
	}
	p := c.Proxy
	if p.Listen != (Field[string]{"127.0.0.1:6432", true, 9}) || p.Warm != (Field[int]{2, true, 3}) || p.WarmAge.Set ||
		p.Drain != (Field[time.Duration]{45 * time.Second, true, 10}) {
		t.Errorf("prod's proxy settings: %+v", p)
	}
	d, err := f.Resolve("dev", "/home/u")
	if err != nil {
		t.Fatal(err)
	}
	if p := d.Proxy; p.Listen.Set || p.Warm.Value != 2 || p.Drain.Value != 10*time.Second {
		t.Errorf("dev's proxy settings (the defaults'): %+v", p)
	}
}

// TestProxyBlockErrorsNameLineFieldAndFix: a bad proxy: setting fails its profile (or the
// file, in defaults:) with the line, the field and what to give.
func TestProxyBlockErrorsNameLineFieldAndFix(t *testing.T) {
	for _, tc := range []struct{ block, want string }{
		{"proxy: 6432", `p.yaml:5: profile p: proxy: expected a mapping (listen: 127.0.0.1:6432, warm: 2, warm_age: 2m, drain: 30s), found "6432"`},
		{"proxy:\n      listen: 0.0.0.0:6432", "p.yaml:6: profile p: proxy: listen: 0.0.0.0 is not a loopback address: give 127.0.0.1:6432, [::1]:6432 or localhost:6432 (whoever logs in to the proxy acts as your IAM identity)"},
		{"proxy:\n      listen: 127.0.0.2:6432", "p.yaml:6: profile p: proxy: listen: 127.0.0.2 is not 127.0.0.1: the proxy's password-file lines are for localhost, 127.0.0.1 and ::1, so it listens only there; give 127.0.0.1:6432, [::1]:6432 or localhost:6432"},
		{"proxy:\n      listen: 6432", `p.yaml:6: profile p: proxy: listen: "6432" is not HOST:PORT: give 127.0.0.1:6432, [::1]:6432 or localhost:6432`},
		{"proxy:\n      warm: -1", "p.yaml:6: profile p: proxy: warm: -1 is below 0: give 0 (none) or more"},
		{"proxy:\n      warm: two", `p.yaml:6: profile p: proxy: warm: expected a whole number, found "two"`},
		{"proxy:\n      warm_age: 2h", "p.yaml:6: profile p: proxy: warm_age: 2h is out of range: give a duration from 1s to 30m, such as 2m (a warm session is at most this old when a client gets it, and DSQL ends every session at 60 minutes)"},
		{"proxy:\n      drain: soon", `p.yaml:6: profile p: proxy: drain: "soon" is not a duration of zero or more: write it like 30s, 2m or 90`},
		{"proxy:\n      warmage: 2m", `p.yaml:6: profile p: proxy: unknown field "warmage"; did you mean "warm_age"? (a proxy: block holds listen, warm, warm_age, drain)`},
		{"proxy:\n      warm: 1\n      warm: 2", `p.yaml:7: profile p: proxy: field "warm" is given twice (first on line 6)`},
	} {
		data := "profiles:\n  p:\n    endpoint: abcdefghijklmnopqrstuvwxyz.dsql.us-east-1.on.aws\n    region: us-east-1\n    " + tc.block + "\n"
		f, err := Parse("p.yaml", []byte(data))
		if err != nil {
			t.Fatalf("%q: the file fails: %v", tc.block, err)
		}
		if _, err := f.Resolve("p", "/home/u"); err == nil || err.Error() != tc.want {
			t.Errorf("%q:\n got %v\nwant %s", tc.block, err, tc.want)
		}
	}
	_, err := Parse("p.yaml", []byte("defaults:\n  proxy:\n    drain: -5s\nprofiles:\n  p:\n    endpoint: abcdefghijklmnopqrstuvwxyz.dsql.us-east-1.on.aws\n"))
	if want := `p.yaml:3: defaults: proxy: drain: "-5s" is not a duration of zero or more`; err == nil || !strings.HasPrefix(err.Error(), want) {
		t.Errorf("in defaults: %v, want %s…", err, want)
	}
}
