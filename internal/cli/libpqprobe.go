package cli

// libpqprobe.go: what the libpq that the psql on PATH loads understands. Doctor reports it;
// the proxy prints a psql line that this libpq takes.

import (
	"context"
	"os/exec"
	"regexp"
	"strings"
	"time"
)

// libpqOnPath is what the libpq that the psql on PATH loads understands. psql --version
// names psql's own version, and libpq can be another: a newer libpq5 package from
// apt.postgresql.org, or LD_LIBRARY_PATH. So libpq itself is asked, offline: it rejects a
// keyword it does not know before connecting ("invalid connection option"), and libpq 16+
// refuses sslrootcert=system with sslmode=require before connecting too.
type libpqOnPath struct {
	found  bool
	psql   string // "psql 15.18", for messages
	direct bool   // libpq 17+: knows sslnegotiation
	system bool   // libpq 16+: reads sslrootcert=system as the OS trust store
	// requireAuth: libpq 16+ knows require_auth, which libpq 15 rejects as an invalid
	// connection option (checked with psql 15).
	requireAuth bool
}

// withoutPG is environ without any libpq variable (PG…, in any case, as Windows names are), so
// that doctor's psql runs see only what the profile sets.
func withoutPG(environ []string) []string {
	var env []string
	for _, kv := range environ {
		if k, _, _ := strings.Cut(kv, "="); !strings.HasPrefix(strings.ToUpper(k), "PG") {
			env = append(env, kv)
		}
	}
	return env
}

func probeLibpq(e *Env) libpqOnPath {
	path, err := e.lookPath("psql")
	if err != nil {
		return libpqOnPath{}
	}
	env := withoutPG(e.Environ)
	psql := func(args ...string) string {
		ctx, cancel := context.WithTimeout(context.Background(), doctorPsqlTimeout)
		defer cancel()
		cmd := exec.CommandContext(ctx, path, args...)
		cmd.WaitDelay = time.Second // a child that keeps the pipe open must not hold doctor
		cmd.Env = env
		out, _ := cmd.CombinedOutput()
		return string(out)
	}
	// "psql (PostgreSQL) 15.18 (Debian 15.18-0+deb12u1)". Compiled here: only doctor asks, once.
	m := regexp.MustCompile(`\(PostgreSQL\) (\S+)`).FindStringSubmatch(psql("--version"))
	if m == nil {
		return libpqOnPath{}
	}
	// A socket in a directory that does not exist: a libpq that takes the options fails at
	// once, without the network.
	const nowhere = "host=/nonexistent/dsqlenv-doctor dbname=probe user=probe "
	lib := libpqOnPath{found: true, psql: "psql " + m[1]}
	lib.direct = !strings.Contains(psql("-X", "-w", nowhere+"sslnegotiation=postgres", "-c", ""), `invalid connection option "sslnegotiation"`)
	lib.system = lib.direct || strings.Contains(psql("-X", "-w", nowhere+"sslrootcert=system sslmode=require", "-c", ""), "weak sslmode")
	lib.requireAuth = lib.system // the same release, 16
	return lib
}
