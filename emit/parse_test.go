package emit

// Parsers that read a rendered value back with each shell's documented quoting rule. They are
// written from the rules, not from the quoting functions, so a fuzz target can compare.

import (
	"errors"
	"fmt"
	"strings"
)

// parsePOSIXWord reads one word made of single-quoted spans and backslash-escaped characters
// (POSIX.1-2017 XCU 2.2.1, 2.2.2). It stops at the first unquoted blank or end of input.
func parsePOSIXWord(s string) (word, rest string, err error) {
	var b strings.Builder
	i := 0
	for i < len(s) {
		switch c := s[i]; c {
		case '\'':
			j := strings.IndexByte(s[i+1:], '\'')
			if j < 0 {
				return "", "", errors.New("unterminated single quote")
			}
			b.WriteString(s[i+1 : i+1+j])
			i += j + 2
		case '\\':
			if i+1 >= len(s) {
				return "", "", errors.New("trailing backslash")
			}
			b.WriteByte(s[i+1])
			i += 2
		case ' ', '\t', '\n', ';', '&', '|':
			return b.String(), s[i:], nil
		case '$', '`', '"', '*', '?', '[', '~', '<', '>', '(', ')', '#':
			return "", "", fmt.Errorf("unquoted special character %q", c)
		default:
			b.WriteByte(c)
			i++
		}
	}
	return b.String(), "", nil
}

// parseFishQuoted reads one fish single-quoted string: inside it `\\` is a backslash, `\'` a
// quote, and any other backslash is literal (fish documentation, "Quotes").
func parseFishQuoted(s string) (word, rest string, err error) {
	if !strings.HasPrefix(s, "'") {
		return "", "", errors.New("not single-quoted")
	}
	var b strings.Builder
	for i := 1; i < len(s); i++ {
		switch c := s[i]; {
		case c == '\\' && i+1 < len(s) && (s[i+1] == '\\' || s[i+1] == '\''):
			b.WriteByte(s[i+1])
			i++
		case c == '\'':
			return b.String(), s[i+1:], nil
		default:
			b.WriteByte(c)
		}
	}
	return "", "", errors.New("unterminated single quote")
}

func isPSQuote(r rune) bool {
	return r == '\'' || r == '\u2018' || r == '\u2019' || r == '\u201A' || r == '\u201B'
}

// parsePowerShellVerbatim reads one PowerShell single-quoted string: it opens and closes with
// any of the five single-quote characters, and two adjacent ones stand for the second
// (PowerShell tokenizer, ScanStringLiteral; about_Quoting_Rules).
func parsePowerShellVerbatim(s string) (word, rest string, err error) {
	rs := []rune(s)
	if len(rs) == 0 || !isPSQuote(rs[0]) {
		return "", "", errors.New("not single-quoted")
	}
	var b strings.Builder
	for i := 1; i < len(rs); i++ {
		if isPSQuote(rs[i]) {
			if i+1 < len(rs) && isPSQuote(rs[i+1]) {
				b.WriteRune(rs[i+1])
				i++
				continue
			}
			return b.String(), string(rs[i+1:]), nil
		}
		b.WriteRune(rs[i])
	}
	return "", "", errors.New("unterminated single quote")
}

// parseCmdSet reads `set "NAME=value"` the way cmd.exe's SET does when the whole assignment
// is quoted: everything between the first quote and the last quote of the line, split at the
// first '='. After FOR /F substitution no %-expansion or special-character parsing happens, so
// the text is taken as is; a '!' would still expand under delayed expansion.
func parseCmdSet(line string) (name, value string, err error) {
	rest, ok := strings.CutPrefix(line, `set "`)
	if !ok {
		return "", "", fmt.Errorf("not a set line: %q", line)
	}
	last := strings.LastIndexByte(rest, '"')
	if last < 0 || strings.TrimSpace(rest[last+1:]) != "" {
		return "", "", errors.New("the assignment is not closed by a final quote")
	}
	body := rest[:last]
	if strings.ContainsAny(body, `"!`) {
		return "", "", errors.New("a quote or '!' inside the assignment")
	}
	name, value, ok = strings.Cut(body, "=")
	if !ok {
		return "", "", errors.New("no '=' in the assignment")
	}
	return name, value, nil
}

// parseBatSet reads `@set "NAME=value"` from a batch file: phase 1 of cmd.exe's batch parser
// turns `%%` into `%` and expands any other `%`, so a lone `%` is an error here; then the
// quoted span keeps `& | < > ^` literal and SET takes it as parseCmdSet does.
func parseBatSet(line string) (name, value string, err error) {
	rest, ok := strings.CutPrefix(line, "@")
	if !ok {
		return "", "", errors.New("batch line does not start with @")
	}
	var b strings.Builder
	for i := 0; i < len(rest); i++ {
		if rest[i] == '%' {
			if i+1 < len(rest) && rest[i+1] == '%' {
				b.WriteByte('%')
				i++
				continue
			}
			return "", "", fmt.Errorf("a lone %% at byte %d would be expanded", i)
		}
		b.WriteByte(rest[i])
	}
	return parseCmdSet(b.String())
}
