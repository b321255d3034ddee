package cli

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math/rand"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"github.com/dsqlenv/dsqlenv/internal/testkit"
	"github.com/dsqlenv/dsqlenv/profiles"
)

const urlTestHost = "abcdefghijklmnopqrstuvwxyz.dsql.us-east-1.on.aws"

// urlOf runs `dsqlenv url` (or jdbc) in-process with the fixed signer and returns its line.
func urlOf(t *testing.T, cfg, command, profile string, env ...string) string {
	t.Helper()
	r := runEnv(t, testEnv(fixedMint, env...), "-c", cfg, command, profile)
	if r.code != 0 || strings.Count(r.stdout, "\n") != 1 {
		t.Fatalf("%s %s: exit %d\nstdout %q\nstderr %s", command, profile, r.code, r.stdout, r.stderr)
	}
	return strings.TrimSuffix(r.stdout, "\n")
}

func TestURLAndJDBCAreOneLineWithEveryPartEscaped(t *testing.T) {
	ca := writeFile(t, t.TempDir(), "my ca+.pem", "not checked here")
	cfg := writeFile(t, t.TempDir(), "p.yaml", fmt.Sprintf(`profiles:
  prod:
    endpoint: %s
    user: app_rw
    sslrootcert: '%s'
    application_name: my app
    connect_timeout: 7
    options: '-c search_path=a,b'
`, urlTestHost, ca))
	tok := url.QueryEscape(fixedToken(&profiles.Connection{Host: urlTestHost, User: "app_rw", Region: "us-east-1", ExpiresIn: 15 * time.Minute}))
	tok = strings.ReplaceAll(tok, "+", "%20") // QueryEscape's + for space; the token has none
	esc := func(s string) string { return strings.ReplaceAll(url.QueryEscape(s), "+", "%20") }
	want := "postgresql://app_rw:" + tok + "@" + urlTestHost + ":5432/postgres?sslmode=verify-full&sslrootcert=" + esc(ca) +
		"&application_name=my%20app&connect_timeout=7&options=-c%20search_path%3Da%2Cb"
	if got := urlOf(t, cfg, "url", "prod"); got != want {
		t.Errorf("url:\n got %s\nwant %s", got, want)
	}
	want = "jdbc:postgresql://" + urlTestHost + ":5432/postgres?user=app_rw&password=" + tok + "&sslmode=verify-full&sslrootcert=" + esc(ca) +
		"&ApplicationName=my%20app&connectTimeout=7&options=-c%20search_path%3Da%2Cb"
	if got := urlOf(t, cfg, "jdbc", "prod"); got != want {
		t.Errorf("jdbc:\n got %s\nwant %s", got, want)
	}
	for _, cmd := range []string{"url", "jdbc"} {
		r := runApp(t, fixedMint, cmd, "--help")
		if r.code != 0 || !strings.Contains(r.stdout, "Examples:") || !strings.Contains(r.stdout, "dsqlenv "+cmd+" prod") {
			t.Errorf("%s --help:\n%s", cmd, r.stdout)
		}
		if r := runApp(t, fixedMint, "-c", cfg, cmd); r.code != 2 || !strings.Contains(r.stderr, cmd+": missing PROFILE") {
			t.Errorf("%s without PROFILE: %+v", cmd, r)
		}
	}
}

// sslnegotiation goes in a URL only when the profiles file sets it: libpq before 17 rejects
// the whole URL for it ("invalid URI query parameter").
func TestURLCarriesSSLNegotiationOnlyWhenSet(t *testing.T) {
	cfg := writeFile(t, t.TempDir(), "p.yaml", "profiles:\n  prod:\n    endpoint: "+urlTestHost+"\n  direct:\n    endpoint: "+urlTestHost+"\n    sslnegotiation: direct\n")
	for cmd, want := range map[string]string{"url": "&sslnegotiation=direct", "jdbc": "&sslNegotiation=direct"} {
		if got := urlOf(t, cfg, cmd, "prod"); strings.Contains(strings.ToLower(got), "sslnegotiation") {
			t.Errorf("%s prod (default negotiation): %s", cmd, got)
		}
		if got := urlOf(t, cfg, cmd, "direct"); !strings.HasSuffix(got, want) {
			t.Errorf("%s direct lacks %s: %s", cmd, want, got)
		}
	}
}

// A URL reader that is not libpq opens sslrootcert as a file: system and amazon must become
// the bundled roots' file, written by the command.
func TestURLSSLRootCertIsAlwaysAFile(t *testing.T) {
	for _, root := range []string{"system", "amazon"} {
		t.Run(root, func(t *testing.T) {
			cfg := writeFile(t, t.TempDir(), "p.yaml", "profiles:\n  prod:\n    endpoint: "+urlTestHost+"\n    sslrootcert: "+root+"\n")
			data := t.TempDir()
			e := testEnv(fixedMint)
			e.Paths.DataHome = data
			r := runEnv(t, e, "-c", cfg, "url", "prod")
			u, err := url.Parse(strings.TrimSpace(r.stdout))
			if r.code != 0 || err != nil {
				t.Fatalf("url: %v %+v", err, r)
			}
			path := u.Query().Get("sslrootcert")
			if !filepath.IsAbs(path) || !strings.HasPrefix(path, data) {
				t.Fatalf("sslrootcert=%q, want the bundled roots under %s", path, data)
			}
			if _, err := os.Stat(path); err != nil {
				t.Errorf("the bundled roots were not written: %v", err)
			}
			r = runEnv(t, e, "-c", cfg, "jdbc", "prod")
			if !strings.Contains(r.stdout, "&sslrootcert="+escapeURL(path, "")+"&") && !strings.HasSuffix(strings.TrimSpace(r.stdout), "&sslrootcert="+escapeURL(path, "")) {
				t.Errorf("jdbc lacks sslrootcert=%s:\n%s", path, r.stdout)
			}
		})
	}
}

