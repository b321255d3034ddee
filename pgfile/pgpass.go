package pgfile

import (
	"errors"
	"io/fs"
	"strings"
)

// PassEntry is one line of a libpq password file.
type PassEntry struct {
	Host, Port, Database, User, Password string
	// Wildcard makes a Host, Port, Database or User that is "*" libpq's wildcard, which
	// matches anything (written *); otherwise "*" is that literal value (written \*).
	Wildcard bool
}

// EscapePass escapes a pgpass field: libpq reads `\:` as a colon and `\\` as a backslash
// (PostgreSQL documentation, "The Password File"). Two more escapes keep a literal value
// literal (libpq fe-connect.c, passwordFromFile and pwdfMatchesString, which drop the
// backslash before any character): a field that is just `*` would be a wildcard, so it is
// written `\*`; a line starting with `#` would be a comment, so a leading `#` is written `\#`.
func EscapePass(s string) string {
	if s == "*" {
		return `\*`
	}
	s = strings.NewReplacer(`\`, `\\`, `:`, `\:`).Replace(s)
	if strings.HasPrefix(s, "#") {
		s = `\` + s
	}
	return s
}

// CheckPassEntry refuses a line break or NUL in any field: libpq reads the file line by line,
// so "postgres\n*" would become a second line matching every database. The error is a
// *FieldError naming the field, never its value.
func CheckPassEntry(e PassEntry) error {
	for _, f := range []struct{ name, value string }{
		{"host", e.Host}, {"port", e.Port}, {"database", e.Database}, {"user", e.User}, {"password", e.Password},
	} {
		if p := breakProblem(f.value, "a password file"); p != "" {
			return &FieldError{Field: f.name, Problem: p}
		}
	}
	return nil
}

// splitPass splits a pgpass line into its unescaped fields, as libpq does.
func splitPass(text string) []string {
	var fields []string
	var b strings.Builder
	for i := 0; i < len(text); i++ {
		switch c := text[i]; {
		case c == '\\' && i+1 < len(text):
			b.WriteByte(text[i+1])
			i++
		case c == ':':
			fields = append(fields, b.String())
			b.Reset()
		default:
			b.WriteByte(c)
		}
	}
	return append(fields, b.String())
}

// ParsePass returns the entries of a password file in file order, as libpq reads them
// (fe-connect.c, passwordFromFile): a line starting with '#' is a comment, the line ending
// (LF or CRLF) is not part of the password, backslashes escape, and a line with fewer than
// five fields matches nothing. Wildcards are returned as written ("*").
func ParsePass(data []byte) []PassEntry {
	var out []PassEntry
	for _, l := range splitLines(data) {
		if strings.HasPrefix(l.text, "#") {
			continue
		}
		if f := splitPass(l.text); len(f) >= 5 {
			out = append(out, PassEntry{Host: f[0], Port: f[1], Database: f[2], User: f[3], Password: f[4]})
		}
	}
	return out
}

// ReadPass reads the password file at path with ParsePass; a missing file has no entries.
// Like WritePass it follows symbolic links and reads only a regular file: opening a FIFO
// would block, and a device can have effects of its own.
func ReadPass(path string) ([]PassEntry, error) {
	target, _, err := resolve(path)
	if err != nil {
		return nil, err
	}
	data, _, err := readRegular(path, target)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	return ParsePass(data), nil
}

func (e PassEntry) line() string {
	field := func(s string) string {
		if e.Wildcard && s == "*" {
			return s
		}
		return EscapePass(s)
	}
	return strings.Join([]string{field(e.Host), field(e.Port), field(e.Database), field(e.User), EscapePass(e.Password)}, ":")
}

// MergePass writes each entry where libpq will find it: libpq uses the first line whose
// host:port:database:user matches, `*` matching anything (PostgreSQL documentation, "The
// Password File"). So an entry replaces the first line that matches it exactly, or goes just
// before an earlier line that matches it through a wildcard (which would otherwise win), or
// at the end; later exact copies are dropped. The lines drop picks (nil: none) are removed
// first; every other line is kept byte for byte. Every entry is checked first with
// CheckPassEntry.
func MergePass(data []byte, entries []PassEntry, drop func(PassEntry) bool) ([]byte, error) {
	for _, e := range entries {
		if err := CheckPassEntry(e); err != nil {
			return nil, err
		}
	}
	eol := eolOf(data)
	key := func(f []string) string { return strings.Join(f[:4], "\x00") }
	done := map[string]bool{}
	var out strings.Builder
	for _, l := range splitLines(data) {
		f := splitPass(l.text)
		if len(f) < 5 || strings.HasPrefix(l.text, "#") {
			out.WriteString(l.text + l.eol)
			continue
		}
		if drop != nil && drop(PassEntry{Host: f[0], Port: f[1], Database: f[2], User: f[3], Password: f[4]}) {
			continue
		}
		le := l.eol
		if le == "" {
			le = eol
		}
		exact := false
		for _, e := range entries {
			k := key([]string{e.Host, e.Port, e.Database, e.User})
			if k == key(f) {
				exact = true
			}
			if !done[k] && passMatches(f, e) {
				out.WriteString(e.line() + le)
				done[k] = true
			}
		}
		if !exact {
			out.WriteString(l.text + l.eol)
		}
	}
	for _, e := range entries {
		k := key([]string{e.Host, e.Port, e.Database, e.User})
		if done[k] {
			continue
		}
		if s := out.String(); s != "" && !strings.HasSuffix(s, "\n") {
			out.WriteString(eol)
		}
		out.WriteString(e.line() + eol)
		done[k] = true
	}
	return []byte(out.String()), nil
}

// PassFor is the entry libpq uses for want's host, port, database and user: the first that
// matches, through a wildcard or exactly (passMatches).
func PassFor(entries []PassEntry, want PassEntry) (PassEntry, bool) {
	for _, e := range entries {
		if passMatches([]string{e.Host, e.Port, e.Database, e.User}, want) {
			return e, true
		}
	}
	return PassEntry{}, false
}

// passMatches is libpq's test of a password-file line against a connection: each of the
// first four fields equals the connection's value or is "*".
func passMatches(f []string, e PassEntry) bool {
	for i, v := range []string{e.Host, e.Port, e.Database, e.User} {
		if f[i] != "*" && f[i] != v {
			return false
		}
	}
	return true
}

// WritePass merges entries into the password file at path, removing the lines drop picks
// (see MergePass, and Edit for locks). The file always ends with mode 0600, whatever its old mode: libpq ignores a password
// file that group or others can read (PostgreSQL documentation, "The Password File"), and it
// holds live tokens.
func WritePass(locks, path string, entries []PassEntry, drop func(PassEntry) bool) (string, error) {
	return rewrite(locks, path, 0o600, true, func(old []byte) ([]byte, error) {
		return MergePass(old, entries, drop)
	})
}
