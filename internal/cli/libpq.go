package cli

import (
	"strings"

	"github.com/dsqlenv/dsqlenv/emit"
	"github.com/dsqlenv/dsqlenv/internal/libpq"
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
	// needsRoots: rootCert or urlRootCert is the bundled roots file, which the command that
	// writes this session out stages (stageRoots); rootsNote says why, when it is not obvious.
	needsRoots bool
	rootsNote  string
}

// values is the session as the libpq table reads it.
func (s *session) values() *libpq.Values {
	c := s.conn
	return &libpq.Values{
		Profile: c.Profile, File: s.file,
		Host: c.Host, HostAddr: c.HostAddr, Port: c.Port, Database: c.Database, User: c.User,
		SSLMode: c.SSLMode, SSLNegotiation: c.SSLNegotiation,
		ApplicationName: c.ApplicationName, Options: c.Options, ConnectTimeout: c.ConnectTimeout,
		RootCert: s.rootCert, RootCertFile: s.urlRootCert,
		Token: s.token, ExpiresAt: s.info.ExpiresAt,
		URLVar: c.DatabaseURL,
	}
}

// redirectVars are removed by every block and exec (libpq.RedirectVars).
var redirectVars = libpq.RedirectVars

// managedVars is every variable a block may set, in table order.
func managedVars() []string { return libpq.Names(libpq.Env) }

// block is what a shell block does: remove the redirecting variables, the URL variable an
// earlier block set and every managed variable this profile leaves out (so nothing of the
// previous profile survives a switch), then set the rest, and the URL when the profile asks.
func (s *session) block() emit.Block {
	b := emit.Block{Unset: append([]string{}, redirectVars...)}
	if s.oldURLVar != "" {
		b.Unset = append(b.Unset, s.oldURLVar)
	}
	v := s.values()
	for i := range libpq.Settings {
		p := &libpq.Settings[i]
		if val := p.Value(v, libpq.Env); val != "" {
			b.Set = append(b.Set, emit.Var{Name: p.Env, Value: val})
		} else {
			b.Unset = append(b.Unset, p.Env)
		}
	}
	if s.conn.DatabaseURL != "" {
		b.Set = append(b.Set, emit.Var{Name: s.conn.DatabaseURL, Value: s.connURL()})
	}
	return b
}

// keywords is the session as libpq connection keywords, in table order: every setting with
// a keyword and a value. Service files are made of it.
func (s *session) keywords() []pgfile.KV { return s.named(libpq.Keyword) }

// named is every setting target t carries and the session has a value for, as t names it,
// in table order.
func (s *session) named(t libpq.Target) []pgfile.KV {
	v := s.values()
	var kvs []pgfile.KV
	for i := range libpq.Settings {
		p := &libpq.Settings[i]
		if val := p.Value(v, t); val != "" {
			kvs = append(kvs, pgfile.KV{Key: p.Name(t), Value: val})
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
	if p := libpq.ByEnv(env); p != nil {
		return p.About()
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
func keywordList() string { return strings.Join(libpq.Names(libpq.Keyword), ", ") }