// hostileRunes are the characters URL parts must survive: every delimiter of RFC 3986, %,
// +, space, quotes, backslash and non-ASCII.
const hostileRunes = ` !"#$%&'()*+,-./:;<=>?@[\]^_{|}~` + "`azAZ09é€😀"

func randomHostile(rng *rand.Rand) string {
	r := []rune(hostileRunes)
	b := make([]rune, 1+rng.Intn(24))
	for i := range b {
		b[i] = r[rng.Intn(len(r))]
	}
	return string(b)
}

func yamlQuote(s string) string { return "'" + strings.ReplaceAll(s, "'", "''") + "'" }

// TestURLEscapingRoundTripsThroughNetURL: hostile user, database, application_name and
// options come back exact from Go's URL parser (the one pgx uses), token and all; and from
// pgjdbc's rule (query and path decoded like java.net.URLDecoder: + is a space).
func TestURLEscapingRoundTripsThroughNetURL(t *testing.T) {
	rng := rand.New(rand.NewSource(time.Now().UnixNano()))
	dir := t.TempDir()
	for i := 0; i < 200; i++ {
		user, db, app, opts := randomHostile(rng), randomHostile(rng), randomHostile(rng), randomHostile(rng)
		cfg := writeFile(t, dir, "p.yaml", "profiles:\n  prod:\n    endpoint: "+urlTestHost+"\n    user: "+yamlQuote(user)+
			"\n    database: "+yamlQuote(db)+"\n    application_name: "+yamlQuote(app)+"\n    options: "+yamlQuote(opts)+"\n")
		token := fixedToken(&profiles.Connection{Host: urlTestHost, User: user, Region: "us-east-1", ExpiresIn: 15 * time.Minute})
		line := urlOf(t, cfg, "url", "prod")
		u, err := url.Parse(line)
		if err != nil {
			t.Fatalf("net/url cannot parse %s: %v", line, err)
		}
		pw, _ := u.User.Password()
		q := u.Query()
		got := []string{u.Scheme, u.User.Username(), pw, u.Hostname(), u.Port(), strings.TrimPrefix(u.Path, "/"), q.Get("application_name"), q.Get("options"), q.Get("sslmode")}
		want := []string{"postgresql", user, token, urlTestHost, "5432", db, app, opts, "verify-full"}
		if strings.Join(got, "\x00") != strings.Join(want, "\x00") {
			t.Fatalf("round trip of %s\n got %q\nwant %q", line, got, want)
		}
		jdbc := urlOf(t, cfg, "jdbc", "prod")
		rest, ok := strings.CutPrefix(jdbc, "jdbc:postgresql://"+urlTestHost+":5432/")
		path, query, _ := strings.Cut(rest, "?")
		if !ok || strings.ContainsAny(rest, " +#") {
			t.Fatalf("jdbc URL %s", jdbc)
		}
		dbGot, _ := url.QueryUnescape(path) // URLDecoder's rule
		jq, err := url.ParseQuery(query)
		if err != nil || dbGot != db || jq.Get("user") != user || jq.Get("password") != token || jq.Get("ApplicationName") != app || jq.Get("options") != opts {
			t.Fatalf("jdbc round trip of %s: %v %q %q", jdbc, err, dbGot, jq)
		}
	}
}

