package emit

import (
	"errors"
	"runtime"
	"slices"
	"strings"
	"testing"
	"unicode/utf8"
)

func TestQuotePOSIX(t *testing.T) {
	for in, want := range map[string]string{
		"":               `''`,
		"plain":          `'plain'`,
		"it's":           `'it'\''s'`,
		"''":             `''\'''\'''`,
		`$(id) ` + "`x`": `'$(id) ` + "`x`'",
		`a\b`:            `'a\b'`,
		"50%&x=1?/":      `'50%&x=1?/'`,
		"‘’":             `'‘’'`,
	} {
		if got := QuotePOSIX(in); got != want {
			t.Errorf("QuotePOSIX(%q) = %s, want %s", in, got, want)
		}
	}
}

func TestQuoteFishEscapesBackslashBeforeQuote(t *testing.T) {
	for in, want := range map[string]string{
		"":        `''`,
		"it's":    `'it\'s'`,
		`a\b`:     `'a\\b'`,
		`\'`:      `'\\\''`,
		"$x (y)":  `'$x (y)'`,
		"a%&?=/b": `'a%&?=/b'`,
	} {
		if got := QuoteFish(in); got != want {
			t.Errorf("QuoteFish(%q) = %s, want %s", in, got, want)
		}
	}
}

func TestPowerShellWritesNonASCIIOutsideTheQuotes(t *testing.T) {
	for in, want := range map[string]string{
		"":                                   `''`,
		"it's":                               `'it''s'`,
		"$env:HOME `n":                       "'$env:HOME `n'",
		"\u0141f; Start-Process calc.exe; #": `('' + [char]0x0141 + 'f; Start-Process calc.exe; #')`,
		"x\u0141f":                           `('x' + [char]0x0141 + 'f')`,
		"\u2018x\u2019":                      `('' + [char]0x2018 + 'x' + [char]0x2019)`,
		"a'\u201B'":                          `('a''' + [char]0x201B + '''')`,
		"\u00e9":                             `('' + [char]0x00E9)`,
		"😀":                                  `('' + [char]0xD83D + [char]0xDE00)`,
		"a\xffb":                             `('a' + [char]0xFFFD + 'b')`, // invalid UTF-8 is U+FFFD, as decoding gives
	} {
		if got := QuotePowerShell(in); got != want {
			t.Errorf("QuotePowerShell(%q) = %s, want %s", in, got, want)
		}
	}
}

func TestQuoteCmdKeepsPercentAndRefusesBangAndQuote(t *testing.T) {
	got, err := QuoteCmd("PGPASSWORD", "h?A=1&B=%2F^|<>")
	if err != nil || got != `"PGPASSWORD=h?A=1&B=%2F^|<>"` {
		t.Errorf("QuoteCmd = %s, %v", got, err)
	}
	for _, bad := range []string{`a"b`, "wow!", `!`, `"`} {
		if _, err := QuoteCmd("X", bad); err == nil {
			t.Errorf("QuoteCmd(%q) was accepted; want a refusal", bad)
		}
	}
}

// TestCmdAndBatRefuseNonASCII: cmd.exe reads FOR /F output and batch files in the console's
// code page and has no ASCII spelling for other characters, so both refuse non-ASCII text
// with a reason that says so.
func TestCmdAndBatRefuseNonASCII(t *testing.T) {
	for _, quote := range []func(string, string) (string, error){QuoteCmd, QuoteBat} {
		for _, bad := range []string{"\u0141f & calc", "caf\u00e9", "\u2019", "\U0001F600", "\x80", "a\u00a0b"} {
			out, err := quote("PGAPPNAME", bad)
			var ve *ValueError
			if !errors.As(err, &ve) || ve.Var != "PGAPPNAME" || !strings.Contains(ve.Reason, "code page") || out != "" {
				t.Errorf("value %q: got %q, %v; want a ValueError for PGAPPNAME explaining the code page", bad, out, err)
			}
		}
		if _, err := quote("PGAPPNAME", "ascii ~\x7f"); err != nil {
			t.Errorf("refused an ASCII value: %v", err)
		}
	}
}

func TestQuoteBatDoublesPercent(t *testing.T) {
	got, err := QuoteBat("PGPASSWORD", "A%2FB%%")
	if err != nil || got != `"PGPASSWORD=A%%2FB%%%%"` {
		t.Errorf("QuoteBat = %s, %v", got, err)
	}
	if _, err := QuoteBat("X", "a!b"); err == nil {
		t.Error("QuoteBat accepted '!'")
	}
}

func TestCheckEnvValue(t *testing.T) {
	for v, ok := range map[string]bool{
		"host?A=1&B=%2F": true, "": true, "a b": true,
		`a"b`: false, "a'b": false, `a\b`: runtime.GOOS == "windows", " lead": false, "trail ": false,
		`C:\Users\me\AppData\Local\dsqlenv\AmazonRootCAs.pem`: runtime.GOOS == "windows",
	} {
		err := CheckEnvValue("X", v)
		if (err == nil) != ok {
			t.Errorf("CheckEnvValue(%q) = %v, want ok=%v", v, err, ok)
		}
	}
}

