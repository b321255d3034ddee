// Package pgfile edits libpq's connection service file (pg_service.conf) and password file
// (pgpass) in place: only dsqlenv's own sections and lines change, everything else is kept
// byte for byte, and every write is atomic and locked, and goes only to a regular file.
package pgfile

import (
	"bytes"
	"fmt"
	"strconv"
	"strings"
)

// MaxLine is the longest line libpq reads from a service file: its buffer is 1024 bytes and a
// longer line is rejected with "line N too long in service file" (libpq fe-connect.c,
// parseServiceFile). A token (up to ~1,500 characters) therefore never fits as password=.
const MaxLine = 1021

// Marker is the first line of every section dsqlenv writes. A section without it was written
// by hand, and dsqlenv replaces or removes it only when forced. libpq skips it as a comment:
// parseServiceFile ignores a line whose first non-space character is '#'.
const Marker = markerPrefix + "; edit the dsqlenv profile, not this section"

// markerPrefix is what identifies the marker, so its advice can be reworded later.
const markerPrefix = "# written by dsqlenv"

// KV is one key=value line of a section.
type KV struct{ Key, Value string }

// Section is one [name] block of a service file.
type Section struct {
	Name string
	Keys []KV
}

// FieldError is a value a file cannot carry. The caller knows which profile it came from.
type FieldError struct {
	Section string // the service-file section, "" for a password-file entry
	Field   string // "section name", a service-file key, or host, port, database, user, password
	Problem string
}

func (e *FieldError) Error() string {
	if e.Section == "" {
		return e.Field + ": " + e.Problem
	}
	return fmt.Sprintf("[%s] %s: %s", e.Section, e.Field, e.Problem)
}

// breakProblem names a byte a line-oriented file cannot hold: CR and LF end the line (libpq
// reads both files line by line and strips the CR of CRLF), and a NUL ends it for libpq's C
// string functions, so the rest of the value would be lost or read as a line of its own.
func breakProblem(s, file string) string {
	switch {
	case strings.ContainsAny(s, "\r\n"):
		return "the value holds a line break (CR or LF), which " + file + " cannot carry"
	case strings.Contains(s, "\x00"):
		return "the value holds a NUL byte, which " + file + " cannot carry"
	}
	return ""
}

// cSpace is C's isspace() in the "C" locale: the white space libpq trims from both ends of a
// service-file line.
const cSpace = " \t\n\v\f\r"

// checkName refuses a section name libpq could not find: parseServiceFile matches service S
// on a line "[" S "]" (anything may follow), so S cannot hold ']' or a line break.
func checkName(name string) error {
	var problem string
	switch {
	case name == "":
		problem = "is empty"
	case breakProblem(name, "a service file") != "":
		problem = "holds a line break or a NUL byte, which a service file cannot carry"
	case strings.Contains(name, "]"):
		problem = "holds ']', which ends a section name in a service file"
	case len(name)+2 > MaxLine:
		problem = fmt.Sprintf("is %d characters; libpq rejects service-file lines over %d", len(name), MaxLine)
	default:
		return nil
	}
	return &FieldError{Field: "section name " + strconv.Quote(name), Problem: "the name " + problem}
}

// CheckSection refuses what libpq would misread: a section name it cannot match; a key that
// is not a plain keyword (libpq splits the line at the first '=' and compares the key
// untrimmed); a line break or NUL in a value; white space at either end of a value (libpq
// trims it); and lines over MaxLine. The error is a *FieldError.
func CheckSection(s Section) error {
	if err := checkName(s.Name); err != nil {
		return err
	}
	for _, kv := range s.Keys {
		if !isKeyword(kv.Key) {
			return &FieldError{Section: s.Name, Field: strconv.Quote(kv.Key), Problem: "not a libpq keyword (lowercase letters, digits and '_')"}
		}
		if p := breakProblem(kv.Value, "a service file"); p != "" {
			return &FieldError{Section: s.Name, Field: kv.Key, Problem: p}
		}
		if kv.Value != strings.Trim(kv.Value, cSpace) {
			return &FieldError{Section: s.Name, Field: kv.Key, Problem: "the value starts or ends with white space, which libpq strips"}
		}
		if n := len(kv.Key) + 1 + len(kv.Value); n > MaxLine {
			return &FieldError{Section: s.Name, Field: kv.Key, Problem: fmt.Sprintf("the line would be %d characters; libpq rejects service-file lines over %d", n, MaxLine)}
		}
	}
	return nil
}

