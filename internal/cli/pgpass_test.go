package cli

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/dsqlenv/dsqlenv/internal/testkit"
	"github.com/dsqlenv/dsqlenv/pgfile"
	"github.com/dsqlenv/dsqlenv/profiles"
)

const (
	refreshProd = "abcdefghijklmnopqrstuvwxyz.dsql.us-east-1.on.aws"
	refreshDev  = "zyxwvutsrqponmlkjihgfedcba.dsql.eu-west-1.on.aws"
)

// tokenSignedAt is a token of the real shape for host, signed at `at` for life.
func tokenSignedAt(host string, at time.Time, life time.Duration) string {
	return fmt.Sprintf("%s?Action=DbConnectAdmin&X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential=AKIAIOSFODNN7EXAMPLE%%2F%s%%2Fus-east-1%%2Fdsql%%2Faws4_request&X-Amz-Date=%s&X-Amz-Expires=%d&X-Amz-SignedHeaders=host&X-Amz-Signature=00",
		host, at.UTC().Format("20060102"), at.UTC().Format("20060102T150405Z"), int(life.Seconds()))
}

// countingMint is fixedMint that records the profiles it signed for.
func countingMint() (profiles.Minter, *[]string) {
	var calls []string
	return func(ctx context.Context, c *profiles.Connection) (string, error) {
		calls = append(calls, c.Profile)
		return fixedMint(ctx, c)
	}, &calls
}

func refreshFiles(t *testing.T, pass string) (cfg, file string) {
	dir := t.TempDir()
	cfg = writeFile(t, dir, "p.yaml", "profiles:\n  prod:\n    endpoint: "+refreshProd+"\n  dev:\n    endpoint: "+refreshDev+"\n")
	file = filepath.Join(dir, "pgpass")
	if pass != "" {
		writeFile(t, dir, "pgpass", pass)
	}
	return cfg, file
}

func passLine(host, token string) string {
	return host + ":5432:postgres:admin:" + pgfile.EscapePass(token) + "\n"
}

// TestPgpassMinValidRemintsOnlyStaleLines: of two profiles, the one whose token has 2 minutes
// left is re-minted with --min-valid 5m, the one with 14 minutes is not, and every other line
// (a comment, someone's wildcard line, a hand-written password) stays byte for byte. A second
// run, with everything fresh, makes no AWS call and leaves the file alone.
func TestPgpassMinValidRemintsOnlyStaleLines(t *testing.T) {
	fresh := passLine(refreshProd, tokenSignedAt(refreshProd, fixedNow.Add(-time.Minute), 15*time.Minute))
	stale := passLine(refreshDev, tokenSignedAt(refreshDev, fixedNow.Add(-13*time.Minute), 15*time.Minute))
	foreign := "# my passwords\r\n*:*:*:someone:s3cret\r\nother.example:5432:postgres:admin:hand\\:written\r\n"
	cfg, file := refreshFiles(t, strings.ReplaceAll(foreign+fresh+stale, "\r\n", "\n"))
	mint, calls := countingMint()

	r := runApp(t, mint, "-c", cfg, "pgpass", "--file", file, "--min-valid", "5m")
	first := fixedNow.Add(15 * time.Minute).Local().Format("15:04:05")
	want := "refreshed 1 of 2 token(s) in " + file + "; the first expires at " + first + " (in 15m); 1 valid for more than 5m\n"
	if r.code != 0 || r.stdout != want || r.stderr != "" {
		t.Fatalf("exit %d stdout %q stderr %q\nwant stdout %q", r.code, r.stdout, r.stderr, want)
	}
	if strings.Join(*calls, ",") != "dev" {
		t.Errorf("signed for %v, want only dev", *calls)
	}
	got, _ := os.ReadFile(file)
	newDev := passLine(refreshDev, fixedToken(&profiles.Connection{Host: refreshDev, User: "admin", Region: "eu-west-1", ExpiresIn: 15 * time.Minute}))
	if wantFile := strings.ReplaceAll(foreign, "\r\n", "\n") + fresh + newDev; string(got) != wantFile {
		t.Errorf("file:\n%s\nwant:\n%s", got, wantFile)
	}
	st1, _ := os.Stat(file)

	time.Sleep(20 * time.Millisecond) // a rewrite would show in the modification time
	r = runApp(t, mint, "-c", cfg, "pgpass", "--file", file, "--min-valid", "5m")
	if want := "refreshed 0 of 2 token(s) in " + file + "; 2 valid for more than 5m\n"; r.code != 0 || r.stdout != want || r.stderr != "" {
		t.Errorf("second run: exit %d stdout %q stderr %q, want %q", r.code, r.stdout, r.stderr, want)
	}
	if len(*calls) != 1 {
		t.Errorf("the second run signed %d more token(s), want none", len(*calls)-1)
	}
	again, _ := os.ReadFile(file)
	st2, _ := os.Stat(file)
	if !bytes.Equal(again, got) || !st2.ModTime().Equal(st1.ModTime()) {
		t.Error("a run with nothing stale rewrote the file")
	}
}

