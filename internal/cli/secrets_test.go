package cli

import (
	"net"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/dsqlenv/dsqlenv/internal/testkit"
)

const exampleSessionToken = "IQoJb3JpZ2luX2VjEXAMPLESESSIONTOKENdsqlenvTEST"

var fullSigRE = regexp.MustCompile(`X-Amz-Signature=([0-9a-f]{64})`)

// TestDebugNeverShowsASecret runs every command that mints, with --debug and a session
// token: the signatures it produced, the session token and the secret key never reach
// stderr, and --debug shows where it redacted them. doctor prints no token at all.
func TestDebugNeverShowsASecret(t *testing.T) {
	dir := t.TempDir()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	closedPort := l.Addr().(*net.TCPAddr).Port
	l.Close() // a port nothing listens on: doctor's connection checks fail at once, locally
	cfg := writeFile(t, dir, "p.yaml", "profiles:\n  demo:\n    endpoint: "+matrixEndpoint+"\n  local:\n    endpoint: 127.0.0.1\n"+
		"    region: us-east-1\n    port: "+strconv.Itoa(closedPort)+"\n    sslrootcert: amazon\n    connect_timeout: 2\n")
	pass := filepath.Join(dir, "pgpass")
	env := awsEnv(t, true, "AWS_SESSION_TOKEN="+exampleSessionToken, "DSQLENV_CONFIG="+cfg)
	for _, args := range [][]string{
		{"bash", "demo"}, {"fish", "demo"}, {"powershell", "demo"}, {"cmd", "demo"}, {"bat", "demo"}, {"env", "demo"},
		{"json", "demo"}, {"token", "demo"}, {"pgpass", "--file", pass, "demo"}, {"doctor", "local"},
		{"exec", "demo", "--", "sh", "-c", `printf '%s\n' "$PGPASSWORD"`},
	} {
		r := runBin(t, env, append([]string{"--debug"}, args...)...)
		if args[0] != "doctor" && r.code != 0 {
			t.Errorf("%v: exit %d: %s", args, r.code, r.stderr)
			continue
		}
		produced := r.stdout
		if args[0] == "pgpass" {
			b, _ := os.ReadFile(pass)
			produced = string(b)
		}
		sigs := fullSigRE.FindAllStringSubmatch(produced, -1)
		if args[0] == "doctor" {
			if len(sigs) > 0 || strings.Contains(r.stdout+r.stderr, exampleSessionToken) {
				t.Errorf("doctor printed a token:\n%s%s", r.stdout, r.stderr)
			}
		} else if len(sigs) == 0 {
			t.Errorf("%v: no token in the output to check against", args)
		}
		for _, m := range sigs {
			if strings.Contains(r.stderr, m[1]) {
				t.Errorf("%v: the signature reached stderr:\n%s", args, r.stderr)
			}
		}
		for _, secret := range []string{exampleSessionToken, testkit.ExampleSecret} {
			if strings.Contains(r.stderr, secret) {
				t.Errorf("%v: a secret reached stderr:\n%s", args, r.stderr)
			}
		}
		if args[0] != "doctor" && (!strings.Contains(r.stderr, "X-Amz-Signature=REDACTED") || !strings.Contains(r.stderr, "X-Amz-Security-Token=REDACTED")) {
			t.Errorf("%v: --debug shows no redacted token:\n%s", args, r.stderr)
		}
	}
	if st, err := os.Stat(pass); err != nil || st.Mode().Perm() != 0o600 {
		t.Errorf("pgpass mode: %v %v", st.Mode(), err)
	}
}
