// Package emit renders an ordered list of environment variables as code for one shell dialect.
//
// Renderers are pure: they never read files, the environment or the clock. Each dialect's
// quoting rule is an exported function with its source, so it can be tested and fuzzed alone.
//
// A shell lives in one file, as direnv keeps one (internal/cmd/shell_fish.go): emit/NAME.go
// holds its renderer and quoting rule (or says which one it shares, as bash and zsh read the
// POSIX block), its hook and completion scripts embedded from the folder beside it
// (emit/NAME/hook.EXT, emit/NAME/completion.EXT), and how to run its output. Adding a shell
// means: one Go file, its template folder, one row in Dialects. Everything else reads the row:
// the `dsqlenv NAME` command and its help, `dsqlenv hook` and `dsqlenv completion`, the hint a
// terminal gets, what a failure prints, and the tests that go through every dialect.
package emit

import (
	"bytes"
	"fmt"
	"slices"
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

// Dialect is everything dsqlenv knows about one output dialect: one row of Dialects.
type Dialect struct {
	Name    string
	Aliases []string
	Title   string // for help: "POSIX sh", "PowerShell"
	Shell   Shell  // the renderer
	// Failure is what a failed command prints on stdout, so that
	// `eval "$(dsqlenv bash prod)" && psql` stops: "false" for the POSIX shells and fish,
	// nothing where the consumer cannot chain on it.
	Failure string
	// Windows dialects are read by Windows programs, where psql cannot use
	// sslrootcert=system ("SSL error: unregistered scheme", AWS DSQL documentation).
	Windows bool
	// Unsets says whether the dialect can remove a variable (env, dotenv and JSON only set).
	Unsets bool
	// Use is the example line of the dialect's help.
	Use string
	// Hook and Completion are the snippets `dsqlenv hook` and `dsqlenv completion` print,
	// "" when the shell has none; {{.Bin}} stands for the binary's path, quoted with Quote.
	Hook, Completion string
	Quote            func(string) string
	// Eval wraps a dsqlenv command line in what runs its output in this shell
	// (`eval "$(…)"`, `… | source`), for the hint a terminal gets; nil where the output is
	// a file or data, or takes more than one line to run (cmd.exe's for /f).
	Eval func(line string) string
	CRLF bool // lines end in CRLF (Windows shells)
}

// Dialects is the table of every dialect, in the order help lists them.
var Dialects = []*Dialect{
	{Name: "bash", Title: "bash", Shell: POSIX, Failure: "false\n", Unsets: true,
		Use: `eval "$(dsqlenv bash prod)" && psql`, Hook: bashHook, Completion: bashCompletion,
		Quote: QuotePOSIX, Eval: evalPOSIX},
	{Name: "zsh", Title: "zsh", Shell: POSIX, Failure: "false\n", Unsets: true,
		Use: `eval "$(dsqlenv zsh prod)" && psql`, Hook: zshHook, Completion: zshCompletion,
		Quote: QuotePOSIX, Eval: evalPOSIX},
	{Name: "sh", Title: "POSIX sh", Shell: POSIX, Failure: "false\n", Unsets: true,
		Use: `eval "$(dsqlenv sh prod)" && psql`, Quote: QuotePOSIX, Eval: evalPOSIX},
	{Name: "fish", Title: "fish", Shell: Fish, Failure: "false\n", Unsets: true,
		Use: `dsqlenv fish prod | source; and psql`, Hook: fishHook, Completion: fishCompletion,
		Quote: QuoteFish, Eval: evalFish},
	{Name: "powershell", Aliases: []string{"pwsh"}, Title: "PowerShell", Shell: PowerShell, Windows: true, Unsets: true,
		Use: `dsqlenv powershell prod | iex; psql`, Hook: powershellHook, Completion: powershellCompletion,
		Quote: QuotePowerShell, Eval: evalPowerShell, CRLF: true},
	{Name: "cmd", Title: "cmd.exe", Shell: Cmd, Windows: true, Unsets: true, CRLF: true,
		Use: `for /f "delims=" %i in ('dsqlenv cmd prod') do @%i` + "\n   (in a batch file write %%i)"},
	{Name: "bat", Title: "batch file", Shell: Bat, Windows: true, Unsets: true, CRLF: true,
		Use: "dsqlenv bat prod > env.bat\n   call env.bat"},
	{Name: "env", Title: "env-file (docker run --env-file, systemd EnvironmentFile=)", Shell: Env,
		Use: "dsqlenv env prod > prod.env\n   docker run --env-file prod.env -v \"$(dsqlenv cert):$(dsqlenv cert):ro\" postgres psql   # the roots at the same path inside"},
	{Name: "dotenv", Title: "dotenv (python-dotenv, godotenv, docker compose .env and env_file:, node --env-file, npm dotenv)", Shell: Dotenv,
		Use: "dsqlenv dotenv prod > .env\n   node --env-file=.env app.js"},
	{Name: "json", Title: "JSON", Shell: JSON, Use: "dsqlenv json prod | jq -r .PGPASSWORD"},
}

// RunLine is how to run the output of `dsqlenv ARGS…` in this dialect: each argument quoted
// where the shell would read it otherwise, the line wrapped in Eval. A dialect without Eval
// gets the first line of its help's example.
func (d *Dialect) RunLine(args []string) string {
	if d.Eval == nil || d.Quote == nil {
		return strings.SplitN(d.Use, "\n", 2)[0]
	}
	line := "dsqlenv"
	for _, a := range args {
		// A leading = is zsh's equals expansion (=cmd is cmd's path): quoted too.
		if a == "" || strings.Trim(a, bareArg) != "" || a[0] == '=' {
			a = d.Quote(a)
		}
		line += " " + a
	}
	return d.Eval(line)
}

// bareArg is the characters an argument may hold and still be shown bare in the hint, which
// keeps it readable; an argument with any other character, or an empty one, is quoted.
const bareArg = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789@%+=:,./_-"

// Lookup finds a dialect by name or alias.
func Lookup(name string) (*Dialect, bool) {
	for _, d := range Dialects {
		if d.Name == name || slices.Contains(d.Aliases, name) {
			return d, true
		}
	}
	return nil, false
}

// ForShell returns the renderer for a dialect name, or false when there is none.
func ForShell(name string) (Shell, bool) {
	if d, ok := Lookup(name); ok {
		return d.Shell, true
	}
	return nil, false
}

// Names lists every dialect name and alias, sorted.
func Names() []string {
	var names []string
	for _, d := range Dialects {
		names = append(names, d.Name)
		names = append(names, d.Aliases...)
	}
	sort.Strings(names)
	return names
}

// ScriptShells lists the dialects that have a hook and a completion script, sorted.
func ScriptShells() []string {
	var names []string
	for _, d := range Dialects {
		if d.Hook != "" {
			names = append(names, d.Name)
			names = append(names, d.Aliases...)
		}
	}
	sort.Strings(names)
	return names
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
