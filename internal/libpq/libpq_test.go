package libpq

import (
	"math/rand"
	"regexp"
	"strings"
	"testing"
	"time"
)

// Every row names itself in every target it goes to: a row with a postgresql:// URL name has
// a pgjdbc one, or jdbc would leave it out, and the other way round; a service-file keyword
// goes in URLs under the same name, as libpq reads a URL's query.
func TestEveryURLSettingHasAJDBCName(t *testing.T) {
	envs := map[string]bool{}
	for _, s := range Settings {
		if s.Env == "" || s.About() == "" || s.value == nil {
			t.Errorf("row %+v lacks its variable, its field or what it is, or its value", s)
		}
		if envs[s.Env] {
			t.Errorf("%s has two rows", s.Env)
		}
		envs[s.Env] = true
		if (s.URLName == "") != (s.JDBCName == "" && s.NoJDBC == "") || s.JDBCName != "" && s.NoJDBC != "" {
			t.Errorf("%s: URL name %q but JDBC name %q (NoJDBC %q): give both, or NoJDBC instead of a JDBC name when pgjdbc cannot carry it, or neither when URLs never carry it", s.Env, s.URLName, s.JDBCName, s.NoJDBC)
		}
		if s.Keyword != "" && s.URLName != s.Keyword {
			t.Errorf("%s: keyword %s goes in URLs as %q: libpq reads a URL's query parameters as keywords", s.Env, s.Keyword, s.URLName)
		}
		if s.Field == "" && (s.Optional || s.Check != nil) {
			t.Errorf("%s comes from no profile field: Optional and Check are about a profile's fields", s.Env)
		}
	}
}

// full sets every value, each one different, so a row reading the wrong one shows.
var full = Values{
	Profile: "prod", File: "/p.yaml", Host: "h.example", HostAddr: "10.0.0.5", Port: 5433, Database: "db", User: "u",
	SSLMode: "verify-full", SSLNegotiation: "direct", ApplicationName: "app", Options: "-c x=1", ConnectTimeout: 7,
	RootCert: "system", RootCertFile: "/roots.pem", Token: "tok", ExpiresAt: time.Unix(1800000000, 0), URLVar: "DATABASE_URL",
}

func render(v *Values, t Target) string {
	var kvs []string
	for i := range Settings {
		if val := Settings[i].Value(v, t); val != "" {
			kvs = append(kvs, Settings[i].Name(t)+"="+val)
		}
	}
	return strings.Join(kvs, " ")
}

// Each target gets its own names and the value it reads: sslrootcert as a file in URLs
// (system is libpq's alone), never the token in a service file (libpq's line limit).
func TestValuesFollowTheTarget(t *testing.T) {
	for _, c := range []struct {
		t    Target
		want string
	}{
		{Env, "PGHOST=h.example PGHOSTADDR=10.0.0.5 PGPORT=5433 PGDATABASE=db PGUSER=u PGSSLMODE=verify-full PGSSLROOTCERT=system PGSSLNEGOTIATION=direct " +
			"PGPASSWORD=tok PGAPPNAME=app PGCONNECT_TIMEOUT=7 PGOPTIONS=-c x=1 DSQLENV_PROFILE=prod DSQLENV_PROFILES_FILE=/p.yaml " +
			"DSQLENV_EXPIRES_AT=1800000000 DSQLENV_URL_VAR=DATABASE_URL"},
		{Keyword, "host=h.example hostaddr=10.0.0.5 port=5433 dbname=db user=u sslmode=verify-full sslrootcert=system sslnegotiation=direct " +
			"application_name=app connect_timeout=7 options=-c x=1"},
		{URL, "host=h.example hostaddr=10.0.0.5 port=5433 dbname=db user=u sslmode=verify-full sslrootcert=/roots.pem sslnegotiation=direct " +
			"password=tok application_name=app connect_timeout=7 options=-c x=1"},
		{JDBC, "PGHOST=h.example PGPORT=5433 PGDBNAME=db user=u sslmode=verify-full sslrootcert=/roots.pem sslNegotiation=direct " +
			"password=tok ApplicationName=app connectTimeout=7 options=-c x=1"},
	} {
		if got := render(&full, c.t); got != c.want {
			t.Errorf("target %d:\n got %s\nwant %s", c.t, got, c.want)
		}
	}
}

// An optional setting left out has no value anywhere, and with no token there is no
// expiry either.
func TestLeftOutSettingsHaveNoValue(t *testing.T) {
	v := full
	v.HostAddr, v.SSLNegotiation, v.ApplicationName, v.Options, v.ConnectTimeout, v.URLVar, v.Token = "", "", "", "", 0, "", ""
	want := "PGHOST=h.example PGPORT=5433 PGDATABASE=db PGUSER=u PGSSLMODE=verify-full PGSSLROOTCERT=system " +
		"DSQLENV_PROFILE=prod DSQLENV_PROFILES_FILE=/p.yaml"
	if got := render(&v, Env); got != want {
		t.Errorf("got  %s\nwant %s", got, want)
	}
	for _, s := range Settings {
		if s.Optional && s.Value(&v, Env) != "" {
			t.Errorf("optional %s has a value when left out", s.Env)
		}
	}
}

func TestChecks(t *testing.T) {
	for _, c := range []struct {
		check func(string) string
		in    string
		want  string // "" accepted, else a part of the message
	}{
		{CheckSSLMode, "verify-full", ""},
		{CheckSSLMode, "require", ""},
		{CheckSSLMode, "prefer", `"prefer" is not allowed: use require, verify-ca, verify-full`},
		{CheckSSLNegotiation, "direct", ""},
		{CheckSSLNegotiation, "Direct", `"Direct" is not allowed: use direct`},
		{Range(1, 65535), "5432", ""},
		{Range(1, 65535), "0", "0 is out of range: use 1 to 65535"},
		{Range(0, 86400), "99999999999999999999", "is out of range: use 0 to 86400"},
		{CheckURLVar, "DATABASE_URL", ""},
		{CheckURLVar, "database_url", "must be an upper-case variable name ending in URL"},
		{CheckURLVar, "PATH", "must be an upper-case variable name ending in URL"},
		{CheckURLVar, "PGURL", "is a name libpq (PG…)"},
		{CheckURLVar, "DSQLENV_URL", "dsqlenv (DSQLENV_…)"},
		{CheckURLVar, "MY-URL", "must be an upper-case variable name"},
	} {
		got := c.check(c.in)
		if c.want == "" && got != "" || c.want != "" && !strings.Contains(got, c.want) {
			t.Errorf("check(%q) = %q, want %q", c.in, got, c.want)
		}
	}
}

// TestEnvNameAgreesWithItsPattern holds isEnvName to the regular expression it replaces.
func TestEnvNameAgreesWithItsPattern(t *testing.T) {
	re := regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]*$`)
	cases := []string{"", "_", "_a", "9a", "a9", "a_b", "A-B", "a.b", "é"}
	rng := rand.New(rand.NewSource(7))
	const alpha = "aZ_9-."
	for range 20000 {
		b := make([]byte, rng.Intn(12))
		for i := range b {
			b[i] = alpha[rng.Intn(len(alpha))]
		}
		cases = append(cases, string(b))
	}
	for _, s := range cases {
		if got, want := isEnvName(s), re.MatchString(s); got != want {
			t.Errorf("isEnvName(%q) = %v, the pattern says %v", s, got, want)
		}
	}
}