func TestDatabaseURLVariableInEveryOutput(t *testing.T) {
	ca := writeFile(t, t.TempDir(), "ca.pem", "x")
	cfg := writeFile(t, t.TempDir(), "p.yaml", "defaults:\n  sslrootcert: "+ca+"\nprofiles:\n  prod:\n    endpoint: "+urlTestHost+"\n    database_url: DATABASE_URL\n  plain:\n    endpoint: "+urlTestHost+"\n")
	want := urlOf(t, cfg, "url", "prod")
	r := runApp(t, fixedMint, "-c", cfg, "bash", "prod")
	for _, line := range []string{"export DATABASE_URL='" + want + "';\n", "export DSQLENV_URL_VAR='DATABASE_URL';\n"} {
		if !strings.Contains(r.stdout, line) {
			t.Errorf("bash block lacks %q:\n%s", line, r.stdout)
		}
	}
	r = runApp(t, fixedMint, "-c", cfg, "json", "prod")
	var obj map[string]string
	if err := json.Unmarshal([]byte(r.stdout), &obj); err != nil || obj["DATABASE_URL"] != want || obj["DSQLENV_URL_VAR"] != "DATABASE_URL" {
		t.Errorf("json: %v\n%s", err, r.stdout)
	}
	for _, d := range []string{"env", "dotenv", "fish", "powershell", "cmd", "bat"} {
		if r := runApp(t, fixedMint, "-c", cfg, d, "prod"); r.code != 0 || !strings.Contains(r.stdout, "DATABASE_URL") {
			t.Errorf("%s: %+v", d, r)
		}
	}

	// Switching: the variable an earlier block named is cleared, whatever the new profile.
	old := testEnv(fixedMint, "DSQLENV_URL_VAR=OLD_URL", "OLD_URL=postgresql://old")
	r = runEnv(t, old, "-c", cfg, "bash", "plain")
	if r.code != 0 || !strings.HasPrefix(r.stdout, "if :; then :; fi;\nunset PGSERVICE OLD_URL PGHOSTADDR ") || strings.Contains(r.stdout, "export DATABASE_URL") {
		t.Errorf("switching to plain does not clear OLD_URL:\n%s", r.stdout)
	}
	if !strings.Contains(r.stdout, "DSQLENV_URL_VAR") || strings.Contains(r.stdout, "export DSQLENV_URL_VAR") {
		t.Errorf("plain must unset DSQLENV_URL_VAR:\n%s", r.stdout)
	}
	r = runEnv(t, testEnv(fixedMint, "DSQLENV_URL_VAR=OLD_URL", "OLD_URL=postgresql://old"), "bash", "--unset")
	if r.code != 0 || !strings.Contains(r.stdout, " DSQLENV_URL_VAR OLD_URL;") {
		t.Errorf("--unset does not clear OLD_URL:\n%s", r.stdout)
	}
	// A name no block would have written (PGHOST, or not a name) is left alone.
	for _, bad := range []string{"PGHOST", "a b", "1X"} {
		r = runEnv(t, testEnv(fixedMint, "DSQLENV_URL_VAR="+bad), "bash", "--unset")
		if strings.Count(r.stdout, " PGHOST ")+strings.Count(r.stdout, " PGHOST;") != 1 || strings.Contains(r.stdout, bad+";") && bad != "PGHOST" {
			t.Errorf("DSQLENV_URL_VAR=%s: %s", bad, r.stdout)
		}
	}
}

func TestDatabaseURLMustBeAVariableName(t *testing.T) {
	for _, tc := range []struct{ value, msg string }{
		{"DATABASE URL", "must be an upper-case variable name ending in URL"},
		{"1DB_URL", "must be an upper-case variable name ending in URL"},
		{"database_url", "must be an upper-case variable name ending in URL"},
		{"PATH", "must be an upper-case variable name ending in URL"},
		{"status", "must be an upper-case variable name ending in URL"},
		{"PGURL", "is a name libpq (PG…), dsqlenv (DSQLENV_…) or the AWS SDK (AWS_…) uses"},
		{"DSQLENV_URL", "is a name libpq"},
	} {
		cfg := writeFile(t, t.TempDir(), "p.yaml", "profiles:\n  prod:\n    endpoint: "+urlTestHost+"\n    database_url: '"+tc.value+"'\n")
		r := runApp(t, fixedMint, "-c", cfg, "bash", "prod")
		if r.code != 1 || !strings.Contains(r.stderr, cfg+":4: profile prod: database_url: ") || !strings.Contains(r.stderr, tc.msg) {
			t.Errorf("database_url %q: %+v", tc.value, r)
		}
	}
}

// exec gives the program the URL and removes the one an earlier block left.
func TestExecSetsDatabaseURL(t *testing.T) {
	testkit.UnixOnly(t, "runs env")
	ca := writeFile(t, t.TempDir(), "ca.pem", "x")
	cfg := writeFile(t, t.TempDir(), "p.yaml", "profiles:\n  prod:\n    endpoint: "+urlTestHost+"\n    sslrootcert: "+ca+"\n    database_url: MY_DB_URL\n")
	r := runBin(t, awsEnv(t, true, "DSQLENV_CONFIG="+cfg, "DSQLENV_URL_VAR=OLD_URL", "OLD_URL=postgresql://stale"), "exec", "prod", "--", "env")
	if r.code != 0 || strings.Contains(r.stdout, "OLD_URL=") || !strings.Contains(r.stdout, "\nDSQLENV_URL_VAR=MY_DB_URL\n") {
		t.Fatalf("exec env: %+v", r)
	}
	for _, line := range strings.Split(r.stdout, "\n") {
		if v, ok := strings.CutPrefix(line, "MY_DB_URL="); ok {
			u, err := url.Parse(v)
			pw, _ := u.User.Password()
			if err != nil || !strings.Contains(r.stdout, "\nPGPASSWORD="+pw+"\n") || u.Query().Get("sslrootcert") != ca {
				t.Errorf("MY_DB_URL=%s does not hold the block's token and CA", v)
			}
			return
		}
	}
	t.Errorf("exec env lacks MY_DB_URL:\n%s", r.stdout)
}

