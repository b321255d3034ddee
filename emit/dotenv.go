package emit

import (
	"fmt"
	"strings"
	"unicode/utf8"
)

type dotenv struct{}

// Dotenv renders `NAME='value'` lines for the dotenv family: python-dotenv, godotenv, docker
// compose's .env and env_file, `node --env-file` and npm's dotenv. It carries no unsets: such
// files only set variables. Docker's `--env-file` and systemd read quotes literally, so they
// take Env instead.
var Dotenv Shell = dotenv{}

// isDotenvName reports whether name is `[A-Za-z_][A-Za-z0-9_]*`, which every parser of the
// family reads as a key: python-dotenv takes anything up to `=`, godotenv letters, digits, `_`
// and `.`, npm dotenv `[\w.-]+`. (Plain code, not a regexp: compiling one at start-up costs
// every dsqlenv command about a third of its instructions.)
func isDotenvName(name string) bool {
	for i, c := range name {
		if !(c == '_' || c >= 'A' && c <= 'Z' || c >= 'a' && c <= 'z' || i > 0 && c >= '0' && c <= '9') {
			return false
		}
	}
	return name != ""
}

// pythonDotenvExpands reports whether s holds what python-dotenv's _posix_variable
// (dotenv/variables.py, `\$\{[^}:]*(?::-[^}]*)?\}`) matches: the `${NAME}` and
// `${NAME:-default}` forms it expands in every value, quoted or not.
func pythonDotenvExpands(s string) bool {
	for i := strings.Index(s, "${"); i >= 0; {
		rest := s[i+2:]
		j := strings.IndexAny(rest, "}:")
		switch {
		case j >= 0 && rest[j] == '}':
			return true
		case j >= 0 && strings.HasPrefix(rest[j:], ":-") && strings.Contains(rest[j:], "}"):
			return true
		}
		next := strings.Index(rest, "${")
		if next < 0 {
			return false
		}
		i += 2 + next
	}
	return false
}

// QuoteDotenv writes the line `NAME='value'` (without its line feed) so that every parser of
// the dotenv family reads value back exactly, or says which parser could not.
//
// Single quotes are the one form they all read literally:
//   - python-dotenv (dotenv/parser.py and main.py, from Debian 12's 0.21 to 1.x): a single-quoted value is
//     `'((?:\\'|[^'])*)'`, in which only `\\` and `\'` are escapes.
//   - godotenv v1.5.1 (parser.go, extractVarValue): the value ends at the first `'` not
//     preceded by a backslash; nothing inside is unescaped or expanded.
//   - docker compose (compose-go dotenv/parser.go): as godotenv, but `\'` becomes `'`;
//     single-quoted values are not interpolated.
//   - node --env-file (src/node_dotenv.cc, Dotenv::ParseContent, Node 20.12 and later): a
//     value that starts with a quote ends at the next same quote; there are no escapes.
//   - npm dotenv (main.js, LINE and the quote strip): `'(?:\\'|[^'])*'`, taken verbatim.
//
// Inside single quotes `$`, `#`, `"`, the backtick, `=`, `&`, `%`, spaces at either end and
// any Unicode text are literal in all five. Double quotes would not do: godotenv and compose
// expand `$NAME` there and drop backslashes, while node and npm dotenv keep them, and the
// unquoted form is cut at ` #` and trimmed. What single quotes cannot carry is refused:
//   - a single quote: godotenv and node end the value there (no escape);
//   - two backslashes in a row: python-dotenv reads them as one;
//   - a backslash at the end: godotenv, compose, python-dotenv and npm dotenv read `\'` as an
//     escaped quote, so the value runs on to the next quote in the file;
//   - `${…}`: python-dotenv expands it even inside single quotes (its interpolation is on by
//     default, and there is no escape for `$`);
//   - text that is not UTF-8: python-dotenv and node decode the file as UTF-8;
//   - a line break or NUL, as in every dialect.
func QuoteDotenv(name, value string) (string, error) {
	if !isDotenvName(name) {
		return "", fmt.Errorf("dotenv: %q is not a variable name every dotenv parser reads: use letters, digits and _", name)
	}
	if err := checkLine("dotenv", Var{name, value}); err != nil {
		return "", err
	}
	refuse := func(reason string) (string, error) { return "", &ValueError{"dotenv", name, reason} }
	switch {
	case !utf8.ValidString(value):
		return refuse("is not valid UTF-8, and python-dotenv and node --env-file read the file as UTF-8")
	case strings.ContainsRune(value, '\''):
		return refuse("holds a single quote, which godotenv and node --env-file cannot read inside a quoted value")
	case strings.Contains(value, `\\`):
		return refuse(`holds two backslashes in a row, which python-dotenv reads as one`)
	case strings.HasSuffix(value, `\`):
		return refuse("ends with a backslash, which godotenv, docker compose, python-dotenv and npm dotenv read as escaping the closing quote")
	case pythonDotenvExpands(value):
		return refuse("holds ${...}, which python-dotenv expands even inside single quotes")
	}
	return name + "='" + value + "'", nil
}

func (dotenv) Render(b Block) ([]byte, error) {
	return render("dotenv", "\n", nil, b.Set, func(v Var) (string, error) { return QuoteDotenv(v.Name, v.Value) })
}
