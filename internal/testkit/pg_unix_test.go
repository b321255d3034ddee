//go:build unix

package testkit_test

import (
	"fmt"
	"net"
	"os"
	"path/filepath"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/dsqlenv/dsqlenv/internal/testkit"
)

// TestReplaceCertWaitsForTheReload: pg_ctl reload only signals the postmaster, which rereads
// its SSL files when it next runs. The postmaster is stopped (SIGSTOP) across ReplaceCert, so
// it cannot have reloaded: ReplaceCert must still wait 10 s on, and return once the
// postmaster runs again, with the new certificate the one a client verifies.
func TestReplaceCertWaitsForTheReload(t *testing.T) {
	pg := startServer(t, 18)
	ca := testkit.NewCA(t, "replacement CA")
	caFile := filepath.Join(t.TempDir(), "ca.pem")
	if err := os.WriteFile(caFile, ca.CertPEM, 0o644); err != nil {
		t.Fatal(err)
	}
	crt, key := ca.Issue(t, []string{"localhost"}, []net.IP{net.ParseIP("127.0.0.1")}, time.Now().Add(time.Hour))

	pid := testkit.PostmasterPID(t, pg)
	if err := syscall.Kill(pid, syscall.SIGSTOP); err != nil {
		t.Fatal(err)
	}
	resume := sync.OnceFunc(func() { syscall.Kill(pid, syscall.SIGCONT) })
	t.Cleanup(resume) // before the server is stopped, even when the test fails early
	done := make(chan struct{})
	go func() {
		defer close(done)
		pg.ReplaceCert(t, crt, key)
	}()
	select {
	case <-done:
		t.Fatal("ReplaceCert returned while the postmaster was stopped, before it could load the new certificate")
	case <-time.After(10 * time.Second):
	}
	resume()
	select {
	case <-done:
	case <-time.After(2 * time.Minute):
		t.Fatal("ReplaceCert did not return within 2 minutes of the postmaster running again")
	}
	conninfo := fmt.Sprintf("host=127.0.0.1 port=%d user=tester dbname=postgres sslmode=verify-full sslrootcert=%s connect_timeout=10", pg.Port, caFile)
	if out, err := psql(t, 18, conninfo); err != nil || out != "18|t" {
		t.Errorf("verify-full against the new certificate's CA: %q, %v", out, err)
	}
}