func TestEveryDialectRefusesLineBreaksAndNUL(t *testing.T) {
	for _, name := range Names() {
		sh, _ := ForShell(name)
		for _, bad := range []string{"a\nb", "a\rb", "a\x00b"} {
			out, err := sh.Render(Block{Unset: []string{"PGSERVICE"}, Set: []Var{{"PGHOST", "h"}, {"PGUSER", bad}}})
			var ve *ValueError
			if !errors.As(err, &ve) || ve.Var != "PGUSER" || out != nil {
				t.Errorf("%s: Render(%q) = %q, %v; want no output and a ValueError naming PGUSER", name, bad, out, err)
			}
		}
	}
}

func TestLineEndings(t *testing.T) {
	b := Block{Unset: []string{"PGSERVICE"}, Set: []Var{{"PGHOST", "h"}}}
	for _, name := range Names() {
		sh, _ := ForShell(name)
		out, err := sh.Render(b)
		if err != nil {
			t.Fatal(err)
		}
		crlf := strings.Count(string(out), "\r\n")
		lf := strings.Count(string(out), "\n")
		switch name {
		case "cmd", "bat", "powershell", "pwsh":
			if crlf != lf {
				t.Errorf("%s: want CRLF on every line, got %q", name, out)
			}
		default:
			if crlf != 0 {
				t.Errorf("%s: want LF only, got %q", name, out)
			}
		}
	}
}

// TestForShellAndNames: every name and alias in the dialect table finds its row's renderer,
// and Names lists each of them once, sorted.
func TestForShellAndNames(t *testing.T) {
	var want []string
	for _, d := range Dialects {
		for _, name := range append([]string{d.Name}, d.Aliases...) {
			want = append(want, name)
			if sh, ok := ForShell(name); !ok || sh != d.Shell {
				t.Errorf("ForShell(%s) = %v, %v; want the %s row's renderer", name, sh, ok, d.Name)
			}
		}
	}
	got := Names()
	if !slices.IsSorted(got) || len(slices.Compact(slices.Clone(got))) != len(got) {
		t.Errorf("Names() = %v: not sorted, or a name twice", got)
	}
	slices.Sort(want)
	if !slices.Equal(got, want) {
		t.Errorf("Names() = %v, want the table's names %v", got, want)
	}
	if _, ok := ForShell("tcsh"); ok {
		t.Error("ForShell(tcsh) found a renderer")
	}
}

// TestEveryScriptShellIsComplete: a row with a hook has a completion too, the quoting rule
// its {{.Bin}} needs, and a way to run a block; each script calls the binary through {{.Bin}}.
// ScriptShells lists exactly those rows.
func TestEveryScriptShellIsComplete(t *testing.T) {
	var want []string
	for _, d := range Dialects {
		if d.Eval != nil && d.Quote == nil {
			t.Errorf("%s: an Eval without a Quote cannot quote the arguments of its hint", d.Name)
		}
		if d.Hook == "" && d.Completion == "" {
			continue
		}
		want = append(append(want, d.Name), d.Aliases...)
		if d.Quote == nil || d.Eval == nil {
			t.Errorf("%s: a hook and a completion need Quote and Eval", d.Name)
		}
		for kind, text := range map[string]string{"hook": d.Hook, "completion": d.Completion} {
			if !strings.Contains(text, "{{.Bin}}") {
				t.Errorf("%s: the %s has no {{.Bin}} (empty: %v)", d.Name, kind, text == "")
			}
		}
	}
	slices.Sort(want)
	if got := ScriptShells(); !slices.Equal(got, want) {
		t.Errorf("ScriptShells() = %v, want %v", got, want)
	}
}

// TestRunLineQuotesWhatTheShellWouldRead: the terminal hint keeps plain arguments bare,
// quotes the rest with the row's rule, and falls back to the help's first line.
func TestRunLineQuotesWhatTheShellWouldRead(t *testing.T) {
	for name, want := range map[string]string{
		"bash":   `eval "$(dsqlenv -c 'my file.yaml' bash prod)"`,
		"fish":   `dsqlenv -c 'my file.yaml' fish prod | source`,
		"pwsh":   `dsqlenv -c 'my file.yaml' pwsh prod | iex`,
		"cmd":    `for /f "delims=" %i in ('dsqlenv cmd prod') do @%i`,
		"dotenv": "dsqlenv dotenv prod > .env",
	} {
		d, _ := Lookup(name)
		if got := d.RunLine([]string{"-c", "my file.yaml", name, "prod"}); got != want {
			t.Errorf("%s: RunLine = %s, want %s", name, got, want)
		}
	}
	bash, _ := Lookup("bash")
	if got := bash.RunLine([]string{"bash", ""}); got != `eval "$(dsqlenv bash '')"` {
		t.Errorf("an empty argument: %s", got)
	}
}

