// Package libpq is the one table of the connection settings dsqlenv writes for PostgreSQL
// clients: for each, the profile field it comes from, its environment variable, its
// connection keyword (service files), its names in a postgresql:// URL and in a pgjdbc URL,
// whether a profile may leave it out, and how a value is checked. A setting added here is
// set, cleared and written by every output at once.
//
// It is pure (no I/O, no AWS, no command line) and imports nothing of dsqlenv, so that
// profiles can import it: profiles checks its fields' values with the table's checks, and
// profiles' tests hold its fields to the table's rows, both ways. The values the rows read
// come in as Values, which the caller fills from a resolved profile and its token.
package libpq

import (
	"fmt"
	"strconv"
	"strings"
	"time"
)

// Target is an output a setting is written to. A setting's name and value depend on it.
type Target int

const (
	// Env is an environment variable: shell blocks, exec, dotenv and json.
	Env Target = iota
	// Keyword is a libpq connection keyword: pg_service.conf sections.
	Keyword
	// URL is a postgresql:// URI (PostgreSQL documentation, "Connection URIs").
	URL
	// JDBC is pgjdbc's jdbc:postgresql:// URL.
	JDBC
)

// Values are what the rows read: a resolved profile, where it came from, and its token.
type Values struct {
	Profile string // the profile's name
	File    string // the profiles file it came from, absolute
	Host    string
	// HostAddr is the address to connect to when it is not Host's own (vpc_endpoint:), ""
	// for none: Host is still the name the certificate and SNI are checked against.
	HostAddr string
	Port     int
	// Database, User, SSLMode, SSLNegotiation, ApplicationName and Options are the profile's;
	// "" leaves an optional one out.
	Database, User, SSLMode, SSLNegotiation, ApplicationName, Options string
	ConnectTimeout                                                    int // 0: not set
	// RootCert is sslrootcert as libpq reads it (a file, or system); RootCertFile is the same
	// as a file, for URLs: node-postgres, pgjdbc and the other readers that are not libpq
	// open the value as a file, so system cannot go there.
	RootCert, RootCertFile string
	Token                  string    // "" before one is minted
	ExpiresAt              time.Time // the token's expiry
	URLVar                 string    // the variable database_url: names, "" for none
}

// Setting is one row of the table.
type Setting struct {
	// Field is the profile field the value comes from; What names the value in messages
	// when it comes from none (About).
	Field, What string
	// Env is the environment variable.
	Env string
	// Keyword is the libpq connection keyword, "" when it never goes in a service file.
	Keyword string
	// URLName is its name in a postgresql:// URL: host, port, dbname, user and password are
	// the URL's own parts (userinfo, authority, path), the others query parameters; "" for
	// none. JDBCName is pgjdbc's (PGProperty.java): PGHOST, PGPORT and PGDBNAME go in the
	// URL's own parts, the others in its query. A row with one has the other:
	// TestEveryURLSettingHasAJDBCName.
	URLName, JDBCName string
	// NoJDBC, for a row with a URL name but no JDBC name, says why pgjdbc cannot carry its
	// value and what to use instead: jdbc refuses a profile that has one.
	NoJDBC string
	// Optional: the profile may leave it out, and there is no built-in value, so a block
	// clears the variable and service files and URLs leave the keyword out.
	Optional bool
	// Check says why a value from the profiles file cannot be used, or returns ""; nil takes
	// any value. It sees the value as written, numbers as their digits.
	Check func(value string) string
	value func(v *Values, t Target) string
}

// About names the setting in messages: its profile field, or what it is.
func (s *Setting) About() string {
	if s.Field != "" {
		return s.Field
	}
	return s.What
}

// Name is the setting's name in target t, "" when t does not carry it.
func (s *Setting) Name(t Target) string {
	switch t {
	case Env:
		return s.Env
	case Keyword:
		return s.Keyword
	case URL:
		return s.URLName
	case JDBC:
		return s.JDBCName
	}
	return ""
}

// Value is the setting's value for target t, "" when it has none, or t does not carry it.
func (s *Setting) Value(v *Values, t Target) string {
	if s.Name(t) == "" {
		return ""
	}
	return s.value(v, t)
}

