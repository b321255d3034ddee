package profiles

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"strings"

	"gopkg.in/yaml.v3"
)

// Entry is one field of a profile that AddProfile writes.
type Entry struct{ Key, Value string }

// NewFileHeader starts a profiles file that AddProfile creates: one line, not the commented
// template of `dsqlenv init`, which would leave its example profile in the way.
const NewFileHeader = "# dsqlenv profiles (`dsqlenv add` wrote this file; every field: dsqlenv init --path, then the README)\n"

// AddProfile returns data, a profiles file (empty for a new one), with the profile name added
// at the end of profiles:, or, when replace is set and the name is there, in place of that
// profile. Every other byte stays as it was: the file's node tree (yaml.v3) says where the
// profiles mapping and each profile begin, the new lines are spliced into the text, indented
// like their neighbours and ended like the file's lines, and the result is read back to check
// that it holds the profile and every other one as before. A re-marshalled tree would lose
// blank lines, move comments and re-indent the file.
func AddProfile(data []byte, name string, fields []Entry, replace bool) ([]byte, error) {
	if !IsProfileName(name) {
		return nil, fmt.Errorf("profile name %q: use letters, digits, '.', '_' and '-', starting with a letter or digit", name)
	}
	nl := "\n"
	if bytes.Contains(data, []byte("\r\n")) {
		nl = "\r\n"
	}
	var root yaml.Node
	if err := yaml.Unmarshal(data, &root); err != nil {
		return nil, err
	}
	lines := splitLines(string(data))
	var top *yaml.Node
	if root.Kind == yaml.DocumentNode && len(root.Content) == 1 && root.Content[0].Kind == yaml.MappingNode {
		top = root.Content[0]
	}
	key, val := lookupKey(top, "profiles")
	before, err := Parse("", data)
	if err != nil {
		if key != nil && !(val.Kind == yaml.ScalarNode && val.Tag == "!!null") {
			return nil, err
		}
		before = &File{} // no profiles yet: the file is not complete, and that is fine
	}
	var out string
	switch {
	case len(bytes.TrimSpace(data)) == 0:
		out = NewFileHeader + "profiles:\n" + entryText(name, fields, 2, 2, "\n")
	case key == nil:
		// No profiles: yet (a file of comments, or defaults: only): it goes at the end.
		out = withFinalNewline(string(data), nl) + "profiles:" + nl + entryText(name, fields, 2, 2, nl)
	case val.Kind == yaml.ScalarNode && val.Tag == "!!null" && val.Value == "":
		// "profiles:" and nothing under it.
		indent := key.Column - 1 + 2
		out = splice(lines, key.Line, key.Line, entryText(name, fields, indent, 2, nl), nl)
	case val.Kind != yaml.MappingNode || val.Style&yaml.FlowStyle != 0:
		return nil, fmt.Errorf("line %d: profiles: is not written as an indented block, so dsqlenv cannot add to it without rewriting it: add the profile by hand", key.Line)
	default:
		first := val.Content[0]
		indent, fieldIndent := first.Column-1, 2
		for i := 1; i < len(val.Content); i += 2 {
			if v := val.Content[i]; v.Kind == yaml.MappingNode && v.Style&yaml.FlowStyle == 0 && len(v.Content) > 0 {
				fieldIndent = v.Content[0].Column - 1 - indent
				break
			}
		}
		text := entryText(name, fields, indent, fieldIndent, nl)
		at := -1
		for i := 0; i < len(val.Content); i += 2 {
			if val.Content[i].Value == name {
				at = i
			}
		}
		switch {
		case at >= 0 && !replace:
			return nil, &ExistsError{Name: name, Line: val.Content[at].Line}
		case at >= 0:
			k := val.Content[at]
			out = splice(lines, k.Line-1, blockEnd(lines, k.Line, k.Column-1), text, nl)
		default:
			k := val.Content[len(val.Content)-2]
			end := blockEnd(lines, k.Line, k.Column-1)
			out = splice(lines, end, end, text, nl)
		}
	}
	if err := checkAdded(before, []byte(out), name, fields); err != nil {
		return nil, fmt.Errorf("dsqlenv could not add profile %s without changing the rest of the file (%v): add it by hand", name, err)
	}
	return []byte(out), nil
}

// ExistsError is a profile that AddProfile was not told to replace.
type ExistsError struct {
	Name string
	Line int
}