func isKeyword(k string) bool {
	if k == "" {
		return false
	}
	for i := 0; i < len(k); i++ {
		if c := k[i]; !(c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '_') {
			return false
		}
	}
	return true
}

// line is one line of a file with its own ending, so it can be written back unchanged.
type line struct {
	text string // without the line ending
	eol  string // "\n", "\r\n" or "" for a last line without one
}

func splitLines(data []byte) []line {
	var out []line
	for len(data) > 0 {
		i := bytes.IndexByte(data, '\n')
		if i < 0 {
			out = append(out, line{string(data), ""})
			break
		}
		t := string(data[:i])
		eol := "\n"
		if strings.HasSuffix(t, "\r") {
			t, eol = t[:len(t)-1], "\r\n"
		}
		out = append(out, line{t, eol})
		data = data[i+1:]
	}
	return out
}

// eolOf picks the file's line ending: CRLF files stay CRLF. A file is CRLF when every line
// ending in it is; a mixed file gets LF, so that what dsqlenv adds never changes its mind
// on the next run (a last line ending in a bare CR plus an added LF would otherwise turn an
// LF file into a "CRLF" one).
func eolOf(data []byte) string {
	if n := bytes.Count(data, []byte("\n")); n > 0 && bytes.Count(data, []byte("\r\n")) == n {
		return "\r\n"
	}
	return "\n"
}

// libpqText is a line as parseServiceFile sees it: cut at a NUL (fgets keeps reading, strlen
// stops there), then white space trimmed from both ends.
func libpqText(text string) string {
	if i := strings.IndexByte(text, 0); i >= 0 {
		text = text[:i]
	}
	return strings.Trim(text, cSpace)
}

// header tells whether a line is a section header and which service it names, as libpq
// decides (fe-connect.c, parseServiceFile): after trimming, every line that starts with '['
// is a header and ends the section before it; it names service S when S and a ']' follow the
// '[' — whatever comes after the ']' is ignored, so "[prod] # managed" and "[prod]x" are
// both [prod]. A header without a ']' names no service. Names never hold ']' (checkName), so
// "the text up to the first ']'" is the same test.
func header(text string) (name string, isHeader, named bool) {
	t := libpqText(text)
	if t == "" || t[0] != '[' {
		return "", false, false
	}
	i := strings.IndexByte(t[1:], ']')
	if i < 0 {
		return "", true, false
	}
	return t[1 : 1+i], true, true
}

func isCommentOrBlank(text string) bool {
	t := libpqText(text)
	return t == "" || t[0] == '#'
}

// section is one [name] block of a file: lines[start] is its header, lines[start+1:end] its
// body.
type section struct {
	name       string
	named      bool
	start, end int
}

func parseSections(lines []line) []section {
	var out []section
	for i, l := range lines {
		name, isHeader, named := header(l.text)
		if !isHeader {
			continue
		}
		if n := len(out); n > 0 {
			out[n-1].end = i
		}
		out = append(out, section{name: name, named: named, start: i, end: len(lines)})
	}
	return out
}

// written reports whether dsqlenv wrote the section: its first line that is not blank is the
// marker.
func (s section) written(lines []line) bool {
	for _, l := range lines[s.start+1 : s.end] {
		if t := libpqText(l.text); t != "" {
			return strings.HasPrefix(t, markerPrefix)
		}
	}
	return false
}

// ServiceReport says what MergeService did with each section it was given, by name, in the
// order given.
type ServiceReport struct {
	Written []string // replaced in place or appended
	Removed []string
	Missing []string // to remove, but not in the file: nothing to do
}

// HandWrittenError refuses to replace or remove a section dsqlenv did not write (it lacks
// Marker) unless forced.
type HandWrittenError struct {
	Name   string
	Remove bool
	Lines  []string // the section's first lines (at most 3), as the file holds them
}

func (e *HandWrittenError) Error() string {
	verb := "replace"
	if e.Remove {
		verb = "remove"
	}
	quoted := make([]string, len(e.Lines))
	for i, l := range e.Lines {
		quoted[i] = quoteLine(l)
	}
	return fmt.Sprintf("section [%s] was not written by dsqlenv (it does not start with %q; it reads %s): to %s it anyway, run again with --force",
		e.Name, markerPrefix, strings.Join(quoted, " "), verb)
}

// quoteLine shows a line of the user's file in an error: escaped (strconv.Quote turns control
// characters into \x1b and the like, so the file cannot drive the terminal), shortened, and
// with a password= value masked.
func quoteLine(l string) string {
	if k, _, ok := strings.Cut(l, "="); ok && strings.Trim(k, cSpace) == "password" {
		l = k + "=***"
	}
	if r := []rune(l); len(r) > 60 {
		l = string(r[:60]) + "…"
	}
	return strconv.Quote(l)
}