// Settings is the table, in the order every output writes it.
var Settings = []Setting{
	{Field: "endpoint", Env: "PGHOST", Keyword: "host", URLName: "host", JDBCName: "PGHOST",
		value: func(v *Values, _ Target) string { return v.Host }},
	// The address libpq connects to instead of resolving host, which stays the name checked
	// by verify-full and sent as SNI (libpq documentation, "Parameter Key Words": hostaddr).
	// PrivateLink without private DNS: host is the cluster's PrivateLink name, which only
	// private DNS resolves, and hostaddr the VPC endpoint's address. Cleared when the profile
	// has none, since a stale PGHOSTADDR would redirect the connection.
	{Field: "vpc_endpoint", Env: "PGHOSTADDR", Keyword: "hostaddr", URLName: "hostaddr",
		NoJDBC:   "pgjdbc has no hostaddr: it would connect to the PrivateLink name, which resolves only with private DNS",
		Optional: true, // checked by profiles, which knows host names, as endpoint is
		value:    func(v *Values, _ Target) string { return v.HostAddr }},
	{Field: "port", Env: "PGPORT", Keyword: "port", URLName: "port", JDBCName: "PGPORT",
		Check: Range(1, 65535),
		value: func(v *Values, _ Target) string { return strconv.Itoa(v.Port) }},
	{Field: "database", Env: "PGDATABASE", Keyword: "dbname", URLName: "dbname", JDBCName: "PGDBNAME",
		value: func(v *Values, _ Target) string { return v.Database }},
	{Field: "user", Env: "PGUSER", Keyword: "user", URLName: "user", JDBCName: "user",
		value: func(v *Values, _ Target) string { return v.User }},
	{Field: "sslmode", Env: "PGSSLMODE", Keyword: "sslmode", URLName: "sslmode", JDBCName: "sslmode",
		Check: CheckSSLMode,
		value: func(v *Values, _ Target) string { return v.SSLMode }},
	{Field: "sslrootcert", Env: "PGSSLROOTCERT", Keyword: "sslrootcert", URLName: "sslrootcert", JDBCName: "sslrootcert",
		value: func(v *Values, t Target) string {
			if t == URL || t == JDBC {
				return v.RootCertFile
			}
			return v.RootCert
		}},
	// libpq 17+, only when the profiles file sets it (there is no built-in value): older libpq
	// ignores PGSSLNEGOTIATION but rejects the keyword ("invalid connection option", "syntax
	// error in service file"), and lib/pq sends no ALPN with direct (lib/pq#1331). Blocks
	// still clear one an earlier profile set. pgjdbc reads sslNegotiation since 42.7.4.
	{Field: "sslnegotiation", Env: "PGSSLNEGOTIATION", Keyword: "sslnegotiation", URLName: "sslnegotiation", JDBCName: "sslNegotiation",
		Optional: true, Check: CheckSSLNegotiation,
		value: func(v *Values, _ Target) string { return v.SSLNegotiation }},
	// Never in a service file: libpq rejects its lines over 1,021 characters, and a token
	// runs to 1,500 (pgfile.MaxLine).
	{What: "the token", Env: "PGPASSWORD", URLName: "password", JDBCName: "password",
		value: func(v *Values, _ Target) string { return v.Token }},
	{Field: "application_name", Env: "PGAPPNAME", Keyword: "application_name", URLName: "application_name", JDBCName: "ApplicationName",
		Optional: true,
		value:    func(v *Values, _ Target) string { return v.ApplicationName }},
	{Field: "connect_timeout", Env: "PGCONNECT_TIMEOUT", Keyword: "connect_timeout", URLName: "connect_timeout", JDBCName: "connectTimeout",
		Optional: true, Check: Range(0, 86400),
		value: func(v *Values, _ Target) string { return itoaOrEmpty(v.ConnectTimeout) }},
	{Field: "options", Env: "PGOPTIONS", Keyword: "options", URLName: "options", JDBCName: "options",
		Optional: true,
		value:    func(v *Values, _ Target) string { return v.Options }},
	{What: "the profile name", Env: "DSQLENV_PROFILE",
		value: func(v *Values, _ Target) string { return v.Profile }},
	// The hook re-mints from the file the block came from, not whatever file is the default.
	{What: "the profiles file", Env: "DSQLENV_PROFILES_FILE",
		value: func(v *Values, _ Target) string { return v.File }},
	{What: "the token's expiry", Env: "DSQLENV_EXPIRES_AT",
		value: func(v *Values, _ Target) string {
			if v.Token == "" {
				return ""
			}
			return strconv.FormatInt(v.ExpiresAt.Unix(), 10)
		}},
	// The name of the variable database_url: fills with the URL. That variable is not a row:
	// its name is the user's choice. A later block (or --unset) reads this name back from
	// its environment and clears the variable, which it could not know otherwise.
	{Field: "database_url", Env: "DSQLENV_URL_VAR",
		Optional: true, Check: CheckURLVar,
		value: func(v *Values, _ Target) string { return v.URLVar }},
}