// sessionSQL prints what a client's session is: user, database, application_name and
// search_path (set through options). TLS is not asked of the server: the clients reach it
// through the DSQL double, which takes nothing but TLS and relays over a Unix socket.
const sessionSQL = `select current_user || '|' || current_database() || '|' ||
  current_setting('application_name') || '|' || current_setting('search_path')`

func quoteIdent(s string) string { return `"` + strings.ReplaceAll(s, `"`, `""`) + `"` }

func pgxSession(t *testing.T, conninfo string) (string, error) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
	defer cancel()
	conn, err := pgx.Connect(ctx, conninfo)
	if err != nil {
		return "", err
	}
	defer conn.Close(ctx)
	var s string
	err = conn.QueryRow(ctx, sessionSQL).Scan(&s)
	return s, err
}

// passwordOf is the token in a URL, as Go's parser decodes it.
func passwordOf(t *testing.T, u string) string {
	t.Helper()
	p, err := url.Parse(u)
	if err != nil {
		t.Fatal(err)
	}
	pw, _ := p.User.Password()
	return pw
}

// sessions checks that the double accepted n sessions since before, each reached by TLS with
// the double's endpoint name as SNI (the name the token had to be signed for).
func sessions(t *testing.T, d *testkit.DSQL, what string, before testkit.DSQLStats, n int) {
	t.Helper()
	s := d.Stats()
	if got := s.Accepted - before.Accepted; got != n {
		t.Errorf("%s: the double accepted %d sessions, want %d (last refusal %q)", what, got, n, s.LastRefusal)
	}
	for _, ep := range s.Endpoints[len(before.Endpoints):] {
		if ep != d.Host {
			t.Errorf("%s: a client reached the double with SNI %q, want %q", what, ep, d.Host)
		}
	}
}

// refusedBy checks that the double refused a token since before, for the reason that starts
// with reason (the double's own words; the client hears DSQL's access denied).
func refusedBy(t *testing.T, d *testkit.DSQL, what string, before testkit.DSQLStats, reason string) {
	t.Helper()
	s := d.Stats()
	if s.Accepted != before.Accepted || s.Refused == before.Refused || !strings.HasPrefix(s.LastRefusal, reason) {
		t.Errorf("%s: the double accepted %d and refused %d, last for %q; want a refusal for %q",
			what, s.Accepted-before.Accepted, s.Refused-before.Refused, s.LastRefusal, reason)
	}
}

