package cli

import (
	"crypto/sha256"
	"crypto/x509"
	"encoding/hex"
	"encoding/pem"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/dsqlenv/dsqlenv/internal/roots"
	"github.com/dsqlenv/dsqlenv/internal/testkit"
)

func TestBundledAmazonRootsAreAmazonRootCA1To4(t *testing.T) {
	certs, err := roots.Certificates()
	if err != nil || roots.Check() != nil || len(certs) != 4 {
		t.Fatalf("%v %v: %d certificates", err, roots.Check(), len(certs))
	}
	want := []string{"8ECDE6884F3D87B1125BA31AC3FCB13D7016DE7F57CC904FE1CB97C6AE98196E", "1BA5B2AA8C65401A82960118F80BEC4F62304D83CEC4713A19C39C011EA46DB4",
		"18CE6CFE7BF14E60B2E347B8DFE868CB31D02EBB3ADA271569F50343B46DB3A4", "E35D28419ED02025CFA69038CD623962458DA5C695FBDEA3C22B0BFB25897092"}
	for i, cert := range certs {
		sum := sha256.Sum256(cert.Raw)
		if got := strings.ToUpper(hex.EncodeToString(sum[:])); got != want[i] {
			t.Errorf("certificate %d: fingerprint %s", i+1, got)
		}
	}
	if c := certs[0]; c.Subject.String() != "CN=Amazon Root CA 1,O=Amazon,C=US" || !c.IsCA || c.NotAfter.Format("2006-01-02") != "2038-01-17" {
		t.Errorf("subject %s, CA %v, not after %v", c.Subject, c.IsCA, c.NotAfter)
	}
}

// checkAmazonRoot guards every path that hands the bundle out: a changed certificate, a
// missing one or an extra one is refused.
func TestCheckAmazonRootRefusesAnotherBundle(t *testing.T) {
	orig := roots.PEM
	defer func() { roots.PEM = orig }()
	certs, _ := roots.Certificates()
	pemOf := func(cs ...*x509.Certificate) []byte {
		var b []byte
		for _, c := range cs {
			b = append(b, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: c.Raw})...)
		}
		return b
	}
	other := testkit.NewCA(t, "Amazon Root CA 2")
	for name, bundle := range map[string][]byte{
		"three":    pemOf(certs[:3]...),
		"five":     pemOf(append(certs, certs[0])...),
		"replaced": pemOf(certs[0], other.Cert, certs[2], certs[3]),
		"swapped":  pemOf(certs[1], certs[0], certs[2], certs[3]),
		"last":     pemOf(certs[0], certs[1], certs[2], other.Cert),
	} {
		roots.PEM = bundle
		if err := roots.Check(); err == nil || !strings.Contains(err.Error(), "the binary is damaged") {
			t.Errorf("%s: %v", name, err)
		}
		if r := runApp(t, fixedMint, "cert"); r.code == 0 || r.stdout != "" {
			t.Errorf("%s: cert %+v", name, r)
		}
	}
}

func TestCertWritesTheFileAndPrintsThePath(t *testing.T) {
	r := runApp(t, fixedMint, "cert")
	path := strings.TrimSpace(r.stdout)
	if r.code != 0 || path != filepath.Join(xdgDir, "data", "dsqlenv", "AmazonRootCAs.pem") {
		t.Fatalf("cert: %+v", r)
	}
	b, err := os.ReadFile(path)
	st, _ := os.Stat(path)
	if err != nil || string(b) != string(roots.PEM) || st.Mode().Perm() != permHere(0o644) {
		t.Errorf("file %v mode %v", err, st.Mode())
	}
	os.WriteFile(path, []byte("tampered"), 0o644)
	if r := runApp(t, fixedMint, "cert"); r.code != 0 {
		t.Fatal(r.stderr)
	}
	if b, _ := os.ReadFile(path); string(b) != string(roots.PEM) {
		t.Error("a different file was not replaced")
	}
	r = runApp(t, fixedMint, "cert", "--pem")
	if r.stdout != string(roots.PEM) || strings.Count(r.stdout, "BEGIN CERTIFICATE") != 4 {
		t.Error("--pem did not print the PEM")
	}
}

