// Package emit renders an ordered list of environment variables as code for one shell dialect.
//
// Renderers are pure: they never read files, the environment or the clock. Each dialect's
// quoting rule is an exported function with its source, so it can be tested and fuzzed alone.
package emit

import (
	"bytes"
	"fmt"
	"sort"
	"strings"
)

// Var is one environment variable to set.
type Var struct {
	Name  string
	Value string
}

// Block is what a dialect renders: variables to remove first, then variables to set, in order.
type Block struct {
	Unset []string
	Set   []Var
}

// Shell renders a Block in one dialect.
type Shell interface {
	// Render returns the whole block, or an error naming the variable whose value the
	// dialect cannot carry; it never returns partial output.
	Render(b Block) ([]byte, error)
	// Failure is what to print on stdout when the command fails, so that
	// `eval "$(dsqlenv bash prod)" && psql` stops: "false\n" for the POSIX shells and fish,
	// nothing where the consumer cannot chain on it.
	Failure() string
}

// ValueError says that a variable's value cannot be written in a dialect.
type ValueError struct {
	Dialect string
	Var     string
	Reason  string
}

func (e *ValueError) Error() string {
	return fmt.Sprintf("%s: the value of %s %s", e.Dialect, e.Var, e.Reason)
}

var registry = map[string]Shell{
	"bash":       POSIX,
	"zsh":        POSIX,
	"sh":         POSIX,
	"fish":       Fish,
	"powershell": PowerShell,
	"pwsh":       PowerShell,
	"cmd":        Cmd,
	"bat":        Bat,
	"env":        Env,
	"json":       JSON,
}

// ForShell returns the renderer for a dialect name, or false when there is none.
func ForShell(name string) (Shell, bool) {
	s, ok := registry[name]
	return s, ok
}

// Names lists every dialect name, sorted.
func Names() []string {
	names := make([]string, 0, len(registry))
	for n := range registry {
		names = append(names, n)
	}
	sort.Strings(names)
	return names
}

// IsWindows reports whether a dialect is consumed by a Windows shell, where psql cannot use
// sslrootcert=system ("SSL error: unregistered scheme", AWS DSQL documentation).
func IsWindows(name string) bool {
	switch name {
	case "powershell", "pwsh", "cmd", "bat":
		return true
	}
	return false
}

// checkLine refuses the characters no dialect can carry on one line: a NUL ends a C string
// (environment entries are C strings), and CR or LF would end the statement early.
func checkLine(dialect string, v Var) error {
	if i := strings.IndexAny(v.Value, "\x00\r\n"); i >= 0 {
		what := map[byte]string{0: "a NUL byte", '\r': "a carriage return", '\n': "a line feed"}[v.Value[i]]
		return &ValueError{dialect, v.Name, "holds " + what + ", which no shell line can carry"}
	}
	return nil
}

// render is the common loop: the given head lines (the unsets), then one line per variable,
// each checked first; a value that cannot be carried returns an error and no output.
func render(dialect, eol string, head []string, vars []Var, set func(v Var) (string, error)) ([]byte, error) {
	var buf bytes.Buffer
	for _, line := range head {
		buf.WriteString(line)
		buf.WriteString(eol)
	}
	for _, v := range vars {
		if err := checkLine(dialect, v); err != nil {
			return nil, err
		}
		line, err := set(v)
		if err != nil {
			return nil, err
		}
		buf.WriteString(line)
		buf.WriteString(eol)
	}
	return buf.Bytes(), nil
}

// eachLine maps every unset name to its line.
func eachLine(names []string, line func(name string) string) []string {
	out := make([]string, len(names))
	for i, n := range names {
		out[i] = line(n)
	}
	return out
}