// TestURLsConnectRealClients feeds real clients nothing but what dsqlenv printed: psql (libpq),
// pgx v5, node-postgres and pgjdbc, against the DSQL double (testkit.StartDSQL), which checks
// each token as DSQL does before it relays the session to a real PostgreSQL 18: a session is
// proof that the token was valid for the endpoint the client reached, not only that it
// arrived. The CA is pinned with sslrootcert (another CA is refused before a token is sent),
// and hostile role, database, application_name and options values get through exact. An
// expired token, and one signed for another endpoint, are refused with DSQL's error.
//
// The double stands for localhost for libpq, pgx and node-postgres. pgjdbc reaches a second
// double under a real endpoint name, which the JVM resolves from a hosts file of the test's
// (testkit's JavaHostsOption): Java sends no SNI for localhost, and a token is only good for
// the endpoint the client names in its TLS handshake.
func TestURLsConnectRealClients(t *testing.T) {
	pg := testkit.StartPostgresWith(t, testkit.Options{Version: 18})
	d := testkit.StartDSQL(t, pg, testkit.DSQLOptions{Host: "localhost"})
	dj := testkit.StartDSQL(t, pg, testkit.DSQLOptions{}) // DSQLClusterID.dsql.us-east-1.on.aws, for pgjdbc
	other := testkit.NewCA(t, "some other CA")
	otherFile := writeFile(t, t.TempDir(), "other-ca.pem", string(other.CertPEM))
	const (
		user   = `o'brien:@/?#%+& ü"x`
		db     = `db/?#;:@&=+$, %ü'q`
		nodeDB = `db;:@&=+$, %ü'q` // node-postgres cannot take / ? # in a database (see connURL)
		app    = `app +%&=?#/:@'`
		opts   = `-c search_path="odd\ schema","$user",public -c statement_timeout=5s`
	)
	// at puts a profile on the pgjdbc double: its port, and its CA or another.
	at := func(ca string) string { return fmt.Sprintf("    port: %d\n    sslrootcert: %s\n", dj.Port, ca) }
	hostile := func(name, endpoint, db, extra string) string {
		return "  " + name + ":\n    endpoint: " + endpoint + "\n" + extra + "    user: " + yamlQuote(user) + "\n    database: " + yamlQuote(db) +
			"\n    application_name: " + yamlQuote(app) + "\n    options: " + yamlQuote(opts) + "\n"
	}
	cfg := writeFile(t, t.TempDir(), "profiles.yaml", fmt.Sprintf(`defaults:
  region: us-east-1
  port: %d
  sslrootcert: %s
profiles:
  local:
    endpoint: localhost
    database_url: DATABASE_URL
  local-wrongca:
    endpoint: localhost
    sslrootcert: %s
  local-direct:
    endpoint: localhost
    sslnegotiation: direct
`, d.Port, d.CAFile, otherFile)+hostile("hostile", "localhost", db, "")+hostile("hostile-node", "localhost", nodeDB, "")+
		"  cluster:\n    endpoint: "+dj.Host+"\n"+at(dj.CAFile)+"  cluster-wrongca:\n    endpoint: "+dj.Host+"\n"+at(otherFile)+
		hostile("cluster-hostile", dj.Host, db, at(dj.CAFile)))
	pg.SQL(t, "CREATE ROLE admin LOGIN;\nCREATE ROLE "+quoteIdent(user)+" LOGIN;\nCREATE DATABASE "+quoteIdent(db)+";\nCREATE DATABASE "+quoteIdent(nodeDB)+";\n")

	// The real signer with AWS's example keys, on the real clock: tokens the double takes.
	env := awsEnv(t, true, "DSQLENV_CONFIG="+cfg)
	urls := map[string]string{}
	for _, p := range []string{"local", "local-wrongca", "local-direct", "hostile", "hostile-node", "cluster", "cluster-hostile", "cluster-wrongca"} {
		for _, cmd := range []string{"url", "jdbc"} {
			r := runBin(t, env, cmd, p)
			if r.code != 0 || strings.Count(r.stdout, "\n") != 1 {
				t.Fatalf("%s %s: %+v", cmd, p, r)
			}
			key := p
			if cmd == "jdbc" {
				key += "/jdbc"
			}
			urls[key] = strings.TrimSuffix(r.stdout, "\n")
		}
	}
	const hostileSearchPath = `"odd schema","$user",public`
	wantHostile := strings.Join([]string{user, db, app, hostileSearchPath}, "|")
	wantHostileNode := strings.Join([]string{user, nodeDB, app, hostileSearchPath}, "|")
	cleanEnv := []string{"PATH=" + os.Getenv("PATH"), "HOME=" + t.TempDir()}

	t.Run("psql", func(t *testing.T) {
		before := d.Stats()
		out, err := runPsql(t, cleanEnv, urls["local"], "-c", sessionSQL)
		if err != nil || !strings.HasPrefix(out, "admin|postgres|psql|") {
			t.Errorf("psql URL: %v\n%s", err, out)
		}
		for _, p := range []string{"hostile", "hostile-node"} {
			want := map[string]string{"hostile": wantHostile, "hostile-node": wantHostileNode}[p]
			if out, err := runPsql(t, cleanEnv, urls[p], "-c", sessionSQL); err != nil || out != want {
				t.Errorf("psql %s URL: %v\n got %s\nwant %s", p, err, out, want)
			}
		}
		sessions(t, d, "psql", before, 3)
		before = d.Stats()
		out, err = runPsql(t, cleanEnv, urls["local-wrongca"], "-c", "select 1")
		if err == nil || !strings.Contains(out, "certificate verify failed") {
			t.Errorf("psql with a different CA: %v\n%s", err, out)
		}
		if s := d.Stats(); s.Accepted != before.Accepted || len(s.Tokens) != len(before.Tokens) {
			t.Errorf("psql with a different CA sent its token or got a session")
		}
	})

	t.Run("psql evaluates DATABASE_URL from a bash block", func(t *testing.T) {
		testkit.RequireTool(t, "bash")
		script := `eval "$("$BIN" bash local)" || exit 1
env -i PATH="$PATH" HOME="$HOME" psql -X -At -c "$SQL" "$DATABASE_URL"`
		cmd := exec.Command("bash", "-c", script)
		cmd.Env = awsEnv(t, true, "DSQLENV_CONFIG="+cfg, "BIN="+binPath, "SQL="+sessionSQL)
		before := d.Stats()
		out, err := cmd.CombinedOutput()
		if err != nil || !strings.HasPrefix(string(out), "admin|postgres|psql|") {
			t.Errorf("psql \"$DATABASE_URL\": %v\n%s", err, out)
		}
		sessions(t, d, "psql \"$DATABASE_URL\"", before, 1)
	})

	t.Run("sslnegotiation=direct in a URL", func(t *testing.T) {
		psql18, env18 := testkit.PsqlWithLibpq(t, 18)
		before := d.Stats()
		cmd := exec.Command(psql18, "-X", "-At", urls["local-direct"], "-c", "select current_user")
		cmd.Env = append(cleanEnv, env18...)
		if out, err := cmd.CombinedOutput(); err != nil || string(out) != "admin\n" {
			t.Errorf("psql with libpq 18: %v\n%s", err, out)
		}
		// Why the keyword is left out unless the profile sets it: libpq 15 refuses the URL.
		if out, err := runPsql(t, cleanEnv, urls["local-direct"], "-c", "select 1"); err == nil || !strings.Contains(out, `invalid URI query parameter: "sslnegotiation"`) {
			t.Errorf("psql with libpq 15: %v\n%s", err, out)
		}
		if out, err := pgxSession(t, urls["local-direct"]); err != nil || !strings.HasPrefix(out, "admin|") {
			t.Errorf("pgx: %v %s", err, out)
		}
		sessions(t, d, "sslnegotiation=direct", before, 2)
		for _, first := range d.Stats().FirstBytes[len(before.FirstBytes):] {
			if !bytes.HasPrefix(first, []byte{0x16, 0x03}) {
				t.Errorf("a client with sslnegotiation=direct began with % x, not a TLS ClientHello", first[:min(len(first), 8)])
			}
		}
	})

	t.Run("pgx", func(t *testing.T) {
		for _, v := range append(managedVars(), "PGSERVICE", "PGSERVICEFILE", "PGPASSFILE", "PGSSLNEGOTIATION") {
			t.Setenv(v, "")
		}
		before := d.Stats()
		if out, err := pgxSession(t, urls["local"]); err != nil || !strings.HasPrefix(out, "admin|postgres|") {
			t.Errorf("pgx URL: %v %s", err, out)
		}
		if out, err := pgxSession(t, urls["hostile"]); err != nil || out != wantHostile {
			t.Errorf("pgx hostile URL: %v\n got %s\nwant %s", err, out, wantHostile)
		}
		sessions(t, d, "pgx", before, 2)
		before = d.Stats()
		if _, err := pgxSession(t, urls["local-wrongca"]); err == nil || !strings.Contains(err.Error(), "certificate signed by unknown authority") {
			t.Errorf("pgx with a different CA: %v", err)
		}
		if s := d.Stats(); s.Accepted != before.Accepted || len(s.Tokens) != len(before.Tokens) {
			t.Errorf("pgx with a different CA sent its token or got a session")
		}
		t.Run("env block", func(t *testing.T) {
			r := runBin(t, env, "json", "local")
			var vars map[string]string
			if err := json.Unmarshal([]byte(r.stdout), &vars); err != nil {
				t.Fatalf("json: %v %+v", err, r)
			}
			for k, v := range vars {
				t.Setenv(k, v)
			}
			before := d.Stats()
			if out, err := pgxSession(t, ""); err != nil || !strings.HasPrefix(out, "admin|postgres|") {
				t.Errorf("pgx from the environment: %v %s", err, out)
			}
			if out, err := pgxSession(t, os.Getenv("DATABASE_URL")); err != nil || !strings.HasPrefix(out, "admin|postgres|") {
				t.Errorf("pgx from DATABASE_URL: %v %s", err, out)
			}
			sessions(t, d, "pgx from the json block", before, 2)
		})
		t.Run("service file", func(t *testing.T) {
			svc := filepath.Join(t.TempDir(), "pg_service.conf")
			if r := runBin(t, env, "service", "--file", svc, "local"); r.code != 0 {
				t.Fatalf("service: %+v", r)
			}
			t.Setenv("PGSERVICEFILE", svc)
			t.Setenv("PGPASSWORD", passwordOf(t, urls["local"]))
			before := d.Stats()
			if out, err := pgxSession(t, "service=local"); err != nil || !strings.HasPrefix(out, "admin|postgres|") {
				t.Errorf("pgx service=local: %v %s", err, out)
			}
			sessions(t, d, "pgx service=local", before, 1)
		})
	})

	t.Run("node-postgres", func(t *testing.T) {
		node := testkit.RequireTool(t, "node")
		before := d.Stats()
		cmd := exec.Command(node, filepath.Join("testdata", "clients", "pgconnect.js"), urls["local"], urls["hostile-node"], urls["local-wrongca"])
		cmd.Env = append(cleanEnv, "NODE_PATH="+testkit.NodeModules(t))
		out, err := cmd.CombinedOutput()
		lines := strings.Split(strings.TrimSpace(string(out)), "\n")
		if err != nil || len(lines) != 3 {
			t.Fatalf("node: %v\n%s", err, out)
		}
		if !strings.HasPrefix(lines[0], "admin|postgres||") {
			t.Errorf("node-postgres URL: %s", lines[0])
		}
		if lines[1] != wantHostileNode {
			t.Errorf("node-postgres hostile URL:\n got %s\nwant %s", lines[1], wantHostileNode)
		}
		if !strings.HasPrefix(lines[2], "error: ") || !strings.Contains(lines[2], "certificate") {
			t.Errorf("node-postgres with a different CA: %s", lines[2])
		}
		sessions(t, d, "node-postgres", before, 2)
		if s := d.Stats(); len(s.Tokens) != len(before.Tokens)+2 {
			t.Errorf("node-postgres sent %d tokens, want 2 (none to a server it could not verify)", len(s.Tokens)-len(before.Tokens))
		}
	})

	t.Run("pgjdbc", func(t *testing.T) {
		javac, java := testkit.RequireTool(t, "javac"), testkit.RequireTool(t, "java")
		jar := testkit.PgJDBC(t)
		classes := t.TempDir()
		if out, err := exec.Command(javac, "-d", classes, filepath.Join("testdata", "clients", "JdbcConnect.java")).CombinedOutput(); err != nil {
			t.Fatalf("javac: %v\n%s", err, out)
		}
		// The cluster's URL with the token of the localhost profile: a good signature, for the
		// wrong endpoint.
		head, rest, ok := strings.Cut(urls["cluster/jdbc"], "&password=")
		_, tail, _ := strings.Cut(rest, "&")
		if !ok {
			t.Fatalf("no password in %s", urls["cluster/jdbc"])
		}
		wrongHost := head + "&password=" + url.QueryEscape(passwordOf(t, urls["local"])) + "&" + tail
		before := dj.Stats()
		cmd := exec.Command(java, dj.JavaHostsOption(t), "-cp", classes+string(os.PathListSeparator)+jar, "JdbcConnect",
			urls["cluster/jdbc"], urls["cluster-hostile/jdbc"], urls["cluster-wrongca/jdbc"], wrongHost)
		cmd.Env = append(cleanEnv, "LANG=C.UTF-8") // Java prints in the locale's charset
		out, err := cmd.CombinedOutput()
		lines := strings.Split(strings.TrimSpace(string(out)), "\n")
		if err != nil || len(lines) != 4 {
			t.Fatalf("java: %v\n%s", err, out)
		}
		if !strings.HasPrefix(lines[0], "admin|postgres|") {
			t.Errorf("pgjdbc URL: %s", lines[0])
		}
		if lines[1] != wantHostile {
			t.Errorf("pgjdbc hostile URL:\n got %s\nwant %s", lines[1], wantHostile)
		}
		if !strings.HasPrefix(lines[2], "error: ") || !strings.Contains(lines[2], "PKIX path") {
			t.Errorf("pgjdbc with a different CA: %s", lines[2])
		}
		if !strings.HasPrefix(lines[3], "error: ") || !strings.Contains(lines[3], "unable to accept connection, access denied") {
			t.Errorf("pgjdbc with a token for another endpoint: %s", lines[3])
		}
		s := dj.Stats()
		if s.Accepted-before.Accepted != 2 || !strings.HasPrefix(s.LastRefusal, `signed for host "localhost", the client reached "`+dj.Host+`"`) {
			t.Errorf("the double accepted %d pgjdbc sessions (want 2) and last refused one for %q", s.Accepted-before.Accepted, s.LastRefusal)
		}
		// Three TLS sessions (the wrong CA ends in the handshake, before a name is recorded),
		// each with the endpoint as SNI.
		sessions(t, dj, "pgjdbc", before, 2)
		if n := len(s.Endpoints) - len(before.Endpoints); n != 3 {
			t.Errorf("pgjdbc made %d TLS sessions with the double, want 3", n)
		}

		// Why the hosts file: with localhost in the URL, Java sends no SNI, and the token
		// (good, for localhost) cannot be checked against the endpoint the client reached.
		before = d.Stats()
		cmd = exec.Command(java, "-cp", classes+string(os.PathListSeparator)+jar, "JdbcConnect", urls["local/jdbc"])
		cmd.Env = append(cleanEnv, "LANG=C.UTF-8")
		if out, err := cmd.CombinedOutput(); err != nil || !strings.HasPrefix(string(out), "error: ") || !strings.Contains(string(out), "access denied") {
			t.Errorf("pgjdbc to localhost: %v %s", err, out)
		}
		refusedBy(t, d, "pgjdbc to localhost", before, "the client sent no SNI server name")
	})

	// Last, since the double's clock stays moved: 16 minutes on, the 15-minute tokens in
	// these URLs have expired.
	t.Run("expired tokens are refused", func(t *testing.T) {
		d.Advance(16 * time.Minute)
		before := d.Stats()
		if out, err := runPsql(t, cleanEnv, urls["local"], "-c", "select 1"); err == nil || !strings.Contains(out, "access denied") || !strings.Contains(out, "Signature expired") {
			t.Errorf("psql with an expired token: %v\n%s", err, out)
		}
		refusedBy(t, d, "psql with an expired token", before, "signature expired")
		before = d.Stats()
		var pgErr *pgconn.PgError
		if _, err := pgxSession(t, urls["local"]); !errors.As(err, &pgErr) || pgErr.Code != "28000" || pgErr.Hint != "Signature expired" {
			t.Errorf("pgx with an expired token: %v", err)
		}
		refusedBy(t, d, "pgx with an expired token", before, "signature expired")
		before = d.Stats()
		cmd := exec.Command(testkit.RequireTool(t, "node"), filepath.Join("testdata", "clients", "pgconnect.js"), urls["local"])
		cmd.Env = append(cleanEnv, "NODE_PATH="+testkit.NodeModules(t))
		if out, err := cmd.CombinedOutput(); err != nil || !strings.HasPrefix(string(out), "error: unable to accept connection, access denied") {
			t.Errorf("node-postgres with an expired token: %v %s", err, out)
		}
		refusedBy(t, d, "node-postgres with an expired token", before, "signature expired")
	})
}

