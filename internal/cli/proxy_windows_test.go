package cli

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgconn"
)

// TestWindowsProxyOverTCP: on Windows the proxy listens on loopback TCP and writes the local
// password to %APPDATA%\postgresql\pgpass.conf, where Windows libpq looks; a client logs in
// with it (SCRAM-SHA-256, pgconn) and reaches the DSQL double, twice, a second apart, so that
// the Linux side can check that each session brought a token of its own; a wrong password is
// refused. The double and its PostgreSQL run on the Linux side, which starts this test under
// wine and hands it the double's port, region and CA file (TestProxyOnWindowsUnderWine, run
// by .ci/wintest).
func TestWindowsProxyOverTCP(t *testing.T) {
	port, region, ca := os.Getenv("DSQLENV_TEST_DSQL_PORT"), os.Getenv("DSQLENV_TEST_DSQL_REGION"), os.Getenv("DSQLENV_TEST_DSQL_CA")
	if port == "" {
		t.Skip("needs the DSQL double and PostgreSQL of the Linux side: TestProxyOnWindowsUnderWine (.ci/wintest) runs it")
	}
	env, roaming := windowsEnv(t)
	cfg := writeFile(t, t.TempDir(), "p.yaml", fmt.Sprintf("profiles:\n  p:\n    endpoint: localhost\n    region: %s\n    port: %s\n    sslrootcert: %s\n", region, port, ca))
	env[len(env)-1] = "DSQLENV_CONFIG=" + cfg

	cmd := exec.Command(binPath, "proxy", "--listen", "127.0.0.1:0", "p")
	cmd.Env = env
	errPipe, err := cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })
	lines := make(chan string, 100)
	go func() {
		sc := bufio.NewScanner(errPipe)
		for sc.Scan() {
			lines <- sc.Text()
		}
		close(lines)
	}()
	var log strings.Builder
	tcpPort := regexp.MustCompile(`psql "host=127\.0\.0\.1 port=(\d+) user=admin dbname=postgres`)
	var m []string
	for m == nil {
		select {
		case l, ok := <-lines:
			if !ok {
				t.Fatalf("the proxy ended at start:\n%s", log.String())
			}
			log.WriteString(l + "\n")
			m = tcpPort.FindStringSubmatch(l)
		case <-time.After(60 * time.Second):
			t.Fatalf("no TCP line from the proxy in 60 s:\n%s", log.String())
		}
	}

	passfile := filepath.Join(roaming, "postgresql", "pgpass.conf")
	data, err := os.ReadFile(passfile)
	prefix := "127.0.0.1:" + m[1] + ":*:*:" // one line for every database and role on the port
	var pw string
	for _, line := range strings.Split(strings.TrimSpace(string(data)), "\n") {
		if p, ok := strings.CutPrefix(strings.TrimSpace(line), prefix); ok {
			pw = p
		}
	}
	if err != nil || pw == "" {
		t.Fatalf("%s has no line %s…: %v\n%s", passfile, prefix, err, data)
	}

	// connect logs in and asks who it is; the server's first bytes must offer SCRAM-SHA-256
	// (AuthenticationSASL), never a password in clear.
	connect := func(password string) (string, error) {
		ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
		defer cancel()
		cc, err := pgconn.ParseConfig(fmt.Sprintf("host=127.0.0.1 port=%s user=admin dbname=postgres sslmode=disable password=%s", m[1], password))
		if err != nil {
			return "", err
		}
		seen := &sniffed{}
		dial := cc.DialFunc
		cc.DialFunc = func(ctx context.Context, network, addr string) (net.Conn, error) {
			c, err := dial(ctx, network, addr)
			seen.Conn = c
			return seen, err
		}
		c, err := pgconn.ConnectConfig(ctx, cc)
		if !bytes.Contains(seen.read, []byte("SCRAM-SHA-256\x00")) {
			return "", fmt.Errorf("the proxy did not ask for SCRAM-SHA-256 (it sent %q); %v", seen.read, err)
		}
		if err != nil {
			return "", err
		}
		defer c.Close(ctx)
		rows, err := c.Exec(ctx, "select current_user").ReadAll()
		if err != nil {
			return "", err
		}
		return string(rows[0].Rows[0][0]), nil
	}
	for i := 0; i < 2; i++ {
		if i > 0 {
			time.Sleep(1100 * time.Millisecond) // a token of the next second differs from the first's
		}
		if user, err := connect(pw); err != nil || user != "admin" {
			t.Errorf("session %d with the password from %s: %q, %v\n%s", i+1, passfile, user, err, log.String())
		}
	}
	if _, err := connect("wrong"); err == nil || !strings.Contains(err.Error(), `password authentication failed for user "admin"`) {
		t.Errorf("a wrong password: %v", err)
	}
}

// sniffed keeps the first bytes a connection reads.
type sniffed struct {
	net.Conn
	read []byte
}

func (s *sniffed) Read(b []byte) (int, error) {
	n, err := s.Conn.Read(b)
	if len(s.read) < 512 {
		s.read = append(s.read, b[:n]...)
	}
	return n, err
}
