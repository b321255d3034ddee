// Package profiles reads the profiles file, resolves a profile into connection settings and
// mints its DSQL auth token.
package profiles

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"path/filepath"
	"strconv"
	"strings"

	"gopkg.in/yaml.v3"

	"github.com/dsqlenv/dsqlenv/internal/safefile"
	"github.com/dsqlenv/dsqlenv/internal/text"
)

// File is a parsed profiles file.
type File struct {
	Path     string
	Defaults Fields
	Profiles []Profile // in file order
}

// Profile is one named entry of the profiles: mapping.
type Profile struct {
	Name   string
	Line   int
	Fields Fields // what could be read; with Err, possibly not all of it
	// Err is why the profile cannot be used (a misspelled field, a bad value), a *FileError
	// with the line. It fails only the commands that use this profile: Lookup and Resolve
	// return it, while the file loads and `dsqlenv list` shows the profile as invalid.
	Err error
}

// document is the top level; KnownFields rejects anything but these two keys.
type document struct {
	Defaults *defaultFields `yaml:"defaults"`
	Profiles profileList    `yaml:"profiles"`
}

// defaultFields decodes like a profile; its errors say "defaults:".
type defaultFields Fields

func (d *defaultFields) UnmarshalYAML(n *yaml.Node) error {
	err := (*Fields)(d).UnmarshalYAML(n)
	if le, ok := err.(*lineError); ok {
		le.Msg = "defaults: " + le.Msg
	}
	return err
}

type profileList struct {
	list []Profile
	line int
}

func (p *profileList) UnmarshalYAML(n *yaml.Node) error {
	p.line = n.Line
	if n.Kind != yaml.MappingNode {
		return errAt(n, "profiles: expected a mapping of profile names to settings, found %s", describe(n))
	}
	seen := map[string]int{}
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, v := n.Content[i], n.Content[i+1]
		if k.Kind != yaml.ScalarNode {
			return errAt(k, "profiles: expected a profile name, found %s", describe(k))
		}
		if prev, dup := seen[k.Value]; dup {
			return errAt(k, "profile %q is defined twice (first on line %d): rename or remove one", k.Value, prev)
		}
		seen[k.Value] = k.Line
		if v.Kind == yaml.ScalarNode && fieldDecoders[k.Value] != nil {
			// "  region: us-east-1" under profiles: is a field indented like a profile name;
			// the profile above would silently go without it, so the file fails.
			return errAt(k, "%s: is indented like a profile name, but it is a field: indent it like the fields of the profile above", k.Value)
		}
		var f Fields
		var perr error
		if !IsProfileName(k.Value) {
			// Like a bad field, a bad name fails only its profile: the commands that use it
			// say why, and list shows it as invalid with what could be read.
			_ = f.UnmarshalYAML(v)
			p.list = append(p.list, Profile{Name: text.EscapeControls(k.Value), Line: k.Line, Fields: f,
				Err: errAt(k, "profile name %q: use letters, digits, '.', '_' and '-', starting with a letter or digit: rename it", k.Value)})
			continue
		}
		if err := f.UnmarshalYAML(v); err != nil {
			le, ok := err.(*lineError)
			if !ok {
				return err
			}
			le.Msg = "profile " + k.Value + ": " + le.Msg
			perr = le // Parse adds the file name
		}
		p.list = append(p.list, Profile{Name: k.Value, Line: k.Line, Fields: f, Err: perr})
	}
	return nil
}

// FileError is an error in the profiles file, at a line when one is known.
type FileError struct {
	Path string
	Line int
	Msg  string
}

func (e *FileError) Error() string {
	if e.Line > 0 {
		return fmt.Sprintf("%s:%d: %s", e.Path, e.Line, text.EscapeControls(e.Msg))
	}
	return fmt.Sprintf("%s: %s", e.Path, text.EscapeControls(e.Msg))
}

// ErrNotFound marks a missing profiles file, so callers can suggest `dsqlenv init`.
var ErrNotFound = errors.New("profiles file not found")

// Load reads and strictly decodes the profiles file at path.
func Load(path string) (*File, error) {
	data, err := readFile(path)
	if err != nil {
		return nil, err
	}
	return Parse(path, data)
}

// MaxFileSize bounds the profiles file: a real one is a few kilobytes (1,000 profiles are
// about 120 KB), and --config /dev/zero or a runaway file must not eat memory.
const MaxFileSize = 4 << 20

