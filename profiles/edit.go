package profiles

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"reflect"
	"strings"

	"gopkg.in/yaml.v3"
)

// Entry is one field of a profile that AddProfile writes.
type Entry struct{ Key, Value string }

// NewFileHeader starts a profiles file that AddProfile creates: one line, not the commented
// template of `dsqlenv init`, which would leave its example profile in the way.
const NewFileHeader = "# dsqlenv profiles (`dsqlenv add` wrote this file; every field: dsqlenv init --path, then the README)\n"

// NewProfile is a profile AddProfiles writes: its name and fields.
type NewProfile struct {
	Name   string
	Fields []Entry
}

// AddProfile returns data, a profiles file (empty for a new one), with the profile name added
// at the end of profiles:, or, when replace is set and the name is there, in place of that
// profile (all of its lines).
func AddProfile(data []byte, name string, fields []Entry, replace bool) ([]byte, error) {
	return addProfiles(data, []NewProfile{{name, fields}}, replace)
}

// AddProfiles is AddProfile for several new profiles at once, in one parse and one check:
// a name the file has already is refused.
func AddProfiles(data []byte, adds []NewProfile) ([]byte, error) {
	return addProfiles(data, adds, false)
}

// addProfiles adds adds at the end of profiles:, or, with replace, puts the one profile of
// adds in place of the profile of that name. Every other byte stays as it was: the file's node
// tree (yaml.v3) says where the profiles mapping and each profile begin, the new lines are
// spliced into the text, indented like their neighbours and ended like the file's lines, and
// the result is read back to check that it holds the new profiles and every other one with
// the same fields as before (checkEdit). A re-marshalled tree would lose blank lines, move
// comments and re-indent the file.
func addProfiles(data []byte, adds []NewProfile, replace bool) ([]byte, error) {
	if len(adds) == 0 {
		return data, nil
	}
	if replace && len(adds) != 1 {
		return nil, errors.New("dsqlenv replaces one profile at a time")
	}
	seen := map[string]bool{}
	for _, a := range adds {
		if !IsProfileName(a.Name) {
			return nil, fmt.Errorf("profile name %q: use letters, digits, '.', '_' and '-', starting with a letter or digit", a.Name)
		}
		if seen[a.Name] {
			return nil, fmt.Errorf("profile %s is given twice", a.Name)
		}
		seen[a.Name] = true
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
	before := &File{} // a file of comments only, or none: no defaults, no profiles
	if root.Kind != 0 {
		var err error
		if before, _, err = decode("", data); err != nil {
			return nil, err
		}
	}
	text := func(indent, fieldIndent int, nl string) string {
		var b strings.Builder
		for _, a := range adds {
			b.WriteString(entryText(a.Name, a.Fields, indent, fieldIndent, nl))
		}
		return b.String()
	}
	var key, val *yaml.Node // profiles: and its value
	keyAt := -1             // key's index in top
	if top != nil {
		for i := 0; i+1 < len(top.Content); i += 2 {
			if top.Content[i].Value == "profiles" {
				keyAt, key, val = i, top.Content[i], top.Content[i+1]
			}
		}
	}
	var out string
	switch {
	case len(bytes.TrimSpace(data)) == 0:
		out = NewFileHeader + "profiles:\n" + text(2, 2, "\n")
	case key == nil:
		// No profiles: yet (a file of comments, or defaults: only): it goes at the end.
		out = withFinalNewline(string(data), nl) + "profiles:" + nl + text(2, 2, nl)
	case val.Kind == yaml.ScalarNode && val.Tag == "!!null" && val.Value == "":
		// "profiles:" and nothing under it.
		out = splice(lines, key.Line, key.Line, text(key.Column-1+2, 2, nl), nl)
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
		// Where profile i's lines end: before the next profile's key, or, for the last one,
		// before the next top-level key or at the end of the file.
		bound := func(i int) int {
			switch {
			case i+2 < len(val.Content):
				return val.Content[i+2].Line - 1
			case keyAt+2 < len(top.Content):
				return top.Content[keyAt+2].Line - 1
			}
			return len(lines)
		}
		at := -1
		for i := 0; i < len(val.Content); i += 2 {
			if seen[val.Content[i].Value] {
				if !replace {
					return nil, &ExistsError{Name: val.Content[i].Value, Line: val.Content[i].Line}
				}
				at = i
			}
		}
		if at >= 0 {
			k := val.Content[at]
			out = splice(lines, k.Line-1, profileEnd(lines, k, val.Content[at+1], bound(at)), text(indent, fieldIndent, nl), nl)
		} else {
			last := len(val.Content) - 2
			end := profileEnd(lines, val.Content[last], val.Content[last+1], bound(last))
			out = splice(lines, end, end, text(indent, fieldIndent, nl), nl)
		}
	}
	if err := checkEdit(before, []byte(out), adds); err != nil {
		what := "profile " + adds[0].Name
		if len(adds) > 1 {
			what = fmt.Sprintf("%d profiles", len(adds))
		}
		return nil, fmt.Errorf("cannot add %s without changing the rest of the file (%v): nothing was written; add it by hand", what, err)
	}
	return []byte(out), nil
}

// EndpointProblem says why s cannot be a profile's endpoint, as the profiles file's check does;
// "" when it can.
func EndpointProblem(s string) string { return checkEndpoint(s) }

// ExistsError is a profile that AddProfile was not told to replace.
type ExistsError struct {
	Name string
	Line int
}

func (e *ExistsError) Error() string {
	return fmt.Sprintf("line %d: profile %s already exists", e.Line, e.Name)
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

// profileEnd is the index (0-based) of the first line after the profile whose key is key
// and value value, when the next key (the next profile's, or the next top-level one) or the
// end of the file is at index bound. yaml.v3 says where each node starts, not where it ends:
// the profile holds the lines from its key through the line of its last node, and the lines
// after that up to bound (a multi-line value, comments between its fields) but for the blank
// lines and comments at their end that are indented no deeper than its name. Comments
// indented deeper stay with the profile, as yaml.v3 reads them (foot comments of its last
// field). Where this is wrong, checkEdit refuses the edit.
func profileEnd(lines []string, key, value *yaml.Node, bound int) int {
	last := max(key.Line, lastLine(value)) // 1-based: lines[:last] holds it
	end := bound
	for end > last {
		l := strings.TrimRight(lines[end-1], "\r\n")
		t := strings.TrimLeft(l, " \t")
		if t != "" && !(t[0] == '#' && len(l)-len(t) < key.Column) {
			break
		}
		end--
	}
	return end
}

// lastLine is the line of the last node that starts in n's tree.
func lastLine(n *yaml.Node) int {
	line := n.Line
	for _, c := range n.Content {
		line = max(line, lastLine(c))
	}
	return line
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

// checkEdit reads the edited file back: the defaults and every profile of before but the
// replaced one are there, in order, each with the same fields and values (wherever their
// lines moved), and each new profile has exactly the fields given, no more.
func checkEdit(before *File, data []byte, adds []NewProfile) error {
	after, err := Parse("", data)
	if err != nil {
		return err
	}
	if f := changedField(before.Defaults, after.Defaults); f != "" {
		return fmt.Errorf("%s: under defaults: would change", f)
	}
	added := map[string]*NewProfile{}
	for i := range adds {
		added[adds[i].Name] = &adds[i]
	}
	var kept []Profile
	for _, p := range before.Profiles {
		if added[p.Name] == nil {
			kept = append(kept, p)
		}
	}
	n := 0
	for _, p := range after.Profiles {
		if a := added[p.Name]; a != nil {
			if err := readsBack(p, a.Fields); err != nil {
				return fmt.Errorf("the new profile %s %v", p.Name, err)
			}
			delete(added, p.Name)
			continue
		}
		if n >= len(kept) || kept[n].Name != p.Name {
			return fmt.Errorf("profile %s would appear", p.Name)
		}
		if f := changedField(kept[n].Fields, p.Fields); f != "" {
			return fmt.Errorf("%s: of profile %s would change", f, p.Name)
		}
		if (kept[n].Err == nil) != (p.Err == nil) {
			return fmt.Errorf("profile %s would change whether it can be used", p.Name)
		}
		n++
	}
	switch {
	case n < len(kept):
		return fmt.Errorf("profile %s would disappear", kept[n].Name)
	case len(added) > 0:
		return errors.New("a new profile does not read back")
	}
	return nil
}

// readsBack says how profile p differs from fields: every one of them set to its value, and
// no other field set.
func readsBack(p Profile, fields []Entry) error {
	if p.Err != nil {
		return fmt.Errorf("does not read back: %v", p.Err)
	}
	want := map[string]string{}
	for _, f := range fields {
		want[f.Key] = f.Value
	}
	v := reflect.ValueOf(p.Fields)
	for i, name := range FieldNames {
		field := v.Field(i)
		set := field.FieldByName("Set").Bool()
		value, ok := want[name]
		switch {
		case set && !ok:
			return fmt.Errorf("reads back with %s set, which was not given", name)
		case ok && (!set || fmt.Sprint(field.FieldByName("Value").Interface()) != value):
			return fmt.Errorf("reads back without %s: %s", name, value)
		}
	}
	return nil
}

// changedField names the first field that a and b hold differently ("" when none), wherever
// their lines are. The fields of Fields follow FieldNames (TestFieldsFollowFieldNames).
func changedField(a, b Fields) string {
	va, vb := reflect.ValueOf(a), reflect.ValueOf(b)
	for i, name := range FieldNames {
		fa, fb := va.Field(i), vb.Field(i)
		if fa.FieldByName("Set").Bool() != fb.FieldByName("Set").Bool() || fa.FieldByName("Value").Interface() != fb.FieldByName("Value").Interface() {
			return name
		}
	}
	return ""
}
