package emit

import (
	"bytes"
	"errors"
	"fmt"
	"math/rand"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
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

// hostileAlphabet is the characters shells treat specially, plus Unicode and astral-plane
// characters.
const hostileAlphabet = "'\"`$\\%!&|;<>^*?[]{}()~#= \t/abcXYZ019\u2018\u2019\u201A\u201B\u00e9\u4e16😀𝄞"

// propertySeed is fixed so that a failure can be reproduced; DSQLENV_PROPERTY_SEED draws
// other strings.
func propertySeed(t *testing.T) int64 {
	if s := os.Getenv("DSQLENV_PROPERTY_SEED"); s != "" {
		n, err := strconv.ParseInt(s, 10, 64)
		if err != nil {
			t.Fatalf("DSQLENV_PROPERTY_SEED: %v", err)
		}
		t.Logf("property seed %d", n)
		return n
	}
	return 20261129
}

// randomHostile draws n strings from hostileAlphabet.
func randomHostile(n int) []string { return randomFrom(20261129, hostileAlphabet, n) }

func randomFrom(seed int64, alphabet string, n int) []string {
	runes := []rune(alphabet)
	r := rand.New(rand.NewSource(seed))
	out := make([]string, n)
	for i := range out {
		rs := make([]rune, 1+r.Intn(24))
		for j := range rs {
			rs[j] = runes[r.Intn(len(runes))]
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

// realShells are the shell programs here that read a dialect, each with the flags that keep
// its start-up files out; the way each runs a block comes from its row's Eval.
var realShells = []realShell{
	{"bash", "bash", []string{"--norc", "--noprofile"}},
	{"zsh", "zsh", []string{"-f"}},
	{"dash", "sh", nil},
	{"fish", "fish", []string{"--no-config"}},
}

type realShell struct {
	program, dialect string
	flags            []string
}

// firstRowPerRenderer is the first row of Dialects for each renderer, in the table's order.
func firstRowPerRenderer() []*Dialect {
	var rows []*Dialect
	seen := map[Shell]bool{}
	for _, d := range Dialects {
		if !seen[d.Shell] {
			seen[d.Shell] = true
			rows = append(rows, d)
		}
	}
	return rows
}

// evalInShell writes the block to a file, has the real shell program evaluate it the way the
// dialect's row says (its Eval of `cat "$BLOCK"`: eval "$(…)" or | source) with a stale
// PGSERVICE and PGHOSTADDR set, and returns the environment it then exports, read with
// env -0.
func evalInShell(t *testing.T, program string, flags []string, d *Dialect, block []byte) map[string]string {
	t.Helper()
	shell := program
	path := testkit.RequireTool(t, program)
	dir := t.TempDir()
	blockFile := filepath.Join(dir, "block")
	if err := os.WriteFile(blockFile, block, 0o600); err != nil {
		t.Fatal(err)
	}
	// && runs env only when the eval succeeded, in fish (3.0 and later) as in the POSIX shells.
	args := append(append([]string{}, flags...), "-c", d.Eval(`cat "$BLOCK"`)+" && env -0")
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
	values := append(append([]string{}, hostile...), randomFrom(propertySeed(t), hostileAlphabet, 200)...)
	b := hostileBlock(values)
	for _, d := range Dialects {
		if d.Eval != nil && !d.Windows && !slices.ContainsFunc(realShells, func(r realShell) bool { return r.dialect == d.Name }) {
			t.Errorf("%s: no real shell runs its blocks here: add its program to realShells", d.Name)
		}
	}
	for _, sh := range realShells {
		shell := sh.program
		t.Run(shell, func(t *testing.T) {
			d, ok := Lookup(sh.dialect)
			if !ok || d.Eval == nil {
				t.Fatalf("no dialect %s with an Eval", sh.dialect)
			}
			out, err := d.Shell.Render(b)
			if err != nil {
				t.Fatal(err)
			}
			env := evalInShell(t, sh.program, sh.flags, d, out)
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

// TestUncarriableValuesAreRefused: values with a line break or a NUL byte are refused by
// every dialect, naming the variable, with no output at all.
func TestUncarriableValuesAreRefused(t *testing.T) {
	for i, v := range randomFrom(propertySeed(t)+1, hostileAlphabet+"\n\r\x00", 300) {
		if !strings.ContainsAny(v, "\n\r\x00") {
			continue
		}
		b := Block{Set: []Var{{"PGHOST", "h"}, {"PGPASSWORD", v}}}
		for _, name := range Names() {
			sh, _ := ForShell(name)
			out, err := sh.Render(b)
			var ve *ValueError
			if !errors.As(err, &ve) || ve.Var != "PGPASSWORD" || out != nil {
				t.Errorf("%s: value %d %q: output %q, error %v; want a ValueError for PGPASSWORD and no output", name, i, v, out, err)
			}
		}
	}
}

// TestFishUnsetLeavesUniversalVariables: a block or --unset erases the global variable, never
// a universal one the user saved (set -U), which would be gone from every fish to come.
func TestFishUnsetLeavesUniversalVariables(t *testing.T) {
	fish := testkit.RequireTool(t, "fish")
	out, err := Fish.Render(Block{Unset: []string{"PGOPTIONS"}})
	if err != nil {
		t.Fatal(err)
	}
	home := t.TempDir()
	script := "set -Ux PGOPTIONS universal\n" + string(out) + "echo \"after=$PGOPTIONS\"; set -q -U PGOPTIONS; and echo kept\n" +
		"set -gx PGOPTIONS global\n" + string(out) + "echo \"again=$PGOPTIONS\"; set -q -g PGOPTIONS; or echo gone"
	// Not --no-config, which keeps universal variables from working at all: an empty
	// configuration directory instead.
	cmd := exec.Command(fish, "-c", script)
	cmd.Env = []string{"HOME=" + home, "XDG_CONFIG_HOME=" + home, "XDG_DATA_HOME=" + home, "PATH=" + os.Getenv("PATH")}
	got, err := cmd.CombinedOutput()
	if err != nil || !strings.Contains(string(got), "after=universal\nkept\nagain=universal\ngone\n") {
		t.Errorf("fish unset: %v\n%s", err, got)
	}
}
