package cli

import (
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/dsqlenv/dsqlenv/emit"
	"github.com/dsqlenv/dsqlenv/internal/testkit"
)

// The bugs the parallel paths caused, each through the
// binary or the one dispatcher.

const helpProfiles = "profiles:\n" +
	"  help:\n    endpoint: aaaaaaaaaaaaaaaaaaaaaaaaaa.dsql.us-east-1.on.aws\n" +
	"  h:\n    endpoint: hhhhhhhhhhhhhhhhhhhhhhhhhh.dsql.us-east-1.on.aws\n"

func TestAProfileNamedHelpIsAProfile(t *testing.T) {
	cfg := writeFile(t, t.TempDir(), "p.yaml", helpProfiles)
	for _, args := range [][]string{{"bash", "help"}, {"zsh", "h"}, {"fish", "help"}, {"bash", "--", "help"}, {"bash", "h", "--debug"}} {
		r := runApp(t, fixedMint, append([]string{"-c", cfg}, args...)...)
		host := map[string]string{"help": "aaaa", "h": "hhhh"}[args[len(args)-1]]
		if args[len(args)-1] == "--debug" {
			host = "hhhh"
		}
		if r.code != 0 || !strings.Contains(r.stdout, "PGHOST") || !strings.Contains(r.stdout, host) || strings.Contains(r.stdout, "psql") {
			t.Errorf("%v: exit %d, stdout %q", args, r.code, r.stdout)
		}
	}
	r := runApp(t, fixedMint, "-c", cfg, "token", "h")
	if r.code != 0 || !strings.HasPrefix(r.stdout, "hhhh") {
		t.Errorf("token h: %+v", r)
	}
	svc := filepath.Join(t.TempDir(), "svc.conf")
	r = runApp(t, fixedMint, "-c", cfg, "service", "--file", svc, "h")
	if b, _ := os.ReadFile(svc); r.code != 0 || !strings.Contains(string(b), "[h]\n") {
		t.Errorf("service h: %+v\n%s", r, b)
	}
	// Only the flags ask for help, and then help goes to stdout with status 0.
	for _, args := range [][]string{{"bash", "--help"}, {"bash", "prod", "-h"}} {
		if r := runApp(t, fixedMint, args...); r.code != 0 || !strings.Contains(r.stdout, "Examples:") {
			t.Errorf("%v: %+v", args, r)
		}
	}
	// A PROFILE that looks like a flag is a PROFILE after --.
	if r := runApp(t, fixedMint, "-c", cfg, "bash", "--", "-x"); r.code != 1 || !strings.Contains(r.stderr, `no profile "-x"`) || r.stdout != "false\n" {
		t.Errorf("bash -- -x: %+v", r)
	}
}

// TestHookIgnoresAProfileThatIsNotAName: DSQLENV_PROFILE=--help (or help) at an interactive
// zsh or fish prompt must not make the hook run whatever help text says.
func TestHookIgnoresAProfileThatIsNotAName(t *testing.T) {
	for _, name := range []string{"--help", "-h"} {
		for _, shell := range []string{"bash", "zsh"} {
			t.Run(shell+name, func(t *testing.T) {
				bin, count := countingBin(t)
				env := awsEnv(t, true, "TERM=dumb", "DSQLENV_PROFILE="+name, "DSQLENV_EXPIRES_AT=1")
				out, stderr := interactive(t, shell, env, "eval "+emit.QuotePOSIX(hookFor(t, shell, bin))+"\n:\n:\necho done\n")
				if n := starts(t, count); n != 0 || !strings.Contains(out, "done") || strings.Contains(out+stderr, "psql") {
					t.Errorf("DSQLENV_PROFILE=%s: dsqlenv started %d times\n%s\n%s", name, n, out, stderr)
				}
			})
		}
		t.Run("fish"+name, func(t *testing.T) {
			fish := testkit.RequireTool(t, "fish")
			bin, count := countingBin(t)
			cmd := exec.Command(fish, "--no-config", "-c", hookFor(t, "fish", bin)+"\nemit fish_prompt\nemit fish_prompt\necho done")
			cmd.Env = awsEnv(t, true, "DSQLENV_PROFILE="+name, "DSQLENV_EXPIRES_AT=1")
			out, err := cmd.CombinedOutput()
			if n := starts(t, count); err != nil || n != 0 || !strings.Contains(string(out), "done") {
				t.Errorf("fish DSQLENV_PROFILE=%s: %v, %d starts\n%s", name, err, n, out)
			}
		})
	}
}

