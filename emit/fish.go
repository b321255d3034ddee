package emit

import (
	_ "embed"
	"strings"
)

type fish struct{}

// Fish renders for fish: `set -gx NAME 'value'`, consumed with `dsqlenv fish prod | source`.
var Fish Shell = fish{}

// QuoteFish single-quotes s for fish. Inside fish single quotes only `\'` and `\\` are escape
// sequences (fish documentation, "Quotes"), so `\` becomes `\\` first and then `'` becomes `\'`.
func QuoteFish(s string) string {
	s = strings.ReplaceAll(s, `\`, `\\`)
	return "'" + strings.ReplaceAll(s, "'", `\'`) + "'"
}

// The prompt hook (a function on the fish_prompt event) and the completion `dsqlenv hook fish`
// and `dsqlenv completion fish` print.
var (
	//go:embed fish/hook.fish
	fishHook string
	//go:embed fish/completion.fish
	fishCompletion string
)

// evalFish runs a command line's block in fish, which has no eval of a command's output but
// reads code from a pipe with source.
func evalFish(line string) string { return line + " | source" }

func (fish) Render(b Block) ([]byte, error) {
	// A bare `set -e NAME` fails with status 4 when NAME is unset, and fish's `set` keeps the
	// previous status, so `… | source; and psql` would stop; the guarded form ends with 0.
	// Only the global scope, where blocks and the inherited environment put variables: a
	// plain `set -e` would erase a universal variable the user saved in fish_variables, for
	// every fish session to come.
	unset := func(name string) string { return "if set -q -g " + name + "; set -e -g " + name + "; end" }
	return render("fish", "\n", eachLine(b.Unset, unset), b.Set,
		func(v Var) (string, error) { return "set -gx " + v.Name + " " + QuoteFish(v.Value), nil })
}