// The fuzz targets quote arbitrary input and read it back with the shell's own rule. Run one
// longer with: go test ./emit -fuzz FuzzQuotePowerShell -fuzztime 1m

func FuzzQuotePOSIX(f *testing.F) {
	f.Fuzz(func(t *testing.T, s string) {
		got, rest, err := parsePOSIXWord(QuotePOSIX(s))
		if err != nil || rest != "" || got != s {
			t.Fatalf("QuotePOSIX(%q) reads back as %q (rest %q, err %v)", s, got, rest, err)
		}
	})
}

func FuzzQuoteFish(f *testing.F) {
	f.Fuzz(func(t *testing.T, s string) {
		got, rest, err := parseFishQuoted(QuoteFish(s))
		if err != nil || rest != "" || got != s {
			t.Fatalf("QuoteFish(%q) reads back as %q (rest %q, err %v)", s, got, rest, err)
		}
	})
}

func FuzzQuotePowerShell(f *testing.F) {
	f.Fuzz(func(t *testing.T, s string) {
		q := QuotePowerShell(s)
		if i := nonASCII(q); i >= 0 {
			t.Fatalf("QuotePowerShell(%q) = %s: byte %d is not ASCII", s, q, i)
		}
		// Invalid UTF-8 is written as U+FFFD, which is also what []rune makes of it.
		want := string([]rune(s))
		got, rest, err := parsePowerShellValue(q)
		if err != nil || rest != "" || got != want {
			t.Fatalf("QuotePowerShell(%q) = %s reads back as %q (rest %q, err %v)", s, q, got, rest, err)
		}
	})
}

// nonASCII returns the index of the first byte of s that is not ASCII, or -1.
func nonASCII(s string) int {
	for i := 0; i < len(s); i++ {
		if s[i] >= utf8.RuneSelf {
			return i
		}
	}
	return -1
}

func FuzzQuoteCmd(f *testing.F) {
	f.Fuzz(func(t *testing.T, s string) {
		q, err := QuoteCmd("PGPASSWORD", s)
		if err != nil {
			if !strings.ContainsAny(s, `"!`) && nonASCII(s) < 0 {
				t.Fatalf("QuoteCmd(%q) refused an ASCII value with no quote or '!': %v", s, err)
			}
			return
		}
		name, got, err := parseCmdSet("set " + q)
		if err != nil || name != "PGPASSWORD" || got != s {
			t.Fatalf("QuoteCmd(%q) reads back as %s=%q (err %v)", s, name, got, err)
		}
	})
}

func FuzzQuoteBat(f *testing.F) {
	f.Fuzz(func(t *testing.T, s string) {
		q, err := QuoteBat("PGPASSWORD", s)
		if err != nil {
			if !strings.ContainsAny(s, `"!`) && nonASCII(s) < 0 {
				t.Fatalf("QuoteBat(%q) refused an ASCII value with no quote or '!': %v", s, err)
			}
			return
		}
		name, got, err := parseBatSet("@set " + q)
		if err != nil || name != "PGPASSWORD" || got != s {
			t.Fatalf("QuoteBat(%q) reads back as %s=%q (err %v)", s, name, got, err)
		}
	})
}

// The fuzz targets start from the committed corpus in testdata/fuzz/<target>: the hostile
// values (quotes of every kind, \, %, %2F, &, !, ^, $(id), backticks, typographic quotes,
// astral characters, a token). `go test` runs them as regression cases; `make fuzz` explores
// from them for a bounded time, and any failing input it finds lands there too.

// TestWindowsBlocksParseBack renders a whole block of hostile values in the PowerShell, cmd
// and bat dialects and reads every line back with that shell's rule. PowerShell gets every
// value; cmd and bat those they do not refuse (tested above).
func TestWindowsBlocksParseBack(t *testing.T) {
	all := append(append([]string{}, hostile...), randomHostile(200)...)
	var cmdVals []string
	for _, v := range all {
		if !strings.ContainsAny(v, `"!`) && nonASCII(v) < 0 {
			cmdVals = append(cmdVals, v)
		}
	}
	for name, vals := range map[string][]string{"powershell": all, "cmd": cmdVals, "bat": cmdVals} {
		b := hostileBlock(vals)
		sh, _ := ForShell(name)
		out, err := sh.Render(b)
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		lines := strings.Split(strings.TrimSuffix(string(out), "\r\n"), "\r\n")
		lines = lines[len(b.Unset):]
		if len(lines) != len(b.Set) {
			t.Fatalf("%s: %d lines for %d variables", name, len(lines), len(b.Set))
		}
		for i, line := range lines {
			var got, gotName string
			var err error
			switch name {
			case "powershell":
				gotName, got, err = parsePowerShellSet(line)
			case "cmd":
				gotName, got, err = parseCmdSet(line)
			case "bat":
				gotName, got, err = parseBatSet(line)
			}
			if err != nil || gotName != b.Set[i].Name || got != b.Set[i].Value {
				t.Errorf("%s: line %q reads back as %s=%q (%v), want %q", name, line, gotName, got, err, b.Set[i].Value)
			}
		}
	}
}
