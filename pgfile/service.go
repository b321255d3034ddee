// Package pgfile edits libpq's connection service file (pg_service.conf) and password file
// (pgpass) in place: only dsqlenv's own sections and lines change, everything else is kept
// byte for byte, and every write is atomic and locked.
package pgfile

import (
	"bytes"
	"fmt"
	"strings"
)

// MaxLine is the longest line libpq reads from a service file: its buffer is 1024 bytes and a
// longer line is rejected with "line N too long in service file" (libpq fe-connect.c,
// parseServiceFile). A token (up to ~1,500 characters) therefore never fits as password=.
const MaxLine = 1021

// KV is one key=value line of a section.
type KV struct{ Key, Value string }

// Section is one [name] block of a service file.
type Section struct {
	Name string
	Keys []KV
}

// CheckSection refuses what libpq would misread: line breaks, white space at either end of a
// value (libpq trims it), and lines over MaxLine.
func CheckSection(s Section) error {
	for _, kv := range s.Keys {
		if strings.ContainsAny(kv.Value, "\r\n\x00") {
			return fmt.Errorf("[%s] %s: the value holds a line break, which a service file cannot carry", s.Name, kv.Key)
		}
		if kv.Value != strings.TrimSpace(kv.Value) {
			return fmt.Errorf("[%s] %s: the value starts or ends with white space, which libpq strips", s.Name, kv.Key)
		}
		if n := len(kv.Key) + 1 + len(kv.Value); n > MaxLine {
			return fmt.Errorf("[%s] %s: the line would be %d characters; libpq rejects service-file lines over %d", s.Name, kv.Key, n, MaxLine)
		}
	}
	return nil
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

// eolOf picks the file's line ending: CRLF files stay CRLF.
func eolOf(data []byte) string {
	if bytes.Contains(data, []byte("\r\n")) {
		return "\r\n"
	}
	return "\n"
}

func sectionName(text string) (string, bool) {
	t := strings.TrimSpace(text)
	if len(t) >= 2 && t[0] == '[' && t[len(t)-1] == ']' {
		return t[1 : len(t)-1], true
	}
	return "", false
}

func isCommentOrBlank(text string) bool {
	t := strings.TrimSpace(text)
	return t == "" || t[0] == '#'
}

// MergeService returns data with each section written in place of the one of the same name, or
// appended at the end; with remove, those sections are deleted instead. Lines outside the
// named sections, and comments and blank lines inside them, are kept byte for byte.
func MergeService(data []byte, sections []Section, remove bool) []byte {
	eol := eolOf(data)
	lines := splitLines(data)
	want := map[string]*Section{}
	for i := range sections {
		want[sections[i].Name] = &sections[i]
	}
	done := map[string]bool{}
	var out strings.Builder
	writeSection := func(s *Section) {
		out.WriteString("[" + s.Name + "]" + eol)
		for _, kv := range s.Keys {
			out.WriteString(kv.Key + "=" + kv.Value + eol)
		}
	}
	var current *Section // the section being replaced, while inside it
	for _, l := range lines {
		if name, ok := sectionName(l.text); ok {
			current = nil
			if s, mine := want[name]; mine {
				current = s
				if !remove && !done[name] {
					writeSection(s)
				}
				done[name] = true
				continue
			}
		}
		if current != nil && !isCommentOrBlank(l.text) {
			continue // a key of the section being replaced or removed
		}
		if current != nil && remove && strings.TrimSpace(l.text) == "" {
			continue
		}
		out.WriteString(l.text + l.eol)
	}
	if remove {
		return []byte(out.String())
	}
	for i := range sections {
		s := &sections[i]
		if done[s.Name] {
			continue
		}
		text := out.String()
		if text != "" && !strings.HasSuffix(text, "\n") {
			out.WriteString(eol)
			text += eol
		}
		if text != "" && !strings.HasSuffix(text, eol+eol) && !strings.HasSuffix(text, "\n\n") {
			out.WriteString(eol)
		}
		writeSection(s)
		done[s.Name] = true
	}
	return []byte(out.String())
}
