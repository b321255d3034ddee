package emit

// Parsers that read a rendered value back with each shell's documented quoting rule. They are
// written from the rules, not from the quoting functions, so a fuzz target can compare.

import (
	"errors"
	"fmt"
	"regexp"
	"strconv"
	"strings"
	"unicode/utf16"
	"unicode/utf8"
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

// parsePowerShellValue reads a value the way PowerShell evaluates it, in expression mode
// (`$env:X = …`) and in argument mode (`& … args`) alike: either one verbatim string, or a
// parenthesised sum of verbatim strings and `[char]0xHHHH` casts. The sum must start with a
// string: `+` takes the type of its left operand (about_Arithmetic_Operators), so a [char]
// there would add numbers; each later operand is converted to a string and appended. A
// [char] is one UTF-16 code unit, so the value is built as UTF-16 and surrogate pairs join.
func parsePowerShellValue(s string) (value, rest string, err error) {
	if !strings.HasPrefix(s, "(") {
		return parsePowerShellVerbatim(s)
	}
	var units []uint16
	rest = s[1:]
	for term := 0; ; term++ {
		rest = strings.TrimLeft(rest, " ")
		if r, _ := utf8.DecodeRuneInString(rest); isPSQuote(r) {
			var w string
			if w, rest, err = parsePowerShellVerbatim(rest); err != nil {
				return "", "", err
			}
			units = append(units, utf16.Encode([]rune(w))...)
		} else if hex, ok := strings.CutPrefix(rest, "[char]0x"); ok {
			if term == 0 {
				return "", "", errors.New("the sum starts with a [char], so + would add numbers")
			}
			n := 0
			for n < len(hex) && strings.IndexByte("0123456789abcdefABCDEF", hex[n]) >= 0 {
				n++
			}
			u, perr := strconv.ParseUint(hex[:n], 16, 16)
			if perr != nil {
				return "", "", fmt.Errorf("[char]0x%s: %v", hex[:n], perr)
			}
			units = append(units, uint16(u))
			rest = hex[n:]
		} else {
			return "", "", fmt.Errorf("term %d is neither a verbatim string nor a [char]: %q", term, rest)
		}
		rest = strings.TrimLeft(rest, " ")
		switch {
		case strings.HasPrefix(rest, "+"):
			rest = rest[1:]
		case strings.HasPrefix(rest, ")"):
			return string(utf16.Decode(units)), rest[1:], nil
		default:
			return "", "", fmt.Errorf("want + or ) after term %d, got %q", term, rest)
		}
	}
}

// parsePowerShellSet reads one `$env:NAME = value` line.
func parsePowerShellSet(line string) (name, value string, err error) {
	lhs, rhs, ok := strings.Cut(line, " = ")
	name, isEnv := strings.CutPrefix(lhs, "$env:")
	if !ok || !isEnv {
		return "", "", fmt.Errorf("not a $env: assignment: %q", line)
	}
	value, rest, err := parsePowerShellValue(rhs)
	if err == nil && rest != "" {
		err = fmt.Errorf("text after the value: %q", rest)
	}
	return name, value, err
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

// pythonDotenvLine is python-dotenv's reading of a `KEY='value'` line (dotenv/parser.py:
// _unquoted_key, _equal_sign, _single_quoted_value, _comment, _end_of_line). Go's regexp
// picks the same leftmost-first match as Python's for this pattern.
var pythonDotenvLine = regexp.MustCompile(`^([^=#\s]+)[^\S\r\n]*=[^\S\r\n]*'((?:\\'|[^'])*)'(?:[^\S\r\n]*#[^\r\n]*)?[^\S\r\n]*$`)

// parsePythonDotenvSingleQuoted reads one `KEY='value'` line as python-dotenv 0.21 does:
// inside single quotes `\\` and `\'` are escapes (_single_quote_escapes), and then every
// `${NAME}` or `${NAME:-default}` is interpolated (variables.py, on by default); the
// environment here is empty, so each becomes its default or "".
func parsePythonDotenvSingleQuoted(line string) (string, error) {
	m := pythonDotenvLine.FindStringSubmatch(line)
	if m == nil {
		return "", fmt.Errorf("python-dotenv cannot parse %q", line)
	}
	v := regexp.MustCompile(`\\[\\']`).ReplaceAllStringFunc(m[2], func(e string) string { return e[1:] })
	return regexp.MustCompile(`\$\{[^}:]*(?::-([^}]*))?\}`).ReplaceAllString(v, "$1"), nil
}

// parseNodeDotenvSingleQuoted reads one `KEY='value'` line as node --env-file does
// (src/node_dotenv.cc, Dotenv::ParseContent): the key ends at the first '=', and a value that
// starts with a quote ends at the next same quote; nothing inside is an escape.
func parseNodeDotenvSingleQuoted(line string) (string, error) {
	_, rest, ok := strings.Cut(line, "=")
	rest = strings.TrimLeft(rest, " ")
	if !ok || !strings.HasPrefix(rest, "'") {
		return "", fmt.Errorf("not a single-quoted assignment: %q", line)
	}
	end := strings.IndexByte(rest[1:], '\'')
	if end < 0 {
		return "", fmt.Errorf("no closing quote: %q", line)
	}
	if tail := strings.TrimSpace(rest[end+2:]); tail != "" {
		return "", fmt.Errorf("text after the closing quote: %q", tail)
	}
	return rest[1 : end+1], nil
}
