package cli

import (
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/dsqlenv/dsqlenv/emit"
	"github.com/dsqlenv/dsqlenv/internal/testkit"
)

const completeProfiles = "profiles:\n  prod:\n    endpoint: a.dsql.us-east-1.on.aws\n  prod-eu:\n    endpoint: b.dsql.eu-west-1.on.aws\n  staging:\n    endpoint: c.dsql.us-east-1.on.aws\n"

func TestCompleteCandidates(t *testing.T) {
	dir := t.TempDir()
	cfg := writeFile(t, dir, "p.yaml", completeProfiles)
	other := writeFile(t, dir, "other.yaml", "profiles:\n  elsewhere:\n    endpoint: d.dsql.us-east-1.on.aws\n")
	broken := writeFile(t, dir, "broken.yaml", "profiles: [\n")
	badName := writeFile(t, dir, "bad-name.yaml", "profiles:\n  \"$(touch x)\":\n    endpoint: d.dsql.us-east-1.on.aws\n  good:\n    endpoint: e.dsql.us-east-1.on.aws\n")
	r := &run{Env: testEnv(fixedMint, "DSQLENV_CONFIG="+cfg)}
	app := newApp(r)
	for _, tc := range []struct {
		words []string
		cur   string
		want  string
	}{
		{nil, "p", "pgpass powershell proxy pwsh"},
		{nil, "ex", "exec"},
		{nil, "a", "add"},
		{nil, "cl", "clusters"},
		{[]string{"add"}, "", ""}, // a new NAME: no profile names
		{[]string{"clusters"}, "--a", "--add --aws-profile"},
		{nil, "--c", "--config"},
		{[]string{"bash"}, "", "prod prod-eu staging"},
		{[]string{"bash"}, "prod-", "prod-eu"},
		{[]string{"bash", "prod"}, "", ""}, // one PROFILE only
		{[]string{"-c", other, "fish"}, "", "elsewhere"},
		{[]string{"--config=" + other, "show"}, "", "elsewhere"},
		{[]string{"bash", "--config", other}, "", "elsewhere"},
		{[]string{"-c", broken, "bash"}, "", ""},      // a broken file gives nothing, silently
		{[]string{"-c", badName, "bash"}, "", "good"}, // a name that is no name is never offered for the line
		{[]string{"service", "prod"}, "s", "staging"},
		{[]string{"exec"}, "st", "staging"},
		{[]string{"exec", "prod", "--"}, "", ""},
		{[]string{"hook"}, "", "bash fish powershell pwsh zsh"},
		{[]string{"bash", "prod", "--debug"}, "", ""}, // flags after the PROFILE
		{[]string{"completion"}, "z", "zsh"},
		{[]string{"bash"}, "--u", "--unset"},
		{[]string{"service"}, "--p", "--passfile --proxy"},
		{[]string{"service", "--file"}, "", ""}, // a file name: the shell completes it
		{[]string{"tcsh"}, "", ""},
		{nil, "__", ""},                                                       // the hidden command is not offered
		{[]string{"list"}, "--h", "--help"},                                   // once
		{[]string{"bash"}, "--", "--config --debug --help --timeout --unset"}, // no --version after a command
	} {
		got := strings.Join(complete(r, app, tc.words, tc.cur), " ")
		if got != tc.want {
			t.Errorf("complete(%q, %q) = %q, want %q", tc.words, tc.cur, got, tc.want)
		}
	}
}

// TestBashCompletionFunction drives the registered completion function the way bash does on
// Tab: COMP_WORDS and COMP_CWORD set, then the function named by `complete -p dsqlenv`.
func TestBashCompletionFunction(t *testing.T) {
	bash := testkit.RequireTool(t, "bash")
	dir := t.TempDir()
	cfg := writeFile(t, dir, "p.yaml", completeProfiles)
	other := writeFile(t, dir, "o.yaml", "profiles:\n  elsewhere:\n    endpoint: d.dsql.us-east-1.on.aws\n")
	for _, tc := range []struct{ words, want string }{
		{`(dsqlenv bash '')`, "prod prod-eu staging"},
		{`(dsqlenv show pr)`, "prod prod-eu"},
		{`(dsqlenv -c "$OTHER" zsh '')`, "elsewhere"},
		{`(dsqlenv '')`, strings.Join(complete(&run{Env: testEnv(fixedMint)}, newApp(&run{Env: testEnv(fixedMint)}), nil, ""), " ")},
	} {
		script := `eval "$("$BIN" completion bash)" || exit 1
spec=$(complete -p dsqlenv) || exit 1
fn=${spec#*-F }; fn=${fn%% *}
COMP_WORDS=` + tc.words + `; COMP_CWORD=$(( ${#COMP_WORDS[@]} - 1 ))
"$fn" dsqlenv "${COMP_WORDS[COMP_CWORD]}" "${COMP_WORDS[COMP_CWORD-1]}"
echo "$spec"
printf '%s\n' "${COMPREPLY[*]}"`
		cmd := exec.Command(bash, "--norc", "--noprofile", "-c", script)
		cmd.Env = awsEnv(t, false, "BIN="+binPath, "DSQLENV_CONFIG="+cfg, "OTHER="+other)
		out, err := cmd.CombinedOutput()
		if err != nil {
			t.Fatalf("%s: %v\n%s", tc.words, err, out)
		}
		lines := strings.Split(strings.TrimSuffix(string(out), "\n"), "\n")
		if len(lines) != 2 || lines[1] != tc.want || !strings.Contains(lines[0], "-o default") {
			t.Errorf("COMP_WORDS=%s: got %q, want %q", tc.words, lines, tc.want)
		}
	}
}

