package cli

import (
	"fmt"
	"strings"

	"github.com/dsqlenv/dsqlenv/internal/libpq"
	"github.com/dsqlenv/dsqlenv/pgfile"
	"github.com/dsqlenv/dsqlenv/profiles"
)

// The URL forms of a session: postgresql:// (libpq, node-postgres, pgx, psql) and pgjdbc's
// jdbc:postgresql://, shared by the url and jdbc commands, the blocks' database_url: variable
// and exec.

// prepareURL gives a session what its URL needs from the run, when its output carries one
// (database_url:): sslrootcert as a file, and the URL variable an earlier block left.
func (r *run) prepareURL(s *session, clients readers) {
	s.oldURLVar = r.oldURLVar()
	if clients != noRootCert && s.conn.DatabaseURL != "" {
		s.urlRootCert = r.rootCertFile(s)
	}
}

// oldURLVar is the variable holding the URL of an earlier block, as its DSQLENV_URL_VAR
// says; "" when there is none, or when the name is one no block would have set.
func (r *run) oldURLVar() string {
	// Cleared only when it still holds a URL dsqlenv wrote: DSQLENV_URL_VAR comes from the
	// environment, and DSQLENV_URL_VAR=PATH must not make a block unset PATH.
	name := r.Getenv("DSQLENV_URL_VAR")
	if name == "" || libpq.CheckURLVar(name) != "" || !strings.HasPrefix(r.Getenv(name), "postgresql://") {
		return ""
	}
	return name
}

// rootCertFile is sslrootcert as a file path, for URLs: node-postgres, pgjdbc and other
// readers that are not libpq open the value as a file (node-postgres opens a file named
// "system"), so `system`, libpq's keyword for the OS store, becomes the bundled Amazon
// roots, like `amazon`.
func (r *run) rootCertFile(s *session) string {
	if s.conn.SSLRootCert == profiles.RootSystem {
		s.needsRoots = true
		return r.amazonRootPath()
	}
	return r.rootCertFor(s, false)
}

// connURL is the session as a postgresql:// URI (PostgreSQL documentation, "Connection
// URIs"): user and token in the userinfo, host and port, the database as the path, and the
// session's other settings as query parameters, sslrootcert as a file.
func (s *session) connURL() string {
	host, port, db, user, password, rest := s.urlParts(libpq.URL)
	var query []string
	for _, kv := range rest {
		query = append(query, kv.Key+"="+escapeURL(kv.Value, ""))
	}
	var b strings.Builder
	b.WriteString("postgresql://")
	b.WriteString(escapeURL(user, ""))
	if password != "" {
		b.WriteString(":" + escapeURL(password, ""))
	}
	b.WriteString("@" + escapeURL(host, "") + ":" + port)
	// node-postgres decodes the database with decodeURI (pg-connection-string), which leaves
	// the escapes of ; : @ & = + $ , as they are: those go unescaped, as RFC 3986 allows in a
	// path segment. A / ? or # in a database name cannot reach node-postgres at all.
	b.WriteString("/" + escapeURL(db, ";:@&=+$,"))
	if len(query) > 0 {
		b.WriteString("?" + strings.Join(query, "&"))
	}
	return b.String()
}

// urlParts splits the settings URL target t carries into the parts a URL has of its own
// (by their postgresql:// names, libpq.Setting.URLName) and the rest, named as t names them,
// which go in its query.
func (s *session) urlParts(t libpq.Target) (host, port, db, user, password string, rest []pgfile.KV) {
	v := s.values()
	for i := range libpq.Settings {
		p := &libpq.Settings[i]
		val := p.Value(v, t)
		if val == "" {
			continue
		}
		switch p.URLName {
		case "host":
			host = val
		case "port":
			port = val
		case "dbname":
			db = val
		case "user":
			user = val
		case "password":
			password = val
		default:
			rest = append(rest, pgfile.KV{Key: p.Name(t), Value: val})
		}
	}
	return host, port, db, user, password, rest
}

// jdbcURL is the session as pgjdbc's URL: jdbc:postgresql://host:port/database?user=…&
// password=…&… pgjdbc decodes the database and every value with java.net.URLDecoder, which
// also reads + as a space, so everything but the unreserved characters is escaped. A setting
// pgjdbc cannot carry (libpq.Setting.NoJDBC) is refused, never left out: a URL without
// hostaddr would connect elsewhere, or tempt its user to turn verification off.
func (s *session) jdbcURL() (string, error) {
	v := s.values()
	for i := range libpq.Settings {
		if p := &libpq.Settings[i]; p.NoJDBC != "" && p.Value(v, libpq.URL) != "" {
			return "", fmt.Errorf("profile %s: %s %s cannot go in a JDBC URL: %s. Run dsqlenv proxy %s and point JDBC at the URL it prints (the proxy connects to %s, verifying %s), or map %s to %s in your DNS or hosts file and remove %s: from the profile",
				s.conn.Profile, p.Field, s.conn.VPCEndpoint, p.NoJDBC, s.conn.Profile, s.conn.HostAddr, s.conn.Host, s.conn.Host, s.conn.HostAddr, p.Field)
		}
	}
	host, port, db, user, password, rest := s.urlParts(libpq.JDBC)
	query := []string{"user=" + escapeURL(user, "")}
	if password != "" {
		query = append(query, "password="+escapeURL(password, ""))
	}
	for _, kv := range rest {
		query = append(query, kv.Key+"="+escapeURL(kv.Value, ""))
	}
	return "jdbc:postgresql://" + escapeURL(host, "") + ":" + port + "/" + escapeURL(db, "") +
		"?" + strings.Join(query, "&"), nil
}

// escapeURL percent-encodes s for a part of a URL (RFC 3986, section 2.1): every byte except
// the unreserved characters A-Z a-z 0-9 - . _ ~ and those in keep, as %XX with upper-case
// hex. A space becomes %20, never +, which URLSearchParams, Go's url.ParseQuery and Java's
// URLDecoder would read back as a space but libpq as a +.
func escapeURL(s, keep string) string {
	const upperHex = "0123456789ABCDEF"
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		c := s[i]
		if 'A' <= c && c <= 'Z' || 'a' <= c && c <= 'z' || '0' <= c && c <= '9' ||
			c == '-' || c == '.' || c == '_' || c == '~' || strings.IndexByte(keep, c) >= 0 {
			b.WriteByte(c)
			continue
		}
		b.WriteByte('%')
		b.WriteByte(upperHex[c>>4])
		b.WriteByte(upperHex[c&15])
	}
	return b.String()
}
