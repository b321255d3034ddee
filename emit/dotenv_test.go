package emit

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"math/rand"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	composedotenv "github.com/compose-spec/compose-go/v2/dotenv"
	"github.com/joho/godotenv"

	"github.com/dsqlenv/dsqlenv/internal/testkit"
)

// dotenvHostile are values aimed at the dotenv parsers' rules: expansion, inline comments,
// quotes and escapes of every kind, white space at the ends, line-break look-alikes.
var dotenvHostile = []string{
	"$", "$HOME", "${HOME}", "${HOME:-x}", "${}", "$(touch ran)", "`id`", "$$", `\$HOME`,
	"a #b", "#", "# c", "a#b", " #", "x # comment",
	`"`, `""`, `"a"`, `'`, `''`, `'a'`, "`a`", `\'`, `\"`,
	`\`, `a\`, `\\`, `a\\b`, `a\b`, `C:\Users\me\ca.pem`, `\n`, `\r\t\x41\u0041\0`,
	"=", "a=b", "==", "export X=1", "X: y", " lead", "trail ", "  ", " ", "\t", "a\tb",
	"\u00a0nbsp\u00a0", "\u0085", "\u2028", "\u2029", "\ufeff", "\u0141\u00e9\u4e16😀", "\v\f",
	"-c search_path=$user,public", "app 50%",
}

// dotenvAlphabet is what the random values are drawn from.
const dotenvAlphabet = "'\"`$\\#={}()&%?/+:;!*~ \tabcXYZ019-_.\u00a0\u0085\u2028\u00e9\u4e16😀"

// tokenAlphabet is what SigV4 tokens, hosts and paths are made of: all must be carried.
const tokenAlphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789&%=?/+-._~:"

// dotenvReader reads a dotenv file with one real parser and returns every variable it set.
// It runs inside a subtest: a parser that is not installed skips that subtest alone, or fails
// it under CI=true.
type dotenvReader struct {
	name string // as the refusals name it
	read func(t *testing.T, path string) (map[string]string, error)
}

// debianPython is Debian's python, which has python3-dotenv; the python first on PATH may be
// another one without it.
const debianPython = "/usr/bin/python3"

var dotenvReaders = []dotenvReader{
	{"godotenv", func(t *testing.T, path string) (map[string]string, error) { return godotenv.Read(path) }},
	{"docker compose", func(t *testing.T, path string) (map[string]string, error) {
		// compose interpolates from the environment; a lookup that knows every name makes
		// any interpolation visible.
		return composedotenv.ReadWithLookup(func(name string) (string, bool) { return "<" + name + ">", true }, path)
	}},
	{"python-dotenv", func(t *testing.T, path string) (map[string]string, error) {
		testkit.UnixOnly(t, "python-dotenv is Debian's, a Linux program")
		if _, err := os.Stat("/usr/lib/python3/dist-packages/dotenv/__init__.py"); err != nil {
			if testkit.InCI() {
				t.Fatal("python3-dotenv (Debian) is not installed: .ci/test-tools installs it (CI=true, so this is a failure)")
			}
			t.Skip("python3-dotenv (Debian) is not installed; skipping (run .ci/test-tools to install it)")
		}
		// -I: no user site and no PYTHON* variables. dotenv_values interpolates, as
		// load_dotenv does, from the environment given here.
		return runDotenvReader(t, debianPython, []string{"PATH=/usr/bin:/bin", "HOME=/home/expanded"}, "-I", "-c",
			"import json, sys\nfrom dotenv import dotenv_values\nsys.stdout.write(json.dumps(dotenv_values(sys.argv[1])))", path)
	}},
	{"node --env-file", func(t *testing.T, path string) (map[string]string, error) {
		// An empty environment: node --env-file never overrides a variable that is set.
		return runDotenvReader(t, testkit.RequireTool(t, "node"), []string{}, "--env-file="+path, "-e",
			"process.stdout.write(JSON.stringify(process.env))")
	}},
	{"npm dotenv", func(t *testing.T, path string) (map[string]string, error) {
		node, modules := testkit.RequireTool(t, "node"), testkit.NodeModules(t)
		return runDotenvReader(t, node, []string{"NODE_PATH=" + modules}, "-e",
			"process.stdout.write(JSON.stringify(require('dotenv').parse(require('fs').readFileSync(process.argv[1]))))", path)
	}},
}

// runDotenvReader runs a parser that prints the variables as one JSON object.
func runDotenvReader(t *testing.T, prog string, env []string, args ...string) (map[string]string, error) {
	t.Helper()
	cmd := exec.Command(prog, args...)
	cmd.Env = env
	cmd.Dir = t.TempDir()
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		return nil, fmt.Errorf("%v: %s", err, stderr.String())
	}
	var got map[string]*string // python-dotenv gives null for a name without '='
	if err := json.Unmarshal(stdout.Bytes(), &got); err != nil {
		return nil, fmt.Errorf("%v in %q", err, stdout.String())
	}
	out := map[string]string{}
	for k, v := range got {
		if v != nil {
			out[k] = *v
		}
	}
	if stderr.Len() > 0 {
		return out, errors.New("stderr: " + stderr.String())
	}
	return out, nil
}

