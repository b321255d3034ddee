package pgfile

import (
	"strings"
)

// PassEntry is one line of a libpq password file.
type PassEntry struct {
	Host, Port, Database, User, Password string
}

// EscapePass escapes a pgpass field: libpq reads `\:` as a colon and `\\` as a backslash
// (PostgreSQL documentation, "The Password File").
func EscapePass(s string) string {
	return strings.NewReplacer(`\`, `\\`, `:`, `\:`).Replace(s)
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

func (e PassEntry) line() string {
	return strings.Join([]string{EscapePass(e.Host), EscapePass(e.Port), EscapePass(e.Database), EscapePass(e.User), EscapePass(e.Password)}, ":")
}

// MergePass replaces the line for each entry's host:port:database:user (matched literally,
// not as a wildcard) or appends one; every other line is kept byte for byte.
func MergePass(data []byte, entries []PassEntry) []byte {
	eol := eolOf(data)
	key := func(f []string) string { return strings.Join(f[:4], "\x00") }
	want := map[string]PassEntry{}
	for _, e := range entries {
		want[key([]string{e.Host, e.Port, e.Database, e.User})] = e
	}
	done := map[string]bool{}
	var out strings.Builder
	for _, l := range splitLines(data) {
		if f := splitPass(l.text); len(f) >= 5 && !strings.HasPrefix(l.text, "#") {
			if e, mine := want[key(f)]; mine {
				if !done[key(f)] {
					le := l.eol
					if le == "" {
						le = eol
					}
					out.WriteString(e.line() + le)
					done[key(f)] = true
				}
				continue
			}
		}
		out.WriteString(l.text + l.eol)
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
	return []byte(out.String())
}
