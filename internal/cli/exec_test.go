package cli

import (
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	"github.com/dsqlenv/dsqlenv/internal/testkit"
	"github.com/dsqlenv/dsqlenv/profiles"
)

func TestExecRunsTheCommandWithAFreshToken(t *testing.T) {
	testkit.UnixOnly(t, "runs sh; exec on Windows: TestWindowsExecPassesArgumentsEnvironmentAndStatus")
	env := awsEnv(t, true, "PGSERVICE=stale", "PGHOSTADDR=127.0.0.2", "PGPASSWORD=old", "KEEP=kept")
	r := runBin(t, env, "-c", demoYAML, "exec", "demo", "--", "sh", "-c",
		`printf '%s\n' "${PGSERVICE-none}" "${PGHOSTADDR-none}" "$KEEP" "$PGHOST" "$PGSSLMODE" "$DSQLENV_PROFILE" "$PGPASSWORD"`)
	if r.code != 0 || r.stderr != "" {
		t.Fatalf("exit %d: %s", r.code, r.stderr)
	}
	lines := strings.Split(strings.TrimSuffix(r.stdout, "\n"), "\n")
	want := []string{"none", "none", "kept", "abcdefghijklmnopqrstuvwxyz.dsql.us-east-1.on.aws", "verify-full", "demo"}
	if len(lines) != 7 || strings.Join(lines[:6], "|") != strings.Join(want, "|") {
		t.Fatalf("child saw %q, want %q and a token", lines, want)
	}
	q, err := testkit.CheckSigV4(lines[6], testkit.ExampleSecret)
	if err != nil {
		t.Fatalf("the child's PGPASSWORD does not verify: %v", err)
	}
	if q.Get("Action") != "DbConnectAdmin" {
		t.Errorf("Action %s", q.Get("Action"))
	}
}

func TestExecStatuses(t *testing.T) {
	testkit.UnixOnly(t, "runs sh and a file without the execute bit; exec on Windows: TestWindowsExecPassesArgumentsEnvironmentAndStatus")
	notExec := writeFile(t, t.TempDir(), "not-executable", "#!/bin/sh\n")
	for _, tc := range []struct {
		name   string
		keys   bool
		args   []string
		code   int
		stderr string
	}{
		{"child status", true, []string{"demo", "--", "sh", "-c", "exit 7"}, 7, ""},
		{"without --", true, []string{"demo", "sh", "-c", "exit 3"}, 3, ""},
		// The program is looked up before any credentials: no keys, and still 127.
		{"missing program", false, []string{"demo", "--", "no-such-program-dsqlenv"}, 127, "dsqlenv: exec: cannot run no-such-program-dsqlenv: executable file not found in $PATH\n"},
		{"not executable", true, []string{"demo", "--", notExec}, 126, "permission denied"},
		{"no command", true, []string{"demo", "--"}, 2, "dsqlenv: exec: missing COMMAND after demo"},
		{"nothing", true, nil, 2, "dsqlenv: exec: missing PROFILE and COMMAND"},
		{"unknown profile", true, []string{"nope", "--", "true"}, 1, `dsqlenv: no profile "nope"`},
		{"no credentials", false, []string{"demo", "--", "true"}, 1, "dsqlenv: profile demo: no AWS credentials"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := runBin(t, awsEnv(t, tc.keys), append([]string{"-c", demoYAML, "exec"}, tc.args...)...)
			if r.code != tc.code || r.stdout != "" || !strings.Contains(r.stderr, tc.stderr) {
				t.Errorf("exit %d stdout %q stderr %q; want exit %d, stderr with %q", r.code, r.stdout, r.stderr, tc.code, tc.stderr)
			}
			if tc.stderr != "" && strings.Count(r.stderr, "\n") != 1 {
				t.Errorf("want one line on stderr: %q", r.stderr)
			}
		})
	}
}

func TestChildEnv(t *testing.T) {
	got := childEnv([]string{"A=1", "PGSERVICE=x", "PGHOST=old", "PGHOSTADDR=1.2.3.4", "B=2=3", "PGOPTIONS=-c amzn-cluster-id=old"},
		(&session{conn: &profiles.Connection{Profile: "min", Host: "h", Port: 5432}, token: "tok"}).block(), false)
	if got[0] != "A=1" || got[1] != "B=2=3" {
		t.Errorf("foreign variables not kept first and intact: %q", got)
	}
	for _, kv := range got {
		if strings.HasPrefix(kv, "PGSERVICE=") || strings.HasPrefix(kv, "PGHOSTADDR=") || kv == "PGHOST=old" || strings.HasPrefix(kv, "PGOPTIONS=") {
			t.Errorf("childEnv kept %s", kv)
		}
	}
}