// TestPgpassMinValidMintsMissingAndUnreadableLines: no line for the profile, or a password
// that is no token, counts as stale; so does a missing file.
func TestPgpassMinValidMintsMissingAndUnreadableLines(t *testing.T) {
	for name, pass := range map[string]string{
		"no file":        "",
		"no line":        passLine("elsewhere", "x"),
		"not a token":    passLine(refreshProd, "hand-written"),
		"wildcard only":  "*:*:*:admin:" + tokenSignedAt(refreshProd, fixedNow, time.Hour) + "\n",
		"other port":     strings.Replace(passLine(refreshProd, tokenSignedAt(refreshProd, fixedNow, time.Hour)), ":5432:", ":5433:", 1),
		"expired":        passLine(refreshProd, tokenSignedAt(refreshProd, fixedNow.Add(-time.Hour), 15*time.Minute)),
		"commented out":  "#" + passLine(refreshProd, tokenSignedAt(refreshProd, fixedNow, time.Hour)),
		"too few fields": refreshProd + ":5432:postgres:admin\n",
	} {
		t.Run(name, func(t *testing.T) {
			cfg, file := refreshFiles(t, pass)
			mint, calls := countingMint()
			r := runApp(t, mint, "-c", cfg, "pgpass", "--file", file, "--min-valid", "1m", "prod")
			if r.code != 0 || !strings.HasPrefix(r.stdout, "refreshed 1 of 1 token(s)") || strings.Join(*calls, ",") != "prod" {
				t.Fatalf("exit %d stdout %q stderr %q calls %v", r.code, r.stdout, r.stderr, *calls)
			}
			entries, err := pgfile.ReadPass(file)
			if err != nil {
				t.Fatal(err)
			}
			var found bool
			for _, e := range entries {
				if e.Host == refreshProd && e.Port == "5432" && strings.Contains(e.Password, "X-Amz-Date=20261129T120000Z") {
					found = true
				}
			}
			if !found {
				t.Errorf("no fresh line for prod in %+v", entries)
			}
		})
	}
}

func TestPgpassMinValidEdges(t *testing.T) {
	fresh := passLine(refreshProd, tokenSignedAt(refreshProd, fixedNow, 15*time.Minute))
	t.Run("at least the token's life re-mints every run and says so", func(t *testing.T) {
		cfg, file := refreshFiles(t, fresh)
		mint, calls := countingMint()
		r := runApp(t, mint, "-c", cfg, "pgpass", "--file", file, "--min-valid", "20m", "prod")
		if r.code != 0 || len(*calls) != 1 || r.stderr != "dsqlenv: warning: --min-valid 20m is not below expires_in 15m of profile prod: every run re-mints its token\n" {
			t.Errorf("exit %d calls %v stderr %q", r.code, *calls, r.stderr)
		}
	})
	t.Run("a failed signature writes nothing", func(t *testing.T) {
		stale := passLine(refreshProd, tokenSignedAt(refreshProd, fixedNow.Add(-time.Hour), 15*time.Minute))
		cfg, file := refreshFiles(t, stale)
		fail := func(context.Context, *profiles.Connection) (string, error) {
			return "", errors.New("the SSO session has expired")
		}
		r := runApp(t, fail, "-c", cfg, "pgpass", "--file", file, "--min-valid", "5m", "prod")
		if got, _ := os.ReadFile(file); r.code != 1 || r.stdout != "" || !strings.Contains(r.stderr, "SSO session has expired") || string(got) != stale {
			t.Errorf("exit %d stdout %q stderr %q file %q", r.code, r.stdout, r.stderr, got)
		}
	})
	t.Run("a negative duration is a usage error", func(t *testing.T) {
		cfg, file := refreshFiles(t, fresh)
		r := runApp(t, fixedMint, "-c", cfg, "pgpass", "--file", file, "--min-valid", "-5m")
		if r.code != 2 || !strings.Contains(r.stderr, "--min-valid -5m0s: give a duration of zero or more") {
			t.Errorf("exit %d stderr %q", r.code, r.stderr)
		}
	})
	t.Run("a FIFO is not read", func(t *testing.T) {
		cfg, file := refreshFiles(t, "")
		if err := mkfifo(file); err != nil {
			t.Skip("no FIFOs here:", err)
		}
		r := runApp(t, fixedMint, "-c", cfg, "pgpass", "--file", file, "--min-valid", "5m")
		if r.code != 1 || !strings.Contains(r.stderr, "it is a FIFO") {
			t.Errorf("exit %d stderr %q", r.code, r.stderr)
		}
	})
}

