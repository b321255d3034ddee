package cli

// doctor_libpq.go: which negotiation the libpq of the psql on PATH will use (libpqprobe.go
// asks it), and psql's own login check.

import (
	"context"
	"fmt"
	"os/exec"
	"strings"
	"time"

	"github.com/dsqlenv/dsqlenv/profiles"
)

// negotiation says how the libpq on PATH will start TLS with this profile: libpq 17+ follows
// sslnegotiation, older libpq ignores PGSSLNEGOTIATION and always sends an SSLRequest first,
// but rejects a service file that names the keyword.
func (d *doctor) negotiation(name string, conn *profiles.Connection, lib libpqOnPath) []check {
	var out checks
	if !lib.found {
		return out
	}
	switch {
	case lib.direct && conn.SSLNegotiation == "direct":
		out.add("ok", name, fmt.Sprintf("sslnegotiation direct: the libpq of %s on PATH is 17 or newer and sends the TLS ClientHello at once (one round trip less)", lib.psql), "")
	case lib.direct:
		out.add("ok", name, fmt.Sprintf("sslnegotiation %s: the libpq of %s on PATH sends an SSLRequest first", orDefault(conn.SSLNegotiation, "postgres, libpq's default"), lib.psql), "")
		if conn.SSLNegotiation == "" {
			out.add("note", name, "this libpq is 17 or newer: sslnegotiation: direct in the profile would save one round trip per connection (about 50 ms through 25 ms of latency), but lib/pq 1.12.3 and older then fail (no ALPN, lib/pq#1331), and so does libpq before 17 reading the service file or URL", "")
		}
	default:
		out.add("ok", name, fmt.Sprintf("sslnegotiation %s: the libpq of %s on PATH is older than 17 and sends an SSLRequest first", orDefault(conn.SSLNegotiation, "unset"), lib.psql), "")
		if conn.SSLNegotiation != "" {
			out.add("warn", name, "sslnegotiation is set in the profiles file, so dsqlenv service and url write it, and libpq before 17 rejects them (syntax error in service file, invalid URI query parameter)",
				"remove sslnegotiation: from the profile, or install PostgreSQL 17+ client tools")
		}
	}
	return out
}

func orDefault(s, def string) string {
	if s == "" {
		return def
	}
	return s
}

// psql runs `psql -Atc 'select 1'` with the profile's environment and reports what the
// server said.
func (d *doctor) psql(name string, s *session) []check {
	var out checks
	path, err := d.r.lookPath("psql")
	if err != nil {
		out.add("warn", name, "psql is not on PATH: skipped the login check", "")
		return out
	}
	ctx, cancel := context.WithTimeout(context.Background(), doctorPsqlTimeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, path, "-X", "-At", "-c", "select 1")
	cmd.WaitDelay = time.Second // a child that keeps the pipe open must not hold doctor
	cmd.Env = childEnv(withoutPG(d.r.Environ), s.block(), d.r.GOOS == "windows")
	output, err := cmd.CombinedOutput()
	text := strings.TrimSpace(string(output))
	if err == nil && text == "1" {
		out.add("ok", name, "psql logged in and ran select 1", "")
		return out
	}
	if ctx.Err() != nil {
		out.add("FAIL", name, fmt.Sprintf("psql: timed out after %s", doctorPsqlTimeout), "the checks above passed, so the server took the connection but did not answer: try psql by hand (dsqlenv exec "+name+" -- psql) and check the cluster's status (dsqlenv clusters)")
		return out
	}
	fix := "run it by hand to see the whole error: dsqlenv exec " + name + " -- psql -c 'select 1'"
	switch {
	case strings.Contains(text, "Signature expired"):
		fix = "the token was stale when it arrived: check the computer's clock (DSQL compares it with the token's X-Amz-Date)"
	case strings.Contains(text, "Wrong user to action mapping"):
		fix = "user admin needs a DbConnectAdmin token and other roles DbConnect: check user: in the profile and the role's AWS IAM GRANT"
	case strings.Contains(text, `root certificate file "system" does not exist`):
		fix = "this psql's libpq predates sslrootcert=system (libpq 16): leave sslrootcert out for the bundled Amazon roots (amazon)"
	}
	line, _, _ := strings.Cut(text, "\n")
	out.add("FAIL", name, "psql: "+line, fix)
	return out
}