// switchProfiles: a sets every optional variable, b none of them.
const switchProfiles = "profiles:\n" +
	"  a:\n    endpoint: aaaaaaaaaaaaaaaaaaaaaaaaaa.dsql.us-east-1.on.aws\n    application_name: app-a\n" +
	"    connect_timeout: 7\n    options: '-c amzn-cluster-id=aaaaaaaaaaaaaaaaaaaaaaaaaa'\n" +
	"  b:\n    endpoint: bbbbbbbbbbbbbbbbbbbbbbbbbb.dsql.us-east-1.on.aws\n"

// TestSwitchingProfilesLeavesNothingOfTheFirst: a then b in real shells and through exec
// leaves none of a's variables.
func TestSwitchingProfilesLeavesNothingOfTheFirst(t *testing.T) {
	cfg := writeFile(t, t.TempDir(), "p.yaml", switchProfiles)
	check := func(t *testing.T, out string) {
		env := "\n" + out
		for _, v := range []string{"PGAPPNAME=", "PGCONNECT_TIMEOUT=", "PGOPTIONS=", "PGSERVICE=", "PGHOSTADDR="} {
			if strings.Contains(env, "\n"+v) {
				t.Errorf("%s survived the switch to b", v)
			}
		}
		if !strings.Contains(env, "\nPGHOST=bbbb") || !strings.Contains(env, "\nDSQLENV_PROFILE=b\n") || !strings.Contains(env, "\nKEEP=kept\n") {
			t.Errorf("after the switch:\n%s", out)
		}
	}
	for shell, dialect := range map[string]string{"bash": "bash", "zsh": "zsh", "dash": "sh", "fish": "fish"} {
		t.Run(shell, func(t *testing.T) {
			path := testkit.RequireTool(t, shell)
			script := `eval "$("$BIN" ` + dialect + ` a)" && eval "$("$BIN" ` + dialect + ` b)" && env`
			if shell == "fish" {
				script = `"$BIN" fish a | source; and "$BIN" fish b | source; and env`
			}
			cmd := exec.Command(path, "-c", script)
			cmd.Env = append(awsEnv(t, true, "DSQLENV_CONFIG="+cfg, "KEEP=kept", "PGSERVICE=x", "PGHOSTADDR=127.0.0.2"), "BIN="+binPath)
			out, err := cmd.CombinedOutput()
			if err != nil {
				t.Fatalf("%v\n%s", err, out)
			}
			check(t, string(out))
		})
	}
	t.Run("exec", func(t *testing.T) {
		r := runBin(t, awsEnv(t, true, "DSQLENV_CONFIG="+cfg, "KEEP=kept", "PGAPPNAME=app-a", "PGCONNECT_TIMEOUT=7", "PGOPTIONS=-c x=y", "PGSERVICE=x"), "exec", "b", "--", "env")
		if r.code != 0 {
			t.Fatalf("exec: %+v", r)
		}
		check(t, r.stdout)
	})
}

