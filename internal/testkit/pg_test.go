package testkit_test

import (
	"bytes"
	"context"
	"fmt"
	"net"
	"os"
	"os/exec"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/dsqlenv/dsqlenv/internal/testkit"
)

const password = "test-password"

// startServer starts a server of that version with the role tester.
func startServer(t *testing.T, version int) *testkit.Postgres {
	t.Helper()
	pg := testkit.StartPostgresWith(t, testkit.Options{Version: version})
	pg.SetPassword(t, "tester", password)
	return pg
}

// psql runs psql with libpq of that major version on conninfo and returns what the query
// reports: the server's major version and whether the session uses TLS ("18|t").
func psql(t *testing.T, libpq int, conninfo string, env ...string) (string, error) {
	t.Helper()
	path, libEnv := testkit.PsqlWithLibpq(t, libpq)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, path, "-X", "-At", "-v", "ON_ERROR_STOP=1", "-d", conninfo, "-c",
		"SELECT current_setting('server_version_num')::int / 10000, ssl FROM pg_stat_ssl WHERE pid = pg_backend_pid()")
	cmd.Env = append([]string{"PATH=" + os.Getenv("PATH"), "HOME=" + t.TempDir(), "PGPASSWORD=" + password}, libEnv...)
	cmd.Env = append(cmd.Env, env...)
	out, err := cmd.CombinedOutput()
	return strings.TrimSpace(string(out)), err
}

func conninfo(addr string, pg *testkit.Postgres, extra string) string {
	host, port, _ := net.SplitHostPort(addr)
	return fmt.Sprintf("host=%s port=%s user=tester dbname=postgres sslmode=verify-full sslrootcert=%s connect_timeout=10 %s",
		host, port, pg.CAFile, extra)
}

func addr(pg *testkit.Postgres) string { return net.JoinHostPort("127.0.0.1", strconv.Itoa(pg.Port)) }

// sslRequest is the 8-byte message a client sends to ask for TLS the PostgreSQL way: length
// 8, code 80877103 (protocol documentation, "SSLRequest").
var sslRequest = []byte{0, 0, 0, 8, 0x04, 0xd2, 0x16, 0x2f}

// TestPsqlConnectsToPostgres15And18 checks the two servers and two libpq versions the tests
// of dsqlenv build on: each libpq verifies each server's certificate against the test CA,
// libpq 18 negotiates TLS directly with PostgreSQL 18, and libpq 15 ignores
// PGSSLNEGOTIATION but refuses the keyword in a connection string.
func TestPsqlConnectsToPostgres15And18(t *testing.T) {
	pg15, pg18 := startServer(t, 15), startServer(t, 18)

	for _, c := range []struct {
		libpq int
		pg    *testkit.Postgres
		extra string
		env   []string
	}{
		{15, pg15, "", []string{"PGSSLNEGOTIATION=direct"}},
		{15, pg18, "", []string{"PGSSLNEGOTIATION=direct"}},
		{18, pg18, "", nil},
		{18, pg18, "sslnegotiation=direct", nil},
		{18, pg18, "", []string{"PGSSLNEGOTIATION=direct"}},
		{18, pg15, "sslnegotiation=postgres", nil},
	} {
		out, err := psql(t, c.libpq, conninfo(addr(c.pg), c.pg, c.extra), c.env...)
		if want := strconv.Itoa(c.pg.Version) + "|t"; err != nil || out != want {
			t.Errorf("libpq %d to PostgreSQL %d (%s %v): got %q, %v; want %q", c.libpq, c.pg.Version, c.extra, c.env, out, err, want)
		}
	}

	// PostgreSQL 15 reads a ClientHello as a startup packet of absurd length: direct
	// negotiation needs a server of version 17 or later.
	if out, err := psql(t, 18, conninfo(addr(pg15), pg15, "sslnegotiation=direct")); err == nil {
		t.Errorf("libpq 18 with sslnegotiation=direct connected to PostgreSQL 15: %s", out)
	}
	// libpq 15 stops at a keyword it does not know, which is why a service file must not
	// carry sslnegotiation unless the profile asks for it.
	out, err := psql(t, 15, conninfo(addr(pg18), pg18, "sslnegotiation=direct"))
	if err == nil || !strings.Contains(out, `invalid connection option "sslnegotiation"`) {
		t.Errorf("libpq 15 with sslnegotiation=direct: got %q, %v; want invalid connection option", out, err)
	}
}

// TestDirectNegotiationSendsClientHelloFirst captures the first bytes libpq 18 sends: with
// direct negotiation a TLS handshake record (content type 0x16, version 0x03 0x0n), with the
// default an SSLRequest.
func TestDirectNegotiationSendsClientHelloFirst(t *testing.T) {
	pg := startServer(t, 18)
	for _, c := range []struct {
		negotiation string
		isFirst     func([]byte) bool
	}{
		{"direct", func(b []byte) bool { return len(b) >= 2 && b[0] == 0x16 && b[1] == 0x03 }},
		{"postgres", func(b []byte) bool { return bytes.Equal(b, sslRequest) }},
	} {
		proxy := testkit.DelayProxy(t, addr(pg), 0)
		out, err := psql(t, 18, conninfo(proxy.Addr, pg, ""), "PGSSLNEGOTIATION="+c.negotiation)
		if err != nil || out != "18|t" {
			t.Fatalf("libpq 18 with PGSSLNEGOTIATION=%s: %q, %v", c.negotiation, out, err)
		}
		first := proxy.FirstClientBytes()
		if len(first) != 1 || !c.isFirst(first[0]) {
			t.Errorf("PGSSLNEGOTIATION=%s: first client bytes per connection: % x", c.negotiation, first)
		}
	}
}

// TestDirectNegotiationTimeToFirstQuery measures, through a link with 25 ms each way, how
// long psql with libpq 18 takes from start to the answer of its first query, with direct
// negotiation and the PostgreSQL way. It logs the numbers (go test -v -run
// TimeToFirstQuery ./internal/testkit/); timing on a shared machine is not asserted.
func TestDirectNegotiationTimeToFirstQuery(t *testing.T) {
	const oneWay = 25 * time.Millisecond
	pg := startServer(t, 18)
	proxy := testkit.DelayProxy(t, addr(pg), oneWay)
	median := map[string]time.Duration{}
	for _, negotiation := range []string{"postgres", "direct"} {
		var times []time.Duration
		for range 3 {
			start := time.Now()
			out, err := psql(t, 18, conninfo(proxy.Addr, pg, ""), "PGSSLNEGOTIATION="+negotiation)
			if err != nil || out != "18|t" {
				t.Fatalf("libpq 18 with PGSSLNEGOTIATION=%s through the proxy: %q, %v", negotiation, out, err)
			}
			times = append(times, time.Since(start))
		}
		slices.Sort(times)
		median[negotiation] = times[len(times)/2]
		t.Logf("PGSSLNEGOTIATION=%-8s time to first query through %v each way: median %v of %v",
			negotiation, oneWay, median[negotiation].Round(time.Millisecond), times)
	}
	saved := median["postgres"] - median["direct"]
	t.Logf("direct negotiation saves %v, %.1f round trips of %v", saved.Round(time.Millisecond), float64(saved)/float64(2*oneWay), 2*oneWay)
}
