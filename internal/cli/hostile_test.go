package cli

import (
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/dsqlenv/dsqlenv/internal/testkit"
)

// Hostile input through the binary: files that are not files, section headers as libpq reads
// them, hand-written sections, control characters, relative paths.

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

// TestDoctorEscapesAServersCertificateNames: whoever answers at the endpoint chooses the
// names in its certificate; doctor shows them escaped.
func TestDoctorEscapesAServersCertificateNames(t *testing.T) {
	// PostgreSQL itself, not the DSQL double: the test swaps the server's certificate, and
	// doctor stops at the TLS step, before a token is sent.
	pg := testkit.StartPostgresWith(t, testkit.Options{Version: 18, TrustTLS: true}) // takes direct TLS, the default
	trusted := testkit.NewCA(t, "trusted")
	caFile := writeFile(t, t.TempDir(), "ca.pem", string(trusted.CertPEM))
	cfg := writeFile(t, t.TempDir(), "p.yaml", fmt.Sprintf("profiles:\n  p:\n    endpoint: localhost\n    region: us-east-1\n    port: %d\n    sslrootcert: %s\n", pg.Port, caFile))
	env := awsEnv(t, true, "DSQLENV_CONFIG="+cfg)
	evil := testkit.NewCA(t, "evil\x1b]0;pwned\a\x1b[2J")
	crt, key := evil.Issue(t, []string{"localhost"}, []net.IP{net.ParseIP("127.0.0.1")}, time.Now().Add(time.Hour))
	pg.ReplaceCert(t, crt, key)
	r := runBin(t, env, "doctor", "p")
	if r.code != 1 || strings.ContainsAny(r.stdout+r.stderr, "\x1b\a") || !strings.Contains(r.stdout, `evil\x1b]0;pwned`) {
		t.Errorf("doctor with a hostile issuer name: exit %d\n%q", r.code, r.stdout)
	}
	crt, key = trusted.Issue(t, []string{"x\x1b[2J.example"}, nil, time.Now().Add(time.Hour))
	pg.ReplaceCert(t, crt, key)
	r = runBin(t, env, "doctor", "p")
	if r.code != 1 || strings.ContainsAny(r.stdout+r.stderr, "\x1b\a") || !strings.Contains(r.stdout, "wrong host name") {
		t.Errorf("doctor with a hostile host name: exit %d\n%q", r.code, r.stdout)
	}
}

// TestRelativeSSLRootCertIsTheProfileFilesNeighbour: sslrootcert: ca.pem means the ca.pem
// beside the profiles file, written absolute, whatever directory dsqlenv runs in.
func TestRelativeSSLRootCertIsTheProfileFilesNeighbour(t *testing.T) {
	dir := t.TempDir()
	writeFile(t, dir, "ca.pem", "not checked here")
	cfg := writeFile(t, dir, "p.yaml", "profiles:\n  p:\n    endpoint: "+matrixEndpoint+"\n    sslrootcert: ca.pem\n")
	elsewhere := t.TempDir()
	writeFile(t, elsewhere, "ca.pem", "an attacker's CA in the working directory")
	cmd := exec.Command(binPath, "--config", cfg, "bash", "p")
	cmd.Dir = elsewhere
	cmd.Env = awsEnv(t, true)
	r := runCmd(t, cmd)
	if want := "export PGSSLROOTCERT='" + filepath.Join(dir, "ca.pem") + "';"; r.code != 0 || !strings.Contains(r.stdout, want) {
		t.Errorf("want %s:\n%+v", want, r)
	}
	svc := filepath.Join(elsewhere, "svc.conf")
	cmd = exec.Command(binPath, "--config", cfg, "service", "--file", svc, "p")
	cmd.Dir, cmd.Env = elsewhere, awsEnv(t, true)
	if r := runCmd(t, cmd); r.code != 0 {
		t.Fatal(r.stderr)
	}
	if b, _ := os.ReadFile(svc); !strings.Contains(string(b), "sslrootcert="+filepath.Join(dir, "ca.pem")+"\n") {
		t.Errorf("service file:\n%s", b)
	}
	// Run from the profiles file's own directory with a relative --config, too.
	cmd = exec.Command(binPath, "--config", "p.yaml", "bash", "p")
	cmd.Dir, cmd.Env = dir, awsEnv(t, true)
	if r := runCmd(t, cmd); !strings.Contains(r.stdout, "export PGSSLROOTCERT='"+filepath.Join(dir, "ca.pem")+"';") {
		t.Errorf("relative --config: %+v", r)
	}
}

// TestMalformedCredentialProcessOutputIsNotPrinted: a credential_process whose JSON is almost
// right (a trailing comma) still holds a secret key; the SDK's error quotes the output whole.
func TestMalformedCredentialProcessOutputIsNotPrinted(t *testing.T) {
	dir := t.TempDir()
	cfg := writeFile(t, dir, "p.yaml", "profiles:\n  p:\n    endpoint: "+matrixEndpoint+"\n    aws_profile: bad\n")
	awsConfig := writeFile(t, dir, "aws-config", "[profile bad]\ncredential_process = printf '{\"Version\": 1, \"AccessKeyId\": \"AKIAIOSFODNN7EXAMPLE\", \"SecretAccessKey\": \"SUPERSECRETKEYVALUE1234\", \"SessionToken\": \"TOKENSECRET\",}'\n")
	env := append(awsEnv(t, false, "DSQLENV_CONFIG="+cfg), "AWS_CONFIG_FILE="+awsConfig)
	for _, args := range [][]string{{"bash", "p"}, {"--debug", "token", "p"}, {"doctor", "p"}} {
		r := runBin(t, env, args...)
		if r.code != 1 || strings.Contains(r.stdout+r.stderr, "SUPERSECRET") || strings.Contains(r.stdout+r.stderr, "TOKENSECRET") {
			t.Errorf("%v: exit %d, a secret reached the output:\n%s%s", args, r.code, r.stdout, r.stderr)
		}
		if !strings.Contains(r.stdout+r.stderr, "not the JSON the AWS CLI expects") || !strings.Contains(r.stdout+r.stderr, "run the credential_process of AWS profile bad") {
			t.Errorf("%v: the message does not say what is wrong:\n%s%s", args, r.stdout, r.stderr)
		}
	}
}

// TestBundledRootsReplaceALinkInsteadOfWritingThroughIt: the roots' path is dsqlenv's own; a
// symbolic link there must not make dsqlenv overwrite (and chmod 0644) what it points at.
func TestBundledRootsReplaceALinkInsteadOfWritingThroughIt(t *testing.T) {
	e := testEnv(fixedMint)
	e.Paths.DataHome = t.TempDir()
	secret := writeFile(t, t.TempDir(), "secret", "mine")
	path := filepath.Join(e.Paths.DataHome, "dsqlenv", "AmazonRootCAs.pem")
	os.MkdirAll(filepath.Dir(path), 0o700)
	if err := os.Symlink(secret, path); err != nil {
		t.Fatal(err)
	}
	if r := runEnv(t, e, "cert"); r.code != 0 || strings.TrimSpace(r.stdout) != path {
		t.Fatalf("cert: %+v", r)
	}
	b, _ := os.ReadFile(secret)
	st, _ := os.Stat(secret)
	lst, _ := os.Lstat(path)
	if string(b) != "mine" || st.Mode().Perm() != 0o600 || !lst.Mode().IsRegular() {
		t.Errorf("target %q mode %v; the path is now %v", b, st.Mode().Perm(), lst.Mode())
	}
}