func TestFishCompletion(t *testing.T) {
	fish := testkit.RequireTool(t, "fish")
	dir := t.TempDir()
	cfg := writeFile(t, dir, "p.yaml", completeProfiles)
	r := runBin(t, awsEnv(t, false), "completion", "fish")
	if r.code != 0 {
		t.Fatal(r.stderr)
	}
	script := filepath.Join(dir, "dsqlenv.fish")
	writeFile(t, dir, "dsqlenv.fish", r.stdout)
	if out, err := exec.Command(fish, "--no-config", "-n", script).CombinedOutput(); err != nil {
		t.Fatalf("fish -n: %v\n%s", err, out)
	}
	// complete -C asks fish for the completions of a command line, as Tab does.
	cmd := exec.Command(fish, "--no-config", "-c", "source "+emit.QuoteFish(script)+"; complete -C 'dsqlenv bash '; complete -C 'dsqlenv hoo'")
	cmd.Env = awsEnv(t, false, "DSQLENV_CONFIG="+cfg)
	out, err := cmd.CombinedOutput()
	if err != nil || string(out) != "prod\nprod-eu\nstaging\nhook\n" {
		t.Errorf("fish completions: %v %q", err, out)
	}
}

func TestZshAndPowerShellCompletionScripts(t *testing.T) {
	zsh := testkit.RequireTool(t, "zsh")
	r := runBin(t, awsEnv(t, false), "completion", "zsh")
	cmd := exec.Command(zsh, "-f", "-n")
	cmd.Stdin = strings.NewReader(r.stdout)
	if out, err := cmd.CombinedOutput(); r.code != 0 || err != nil {
		t.Errorf("zsh -n: exit %d %v\n%s", r.code, err, out)
	}
	// Loaded into a zsh with compinit, the script registers _dsqlenv for dsqlenv.
	cmd = exec.Command(zsh, "-f", "-c", `autoload -Uz compinit && compinit -D && eval "$("$BIN" completion zsh)" && print -r -- ${_comps[dsqlenv]}`)
	cmd.Env = awsEnv(t, false, "BIN="+binPath)
	if out, err := cmd.CombinedOutput(); err != nil || string(out) != "_dsqlenv\n" {
		t.Errorf("zsh registration: %v %q", err, out)
	}
	// Installed in fpath (the .deb's /usr/share/zsh/vendor-completions/_dsqlenv), the file is
	// autoloaded as _dsqlenv by the first Tab, which must complete too. compadd stands in for
	// zsh's and prints what would be offered.
	dir := t.TempDir()
	writeFile(t, dir, "_dsqlenv", r.stdout)
	cmd = exec.Command(zsh, "-f", "-c", `fpath=("$DIR" $fpath); autoload -Uz compinit && compinit -D
compadd() { print -rl -- ${(P)2}; }
words=(dsqlenv hoo); CURRENT=2
_dsqlenv`)
	cmd.Env = awsEnv(t, false, "DIR="+dir)
	if out, err := cmd.CombinedOutput(); err != nil || string(out) != "hook\n" {
		t.Errorf("zsh, autoloaded from fpath, first Tab: %v %q, want \"hook\\n\"", err, out)
	}
	p := runApp(t, fixedMint, "completion", "powershell")
	if p.code != 0 || strings.Count(p.stdout, "\r\n") != strings.Count(p.stdout, "\n") {
		t.Fatalf("powershell: exit %d, lines must end in CRLF", p.code)
	}
	golden(t, filepath.Join("testdata", "golden", "completion-powershell.txt"), strings.ReplaceAll(p.stdout, emit.QuotePowerShell(binPath), "'$BIN'"))
	if !strings.Contains(p.stdout, "Register-ArgumentCompleter -Native -CommandName 'dsqlenv', 'dsqlenv.exe'") {
		t.Error("powershell script registers no completer")
	}
	for _, args := range [][]string{{"completion"}, {"completion", "tcsh"}} {
		if r := runApp(t, fixedMint, args...); r.code != 2 || r.stdout != "" {
			t.Errorf("%v: %+v", args, r)
		}
	}
}
