package testkit

import (
	"bytes"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"fmt"
	"math/big"
	"net"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// Postgres is a throwaway PostgreSQL server with TLS on 127.0.0.1, started by a test.
type Postgres struct {
	Dir    string // everything lives here; removed at the end
	Port   int
	CAFile string // the test CA that signed the server certificate
	Socket string // Unix socket directory, for trusted superuser access
	bin    string
	data   string
	cred   *syscall.Credential
}

// CA is a test certificate authority.
type CA struct {
	Cert    *x509.Certificate
	Key     *ecdsa.PrivateKey
	CertPEM []byte
}

// NewCA makes a CA certificate valid for a day.
func NewCA(t testing.TB, name string) *CA {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber:          big.NewInt(time.Now().UnixNano()),
		Subject:               pkix.Name{CommonName: name, Organization: []string{"dsqlenv tests"}},
		NotBefore:             time.Now().Add(-time.Hour),
		NotAfter:              time.Now().Add(24 * time.Hour),
		IsCA:                  true,
		BasicConstraintsValid: true,
		KeyUsage:              x509.KeyUsageCertSign | x509.KeyUsageCRLSign,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	cert, _ := x509.ParseCertificate(der)
	return &CA{Cert: cert, Key: key, CertPEM: pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})}
}

// Issue signs a server certificate for the given DNS names and IPs; notAfter may be in the past.
func (ca *CA) Issue(t testing.TB, dnsNames []string, ips []net.IP, notAfter time.Time) (certPEM, keyPEM []byte) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(time.Now().UnixNano()),
		Subject:      pkix.Name{CommonName: dnsNames[0]},
		DNSNames:     dnsNames,
		IPAddresses:  ips,
		NotBefore:    time.Now().Add(-2 * time.Hour),
		NotAfter:     notAfter,
		KeyUsage:     x509.KeyUsageDigitalSignature,
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, ca.Cert, &key.PublicKey, ca.Key)
	if err != nil {
		t.Fatal(err)
	}
	kder, err := x509.MarshalECPrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: kder})
}

// pgBin finds the newest Debian PostgreSQL server directory (/usr/lib/postgresql/N/bin).
func pgBin(t testing.TB) string {
	t.Helper()
	dirs, _ := filepath.Glob("/usr/lib/postgresql/*/bin/initdb")
	sort.Slice(dirs, func(i, j int) bool {
		vi, _ := strconv.Atoi(filepath.Base(filepath.Dir(filepath.Dir(dirs[i]))))
		vj, _ := strconv.Atoi(filepath.Base(filepath.Dir(filepath.Dir(dirs[j]))))
		return vi < vj
	})
	if len(dirs) == 0 {
		if InCI() {
			t.Fatal("PostgreSQL server is not installed (/usr/lib/postgresql/*/bin/initdb): .ci/run should install the postgresql package (CI=true)")
		}
		t.Skip("PostgreSQL server is not installed; skipping")
	}
	return filepath.Dir(dirs[len(dirs)-1])
}

// FreePort asks the kernel for a free TCP port on 127.0.0.1.
func FreePort(t testing.TB) int {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port
}

// StartPostgres initialises and starts a server that accepts only TLS connections with
// scram-sha-256 passwords on 127.0.0.1 (pg_hba: hostssl scram-sha-256, hostnossl reject), with a
// certificate for localhost and 127.0.0.1 signed by a fresh test CA. As root, initdb and the
// server run as the unprivileged user nobody, since PostgreSQL refuses to run as root. The
// server is stopped and its directory removed when the test ends, pass or fail.
func StartPostgres(t testing.TB) *Postgres {
	t.Helper()
	return StartPostgresWith(t, Options{})
}

// Options change the test server.
type Options struct {
	// TrustTLS lets any TLS client in without a password (hostssl … trust), for tests of the
	// transport alone; plaintext is still rejected.
	TrustTLS bool
}

// StartPostgresWith is StartPostgres with options.
func StartPostgresWith(t testing.TB, opts Options) *Postgres {
	t.Helper()
	bin := pgBin(t)
	RequireTool(t, "psql")
	dir, err := os.MkdirTemp("", "dsqlenv-pg-")
	if err != nil {
		t.Fatal(err)
	}
	os.Chmod(dir, 0o755)
	pg := &Postgres{Dir: dir, Port: FreePort(t), bin: bin, data: filepath.Join(dir, "data"), Socket: filepath.Join(dir, "sock")}
	t.Cleanup(func() { pg.stop(); os.RemoveAll(dir) })

	var uid, gid int = os.Getuid(), os.Getgid()
	if os.Geteuid() == 0 {
		u, err := user.Lookup("nobody")
		if err != nil {
			t.Fatalf("running as root and there is no user nobody to run PostgreSQL as: %v", err)
		}
		uid, _ = strconv.Atoi(u.Uid)
		gid, _ = strconv.Atoi(u.Gid)
		pg.cred = &syscall.Credential{Uid: uint32(uid), Gid: uint32(gid)}
	}
	for _, d := range []string{pg.data, pg.Socket} {
		if err := os.Mkdir(d, 0o700); err != nil {
			t.Fatal(err)
		}
		os.Chown(d, uid, gid)
	}

	ca := NewCA(t, "dsqlenv test CA")
	pg.CAFile = filepath.Join(dir, "ca.pem")
	os.WriteFile(pg.CAFile, ca.CertPEM, 0o644)
	crt, key := ca.Issue(t, []string{"localhost"}, []net.IP{net.ParseIP("127.0.0.1")}, time.Now().Add(24*time.Hour))
	pg.installCert(t, crt, key)

	pg.run(t, filepath.Join(bin, "initdb"), "-D", pg.data, "-U", "postgres", "--auth-local=trust", "--auth-host=reject", "-E", "UTF8", "--no-instructions")
	conf := fmt.Sprintf(`listen_addresses = '127.0.0.1'
port = %d
unix_socket_directories = '%s'
ssl = on
ssl_cert_file = '%s'
ssl_key_file = '%s'
password_encryption = 'scram-sha-256'
fsync = off
`, pg.Port, pg.Socket, filepath.Join(dir, "server.crt"), filepath.Join(dir, "server.key"))
	appendFile(t, filepath.Join(pg.data, "postgresql.conf"), conf)
	auth := "scram-sha-256"
	if opts.TrustTLS {
		auth = "trust"
	}
	hba := "local all all trust\nhostssl all all 127.0.0.1/32 " + auth + "\nhostnossl all all 127.0.0.1/32 reject\n"
	if err := os.WriteFile(filepath.Join(pg.data, "pg_hba.conf"), []byte(hba), 0o600); err != nil {
		t.Fatal(err)
	}
	os.Chown(filepath.Join(pg.data, "pg_hba.conf"), uid, gid)
	pg.run(t, filepath.Join(bin, "pg_ctl"), "-D", pg.data, "-l", filepath.Join(pg.Socket, "server.log"), "-w", "-t", "30", "start")
	return pg
}