// readFile reads the profiles file, turning the usual failures into messages that say what
// to do. Only a regular file of at most MaxFileSize is read (safefile.Read: no blocking open,
// checks on the open descriptor).
func readFile(path string) ([]byte, error) {
	data, st, err := safefile.Read(path, MaxFileSize)
	var tooLarge *safefile.TooLargeError
	switch {
	case err == nil:
		return data, nil
	case errors.Is(err, fs.ErrNotExist):
		return nil, fmt.Errorf("%w: %s does not exist: run `dsqlenv init` to write a starter file (with the same --config or DSQLENV_CONFIG, it goes there), or pass --config FILE", ErrNotFound, path)
	case errors.Is(err, fs.ErrPermission):
		return nil, &FileError{Path: path, Msg: "cannot be read (permission denied): check its mode and owner"}
	case st != nil && st.IsDir():
		return nil, &FileError{Path: path, Msg: "is a directory, not a profiles file: pass the file itself with --config"}
	case safefile.IsNotRegular(err):
		return nil, &FileError{Path: path, Msg: fmt.Sprintf("is %s, not a regular file: dsqlenv reads profiles only from a regular file", safefile.Kind(st.Mode()))}
	case errors.As(err, &tooLarge) && st.Size() > MaxFileSize:
		return nil, &FileError{Path: path, Msg: fmt.Sprintf("is %d bytes, over the %d MiB a profiles file may have: is it the right file?", st.Size(), MaxFileSize>>20)}
	case errors.As(err, &tooLarge):
		return nil, &FileError{Path: path, Msg: fmt.Sprintf("grew past the %d MiB a profiles file may have while being read", MaxFileSize>>20)}
	}
	return nil, &FileError{Path: path, Msg: unwrapPathError(err).Error()}
}

func unwrapPathError(err error) error {
	var pe *fs.PathError
	if errors.As(err, &pe) {
		return pe.Err
	}
	return err
}

// Parse decodes a profiles file already in memory; path is used in messages.
func Parse(path string, data []byte) (*File, error) {
	f, line, err := decode(path, data)
	if err != nil {
		return nil, err
	}
	if len(f.Profiles) == 0 {
		return nil, &FileError{Path: path, Line: line, Msg: "defines no profiles: add one under profiles: (see `dsqlenv init`)"}
	}
	return f, nil
}

// decode is Parse without the rule that a file defines a profile (AddProfile adds the first
// one), returning the line of profiles: (0 when there is none).
func decode(path string, data []byte) (*File, int, error) {
	// yaml.v3 reads a UTF-8 byte order mark as content; editors on Windows add one.
	data = bytes.TrimPrefix(data, []byte("\xef\xbb\xbf"))
	if len(bytes.TrimSpace(data)) == 0 {
		return nil, 0, &FileError{Path: path, Msg: "is empty: add a profiles: section (see `dsqlenv init`)"}
	}
	dec := yaml.NewDecoder(bytes.NewReader(data))
	dec.KnownFields(true)
	var doc document
	if err := dec.Decode(&doc); err != nil {
		if err == io.EOF {
			return nil, 0, &FileError{Path: path, Msg: "holds no YAML document: add a profiles: section (see `dsqlenv init`)"}
		}
		return nil, 0, yamlError(path, data, err)
	}
	var extra yaml.Node
	if err := dec.Decode(&extra); err != io.EOF {
		return nil, 0, &FileError{Path: path, Line: extra.Line, Msg: "holds more than one YAML document (---): keep everything in one"}
	}
	f := &File{Path: path, Profiles: doc.Profiles.list}
	for i := range f.Profiles {
		if le, ok := f.Profiles[i].Err.(*lineError); ok {
			f.Profiles[i].Err = &FileError{Path: path, Line: le.Line, Msg: le.Msg}
		}
	}
	if doc.Defaults != nil {
		if doc.Defaults.Endpoint.Set {
			return nil, 0, &FileError{Path: path, Line: doc.Defaults.Endpoint.Line, Msg: "defaults: endpoint belongs in each profile, not in defaults"}
		}
		f.Defaults = Fields(*doc.Defaults)
	}
	return f, doc.Profiles.line, nil
}

var yamlLineRE = lazyRE(`^(?:yaml: )?line (\d+): (.*)$`)

// yamlError turns yaml.v3's messages into one line that names the file and line.
func yamlError(path string, data []byte, err error) error {
	var le *lineError
	if errors.As(err, &le) {
		return &FileError{Path: path, Line: le.Line, Msg: le.Msg}
	}
	msg := err.Error()
	var te *yaml.TypeError
	if errors.As(err, &te) && len(te.Errors) > 0 {
		msg = te.Errors[0]
	}
	m := yamlLineRE().FindStringSubmatch(msg)
	if m == nil {
		return &FileError{Path: path, Msg: "invalid YAML: " + strings.TrimPrefix(msg, "yaml: ")}
	}
	line, _ := strconv.Atoi(m[1])
	text := m[2]
	if strings.HasPrefix(text, "field ") && strings.Contains(text, " not found in type") {
		name := strings.TrimSuffix(strings.SplitN(strings.TrimPrefix(text, "field "), " ", 2)[0], "")
		return &FileError{Path: path, Line: line, Msg: fmt.Sprintf("unknown top-level field %q (the file holds defaults: and profiles:)%s", name, suggest(name, []string{"defaults", "profiles"}))}
	}
	if tabIndented(data, line) {
		return &FileError{Path: path, Line: line, Msg: "indented with a tab: YAML indentation must use spaces"}
	}
	line = stopLine(data, line, text)
	return &FileError{Path: path, Line: line, Msg: yamlWords(text)}
}

