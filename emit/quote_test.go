package emit

import (
	"errors"
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

func TestPowerShellDoublesUnicodeQuotes(t *testing.T) {
	for in, want := range map[string]string{
		"":                   `''`,
		"it's":               `'it''s'`,
		"\u2018x\u2019":      "'\u2018\u2018x\u2019\u2019'",
		"\u201Ay\u201B":      "'\u201A\u201Ay\u201B\u201B'",
		"$env:HOME `n":       "'$env:HOME `n'",
		"\u201Cdouble\u201D": "'\u201Cdouble\u201D'", // U+201C/D are double quotes: not special inside '…'
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
		`a"b`: false, "a'b": false, `a\b`: false, " lead": false, "trail ": false,
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

func TestForShellAndNames(t *testing.T) {
	want := "bash bat cmd env fish json powershell pwsh sh zsh"
	if got := strings.Join(Names(), " "); got != want {
		t.Errorf("Names() = %s, want %s", got, want)
	}
	if _, ok := ForShell("tcsh"); ok {
		t.Error("ForShell(tcsh) found a renderer")
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
		if !utf8.ValidString(s) {
			t.Skip("PowerShell reads text as UTF-16; invalid UTF-8 has no meaning there")
		}
		got, rest, err := parsePowerShellVerbatim(QuotePowerShell(s))
		if err != nil || rest != "" || got != s {
			t.Fatalf("QuotePowerShell(%q) reads back as %q (rest %q, err %v)", s, got, rest, err)
		}
	})
}

func FuzzQuoteCmd(f *testing.F) {
	f.Fuzz(func(t *testing.T, s string) {
		q, err := QuoteCmd("PGPASSWORD", s)
		if err != nil {
			if !strings.ContainsAny(s, `"!`) {
				t.Fatalf("QuoteCmd(%q) refused a value with no quote or '!': %v", s, err)
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
			if !strings.ContainsAny(s, `"!`) {
				t.Fatalf("QuoteBat(%q) refused a value with no quote or '!': %v", s, err)
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
// and bat dialects and reads every line back with that shell's rule.
func TestWindowsBlocksParseBack(t *testing.T) {
	var vals []string
	for _, v := range append(append([]string{}, hostile...), randomHostile(200)...) {
		if !strings.ContainsAny(v, `"!`) { // refused by cmd and bat, tested above
			vals = append(vals, v)
		}
	}
	b := hostileBlock(vals)
	for _, name := range []string{"powershell", "cmd", "bat"} {
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
				var lhs string
				lhs, rest, _ := strings.Cut(line, " = ")
				gotName = strings.TrimPrefix(lhs, "$env:")
				var tail string
				got, tail, err = parsePowerShellVerbatim(rest)
				if err == nil && tail != "" {
					err = errors.New("text after the string: " + tail)
				}
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