func mkfifo(path string) error { return exec.Command("mkfifo", path).Run() }

// TestParsePassReadsLinesAsLibpq: comments, CRLF endings, escapes and short lines, as
// fe-connect.c passwordFromFile reads them.
func TestParsePassReadsLinesAsLibpq(t *testing.T) {
	got := pgfile.ParsePass([]byte("# c:o:m:m:ent\r\nh\\:x:5432:db:u:pa\\:ss\\\\\r\nshort:line\n\n*:*:*:*:wild\nh:1:d:u:p:extra"))
	want := []pgfile.PassEntry{
		{Host: "h:x", Port: "5432", Database: "db", User: "u", Password: `pa:ss\`},
		{Host: "*", Port: "*", Database: "*", User: "*", Password: "wild"},
		{Host: "h", Port: "1", Database: "d", User: "u", Password: "p"},
	}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("got %+v\nwant %+v", got, want)
	}
}

// TestDoctorAndShowWarnAboutPGPASSWORD: libpq takes PGPASSWORD before any password file.
func TestDoctorAndShowWarnAboutPGPASSWORD(t *testing.T) {
	cfg, _ := refreshFiles(t, "")
	for _, withPassword := range []bool{true, false} {
		var extra []string
		if withPassword {
			extra = []string{"PGPASSWORD=left-over"}
		}
		// An unknown profile: doctor fails at once, before any network step.
		r := runEnv(t, testEnv(fixedMint, extra...), "-c", cfg, "doctor", "nope")
		if got := strings.Contains(r.stdout, "warn  PGPASSWORD is set in this environment"); got != withPassword {
			t.Errorf("PGPASSWORD set %v: doctor warns %v:\n%s", withPassword, got, r.stdout)
		}
		r = runEnv(t, testEnv(fixedMint, extra...), "-c", cfg, "show", "prod")
		if got := strings.Contains(r.stdout, "note: PGPASSWORD is set in this environment"); got != withPassword {
			t.Errorf("PGPASSWORD set %v: show notes %v:\n%s", withPassword, got, r.stdout)
		}
	}
}

// psqlSession is a psql reading commands from a pipe, as a script or a terminal feeds it.
type psqlSession struct {
	t     *testing.T
	cmd   *exec.Cmd
	stdin io.WriteCloser
	out   *lockedBuffer
}

// lockedBuffer is the session's output, written by the process and read by the test.
type lockedBuffer struct {
	mu  chan struct{}
	buf bytes.Buffer
}

func (b *lockedBuffer) Write(p []byte) (int, error) {
	b.mu <- struct{}{}
	defer func() { <-b.mu }()
	return b.buf.Write(p)
}

func (b *lockedBuffer) String() string {
	b.mu <- struct{}{}
	defer func() { <-b.mu }()
	return b.buf.String()
}

// startPsql starts psql with args and env; with a terminal, under script(1), so psql is
// interactive (it then resets a lost connection by itself).
func startPsql(t *testing.T, terminal bool, env []string, args ...string) *psqlSession {
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	t.Cleanup(cancel)
	psql := testkit.RequireTool(t, "psql")
	cmd := exec.CommandContext(ctx, psql, append([]string{"-X", "-At", "-P", "pager=off"}, args...)...)
	if terminal {
		line := psql + " -X -P pager=off " + strings.Join(args, " ")
		cmd = exec.CommandContext(ctx, testkit.RequireTool(t, "script"), "-qec", line, "/dev/null")
	}
	cmd.Env = env
	stdin, err := cmd.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	s := &psqlSession{t: t, cmd: cmd, stdin: stdin, out: &lockedBuffer{mu: make(chan struct{}, 1)}}
	cmd.Stdout, cmd.Stderr = s.out, s.out
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { stdin.Close(); cmd.Wait() })
	return s
}

// send writes lines to psql and waits until its output holds want. The output is read with
// LF line ends (a terminal writes CRLF) and a line break before it, so "\nX\n" is a whole
// line X, which a terminal's echo of `\echo X` is not.
func (s *psqlSession) send(lines, want string) {
	s.t.Helper()
	io.WriteString(s.stdin, lines)
	for deadline := time.Now().Add(20 * time.Second); time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
		if strings.Contains("\n"+strings.ReplaceAll(s.out.String(), "\r\n", "\n"), want) {
			return
		}
	}
	s.t.Fatalf("psql never printed %q after %q; its output:\n%q", want, lines, s.out.String())
}

// backendPID asks the session for its server process id, written to a file so that a
// terminal's echo cannot be mistaken for it.
func (s *psqlSession) backendPID(tag string) int {
	s.t.Helper()
	file := filepath.Join(s.t.TempDir(), "pid")
	s.send(`\o `+file+"\nselect pg_backend_pid();\n\\o\n\\echo "+tag+"\n", "\n"+tag+"\n")
	for range 100 {
		data, _ := os.ReadFile(file)
		for _, f := range strings.Fields(string(data)) {
			if pid, err := strconv.Atoi(f); err == nil && pid > 0 {
				return pid
			}
		}
		time.Sleep(20 * time.Millisecond)
	}
	s.t.Fatalf("no backend pid in %s", file)
	return 0
}

// TestPsqlReconnectsWithARefreshedPgpass is the cron set-up end to end, against the DSQL
// double: psql connects with service= and passfile= on a token that has 30 minutes left;
// pgpass --min-valid 45m, as cron runs it, writes a new one; then the double's clock moves an
// hour on, which ends the session (DSQL's one-hour cap) and expires the old token, and psql
// connects again in the same session with the new one, which the double takes as valid.
//
// What it records: libpq reads the password file each time a connection is opened
// (fe-connect.c, pqConnectOptions2 calls passwordFromFile), so \c finds the new token. But
// when an interactive psql notices the loss itself it calls PQreset, which reuses the
// password read at the first connection, now expired: "Attempting reset: Failed.", and then a
// bare \c has no connection left to copy ("No database connection exists to re-use
// parameters from"). \c service=NAME opens a new connection from the files and works.
func TestPsqlReconnectsWithARefreshedPgpass(t *testing.T) {
	pg := testkit.StartPostgresWith(t, testkit.Options{Version: 18})
	pg.SQL(t, "CREATE ROLE admin LOGIN")

	// cronSetup is a double of its own (its clock moves), a profile whose tokens live two
	// hours, a password file holding an older token with 30 minutes left, and the service
	// file that points psql at both. rotate is the cron job: pgpass --min-valid 45m.
	type cronSetup struct {
		d      *testkit.DSQL
		env    []string
		rotate func() (old, fresh string)
	}
	setup := func(t *testing.T) cronSetup {
		d := testkit.StartDSQL(t, pg, testkit.DSQLOptions{Host: "localhost"})
		dir := t.TempDir()
		cfg := writeFile(t, dir, "p.yaml", fmt.Sprintf("profiles:\n  local:\n    endpoint: localhost\n    region: us-east-1\n    port: %d\n    sslrootcert: %s\n    expires_in: 2h\n", d.Port, d.CAFile))
		svc, pass := filepath.Join(dir, "pg_service.conf"), filepath.Join(dir, "pgpass")
		writeFile(t, dir, "pgpass", fmt.Sprintf("localhost:%d:postgres:admin:%s\n", d.Port, pgfile.EscapePass(d.Token(t, "admin", 30*time.Minute))))
		env := awsEnv(t, true, "DSQLENV_CONFIG="+cfg)
		if r := runBin(t, env, "service", "--file", svc, "--passfile", pass, "local"); r.code != 0 {
			t.Fatalf("service: %+v", r)
		}
		token := func() string {
			entries, err := pgfile.ReadPass(pass)
			if err != nil || len(entries) != 1 {
				t.Fatalf("pgpass: %v %+v", err, entries)
			}
			return entries[0].Password
		}
		rotate := func() (string, string) {
			old := token()
			r := runBin(t, env, "pgpass", "--file", pass, "--min-valid", "45m", "local")
			if r.code != 0 || !strings.HasPrefix(r.stdout, "refreshed 1 of 1 token(s) in "+pass) {
				t.Fatalf("pgpass --min-valid: %+v", r)
			}
			if token() == old {
				t.Fatal("pgpass --min-valid kept the old token")
			}
			return old, token()
		}
		return cronSetup{d, []string{"PATH=" + os.Getenv("PATH"), "HOME=" + dir, "TERM=dumb", "PGSERVICEFILE=" + svc}, rotate}
	}
	// anHourOn moves the double's clock past DSQL's session cap, which ends the session, and
	// past the old token's 30 minutes; the new token has an hour left.
	anHourOn := func(t *testing.T, s cronSetup) {
		before := s.d.Stats()
		s.d.Advance(61 * time.Minute)
		eventuallyTrue(t, "the double ends the session at its one-hour cap", func() bool { return s.d.Stats().Capped == before.Capped+1 })
	}

	t.Run("a script's \\c reads the new token", func(t *testing.T) {
		s := setup(t)
		p := startPsql(t, false, s.env, "service=local")
		pid := p.backendPID("CONNECTED")
		old, fresh := s.rotate()
		anHourOn(t, s)
		before := s.d.Stats()
		p.send("\\c\nselect 'after', current_user, pg_backend_pid() <> "+strconv.Itoa(pid)+";\n", "after|admin|t\n")
		sessions(t, s.d, "\\c", before, 1)
		if st := s.d.Stats(); st.Tokens[0] != old || st.Tokens[len(st.Tokens)-1] != fresh {
			t.Errorf("psql did not log in first with the old token and then with the new one")
		}
	})

	t.Run("after psql's own reset fails, \\c service= reads the new token", func(t *testing.T) {
		s := setup(t)
		p := startPsql(t, true, s.env, "service=local")
		p.backendPID("CONNECTED")
		old, fresh := s.rotate()
		anHourOn(t, s)
		before := s.d.Stats()
		p.send("select 'lost';\n", "Attempting reset: Failed.")
		refusedBy(t, s.d, "PQreset", before, "signature expired")
		if st := s.d.Stats(); st.Tokens[len(st.Tokens)-1] != old {
			t.Errorf("PQreset did not send the token of the first connection")
		}
		p.send("\\c\n", "No database connection exists to re-use parameters from")
		before = s.d.Stats()
		p.send("\\c service=local\nselect 'after', current_user;\n", "You are now connected to database \"postgres\" as user \"admin\"")
		p.send("", "after    | admin")
		sessions(t, s.d, "\\c service=local", before, 1)
		if st := s.d.Stats(); st.Tokens[len(st.Tokens)-1] != fresh {
			t.Errorf("\\c service=local did not log in with the new token")
		}
	})
}

// TestPgpassMinValidSeesAShadowingWildcard: an earlier *:*:*:*:old line is what libpq sends,
// so the profile's own fresh line below it counts as stale, and the new token goes before it.
func TestPgpassMinValidSeesAShadowingWildcard(t *testing.T) {
	fresh := passLine(refreshProd, tokenSignedAt(refreshProd, fixedNow.Add(-time.Minute), 15*time.Minute))
	cfg, file := refreshFiles(t, "*:*:*:*:OLDSTALE\n"+fresh)
	mint, calls := countingMint()
	r := runApp(t, mint, "-c", cfg, "pgpass", "--file", file, "--min-valid", "5m", "prod")
	if r.code != 0 || !strings.HasPrefix(r.stdout, "refreshed 1 of 1 token(s)") || len(*calls) != 1 {
		t.Fatalf("exit %d stdout %q stderr %q, %d mints", r.code, r.stdout, r.stderr, len(*calls))
	}
	b, _ := os.ReadFile(file)
	if lines := strings.Split(string(b), "\n"); len(lines) < 2 || !strings.HasPrefix(lines[0], refreshProd+":") || lines[1] != "*:*:*:*:OLDSTALE" {
		t.Errorf("file:\n%s", b)
	}
}
