package emit

import (
	"strings"
	"unicode/utf8"
)

type cmd struct{}
type bat struct{}

// Cmd renders for cmd.exe through `for /f "delims=" %i in ('dsqlenv cmd prod') do @%i`:
// one `set "NAME=value"` line per variable.
var Cmd Shell = cmd{}

// Bat renders a batch file, for `dsqlenv bat prod > env.bat` and then `call env.bat`:
// `@set "NAME=value"` with every `%` doubled.
var Bat Shell = bat{}

// QuoteCmd writes `"NAME=value"`, the argument of cmd.exe's SET for the FOR /F route. Text
// substituted for a FOR variable is expanded after cmd's %-expansion and special-character
// phases, so `%2F`, `&`, `|`, `<`, `>` and `^` in it stay literal (see the phases of the cmd.exe
// parser, "How does the Windows Command Interpreter (CMD.EXE) parse scripts?", Stack Overflow
// 4094699). Two characters still cannot be carried soundly, so they are refused: `!` expands
// when delayed expansion is on, and a `"` would end the quoted span early. Non-ASCII text is
// refused too: FOR /F decodes a command's output in the console's code page (chcp), not as
// UTF-8, and cmd.exe has no escape that spells a character in ASCII, so the bytes of `Ł` would
// arrive as two other characters, and in cp932 as a different value altogether.
func QuoteCmd(name, value string) (string, error) {
	if err := checkCmd("cmd", name, value); err != nil {
		return "", err
	}
	return `"` + name + "=" + value + `"`, nil
}

// QuoteBat writes `"NAME=value"` for a line of a batch file. A batch line goes through
// %-expansion first, where `%%` is a literal `%` and `%2F` would be argument 2 then `F`
// (o3de#6688), so every `%` is doubled; inside the quotes `& | < > ^` are literal. `!` and `"`
// and non-ASCII text are refused as in QuoteCmd: cmd.exe reads a batch file in the console's
// code page too.
func QuoteBat(name, value string) (string, error) {
	if err := checkCmd("bat", name, value); err != nil {
		return "", err
	}
	return `"` + name + "=" + strings.ReplaceAll(value, "%", "%%") + `"`, nil
}

func checkCmd(dialect, name, value string) error {
	for i := 0; i < len(value); i++ {
		if value[i] >= utf8.RuneSelf {
			return &ValueError{dialect, name, "holds non-ASCII text, which cmd.exe reads in the console's code page (chcp) and so can misread; use powershell, which writes it in ASCII"}
		}
	}
	if strings.ContainsRune(value, '"') {
		return &ValueError{dialect, name, "holds a double quote, which cmd.exe cannot carry inside set \"NAME=value\""}
	}
	if strings.ContainsRune(value, '!') {
		return &ValueError{dialect, name, "holds '!', which cmd.exe expands when delayed expansion is on"}
	}
	return nil
}

func (cmd) Render(b Block) ([]byte, error) {
	return render("cmd", "\r\n", eachLine(b.Unset, func(name string) string { return `set "` + name + `="` }), b.Set,
		func(v Var) (string, error) {
			q, err := QuoteCmd(v.Name, v.Value)
			return "set " + q, err
		})
}

func (bat) Render(b Block) ([]byte, error) {
	return render("bat", "\r\n", eachLine(b.Unset, func(name string) string { return `@set "` + name + `="` }), b.Set,
		func(v Var) (string, error) {
			q, err := QuoteBat(v.Name, v.Value)
			return "@set " + q, err
		})
}