func writeDotenv(t *testing.T, content []byte) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "test.env")
	if err := os.WriteFile(path, content, 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

// TestDotenvReadsBackInEveryParser writes one file with every value QuoteDotenv accepts —
// the hostile values, a seeded random set and token-like values, which must all be accepted —
// and has each real parser read it: every value must come back exact.
func TestDotenvReadsBackInEveryParser(t *testing.T) {
	tokens := randomFrom(propertySeed(t)+3, tokenAlphabet, 200)
	values := append(append(append([]string{}, dotenvHostile...), hostile...), randomFrom(propertySeed(t)+4, dotenvAlphabet, 300)...)
	values = append(values, tokens...)
	var b Block
	refused := 0
	for i, v := range values {
		name := fmt.Sprintf("DSQLENV_T%03d", i)
		if _, err := QuoteDotenv(name, v); err != nil {
			var ve *ValueError
			if !errors.As(err, &ve) || ve.Var != name {
				t.Errorf("QuoteDotenv(%q): %v; want a ValueError naming %s", v, err, name)
			}
			refused++
			continue
		}
		b.Set = append(b.Set, Var{name, v})
	}
	for _, v := range tokens {
		if _, err := QuoteDotenv("PGPASSWORD", v); err != nil {
			t.Errorf("a token-like value was refused: %v", err)
		}
	}
	if refused > len(values)/2 {
		t.Errorf("%d of %d values refused; the rules are too strict", refused, len(values))
	}
	out, err := Dotenv.Render(b)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.HasSuffix(out, []byte("\n")) || bytes.Count(out, []byte("\n")) != len(b.Set) || bytes.Contains(out, []byte("\r")) {
		t.Fatalf("want one line per variable, each ending in LF: %q", out)
	}
	path := writeDotenv(t, out)
	for _, r := range dotenvReaders {
		t.Run(strings.ReplaceAll(r.name, " ", "_"), func(t *testing.T) {
			got, err := r.read(t, path)
			if err != nil {
				t.Fatalf("%s: %v", r.name, err)
			}
			for _, v := range b.Set {
				if g, ok := got[v.Name]; !ok || g != v.Value {
					t.Errorf("%s reads %s as %q (set: %v), want %q; line %s", r.name, v.Name, g, ok, v.Value, mustQuoteDotenv(v))
				}
			}
		})
	}
	t.Logf("%d values carried, %d refused", len(b.Set), refused)
}

func mustQuoteDotenv(v Var) string {
	s, err := QuoteDotenv(v.Name, v.Value)
	if err != nil {
		return err.Error()
	}
	return s
}

// TestDotenvRefusalsAreNeeded writes each refused kind of value anyway, as `NAME='value'`
// followed by a line whose value starts with `#` (which ends npm dotenv's runaway match),
// and checks that every parser the refusal names really misreads
// it (a different value, a lost second line, or an error), so the errors tell the truth.
func TestDotenvRefusalsAreNeeded(t *testing.T) {
	for _, v := range []string{"it's", "'", `a\\b`, `a\`, `\`, "${HOME}", "x${A:-b}y", "${}", "\xff"} {
		_, err := QuoteDotenv("X", v)
		var ve *ValueError
		if !errors.As(err, &ve) {
			t.Errorf("QuoteDotenv(%q) = %v; want a refusal", v, err)
			continue
		}
		named := 0
		for _, r := range dotenvReaders {
			if !strings.Contains(ve.Reason, r.name) {
				continue
			}
			named++
			t.Run(strings.ReplaceAll(r.name, " ", "_"), func(t *testing.T) {
				got, err := r.read(t, writeDotenv(t, []byte("X='"+v+"'\nNEXT='#ok'\n")))
				if err == nil && got["X"] == v && got["NEXT"] == "#ok" {
					t.Errorf("%q is refused because of %s (%s), but %s reads it right", v, r.name, ve.Reason, r.name)
				}
			})
		}
		if named == 0 {
			t.Errorf("the refusal of %q names none of the parsers: %s", v, ve.Reason)
		}
	}
}

func TestQuoteDotenv(t *testing.T) {
	for _, c := range []struct{ in, want string }{
		{"", `X=''`},
		{"a #b $HOME \"q\" `x` = & % ? / +", `X='a #b $HOME "q" ` + "`x`" + ` = & % ? / +'`},
		{` lead and trail `, `X=' lead and trail '`},
		{`C:\Users\me`, `X='C:\Users\me'`},
	} {
		if got, err := QuoteDotenv("X", c.in); err != nil || got != c.want {
			t.Errorf("QuoteDotenv(%q) = %s, %v; want %s", c.in, got, err, c.want)
		}
	}
	for _, bad := range []string{"a'b", `a\\b`, `a\`, "${HOME}", "a\nb", "a\x00b", "\xff"} {
		var ve *ValueError
		if _, err := QuoteDotenv("X", bad); !errors.As(err, &ve) || ve.Var != "X" || ve.Dialect != "dotenv" {
			t.Errorf("QuoteDotenv(%q) = %v; want a ValueError for X", bad, err)
		}
	}
	for _, bad := range []string{"", "1X", "A-B", "A B", "export X", "X=Y", "Ł"} {
		if _, err := QuoteDotenv(bad, "v"); err == nil {
			t.Errorf("QuoteDotenv accepted the name %q", bad)
		}
	}
}

func TestDotenvRendersNoUnsets(t *testing.T) {
	out, err := Dotenv.Render(Block{Unset: []string{"PGSERVICE"}, Set: []Var{{"PGHOST", "h"}, {"PGPORT", "5432"}}})
	if err != nil || string(out) != "PGHOST='h'\nPGPORT='5432'\n" {
		t.Errorf("Render = %q, %v", out, err)
	}
}

// FuzzQuoteDotenv quotes arbitrary input and reads it back with the two parsers that run in
// process (godotenv and compose's) and with python-dotenv's and node's rules written out:
// an accepted value must come back exact in all four.
func FuzzQuoteDotenv(f *testing.F) {
	f.Fuzz(func(t *testing.T, s string) {
		line, err := QuoteDotenv("X", s)
		if err != nil {
			return
		}
		src := line + "\nNEXT='ok'\n"
		g, gerr := godotenv.Unmarshal(src)
		c, cerr := composedotenv.UnmarshalWithLookup(src, func(name string) (string, bool) { return "<" + name + ">", true })
		p, perr := parsePythonDotenvSingleQuoted(line)
		n, nerr := parseNodeDotenvSingleQuoted(line)
		for _, r := range []struct {
			name, got string
			next      bool
			err       error
		}{{"godotenv", g["X"], g["NEXT"] == "ok", gerr}, {"compose", c["X"], c["NEXT"] == "ok", cerr}, {"python-dotenv rule", p, true, perr}, {"node rule", n, true, nerr}} {
			if r.err != nil || r.got != s || !r.next {
				t.Fatalf("QuoteDotenv(%q) = %s: %s reads %q (next line read: %v, err %v)", s, line, r.name, r.got, r.next, r.err)
			}
		}
	})
}

// TestPythonDotenvExpandsMatchesItsRegexp: the hand-written matcher agrees with python-dotenv's
// own pattern on tricky and random strings.
func TestPythonDotenvExpandsMatchesItsRegexp(t *testing.T) {
	re := regexp.MustCompile(`\$\{[^}:]*(?::-[^}]*)?\}`)
	cases := []string{"", "$", "${", "${}", "${A}", "${A:-b}", "${A:b}", "${A:-}", "${A:", "${:-x}", "x${A:x}${B}", "${A${B}", "${a:x} ${b:-", "}${", "${{}", "${:}"}
	rng := rand.New(rand.NewSource(1))
	alphabet := "${}:-ab"
	for range 20000 {
		b := make([]byte, rng.Intn(12))
		for i := range b {
			b[i] = alphabet[rng.Intn(len(alphabet))]
		}
		cases = append(cases, string(b))
	}
	for _, s := range cases {
		if got, want := pythonDotenvExpands(s), re.MatchString(s); got != want {
			t.Errorf("pythonDotenvExpands(%q) = %v, python-dotenv's pattern says %v", s, got, want)
		}
	}
}