// TestHookRemintsFromTheFileTheBlockCameFrom: after eval "$(dsqlenv --config other.yaml bash
// prod)", a re-mint reads other.yaml, not the default file that also has a prod.
func TestHookRemintsFromTheFileTheBlockCameFrom(t *testing.T) {
	dir := t.TempDir()
	def := writeFile(t, dir, "default.yaml", "profiles:\n  prod:\n    endpoint: dddddddddddddddddddddddddd.dsql.us-east-1.on.aws\n")
	other := writeFile(t, dir, "other.yaml", "profiles:\n  prod:\n    endpoint: oooooooooooooooooooooooooo.dsql.us-east-1.on.aws\n")
	for _, shell := range []string{"bash", "zsh"} {
		t.Run(shell, func(t *testing.T) {
			bin, count := countingBin(t)
			script := "eval " + emit.QuotePOSIX(hookFor(t, shell, bin)) + "\n" +
				`eval "$("$BIN" --config "$OTHER" ` + shell + ` prod)"` + "\n" +
				"DSQLENV_EXPIRES_AT=" + strconv.FormatInt(time.Now().Unix()+10, 10) + "\n:\n" +
				`echo "HOST=$PGHOST FILE=$DSQLENV_PROFILES_FILE"` + "\n"
			out, stderr := interactive(t, shell, awsEnv(t, true, "TERM=dumb", "DSQLENV_CONFIG="+def, "OTHER="+other, "BIN="+binPath), script)
			if n := starts(t, count); n != 1 || !strings.Contains(out, "HOST=oooo") || !strings.Contains(out, "FILE="+other) {
				t.Errorf("%d re-mints; want one from other.yaml:\n%s\n%s", n, out, stderr)
			}
		})
	}
}

func TestInitWritesTheFileEveryCommandReads(t *testing.T) {
	path := filepath.Join(t.TempDir(), "team", "profiles.yaml")
	e := testEnv(fixedMint, "DSQLENV_CONFIG="+path)
	if r := runEnv(t, e, "init", "--path"); r.code != 0 || r.stdout != path+"\n" {
		t.Fatalf("init --path: %+v", r)
	}
	if r := runEnv(t, e, "init"); r.code != 0 || !strings.Contains(r.stderr, "wrote "+path) {
		t.Fatalf("init: %+v", r)
	}
	if r := runEnv(t, e, "list"); r.code != 0 || !strings.Contains(r.stdout, "prod") {
		t.Errorf("list after init reads another file: %+v", r)
	}
	flag := filepath.Join(t.TempDir(), "flag.yaml")
	if r := runEnv(t, e, "--config", flag, "init"); r.code != 0 {
		t.Fatalf("init --config: %+v", r)
	}
	if _, err := os.Stat(flag); err != nil {
		t.Errorf("--config before init was not honoured: %v", err)
	}
}

// TestUnquotedEvalSetsEveryVariable: eval $(dsqlenv bash p), without the double quotes, sets
// every variable exactly, the token included, in bash, zsh and dash.
func TestUnquotedEvalSetsEveryVariable(t *testing.T) {
	cfg := writeFile(t, t.TempDir(), "p.yaml", "profiles:\n  p:\n    endpoint: pppppppppppppppppppppppppp.dsql.us-east-1.on.aws\n    application_name: a'b&c|d\n    options: -c=x\n")
	for _, shell := range []string{"bash", "zsh", "dash"} {
		t.Run(shell, func(t *testing.T) {
			path := testkit.RequireTool(t, shell)
			cmd := exec.Command(path, "-c", `eval $("$BIN" bash p) && env`)
			cmd.Dir = t.TempDir()
			cmd.Env = append(awsEnv(t, true, "DSQLENV_CONFIG="+cfg, "PGOPTIONS=stale"), "BIN="+binPath)
			out, err := cmd.CombinedOutput()
			if err != nil {
				t.Fatalf("%v\n%s", err, out)
			}
			env := "\n" + string(out)
			for _, want := range []string{"PGHOST=pppppppppppppppppppppppppp.dsql.us-east-1.on.aws", "PGAPPNAME=a'b&c|d", "PGOPTIONS=-c=x", "PGSSLMODE=verify-full", "DSQLENV_PROFILE=p"} {
				if !strings.Contains(env, "\n"+want+"\n") {
					t.Errorf("%s missing after an unquoted eval:\n%s", want, out)
				}
			}
			i := strings.Index(env, "\nPGPASSWORD=")
			if i < 0 {
				t.Fatalf("no PGPASSWORD:\n%s", out)
			}
			tok, _, _ := strings.Cut(env[i+len("\nPGPASSWORD="):], "\n")
			if _, err := testkit.CheckSigV4(tok, testkit.ExampleSecret); err != nil {
				t.Errorf("the token did not survive an unquoted eval: %v", err)
			}
		})
	}
}