// TestSwitchingAndUnsetClearTheURLVariable: in real shells, a block for a profile with
// another database_url (or none) and --unset remove the URL variable an earlier block set,
// which they know only from DSQLENV_URL_VAR.
func TestSwitchingAndUnsetClearTheURLVariable(t *testing.T) {
	ca := writeFile(t, t.TempDir(), "ca.pem", "x")
	cfg := writeFile(t, t.TempDir(), "p.yaml", "defaults:\n  sslrootcert: "+ca+"\nprofiles:\n"+
		"  a:\n    endpoint: "+urlTestHost+"\n    database_url: A_URL\n  b:\n    endpoint: "+urlTestHost+"\n    database_url: B_URL\n"+
		"  none:\n    endpoint: "+urlTestHost+"\n")
	show := `echo "A=${A_URL:+set} B=${B_URL:+set} V=${DSQLENV_URL_VAR:-}"`
	for shell, dialect := range map[string]string{"bash": "bash", "zsh": "zsh", "dash": "sh", "fish": "fish"} {
		t.Run(shell, func(t *testing.T) {
			path := testkit.RequireTool(t, shell)
			ev := func(args string) string {
				return `eval "$("$BIN" ` + dialect + ` ` + args + `)" || exit 1; ` + show + `; `
			}
			script := ev("a") + ev("b") + ev("none") + ev("a") + ev("--unset")
			if shell == "fish" {
				show := `printf 'A=%s B=%s V=%s\n' (set -q A_URL; and echo set; or echo) (set -q B_URL; and echo set; or echo) "$DSQLENV_URL_VAR"`
				ev = func(args string) string { return `"$BIN" fish ` + args + ` | source; or exit 1; ` + show + `; ` }
				script = ev("a") + ev("b") + ev("none") + ev("a") + ev("--unset")
			}
			cmd := exec.Command(path, "-c", script)
			cmd.Env = append(awsEnv(t, true, "DSQLENV_CONFIG="+cfg), "BIN="+binPath)
			out, err := cmd.CombinedOutput()
			want := "A=set B= V=A_URL\nA= B=set V=B_URL\nA= B= V=\nA=set B= V=A_URL\nA= B= V=\n"
			if err != nil || string(out) != want {
				t.Errorf("%v\n got %q\nwant %q", err, out, want)
			}
		})
	}
}