func TestSSLRootCertAmazonAndWindowsSubstitution(t *testing.T) {
	dir := t.TempDir()
	amazon := writeFile(t, dir, "a.yaml", "profiles:\n  p:\n    endpoint: abcdefghijklmnopqrstuvwxyz.dsql.us-east-1.on.aws\n    sslrootcert: amazon\n")
	system := writeFile(t, dir, "s.yaml", "profiles:\n  p:\n    endpoint: abcdefghijklmnopqrstuvwxyz.dsql.us-east-1.on.aws\n    sslrootcert: system\n")
	path := strings.TrimSpace(runApp(t, fixedMint, "cert").stdout)
	if r := runApp(t, fixedMint, "-c", amazon, "bash", "p"); !strings.Contains(r.stdout, "export PGSSLROOTCERT='"+path+"';\n") || r.stderr != "" {
		t.Errorf("amazon in bash: %+v", r)
	}
	if r := runApp(t, fixedMint, "-c", system, "bash", "p"); !strings.Contains(r.stdout, "export PGSSLROOTCERT='system';\n") {
		t.Errorf("system in bash: %+v", r)
	}
	for dialect, want := range map[string]string{"powershell": "$env:PGSSLROOTCERT = '" + path + "'\r\n", "cmd": `set "PGSSLROOTCERT=` + path + "\"\r\n", "bat": `@set "PGSSLROOTCERT=` + path + "\"\r\n"} {
		r := runApp(t, fixedMint, "-c", system, dialect, "p")
		if r.code != 0 || !strings.Contains(r.stdout, want) || !strings.Contains(r.stderr, "note: sslrootcert system is written as "+path) {
			t.Errorf("%s: %+v", dialect, r)
		}
	}
}

func TestServiceFilePerOS(t *testing.T) {
	r := &run{Env: &Env{GOOS: "windows", Environ: []string{`appdata=C:\Users\ana\AppData\Roaming`}, Paths: Paths{Home: `C:\Users\ana`}}}
	if got := r.serviceFilePath(); got != `C:\Users\ana\AppData\Roaming\postgresql\.pg_service.conf` {
		t.Errorf("windows (names without case): %s", got)
	}
	r.GOOS, r.Paths.Home = "darwin", "/Users/ana"
	if got := r.serviceFilePath(); got != filepath.Join("/Users/ana", ".pg_service.conf") {
		t.Errorf("darwin: %s", got)
	}
	r.GOOS, r.Environ = "linux", []string{"PGSERVICEFILE=/etc/svc.conf"}
	if got := r.serviceFilePath(); got != "/etc/svc.conf" {
		t.Errorf("PGSERVICEFILE: %s", got)
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
	if string(b) != "mine" || st.Mode().Perm() != permHere(0o600) || !lst.Mode().IsRegular() {
		t.Errorf("target %q mode %v; the path is now %v", b, st.Mode().Perm(), lst.Mode())
	}
}

// The bundle is the file every reference names: cert, cert --pem and the default agree.
func TestCertAndTheDefaultShareOneBundle(t *testing.T) {
	cfg := writeFile(t, t.TempDir(), "p.yaml", "profiles:\n  p:\n    endpoint: abcdefghijklmnopqrstuvwxyz.dsql.us-east-1.on.aws\n")
	path := strings.TrimSpace(runApp(t, fixedMint, "cert").stdout)
	if filepath.Base(path) != bundleFile {
		t.Fatalf("cert printed %q", path)
	}
	if r := runApp(t, fixedMint, "-c", cfg, "json", "p"); !strings.Contains(r.stdout, `"PGSSLROOTCERT": `+strconv.Quote(path)) {
		t.Errorf("json block does not name %s:\n%s", path, r.stdout)
	}
	if r := runApp(t, fixedMint, "cert", "--pem"); r.stdout != string(roots.PEM) {
		t.Errorf("cert --pem: %q", r.stdout)
	}
}

// rootsOf is where a run with env writes the bundled roots.
func rootsOf(env []string) string {
	for _, kv := range env {
		if v, ok := strings.CutPrefix(kv, "XDG_DATA_HOME="); ok {
			return filepath.Join(v, "dsqlenv", "AmazonRootCAs.pem")
		}
	}
	panic("no XDG_DATA_HOME")
}
