package testkit

import (
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

// SetReadySent makes every later session of d call f once its client can have read
// ReadyForQuery, before the double goes on.
func SetReadySent(d *DSQL, f func()) {
	d.mu.Lock()
	d.readySent = f
	d.mu.Unlock()
}

// PostmasterPID is the pid of pg's postmaster, from its postmaster.pid.
func PostmasterPID(t testing.TB, pg *Postgres) int {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(pg.data, "postmaster.pid"))
	if err != nil {
		t.Fatal(err)
	}
	pid, err := strconv.Atoi(strings.SplitN(string(b), "\n", 2)[0])
	if err != nil {
		t.Fatalf("postmaster.pid: %v", err)
	}
	return pid
}