// MergeService returns data with each section written in place of the one of the same name
// (the first, which is the one libpq reads; later ones are emptied), or appended at the end;
// with remove, those sections are deleted instead. Sections are found the way libpq finds
// them (see header). Each written section starts with Marker. A section in data without the
// marker is replaced or removed only with force, else a *HandWrittenError. Lines outside the
// named sections, and comments and blank lines inside them, are kept byte for byte. Every
// section is checked first with CheckSection (with remove, only its name).
func MergeService(data []byte, sections []Section, remove, force bool) ([]byte, ServiceReport, error) {
	var report ServiceReport
	want := map[string]*Section{}
	for i := range sections {
		s := &sections[i]
		err := checkName(s.Name)
		if err == nil && !remove {
			err = CheckSection(*s)
		}
		if err != nil {
			return nil, report, err
		}
		if want[s.Name] != nil {
			return nil, report, fmt.Errorf("section [%s] is given twice", s.Name)
		}
		want[s.Name] = s
	}
	eol := eolOf(data)
	if eol == "\r\n" && !remove {
		// libpq counts the CR too: MaxLine leaves room for LF only.
		for _, s := range sections {
			for _, kv := range s.Keys {
				if n := len(kv.Key) + 1 + len(kv.Value); n > MaxLine-1 {
					return nil, report, &FieldError{Section: s.Name, Field: kv.Key, Problem: fmt.Sprintf("the line would be %d characters; libpq rejects lines over %d in a service file with CRLF line endings", n, MaxLine-1)}
				}
			}
		}
	}
	lines := splitLines(data)
	found := parseSections(lines)
	present := map[string]bool{}
	for _, f := range found {
		if !f.named || want[f.name] == nil {
			continue
		}
		present[f.name] = true
		if !force && !f.written(lines) {
			var first []string
			for _, l := range lines[f.start:min(f.start+3, f.end)] {
				first = append(first, l.text)
			}
			return nil, report, &HandWrittenError{Name: f.name, Remove: remove, Lines: first}
		}
	}

	var out strings.Builder
	writeSection := func(s *Section) {
		out.WriteString("[" + s.Name + "]" + eol + Marker + eol)
		for _, kv := range s.Keys {
			out.WriteString(kv.Key + "=" + kv.Value + eol)
		}
	}
	copyLines := func(ls []line) {
		for _, l := range ls {
			out.WriteString(l.text + l.eol)
		}
	}
	if len(found) == 0 {
		copyLines(lines)
	} else {
		copyLines(lines[:found[0].start])
	}
	done := map[string]bool{}
	for _, f := range found {
		s := want[f.name]
		if !f.named || s == nil {
			copyLines(lines[f.start:f.end])
			continue
		}
		if !remove && !done[f.name] {
			writeSection(s)
		}
		done[f.name] = true
		// The old section's comments stay; its keys, its marker and (when removing) its
		// blank lines go.
		for _, l := range lines[f.start+1 : f.end] {
			t := libpqText(l.text)
			if !isCommentOrBlank(l.text) || strings.HasPrefix(t, markerPrefix) || remove && t == "" {
				continue
			}
			out.WriteString(l.text + l.eol)
		}
	}
	for i := range sections {
		s := &sections[i]
		switch {
		case remove && present[s.Name]:
			report.Removed = append(report.Removed, s.Name)
		case remove:
			report.Missing = append(report.Missing, s.Name)
		case done[s.Name]:
			report.Written = append(report.Written, s.Name)
		default:
			text := out.String()
			if text != "" && !strings.HasSuffix(text, "\n") {
				out.WriteString(eol)
				text += eol
			}
			if text != "" && !strings.HasSuffix(text, "\n\n") && !strings.HasSuffix(text, "\n\r\n") {
				out.WriteString(eol)
			}
			writeSection(s)
			report.Written = append(report.Written, s.Name)
		}
	}
	return []byte(out.String()), report, nil
}

// WriteService merges sections into the service file at path (see MergeService, and Edit
// for locks); a new file gets mode 0600.
func WriteService(locks, path string, sections []Section, remove, force bool) (string, ServiceReport, error) {
	var report ServiceReport
	written, err := Edit(locks, path, 0o600, func(old []byte) ([]byte, error) {
		data, r, err := MergeService(old, sections, remove, force)
		report = r
		return data, err
	})
	return written, report, err
}
