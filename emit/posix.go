package emit

import "strings"

type posix struct{}

// POSIX renders for bash, zsh, dash and any POSIX sh: `export NAME='value';`. Every statement
// ends with `;`, as ssh-agent -s prints them, so that an unquoted eval $(dsqlenv bash prod),
// whose line breaks the shell turns into spaces, still runs each statement on its own instead
// of one `unset … export …` command that sets nothing.
var POSIX Shell = posix{}

// QuotePOSIX single-quotes s for a POSIX shell. Inside single quotes every character is
// literal and a single quote cannot appear at all (POSIX.1-2017 XCU 2.2.2), so each single
// quote is written as quote, backslash, quote, quote: close the quotes, an escaped quote,
// reopen. `$'…'` is avoided because old dash lacks it.
func QuotePOSIX(s string) string {
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}

// evalPOSIX runs a command line's block in a POSIX shell. The double quotes around $(…) are
// needed: unquoted, the ? in a token is a glob.
func evalPOSIX(line string) string { return `eval "$(` + line + `)"` }

// fishGuard opens every POSIX block: a no-op in every POSIX shell, and an `if` without `end`
// to fish, which then rejects the whole input before running any of it (eval, source, a
// pipe): without it, fish runs the block's exports (fish has an export function) but not its
// unsets, so the variables of an earlier profile (PGHOSTADDR, PGOPTIONS) would stay and the
// eval would still succeed. PowerShell rejects it whole too (its if needs parentheses). No
// comment can follow it: an unquoted eval $(…) joins the lines, and the rest would be one.
const fishGuard = "if :; then :; fi;"

func (posix) Render(b Block) ([]byte, error) {
	head := []string{fishGuard}
	if len(b.Unset) > 0 {
		// `unset A B` is POSIX and succeeds for names that are not set.
		head = append(head, "unset "+strings.Join(b.Unset, " ")+";")
	}
	return render("sh", "\n", head, b.Set, func(v Var) (string, error) {
		return "export " + v.Name + "=" + QuotePOSIX(v.Value) + ";", nil
	})
}
