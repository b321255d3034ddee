package emit

import (
	"bytes"
	"fmt"
	"math/rand"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/dsqlenv/dsqlenv/internal/testkit"
)

// hostile values a block must carry exactly, with nothing in them run by the shell. Each
// command substitution would create a file in the working directory if it ran.
var hostile = []string{
	"plain", "", "it's", "''", `a\b`, `\'`, `'\`, "%2F%", "%PATH%", "a&b|c;d", "!x !! !$", "^<>",
	"$(touch ran-dollar)", "`touch ran-backtick`", "'; touch ran-quote; '", `"; touch ran-dq; "`,
	"\u2018curly\u2019 \u201Alow\u201B", "😀 emoji", "*", "?", "[a]", "~root", "$HOME ${HOME}",
	"(touch ran-paren)", "{a,b}", "# not a comment", "a\tb", " lead", "trail ", `\\`, `\n`,
	"h.dsql.us-east-1.on.aws?Action=DbConnectAdmin&X-Amz-Credential=AKIA%2F2026%2Fus-east-1%2Fdsql%2Faws4_request&X-Amz-Signature=ab",
}

// randomHostile draws n strings from characters that shells treat specially, plus Unicode
// and astral-plane characters; the seed is fixed so a failure can be reproduced.
func randomHostile(n int) []string {
	alphabet := []rune("'\"`$\\%!&|;<>^*?[]{}()~#= \t/abcXYZ019\u2018\u2019\u201A\u201B\u00e9\u4e16😀𝄞")
	r := rand.New(rand.NewSource(20261129))
	out := make([]string, n)
	for i := range out {
		rs := make([]rune, 1+r.Intn(24))
		for j := range rs {
			rs[j] = alphabet[r.Intn(len(alphabet))]
		}
		out[i] = string(rs)
	}
	return out
}

func hostileBlock(values []string) Block {
	b := Block{Unset: []string{"PGSERVICE", "PGHOSTADDR"}}
	for i, v := range values {
		b.Set = append(b.Set, Var{Name: fmt.Sprintf("DSQLENV_T%03d", i), Value: v})
	}
	return b
}

// evalInShell writes the block to a file, has the real shell evaluate it the documented way
// (eval "$(…)" or | source) with a stale PGSERVICE and PGHOSTADDR set, and returns the
// environment it then exports, read with env -0.
func evalInShell(t *testing.T, shell string, block []byte) map[string]string {
	t.Helper()
	path := testkit.RequireTool(t, shell)
	dir := t.TempDir()
	blockFile := filepath.Join(dir, "block")
	if err := os.WriteFile(blockFile, block, 0o600); err != nil {
		t.Fatal(err)
	}
	var args []string
	switch shell {
	case "fish":
		args = []string{"--no-config", "-c", `cat "$BLOCK" | source; and env -0`}
	case "bash":
		args = []string{"--norc", "--noprofile", "-c", `eval "$(cat "$BLOCK")" && env -0`}
	case "zsh":
		args = []string{"-f", "-c", `eval "$(cat "$BLOCK")" && env -0`}
	default:
		args = []string{"-c", `eval "$(cat "$BLOCK")" && env -0`}
	}
	cmd := exec.Command(path, args...)
	cmd.Dir = dir
	// HOME is elsewhere: fish creates ~/.config and ~/.local, which must not be mistaken
	// for files a value created.
	cmd.Env = []string{"PATH=" + os.Getenv("PATH"), "HOME=" + t.TempDir(), "BLOCK=" + blockFile,
		"PGSERVICE=stale", "PGHOSTADDR=192.0.2.1", "LANG=C.UTF-8"}
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		t.Fatalf("%s: %v\nstderr: %s", shell, err, stderr.String())
	}
	if stderr.Len() > 0 {
		t.Errorf("%s wrote to stderr: %s", shell, stderr.String())
	}
	entries, _ := os.ReadDir(dir)
	for _, e := range entries {
		if e.Name() != "block" {
			t.Errorf("%s: evaluating the block created %q: something in a value ran", shell, e.Name())
		}
	}
	got := map[string]string{}
	for _, kv := range strings.Split(stdout.String(), "\x00") {
		if k, v, ok := strings.Cut(kv, "="); ok {
			got[k] = v
		}
	}
	return got
}

func TestRoundTripInRealShells(t *testing.T) {
	values := append(append([]string{}, hostile...), randomHostile(200)...)
	b := hostileBlock(values)
	for _, shell := range []string{"bash", "zsh", "dash", "fish"} {
		t.Run(shell, func(t *testing.T) {
			r := POSIX
			if shell == "fish" {
				r = Fish
			}
			out, err := r.Render(b)
			if err != nil {
				t.Fatal(err)
			}
			env := evalInShell(t, shell, out)
			for _, v := range b.Set {
				if got, ok := env[v.Name]; !ok || got != v.Value {
					t.Errorf("%s: %s = %q (set: %v), want %q", shell, v.Name, got, ok, v.Value)
				}
			}
			for _, name := range b.Unset {
				if _, ok := env[name]; ok {
					t.Errorf("%s: %s is still set after the block", shell, name)
				}
			}
		})
	}
}
