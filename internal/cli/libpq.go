package cli

import (
	"strconv"
	"strings"

	"github.com/dsqlenv/dsqlenv/emit"
	"github.com/dsqlenv/dsqlenv/pgfile"
	"github.com/dsqlenv/dsqlenv/profiles"
)

// session is a resolved profile ready to be written out: its connection, the sslrootcert
// value clients get, and, once minted, its token.
type session struct {
	conn     *profiles.Connection
	file     string // the profiles file it came from, absolute
	rootCert string
	token    string
	info     profiles.TokenInfo
	// urlRootCert is sslrootcert as a file for URLs (rootCertFile), set when the session's
	// output carries one; oldURLVar is the URL variable an earlier block set, to clear.
	urlRootCert, oldURLVar string
}

// param is one variable a block manages: its environment variable, its libpq connection
// keyword ("" when it never goes in a service file), the profile field it comes from (for
// messages), and its value, "" when the profile leaves an optional setting out.
type param struct {
	env, keyword, field string
	value               func(s *session) string
}

// params is the one table of what dsqlenv sets: blocks, --unset, exec and service files all
// read it, so a variable added here is set, cleared and written everywhere at once.
var params = []param{
	{"PGHOST", "host", "endpoint", func(s *session) string { return s.conn.Host }},
	{"PGPORT", "port", "port", func(s *session) string { return strconv.Itoa(s.conn.Port) }},
	{"PGDATABASE", "dbname", "database", func(s *session) string { return s.conn.Database }},
	{"PGUSER", "user", "user", func(s *session) string { return s.conn.User }},
	{"PGSSLMODE", "sslmode", "sslmode", func(s *session) string { return s.conn.SSLMode }},
	{"PGSSLROOTCERT", "sslrootcert", "sslrootcert", func(s *session) string { return s.rootCert }},
	// libpq 17+, only when the profiles file sets it (there is no built-in value): older libpq
	// ignores PGSSLNEGOTIATION but rejects the keyword ("invalid connection option", "syntax
	// error in service file"), and lib/pq sends no ALPN with direct (lib/pq#1331). Blocks
	// still clear one an earlier profile set.
	{"PGSSLNEGOTIATION", "sslnegotiation", "sslnegotiation", func(s *session) string { return s.conn.SSLNegotiation }},
	// Never in a service file: libpq rejects its lines over 1,021 characters, and a token
	// runs to 1,500 (pgfile.MaxLine).
	{"PGPASSWORD", "", "the token", func(s *session) string { return s.token }},
	{"PGAPPNAME", "application_name", "application_name", func(s *session) string { return s.conn.ApplicationName }},
	{"PGCONNECT_TIMEOUT", "connect_timeout", "connect_timeout", func(s *session) string { return itoaOrEmpty(s.conn.ConnectTimeout) }},
	{"PGOPTIONS", "options", "options", func(s *session) string { return s.conn.Options }},
	{"DSQLENV_PROFILE", "", "the profile name", func(s *session) string { return s.conn.Profile }},
	// The hook re-mints from the file the block came from, not whatever file is the default.
	{"DSQLENV_PROFILES_FILE", "", "the profiles file", func(s *session) string { return s.file }},
	{"DSQLENV_EXPIRES_AT", "", "the token's expiry", func(s *session) string { return unixOrEmpty(s) }},
	// The name of the variable database_url: fills with the URL. That variable is not a row:
	// its name is the user's choice. A later block (or --unset) reads this name back from
	// its environment and clears the variable, which it could not know otherwise.
	{"DSQLENV_URL_VAR", "", "database_url", func(s *session) string { return s.conn.DatabaseURL }},
}

// redirectVars are removed by every block and exec: a service file's values override the
// environment (so a stale PGSERVICE would redirect psql), and PGHOSTADDR bypasses the host
// name that verify-full checks (libpq documentation, "Environment Variables").
var redirectVars = []string{"PGSERVICE", "PGHOSTADDR"}

