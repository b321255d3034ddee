package emit

import "strings"

type powershell struct{}

// PowerShell renders for Windows PowerShell and pwsh: `$env:NAME = 'value'`. Every line is a
// whole statement because `dsqlenv powershell prod | iex` runs its input line by line.
var PowerShell Shell = powershell{}

// powerShellQuotes are the characters PowerShell's tokenizer treats as a single quote:
// U+0027 and the typographic U+2018, U+2019, U+201A and U+201B (PowerShell
// CharTraits.IsSingleQuote). Missing the last four lets a value close the string early.
var powerShellQuotes = strings.NewReplacer(
	"'", "''",
	"\u2018", "\u2018\u2018",
	"\u2019", "\u2019\u2019",
	"\u201A", "\u201A\u201A",
	"\u201B", "\u201B\u201B",
)

// QuotePowerShell single-quotes s for PowerShell. Inside a verbatim (single-quoted) string
// nothing expands and only quote characters are special: two adjacent ones stand for one
// (about_Quoting_Rules). Each of the five single-quote characters is doubled. Double-quoted
// strings are never used because `$` and the backtick expand there (saml2aws#281).
func QuotePowerShell(s string) string {
	return "'" + powerShellQuotes.Replace(s) + "'"
}

func (powershell) Render(b Block) ([]byte, error) {
	unset := func(name string) string { return "Remove-Item Env:" + name + " -ErrorAction SilentlyContinue" }
	return render("powershell", "\r\n", eachLine(b.Unset, unset), b.Set,
		func(v Var) (string, error) { return "$env:" + v.Name + " = " + QuotePowerShell(v.Value), nil })
}

func (powershell) Failure() string { return "" }
