package profiles

import (
	"strings"
	"testing"
)

func TestSSLNegotiationIsUnsetByDefaultAndKnowsWhoSetIt(t *testing.T) {
	f, err := Parse("p.yaml", []byte(`defaults:
  sslnegotiation: postgres
profiles:
  inherits:
    endpoint: a.dsql.us-east-1.on.aws
  own:
    endpoint: a.dsql.us-east-1.on.aws
    sslnegotiation: direct
`))
	if err != nil {
		t.Fatal(err)
	}
	for name, want := range map[string]string{"inherits": "postgres", "own": "direct"} {
		c, err := f.Resolve(name, "/home/u")
		if err != nil || c.SSLNegotiation != want || !c.Explicit("sslnegotiation") || c.Explicit("database") {
			t.Errorf("%s: %v %+v", name, err, c)
		}
	}
	f, _ = Parse("p.yaml", []byte("profiles:\n  p:\n    endpoint: a.dsql.us-east-1.on.aws\n"))
	c, err := f.Resolve("p", "/home/u")
	// Unset: libpq's own default (postgres), so nothing carries the keyword or the variable.
	if err != nil || c.SSLNegotiation != "" || c.Explicit("sslnegotiation") || c.SSLRootCert != RootAmazon {
		t.Errorf("built-in: %v %+v", err, c)
	}
	if s := c.setting("sslnegotiation"); s != (Setting{}) {
		t.Errorf("setting %+v, want none", s)
	}
}

func TestSSLNegotiationRefusesOtherValues(t *testing.T) {
	err := loadErr("profiles:\n  p:\n    endpoint: a.dsql.us-east-1.on.aws\n    sslnegotiation: Direct\n", "p")
	if err == nil || !strings.Contains(err.Error(), `p.yaml:4: profile p: sslnegotiation: "Direct" is not allowed: use direct (one round trip less; libpq 17+) or postgres`) {
		t.Errorf("got %v", err)
	}
}