// installCert writes the server certificate and key where the server reads them; the key must
// belong to the server's user with mode 0600.
func (pg *Postgres) installCert(t testing.TB, crt, key []byte) {
	t.Helper()
	os.WriteFile(filepath.Join(pg.Dir, "server.crt"), crt, 0o644)
	kp := filepath.Join(pg.Dir, "server.key")
	os.Remove(kp)
	if err := os.WriteFile(kp, key, 0o600); err != nil {
		t.Fatal(err)
	}
	if pg.cred != nil {
		os.Chown(kp, int(pg.cred.Uid), int(pg.cred.Gid))
	}
}

// ReplaceCert swaps the server certificate and reloads the server.
func (pg *Postgres) ReplaceCert(t testing.TB, crt, key []byte) {
	t.Helper()
	pg.installCert(t, crt, key)
	pg.run(t, filepath.Join(pg.bin, "pg_ctl"), "-D", pg.data, "-w", "reload")
	time.Sleep(300 * time.Millisecond) // the postmaster rereads SSL files on SIGHUP, asynchronously
}

func appendFile(t testing.TB, path, text string) {
	t.Helper()
	f, err := os.OpenFile(path, os.O_APPEND|os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if _, err := f.WriteString(text); err != nil {
		t.Fatal(err)
	}
}

func (pg *Postgres) run(t testing.TB, name string, args ...string) {
	t.Helper()
	cmd := exec.Command(name, args...)
	cmd.Dir = pg.Dir
	cmd.Env = []string{"PATH=" + os.Getenv("PATH"), "LANG=C.UTF-8", "LC_ALL=C.UTF-8"}
	if pg.cred != nil {
		cmd.SysProcAttr = &syscall.SysProcAttr{Credential: pg.cred}
	}
	if out, err := cmd.CombinedOutput(); err != nil {
		log, _ := os.ReadFile(filepath.Join(pg.Socket, "server.log"))
		t.Fatalf("%s %s: %v\n%s\nserver log:\n%s", filepath.Base(name), strings.Join(args, " "), err, out, log)
	}
}

func (pg *Postgres) stop() {
	cmd := exec.Command(filepath.Join(pg.bin, "pg_ctl"), "-D", pg.data, "-m", "immediate", "-w", "stop")
	cmd.Env = []string{"PATH=" + os.Getenv("PATH")}
	if pg.cred != nil {
		cmd.SysProcAttr = &syscall.SysProcAttr{Credential: pg.cred}
	}
	cmd.Run()
}

// SQL runs statements as the superuser over the Unix socket (trusted) and returns the output.
func (pg *Postgres) SQL(t testing.TB, sql string) string {
	t.Helper()
	cmd := exec.Command("psql", "-X", "-q", "-At", "-v", "ON_ERROR_STOP=1", "-h", pg.Socket, "-p", strconv.Itoa(pg.Port), "-U", "postgres", "-d", "postgres")
	cmd.Stdin = strings.NewReader(sql)
	cmd.Env = []string{"PATH=" + os.Getenv("PATH")}
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	if err := cmd.Run(); err != nil {
		t.Fatalf("psql: %v\n%s", err, errb.String())
	}
	return out.String()
}

// SetPassword creates the role when missing and sets its password; the password goes in
// through a psql variable, so any token is taken literally.
func (pg *Postgres) SetPassword(t testing.TB, role, password string) {
	t.Helper()
	cmd := exec.Command("psql", "-X", "-q", "-At", "-v", "ON_ERROR_STOP=1", "-v", "pw="+password, "-v", "role="+role,
		"-h", pg.Socket, "-p", strconv.Itoa(pg.Port), "-U", "postgres", "-d", "postgres")
	cmd.Stdin = strings.NewReader(SetPasswordSQL)
	cmd.Env = []string{"PATH=" + os.Getenv("PATH")}
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("setting the password of %s: %v\n%s", role, err, out)
	}
}

// SetPasswordSQL creates the role :'role' when missing and sets its password to :'pw'; run it
// with psql -v role=… -v pw=… so the values are taken literally.
const SetPasswordSQL = `SELECT format('CREATE ROLE %I LOGIN', :'role') WHERE NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = :'role') \gexec
SELECT format('ALTER ROLE %I PASSWORD %L', :'role', :'pw') \gexec
`
