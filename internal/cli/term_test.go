package cli

import (
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/dsqlenv/dsqlenv/emit"
	"github.com/dsqlenv/dsqlenv/internal/testkit"
)

// TestControlCharactersNeverReachTheTerminal: values, errors and a server's certificate
// names are shown escaped.
func TestControlCharactersNeverReachTheTerminal(t *testing.T) {
	dir := t.TempDir()
	cfg := writeFile(t, dir, "p.yaml", "profiles:\n  esc:\n    endpoint: "+matrixEndpoint+"\n    user: \"a\\e]0;title\\a\\e[2J\"\n    application_name: \"\\u009b31m\"\n")
	env := awsEnv(t, true, "DSQLENV_CONFIG="+cfg)
	for _, args := range [][]string{{"show", "esc"}, {"list"}, {"--debug", "bash", "esc"}, {"show", "\x1b[2Jnope"}, {"--config", filepath.Join(dir, "\x1b]0;x\a.yaml"), "list"}} {
		r := runBin(t, env, args...)
		shown := r.stderr
		if args[0] == "show" || args[0] == "list" {
			shown += r.stdout
		}
		if strings.ContainsAny(shown, "\x1b\a\u009b") {
			t.Errorf("%q printed a control character: %q", args, shown)
		}
	}
	if r := runBin(t, env, "show", "esc"); !strings.Contains(r.stdout, `a\x1b]0;title\x07\x1b[2J`) || !strings.Contains(r.stdout, `\u009b31m`) {
		t.Errorf("show does not say what the value holds: %q", r.stdout)
	}
	// The block is for a shell: there the value is kept, quoted.
	if r := runBin(t, env, "bash", "esc"); r.code != 0 || !strings.Contains(r.stdout, "export PGUSER='a\x1b]0;title\a\x1b[2J';") {
		t.Errorf("bash block: %+v", r)
	}
}

// TestStdoutToATerminalGetsAHint: a block printed to a terminal is code nobody should read;
// the hint goes to stderr, the block is unchanged.
func TestStdoutToATerminalGetsAHint(t *testing.T) {
	e := testEnv(fixedMint)
	e.StdoutIsTerminal = true
	r := runEnv(t, e, "-c", demoYAML, "bash", "demo")
	cfgWord := demoYAML
	if strings.Contains(demoYAML, `\`) {
		cfgWord = emit.QuotePOSIX(demoYAML) // a Windows path, quoted for bash
	}
	if r.code != 0 || !strings.Contains(r.stderr, `eval "$(dsqlenv -c `+cfgWord+` bash demo)"`) || !strings.HasPrefix(r.stdout, "if :; then :; fi;\nunset ") {
		t.Errorf("terminal: %+v", r)
	}
	for args, want := range map[string]string{"fish --unset": "dsqlenv fish --unset | source", "powershell --unset": "dsqlenv powershell --unset | iex", "cmd --unset": "for /f", "zsh --unset": `eval "$(dsqlenv zsh --unset)"`} {
		if r := runEnv(t, e, strings.Fields(args)...); r.code != 0 || !strings.Contains(r.stderr, want) {
			t.Errorf("%s on a terminal: %+v", args, r)
		}
	}
	if r := runEnv(t, e, "-c", demoYAML, "list"); r.stderr != "" {
		t.Errorf("list on a terminal got a hint: %q", r.stderr)
	}
}

func TestNoHintForFilesOnATerminal(t *testing.T) {
	e := testEnv(fixedMint)
	e.StdoutIsTerminal = true
	for _, dialect := range []string{"json", "env", "dotenv"} {
		if r := runEnv(t, e, "-c", demoYAML, dialect, "demo"); r.code != 0 || r.stderr != "" {
			t.Errorf("%s on a terminal: %+v", dialect, r)
		}
	}
}

// TestABlockOnATerminalShowsNoControlCharacters: printed to a terminal, a block shows a
// profile's escape sequence escaped; piped, its bytes are exact for eval.
func TestABlockOnATerminalShowsNoControlCharacters(t *testing.T) {
	script := testkit.RequireTool(t, "script")
	dir := t.TempDir()
	cfg := writeFile(t, dir, "p.yaml", "profiles:\n  esc:\n    endpoint: "+hardHost+"\n    application_name: \"a\\e]0;PWNED\\ab\"\n")
	cmd := exec.Command(script, "-qec", emit.QuotePOSIX(binPath)+" -c "+emit.QuotePOSIX(cfg)+" bash esc", "/dev/null")
	cmd.Env = awsEnv(t, true)
	r := runCmd(t, cmd)
	if r.code != 0 || strings.Contains(r.stdout, "\x1b]0;") || !strings.Contains(r.stdout, `a\x1b]0;PWNED\x07b`) {
		t.Errorf("on a terminal: exit %d\n%q", r.code, r.stdout)
	}
	r = runBin(t, awsEnv(t, true), "-c", cfg, "bash", "esc")
	if r.code != 0 || !strings.Contains(r.stdout, "export PGAPPNAME='a\x1b]0;PWNED\ab';") {
		t.Errorf("piped: exit %d\n%q", r.code, r.stdout)
	}
}