// stopLine finds the line where the YAML parser stopped. yaml.v3 reports some errors at the
// line where the enclosing mapping starts (a key indented wrongly on line 4 of a profile is
// "line 1: did not find expected key"): the first prefix of the file, from that line on, that
// fails to parse ends at the line to blame. An error at the end of the file (an unclosed
// quote) is better reported where yaml.v3 says, where the quote opened.
func stopLine(data []byte, line int, text string) int {
	if strings.Contains(text, "end of stream") || len(data) > 256<<10 {
		return line
	}
	lines := bytes.SplitAfter(data, []byte("\n"))
	for k := max(line, 1); k <= len(lines) && k < line+300; k++ {
		var n yaml.Node
		err := yaml.Unmarshal(bytes.Join(lines[:k], nil), &n)
		if err != nil && !strings.Contains(err.Error(), "end of stream") {
			return k
		}
	}
	return line
}

// yamlWords says what yaml.v3's parser messages mean for a profiles file, keeping the
// parser's own words at the end for anyone who searches for them.
func yamlWords(text string) string {
	var say string
	switch {
	case strings.Contains(text, "mapping values are not allowed"):
		say = "unexpected \"key: value\" on this line: is it indented more than the line above (the fields of a profile line up), or does a value hold \": \" (then put it in quotes)?"
	case strings.Contains(text, "did not find expected key"):
		say = "this line does not line up with the lines above it: indent every field of a profile by the same number of spaces, and each profile name by the same, fewer spaces"
	case strings.Contains(text, "block sequence entries are not allowed"), strings.Contains(text, "did not find expected '-' indicator"):
		say = "a list item (- …) where a field is expected: profiles and their fields are written name: value"
	case strings.Contains(text, "did not find expected ',' or ']'"):
		say = "a [ list that is not closed with ]: close it, or put a value starting with [ in quotes"
	case strings.Contains(text, "did not find expected ',' or '}'"):
		say = "a { mapping that is not closed with }: close it, or put a value starting with { in quotes"
	case strings.Contains(text, "end of stream"):
		say = "the file ends inside a quoted value or a bracket opened here: close it"
	case strings.Contains(text, "cannot start any plain token"):
		say = "a value starts with a character YAML reserves (such as @, ` or %): put the value in quotes"
	case strings.Contains(text, "could not find expected ':'"):
		say = "a name without a colon after it: write name: value"
	default:
		return "invalid YAML: " + text
	}
	return say + " (YAML: " + text + ")"
}

// tabIndented reports whether the 1-based line, or the one before it (yaml.v3 often reports
// the line after), starts with a tab.
func tabIndented(data []byte, line int) bool {
	lines := bytes.Split(data, []byte("\n"))
	for _, l := range []int{line - 1, line - 2} {
		if l >= 0 && l < len(lines) && bytes.HasPrefix(bytes.TrimLeft(lines[l], " "), []byte("\t")) {
			return true
		}
	}
	return false
}

// Names lists the profile names in file order.
func (f *File) Names() []string {
	names := make([]string, len(f.Profiles))
	for i, p := range f.Profiles {
		names[i] = p.Name
	}
	return names
}

// Lookup finds a profile by name; the error names the closest ones.
func (f *File) Lookup(name string) (*Profile, error) {
	for i := range f.Profiles {
		if f.Profiles[i].Name == name {
			if err := f.Profiles[i].Err; err != nil {
				return nil, err
			}
			return &f.Profiles[i], nil
		}
	}
	msg := fmt.Sprintf("no profile %q in %s", name, f.Path)
	if close := text.Closest(name, f.Names()); len(close) > 0 {
		msg += fmt.Sprintf(": did you mean %s?", quoteList(close))
	} else {
		msg += fmt.Sprintf(": the profiles are %s (dsqlenv list)", quoteList(f.Names()))
	}
	return nil, &NotFoundError{Name: name, Msg: msg}
}

// NotFoundError is an unknown profile name.
type NotFoundError struct {
	Name string
	Msg  string
}

func (e *NotFoundError) Error() string { return e.Msg }

func quoteList(names []string) string {
	more := len(names) > 8
	if more {
		names = names[:8]
	}
	q := make([]string, len(names))
	for i, n := range names {
		q[i] = strconv.Quote(n)
	}
	if more {
		q = append(q, "…")
	}
	return strings.Join(q, ", ")
}

// ExpandHome replaces a leading ~ or ~/ with home.
func ExpandHome(p, home string) string {
	if p == "~" {
		return home
	}
	if strings.HasPrefix(p, "~/") || strings.HasPrefix(p, `~\`) {
		return filepath.Join(home, p[2:])
	}
	return p
}