func itoaOrEmpty(n int) string {
	if n == 0 {
		return ""
	}
	return strconv.Itoa(n)
}

func unixOrEmpty(s *session) string {
	if s.token == "" {
		return ""
	}
	return strconv.FormatInt(s.info.ExpiresAt.Unix(), 10)
}

// managedVars is every variable a block may set, in table order.
func managedVars() []string {
	names := make([]string, len(params))
	for i, p := range params {
		names[i] = p.env
	}
	return names
}

// block is what a shell block does: remove the redirecting variables, the URL variable an
// earlier block set and every managed variable this profile leaves out (so nothing of the
// previous profile survives a switch), then set the rest, and the URL when the profile asks.
func (s *session) block() emit.Block {
	b := emit.Block{Unset: append([]string{}, redirectVars...)}
	if s.oldURLVar != "" {
		b.Unset = append(b.Unset, s.oldURLVar)
	}
	for _, p := range params {
		if v := p.value(s); v != "" {
			b.Set = append(b.Set, emit.Var{Name: p.env, Value: v})
		} else {
			b.Unset = append(b.Unset, p.env)
		}
	}
	if s.conn.DatabaseURL != "" {
		b.Set = append(b.Set, emit.Var{Name: s.conn.DatabaseURL, Value: s.connURL()})
	}
	return b
}

// keywords is the session as libpq connection keywords, in table order: every parameter
// with a keyword and a value. Service files and URLs (url.go) are made of it.
func (s *session) keywords() []pgfile.KV {
	var kvs []pgfile.KV
	for _, p := range params {
		if v := p.value(s); p.keyword != "" && v != "" {
			kvs = append(kvs, pgfile.KV{Key: p.keyword, Value: v})
		}
	}
	return kvs
}

// serviceSection is the profile's pg_service.conf section: its keywords, plus passfile= when
// given.
func (s *session) serviceSection(passfile string) pgfile.Section {
	sec := pgfile.Section{Name: s.conn.Profile, Keys: s.keywords()}
	if passfile != "" {
		sec.Keys = append(sec.Keys, pgfile.KV{Key: "passfile", Value: passfile})
	}
	return sec
}

// proxySection is the section for a profile served by dsqlenv proxy on the socket directory
// dir: the proxy holds the token and the TLS, so only who and where remain, and what the
// client sends in its startup packet.
func (s *session) proxySection(dir string) pgfile.Section {
	sec := pgfile.Section{Name: s.conn.Profile, Keys: []pgfile.KV{{Key: "host", Value: dir}}}
	for _, kv := range s.keywords() {
		switch kv.Key {
		case "dbname", "user", "application_name", "options", "connect_timeout":
			sec.Keys = append(sec.Keys, kv)
		}
	}
	return sec
}

// fieldOf names the profile field behind a variable, for messages.
func fieldOf(env string) string {
	for _, p := range params {
		if p.env == env {
			return p.field
		}
	}
	return env
}

// childEnv is environ without every managed and redirecting variable, plus the block's
// variables: what exec hands the program. Windows compares names without case.
func childEnv(environ []string, b emit.Block, windows bool) []string {
	key := func(name string) string {
		if windows {
			return strings.ToUpper(name)
		}
		return name
	}
	drop := map[string]bool{}
	for _, n := range append(append([]string{}, b.Unset...), managedVars()...) {
		drop[key(n)] = true
	}
	out := make([]string, 0, len(environ)+len(b.Set))
	for _, kv := range environ {
		name, _, _ := strings.Cut(kv, "=")
		if !drop[key(name)] {
			out = append(out, kv)
		}
	}
	for _, v := range b.Set {
		out = append(out, v.Name+"="+v.Value)
	}
	return out
}

// keywordList names the connection keywords of the table, for help texts.
func keywordList() string {
	var kws []string
	for _, p := range params {
		if p.keyword != "" {
			kws = append(kws, p.keyword)
		}
	}
	return strings.Join(kws, ", ")
}
