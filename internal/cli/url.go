package cli

import (
	"fmt"
	"strings"

	"github.com/urfave/cli/v2"

	"github.com/dsqlenv/dsqlenv/internal/libpq"
	"github.com/dsqlenv/dsqlenv/pgfile"
	"github.com/dsqlenv/dsqlenv/profiles"
)

func urlCommand(r *run) *cli.Command {
	return &cli.Command{
		Name:      "url",
		Category:  "Commands",
		Usage:     "print a postgresql:// connection URL for PROFILE, token included",
		ArgsUsage: "PROFILE",
		Description: `Mints a token for PROFILE and prints one line: a postgresql:// URL (DATABASE_URL)
for the drivers and frameworks that take one: node-postgres, Prisma, Rails, Django,
sqlx, pgx, and psql itself. User and token are percent-encoded in it (RFC 3986), and
so are the database and every parameter: sslmode, sslrootcert, application_name,
connect_timeout, options, and sslnegotiation when the profile sets it.
sslrootcert is always a file: system and amazon become the bundled Amazon roots'
file, because drivers other than libpq open the value as a file. The URL holds the
token, so it stops working when the token expires (expires_in).
A profile with database_url: NAME also puts this URL in the variable NAME of every
shell block, exec and the env, dotenv and json outputs.

Examples:
   psql "$(dsqlenv url prod)"
   DATABASE_URL="$(dsqlenv url prod)" node app.js
   dsqlenv url prod | pbcopy`,
		Action: func(c *cli.Context) error {
			return urlRun(c, r, false)
		},
	}
}

func jdbcCommand(r *run) *cli.Command {
	return &cli.Command{
		Name:      "jdbc",
		Category:  "Commands",
		Usage:     "print a jdbc:postgresql:// URL for PROFILE, token included",
		ArgsUsage: "PROFILE",
		Description: `Mints a token for PROFILE and prints one line: a JDBC URL for pgjdbc and the
Java tools built on it (DBeaver, DataGrip, IntelliJ, Spring, Flyway, Liquibase),
with user, password (the token), sslmode, sslrootcert (a PEM file: system and amazon
become the bundled Amazon roots' file), ApplicationName, connectTimeout, options,
and sslNegotiation when the profile sets it (pgjdbc 42.7.4 and later), all
percent-encoded. The URL stops working when the token expires (expires_in).

Examples:
   dsqlenv jdbc prod
   SPRING_DATASOURCE_URL="$(dsqlenv jdbc prod)" java -jar app.jar`,
		Action: func(c *cli.Context) error {
			return urlRun(c, r, true)
		},
	}
}

// urlRun mints a token and prints the profile's URL, postgresql:// or JDBC.
func urlRun(c *cli.Context, r *run, jdbc bool) error {
	s, err := r.mintProfile(c, noRootCert)
	if err != nil {
		return err
	}
	if s.urlRootCert, err = r.rootCertFile(s.conn); err != nil {
		return err
	}
	u := s.connURL()
	if jdbc {
		u = s.jdbcURL()
	}
	_, err = fmt.Fprintln(&r.out, u)
	return err
}

// prepareURL gives a session what its URL needs from the run, when its output carries one
// (database_url:): sslrootcert as a file, and the URL variable an earlier block left.
func (r *run) prepareURL(s *session, clients string) (err error) {
	s.oldURLVar = r.oldURLVar()
	if clients != noRootCert && s.conn.DatabaseURL != "" {
		s.urlRootCert, err = r.rootCertFile(s.conn)
	}
	return err
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
func (r *run) rootCertFile(conn *profiles.Connection) (string, error) {
	if conn.SSLRootCert == profiles.RootSystem {
		c := *conn
		c.SSLRootCert = profiles.RootAmazon
		conn = &c
	}
	return r.rootCertFor(conn, false)
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
// also reads + as a space, so everything but the unreserved characters is escaped.
func (s *session) jdbcURL() string {
	host, port, db, user, password, rest := s.urlParts(libpq.JDBC)
	query := []string{"user=" + escapeURL(user, "")}
	if password != "" {
		query = append(query, "password="+escapeURL(password, ""))
	}
	for _, kv := range rest {
		query = append(query, kv.Key+"="+escapeURL(kv.Value, ""))
	}
	return "jdbc:postgresql://" + escapeURL(host, "") + ":" + port + "/" + escapeURL(db, "") +
		"?" + strings.Join(query, "&")
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