// TestStdoutToATerminalGetsAHint: a block printed to a terminal is code nobody should read;
// the hint goes to stderr, the block is unchanged.
func TestStdoutToATerminalGetsAHint(t *testing.T) {
	e := testEnv(fixedMint)
	e.StdoutIsTerminal = true
	r := runEnv(t, e, "-c", demoYAML, "bash", "demo")
	if r.code != 0 || !strings.Contains(r.stderr, `eval "$(dsqlenv -c `+demoYAML+` bash demo)"`) || !strings.HasPrefix(r.stdout, "if :; then :; fi;\nunset ") {
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

// TestFlagsAnywhere: global flags after any command, a flag left without its value, exec's
// flags between PROFILE and COMMAND, and user paths with ~, all through the one dispatcher.
func TestFlagsAnywhere(t *testing.T) {
	dir := t.TempDir()
	cfg := writeFile(t, dir, "p.yaml", "profiles:\n  prod:\n    endpoint: "+matrixEndpoint+"\n")
	for _, args := range [][]string{{"list", "--config", cfg}, {"show", "prod", "-c", cfg, "--debug"}, {"hook", "bash", "--debug"}, {"bash", "prod", "--config=" + cfg, "--timeout", "5s"}} {
		if r := runApp(t, fixedMint, args...); r.code != 0 {
			t.Errorf("%v: %+v", args, r)
		}
	}
	for _, args := range [][]string{{"-c", cfg, "service", "prod", "--file"}, {"bash", "prod", "-c"}, {"-c", cfg, "pgpass", "prod", "--file"}, {"--config"}} {
		r := runApp(t, fixedMint, args...)
		if r.code != 2 || !strings.Contains(r.stderr, "needs a value") {
			t.Errorf("%v: %+v", args, r)
		}
		if _, err := os.Stat("--"); err == nil {
			os.Remove("--")
			t.Errorf("%v wrote a file named --", args)
		}
	}
	if r := runApp(t, fixedMint, "bash", "prod", "-c"); r.stdout != "false\n" {
		t.Errorf("a bash line with a flag left without its value printed %q", r.stdout)
	}
	// exec: dsqlenv's flags before COMMAND, COMMAND's own after it.
	r := runBin(t, awsEnv(t, true, "DSQLENV_CONFIG="+cfg), "exec", "prod", "--debug", "--", "sh", "-c", "echo ran $PGHOST", "--debug")
	if r.code != 0 || !strings.Contains(r.stdout, "ran "+matrixEndpoint) || !strings.Contains(r.stderr, "debug:") {
		t.Errorf("exec with --debug after PROFILE: %+v", r)
	}
	// --file=~/x is the user's home, never a directory named ~.
	e := testEnv(fixedMint, "DSQLENV_CONFIG="+cfg)
	e.Paths.Home = t.TempDir()
	if r := runEnv(t, e, "service", "--file=~/svc.conf", "prod"); r.code != 0 {
		t.Fatalf("service --file=~/svc.conf: %+v", r)
	}
	if _, err := os.Stat(filepath.Join(e.Paths.Home, "svc.conf")); err != nil {
		t.Errorf("~ in --file was not the home directory: %v", err)
	}
	// A section outlives its profile: --remove needs only the name.
	svc := filepath.Join(e.Paths.Home, "svc.conf")
	cfg2 := writeFile(t, dir, "other.yaml", "profiles:\n  other:\n    endpoint: "+matrixEndpoint+"\n")
	if r := runEnv(t, e, "-c", cfg2, "service", "--remove", "--file", svc, "prod"); r.code != 0 || !strings.Contains(r.stderr, "removed [prod]") {
		t.Errorf("removing the section of a deleted profile: %+v", r)
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
