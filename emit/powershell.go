package emit

import (
	_ "embed"
	"fmt"
	"strings"
	"unicode/utf16"
	"unicode/utf8"
)

type powershell struct{}

// PowerShell renders for Windows PowerShell and pwsh: `$env:NAME = 'value'`. Every line is a
// whole statement because `dsqlenv powershell prod | iex` runs its input line by line.
var PowerShell Shell = powershell{}

// QuotePowerShell writes s as a PowerShell expression made of ASCII characters only.
//
// Why ASCII: Windows PowerShell 5.1 decodes a native command's output with the console's
// code page ([Console]::OutputEncoding, the OEM code page by default), not as UTF-8. A UTF-8
// byte sequence can then decode to a character PowerShell treats as a quote: `Ł` is C5 81, and
// in cp932 the bytes 81 66 are U+2019, one of the typographic single quotes that close a
// verbatim string (PowerShell CharTraits.IsSingleQuote); cp1250, cp1251 and cp1252 map 0x82,
// 0x91 and 0x92 to such quotes. Every code page Windows uses for a console is ASCII-compatible,
// so ASCII output reads the same under all of them.
//
// The rules used:
//  1. ASCII text goes in a verbatim (single-quoted) string: nothing expands there, and two
//     adjacent quotes stand for one (about_Quoting_Rules). The only quote character left in
//     ASCII is U+0027, so it alone is doubled; the typographic quotes U+2018–U+201B are not
//     ASCII and never appear inside the quotes. Double-quoted strings are never used because
//     `$` and the backtick expand there (saml2aws#281).
//  2. Every other character is written as `[char]0xHHHH`, its UTF-16 code unit; a character
//     beyond U+FFFF as its two surrogates, which .NET strings hold as two chars that
//     concatenate back into the pair. Invalid UTF-8 is written as U+FFFD, which is what
//     decoding it would have given.
//  3. The pieces are joined with `+`, and the expression starts with a string (`”` when the
//     value starts with a non-ASCII character): `+` is evaluated by the type of its left
//     operand (about_Arithmetic_Operators: "determined by the type of the leftmost object";
//     PowerShell Language Specification 3.0, §7.7.1 addition, §7.7.2 string concatenation),
//     so a string on the left concatenates, while `[char]0x41 + [char]0x42` adds the two
//     code points as numbers (131). `+` is left-associative, so every later operand is
//     concatenated to a string.
//  4. Such an expression is wrapped in parentheses. In expression mode (`$env:X = (…)`) they
//     change nothing; in argument mode, where the hook writes `& <path> powershell`, an
//     unparenthesised `'a' + [char]0x0141` would be the command 'a' followed by the arguments
//     `+` and `[char]0x0141` (about_Parsing, argument mode).
//
// A value that is all ASCII stays one verbatim string, as before.
func QuotePowerShell(s string) string {
	ascii := true
	for i := 0; i < len(s); i++ {
		if s[i] >= utf8.RuneSelf {
			ascii = false
			break
		}
	}
	if ascii {
		return "'" + strings.ReplaceAll(s, "'", "''") + "'"
	}
	var b strings.Builder
	b.WriteString("(")
	open := false // inside a verbatim string
	for i, r := range s {
		if r < utf8.RuneSelf {
			if !open {
				if i > 0 {
					b.WriteString(" + ")
				}
				b.WriteByte('\'')
				open = true
			}
			if r == '\'' {
				b.WriteByte('\'')
			}
			b.WriteRune(r)
			continue
		}
		if open {
			b.WriteByte('\'')
			open = false
		}
		if i == 0 {
			b.WriteString("''") // the leftmost operand must be a string (rule 3)
		}
		units := []uint16{uint16(r)}
		if r > 0xFFFF {
			hi, lo := utf16.EncodeRune(r)
			units = []uint16{uint16(hi), uint16(lo)}
		}
		for _, u := range units {
			fmt.Fprintf(&b, " + [char]0x%04X", u)
		}
	}
	if open {
		b.WriteByte('\'')
	}
	b.WriteString(")")
	return b.String()
}

// The prompt hook (wrapping the prompt function) and the argument completer `dsqlenv hook
// powershell` and `dsqlenv completion powershell` print; they span lines, so their own
// instructions pipe them through Out-String first.
var (
	//go:embed powershell/hook.ps1
	powershellHook string
	//go:embed powershell/completion.ps1
	powershellCompletion string
)

// evalPowerShell runs a command line's block in PowerShell: iex runs each line the pipe
// brings, and every line of a block is a whole statement.
func evalPowerShell(line string) string { return line + " | iex" }

func (powershell) Render(b Block) ([]byte, error) {
	unset := func(name string) string { return "Remove-Item Env:" + name + " -ErrorAction SilentlyContinue" }
	return render("powershell", "\r\n", eachLine(b.Unset, unset), b.Set,
		func(v Var) (string, error) { return "$env:" + v.Name + " = " + QuotePowerShell(v.Value), nil })
}