// RedirectVars are removed by every block and exec: a service file's values override the
// environment (libpq documentation, "Environment Variables"), so a stale PGSERVICE would
// redirect psql. PGHOSTADDR is vpc_endpoint's row, cleared like any optional one.
var RedirectVars = []string{"PGSERVICE"}

// Names lists the settings' names in target t, in table order, leaving out the settings t
// does not carry.
func Names(t Target) []string {
	var names []string
	for i := range Settings {
		if n := Settings[i].Name(t); n != "" {
			names = append(names, n)
		}
	}
	return names
}

// ByEnv is the setting of the environment variable env, nil when none has it.
func ByEnv(env string) *Setting {
	for i := range Settings {
		if Settings[i].Env == env {
			return &Settings[i]
		}
	}
	return nil
}

// ByField is the setting of the profile field field, nil when none has it.
func ByField(field string) *Setting {
	for i := range Settings {
		if Settings[i].Field == field {
			return &Settings[i]
		}
	}
	return nil
}

func itoaOrEmpty(n int) string {
	if n == 0 {
		return ""
	}
	return strconv.Itoa(n)
}

// Range is the check of a whole number from lo to hi, given as its digits.
func Range(lo, hi int) func(string) string {
	return func(s string) string {
		if v, err := strconv.Atoi(s); err != nil || v < lo || v > hi {
			return fmt.Sprintf("%s is out of range: use %d to %d", s, lo, hi)
		}
		return ""
	}
}

// SSLModes are the sslmode values that verify TLS or at least require it: DSQL refuses
// plaintext, so disable, allow and prefer are not offered.
var SSLModes = []string{"require", "verify-ca", "verify-full"}

// SSLNegotiations are libpq's sslnegotiation values (libpq 17+): direct sends the TLS
// ClientHello at once, one round trip less than postgres, PostgreSQL's SSLRequest first.
var SSLNegotiations = []string{"direct", "postgres"}

// CheckSSLMode says why s cannot be an sslmode, or returns "".
func CheckSSLMode(s string) string {
	for _, m := range SSLModes {
		if s == m {
			return ""
		}
	}
	return fmt.Sprintf("%q is not allowed: use %s (DSQL refuses connections without TLS)", s, strings.Join(SSLModes, ", "))
}

// CheckSSLNegotiation says why s cannot be an sslnegotiation, or returns "".
func CheckSSLNegotiation(s string) string {
	for _, m := range SSLNegotiations {
		if s == m {
			return ""
		}
	}
	return fmt.Sprintf("%q is not allowed: use direct (one round trip less; libpq 17+) or postgres (an SSLRequest first, as every libpq does)", s)
}

// CheckURLVar says why name cannot be the variable that holds a profile's connection URL
// (database_url:), or returns "". It must be a name every shell can set, and not one of
// libpq's PG… variables or dsqlenv's DSQLENV_… ones, which blocks manage themselves
// (compared without case: Windows environment names are case-insensitive).
func CheckURLVar(name string) string {
	up := strings.ToUpper(name)
	switch {
	case !isEnvName(name) || name != up || !strings.HasSuffix(name, "URL"):
		// Upper case and ending in URL: the shells' own variables (PATH, fish's status and
		// argv, zsh's precmd_functions, HISTFILE, NODE_OPTIONS…) can never be named.
		return fmt.Sprintf("%q must be an upper-case variable name ending in URL, such as DATABASE_URL: a block sets it and later clears it", name)
	case strings.HasPrefix(up, "PG") || strings.HasPrefix(up, "DSQLENV_") || strings.HasPrefix(up, "AWS_"):
		return fmt.Sprintf("%q is a name libpq (PG…), dsqlenv (DSQLENV_…) or the AWS SDK (AWS_…) uses: choose another, such as DATABASE_URL", name)
	}
	return ""
}

// isEnvName: `^[A-Za-z_][A-Za-z0-9_]*$`, a name every shell can set. Plain code rather than
// a regular expression, whose compiling every block would pay (make bench);
// TestEnvNameAgreesWithItsPattern holds it to the pattern.
func isEnvName(s string) bool {
	if s == "" || '0' <= s[0] && s[0] <= '9' {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '_') {
			return false
		}
	}
	return true
}
