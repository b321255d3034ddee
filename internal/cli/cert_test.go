package cli

import (
	"crypto/sha256"
	"encoding/hex"
	"os"
	"strings"
	"testing"

	"github.com/dsqlenv/dsqlenv/templates"
)

func TestBundledAmazonRootIsAmazonRootCA1(t *testing.T) {
	cert, err := amazonRoot()
	if err != nil {
		t.Fatal(err)
	}
	sum := sha256.Sum256(cert.Raw)
	if got := strings.ToUpper(hex.EncodeToString(sum[:])); got != "8ECDE6884F3D87B1125BA31AC3FCB13D7016DE7F57CC904FE1CB97C6AE98196E" {
		t.Errorf("fingerprint %s", got)
	}
	if cert.Subject.String() != "CN=Amazon Root CA 1,O=Amazon,C=US" || !cert.IsCA || cert.NotAfter.Format("2006-01-02") != "2038-01-17" {
		t.Errorf("subject %s, CA %v, not after %v", cert.Subject, cert.IsCA, cert.NotAfter)
	}
}

func TestCertWritesTheFileAndPrintsThePath(t *testing.T) {
	r := runApp(t, fixedMint, "cert")
	path := strings.TrimSpace(r.stdout)
	if r.code != 0 || !strings.HasPrefix(path, xdgDir) || !strings.HasSuffix(path, "/dsqlenv/AmazonRootCA1.pem") {
		t.Fatalf("cert: %+v", r)
	}
	b, err := os.ReadFile(path)
	st, _ := os.Stat(path)
	if err != nil || string(b) != string(templates.AmazonRootCA1) || st.Mode().Perm() != 0o644 {
		t.Errorf("file %v mode %v", err, st.Mode())
	}
	os.WriteFile(path, []byte("tampered"), 0o644)
	if r := runApp(t, fixedMint, "cert"); r.code != 0 {
		t.Fatal(r.stderr)
	}
	if b, _ := os.ReadFile(path); string(b) != string(templates.AmazonRootCA1) {
		t.Error("a different file was not replaced")
	}
	r = runApp(t, fixedMint, "cert", "--pem")
	if r.stdout != string(templates.AmazonRootCA1) {
		t.Error("--pem did not print the PEM")
	}
}

func TestSSLRootCertAmazonAndWindowsSubstitution(t *testing.T) {
	dir := t.TempDir()
	amazon := writeFile(t, dir, "a.yaml", "profiles:\n  p:\n    endpoint: abcdefghijklmnopqrstuvwxyz.dsql.us-east-1.on.aws\n    sslrootcert: amazon\n")
	system := writeFile(t, dir, "s.yaml", "profiles:\n  p:\n    endpoint: abcdefghijklmnopqrstuvwxyz.dsql.us-east-1.on.aws\n")
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
	if got := r.serviceFilePath(); got != "/Users/ana/.pg_service.conf" {
		t.Errorf("darwin: %s", got)
	}
	r.GOOS, r.Environ = "linux", []string{"PGSERVICEFILE=/etc/svc.conf"}
	if got := r.serviceFilePath(); got != "/etc/svc.conf" {
		t.Errorf("PGSERVICEFILE: %s", got)
	}
}