// TestUnsetRemovesEveryVariableABlockSets evals a full block, then `SHELL --unset`, in real
// shells: every variable the block set is gone and nothing else is touched.
func TestUnsetRemovesEveryVariableABlockSets(t *testing.T) {
	names := map[string]bool{}
	full := &session{conn: fullConnection(), file: "/p.yaml", rootCert: "/ca.pem", urlRootCert: "/ca.pem", token: "tok?X-Amz-Date=20261129T120000Z&X-Amz-Expires=900"}
	full.info, _ = profiles.ParseToken(full.token)
	b := full.block()
	for _, v := range b.Set {
		names[v.Name] = true
	}
	delete(names, "DATABASE_URL") // the URL's own variable is the profile's choice, not a table row
	if len(names) != len(managedVars()) || strings.Join(b.Unset, " ") != strings.Join(redirectVars, " ") {
		t.Fatalf("the managed variables %v are not exactly what a full block sets %v (it also unsets %v)", managedVars(), names, b.Unset)
	}
	for _, n := range managedVars() {
		if !names[n] {
			t.Fatalf("managedVars has %s, which no block sets", n)
		}
	}
	cfg := writeFile(t, t.TempDir(), "full.yaml", "profiles:\n  full:\n    endpoint: abcdefghijklmnopqrstuvwxyz.dsql.us-east-1.on.aws\n"+
		"    application_name: app\n    connect_timeout: 5\n    options: '-c x=y'\n    database_url: DATABASE_URL\n")
	for shell, dialect := range map[string]string{"bash": "bash", "zsh": "zsh", "dash": "sh", "fish": "fish"} {
		t.Run(shell, func(t *testing.T) {
			path := testkit.RequireTool(t, shell)
			script := `eval "$("$BIN" ` + dialect + ` full)" && eval "$("$BIN" -c /nonexistent ` + dialect + ` --unset)" && env`
			if shell == "fish" {
				script = `"$BIN" fish full | source; and "$BIN" -c /nonexistent fish --unset | source; and env`
			}
			cmd := exec.Command(path, "-c", script)
			cmd.Env = append(awsEnv(t, true, "DSQLENV_CONFIG="+cfg, "KEEP=kept", "PGSERVICE=x"), "BIN="+binPath)
			out, err := cmd.CombinedOutput()
			if err != nil {
				t.Fatalf("%v\n%s", err, out)
			}
			left := []string{}
			for _, line := range strings.Split(string(out), "\n") {
				if name, _, _ := strings.Cut(line, "="); names[name] {
					left = append(left, line)
				}
			}
			if len(left) > 0 {
				t.Errorf("after --unset these are still set: %q", left)
			}
			if all := "\n" + string(out); !strings.Contains(all, "\nKEEP=kept\n") || !strings.Contains(all, "\nDSQLENV_CONFIG="+cfg+"\n") {
				t.Errorf("--unset removed variables a block does not set:\n%s", out)
			}
		})
	}
}

// TestUnsetWindowsDialects: PowerShell, cmd and bat cannot run here, so each line is checked
// against the one form that removes a variable in that shell, and every name is covered.
func TestUnsetWindowsDialects(t *testing.T) {
	forms := map[string][2]string{
		"powershell": {"Remove-Item Env:", " -ErrorAction SilentlyContinue"},
		"cmd":        {`set "`, `="`},
		"bat":        {`@set "`, `="`},
	}
	for dialect, form := range forms {
		r := runApp(t, fixedMint, "-c", "/nonexistent", dialect, "--unset")
		if r.code != 0 || r.stderr != "" {
			t.Fatalf("%s --unset: exit %d: %s", dialect, r.code, r.stderr)
		}
		golden(t, filepath.Join("testdata", "golden", dialect+"-unset.txt"), r.stdout)
		var got []string
		for _, line := range strings.SplitAfter(r.stdout, "\r\n") {
			if line == "" {
				continue
			}
			name, ok := strings.CutPrefix(strings.TrimSuffix(line, "\r\n"), form[0])
			name, ok2 := strings.CutSuffix(name, form[1])
			if !ok || !ok2 || !strings.HasSuffix(line, "\r\n") {
				t.Errorf("%s: unexpected line %q", dialect, line)
			}
			got = append(got, name)
		}
		want := managedVars()
		sort.Strings(got)
		sort.Strings(want)
		if strings.Join(got, " ") != strings.Join(want, " ") {
			t.Errorf("%s removes %v, want %v", dialect, got, want)
		}
	}
	for _, args := range [][]string{{"env", "--unset"}, {"json", "--unset"}, {"bash", "--unset", "prod"}} {
		r := runApp(t, fixedMint, args...)
		if r.code != 2 || strings.Count(r.stderr, "\n") != 1 {
			t.Errorf("%v: exit %d stderr %q", args, r.code, r.stderr)
		}
	}
}

// fullConnection sets every optional field, so a block from it sets every variable.
func fullConnection() *profiles.Connection {
	return &profiles.Connection{Profile: "full", Host: "h", VPCEndpoint: "10.0.0.5", HostAddr: "10.0.0.5", Port: 5432, Database: "postgres", User: "admin",
		SSLMode: "verify-full", SSLRootCert: "/ca.pem", SSLNegotiation: "direct", ApplicationName: "app", ConnectTimeout: 5, Options: "-c x=y", DatabaseURL: "DATABASE_URL"}
}