// TestURLVarFromTheEnvironmentClearsOnlyAURL: DSQLENV_URL_VAR comes from the environment; a
// block or --unset clears the variable it names only while it holds a URL, and never one the
// shell or the system relies on.
func TestURLVarFromTheEnvironmentClearsOnlyAURL(t *testing.T) {
	for _, tc := range []struct {
		env   []string
		clear bool
	}{
		{[]string{"DSQLENV_URL_VAR=PATH"}, false},
		{[]string{"DSQLENV_URL_VAR=HOME"}, false},
		{[]string{"DSQLENV_URL_VAR=MY_URL", "MY_URL=something else"}, false},
		{[]string{"DSQLENV_URL_VAR=MY_URL", "MY_URL=postgresql://u@h/db"}, true},
	} {
		r := runEnv(t, testEnv(fixedMint, tc.env...), "bash", "--unset")
		cleared := strings.Contains(r.stdout, " MY_URL;") || strings.Contains(r.stdout, " PATH;") || strings.Contains(r.stdout, " HOME;")
		if r.code != 0 || cleared != tc.clear {
			t.Errorf("%v: cleared %v, want %v:\n%s", tc.env, cleared, tc.clear, r.stdout)
		}
	}
	cfg := writeFile(t, t.TempDir(), "p.yaml", "profiles:\n  p:\n    endpoint: "+matrixEndpoint+"\n    database_url: PATH\n")
	if r := runApp(t, fixedMint, "-c", cfg, "bash", "p"); r.code != 1 || !strings.Contains(r.stderr, "database_url") || r.stdout != "false\n" {
		t.Errorf("database_url: PATH: %+v", r)
	}
}