func (e *ExistsError) Error() string {
	return fmt.Sprintf("line %d: profile %s already exists", e.Line, e.Name)
}

func lookupKey(m *yaml.Node, key string) (k, v *yaml.Node) {
	if m == nil {
		return nil, nil
	}
	for i := 0; i+1 < len(m.Content); i += 2 {
		if m.Content[i].Value == key {
			return m.Content[i], m.Content[i+1]
		}
	}
	return nil, nil
}

// splitLines splits s after each "\n", keeping the line ends.
func splitLines(s string) []string {
	var lines []string
	for s != "" {
		i := strings.IndexByte(s, '\n')
		if i < 0 {
			lines = append(lines, s)
			break
		}
		lines = append(lines, s[:i+1])
		s = s[i+1:]
	}
	return lines
}

// blockEnd is the index of the first line after the block whose key is on line (1-based) at
// column indent: the lines after it that are indented deeper, blank lines inside included,
// blank lines at its end not.
func blockEnd(lines []string, line, indent int) int {
	end := line // 0-based index of the line after the key
	for i := line; i < len(lines); i++ {
		l := strings.TrimRight(lines[i], "\r\n")
		if strings.TrimSpace(l) == "" {
			continue
		}
		if len(l)-len(strings.TrimLeft(l, " ")) <= indent {
			break
		}
		end = i + 1
	}
	return end
}

// splice puts text in place of lines[from:to].
func splice(lines []string, from, to int, text, nl string) string {
	var b strings.Builder
	for _, l := range lines[:from] {
		b.WriteString(l)
	}
	if from > 0 && !strings.HasSuffix(lines[from-1], "\n") {
		b.WriteString(nl)
	}
	b.WriteString(text)
	for _, l := range lines[to:] {
		b.WriteString(l)
	}
	return b.String()
}

func withFinalNewline(s, nl string) string {
	if s != "" && !strings.HasSuffix(s, "\n") {
		s += nl
	}
	return s
}

func entryText(name string, fields []Entry, indent, fieldIndent int, nl string) string {
	pad := strings.Repeat(" ", indent)
	text := pad + name + ":" + nl
	for _, f := range fields {
		text += pad + strings.Repeat(" ", fieldIndent) + f.Key + ": " + yamlScalar(f.Value) + nl
	}
	return text
}

// yamlScalar writes s plain when YAML reads it back as the same string, else double-quoted.
func yamlScalar(s string) string {
	plain := s != "" && isAlnum(s[0])
	for i := 0; i < len(s) && plain; i++ {
		c := s[i]
		plain = isAlnum(c) || strings.IndexByte("._-/@+=", c) >= 0
	}
	switch strings.ToLower(s) {
	case "true", "false", "null", "yes", "no", "on", "off", "y", "n":
		plain = false
	}
	if plain {
		if strings.Trim(s, "0123456789.eE+-_") == "" { // a number
			plain = false
		}
	}
	if plain {
		return s
	}
	q, _ := json.Marshal(s) // a JSON string is a YAML double-quoted scalar
	return string(q)
}

// checkAdded reads the edited file back: every profile of before is still there, in order and
// with the same fields, and the new one has exactly the fields given.
func checkAdded(before *File, data []byte, name string, fields []Entry) error {
	after, err := Parse("", data)
	if err != nil {
		return err
	}
	var names []string
	for _, p := range before.Profiles {
		if p.Name != name {
			names = append(names, p.Name)
		}
	}
	var got []string
	var added *Profile
	for i, p := range after.Profiles {
		if p.Name == name {
			added = &after.Profiles[i]
			continue
		}
		got = append(got, p.Name)
	}
	if strings.Join(got, " ") != strings.Join(names, " ") {
		return errors.New("the other profiles would change")
	}
	if added == nil || added.Err != nil {
		return errors.New("the new profile does not read back")
	}
	for _, f := range fields {
		var v Field[string]
		switch f.Key {
		case "endpoint":
			v = added.Fields.Endpoint
		case "aws_profile":
			v = added.Fields.AWSProfile
		case "region":
			v = added.Fields.Region
		default:
			continue
		}
		if !v.Set || v.Value != f.Value {
			return fmt.Errorf("%s reads back as %q", f.Key, v.Value)
		}
	}
	return nil
}