// A URL shown at a terminal is about to be copied, and a command line is the easy place to
// paste it: one line on stderr says to keep it off command lines, where every local user can
// read it. Piped, as $(…) is, nothing is said: a pipe into an argument cannot be told from
// one into the environment, a file or a program's stdin.
func TestURLAtATerminalSaysToKeepItOffCommandLines(t *testing.T) {
	cfg := writeFile(t, t.TempDir(), "p.yaml", "profiles:\n  prod:\n    endpoint: "+urlTestHost+"\n")
	for cmd, use := range map[string]string{
		"url":  `DATABASE_URL="$(dsqlenv url prod)" node app.js; for psql: dsqlenv exec prod -- psql`,
		"jdbc": `SPRING_DATASOURCE_URL="$(dsqlenv jdbc prod)" java -jar app.jar, or your tool's connection settings`,
	} {
		e := testEnv(fixedMint)
		e.StdoutIsTerminal = true
		r := runEnv(t, e, "-c", cfg, cmd, "prod")
		want := "dsqlenv: note: this URL holds a token valid for 15m: keep it off command lines, which any local user can read (ps, /proc/PID/cmdline); pass it in the environment: " + use + "\n"
		if r.code != 0 || strings.Count(r.stdout, "\n") != 1 || r.stderr != want {
			t.Errorf("%s at a terminal: exit %d, stdout %q\nstderr %s\nwant   %s", cmd, r.code, r.stdout, r.stderr, want)
		}
		e = testEnv(fixedMint)
		e.StdoutIsPipe = true
		if r := runEnv(t, e, "-c", cfg, cmd, "prod"); r.code != 0 || strings.Count(r.stdout, "\n") != 1 || r.stderr != "" {
			t.Errorf("%s into a pipe: %+v", cmd, r)
		}
	}
}
