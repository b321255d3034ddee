package cli

import (
	"bytes"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"strconv"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/rogpeppe/go-internal/testscript"

	"github.com/dsqlenv/dsqlenv/emit"
	"github.com/dsqlenv/dsqlenv/internal/testkit"
	"github.com/dsqlenv/dsqlenv/profiles"
)

var update = flag.Bool("update", false, "rewrite the golden files under testdata/golden")

// fixedNow and fixedToken stand in for the clock and the signer in golden tests: the token has
// the real shape (host, query, % escapes, &) and was signed at fixedNow for 15 minutes.
var fixedNow = time.Date(2026, 11, 29, 12, 0, 0, 0, time.UTC)

func fixedToken(c *profiles.Connection) string {
	action := "DbConnect"
	if c.User == "admin" {
		action = "DbConnectAdmin"
	}
	return fmt.Sprintf("%s?Action=%s&X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential=AKIAIOSFODNN7EXAMPLE%%2F20261129%%2F%s%%2Fdsql%%2Faws4_request&X-Amz-Date=20261129T120000Z&X-Amz-Expires=%d&X-Amz-SignedHeaders=host&X-Amz-Signature=0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef",
		c.SigningHost(), action, c.Region, int(c.ExpiresIn.Seconds()))
}

func fixedMint(_ context.Context, c *profiles.Connection) (string, error) { return fixedToken(c), nil }

// result is one in-process run of the app.
type result struct {
	code           int
	stdout, stderr string
}

// demoYAML is the demo profiles file `make demo` uses.
var demoYAML, _ = filepath.Abs("../../testdata/demo.yaml")

// testEnv is an Env for an in-process run: the test's own directories, this process's
// environment plus extra, a fixed clock and the given signer.
func testEnv(mint profiles.Minter, extra ...string) *Env {
	return &Env{
		Stdin:   strings.NewReader(""),
		Environ: append(os.Environ(), extra...),
		Now:     func() time.Time { return fixedNow },
		GOOS:    runtime.GOOS,
		Paths: Paths{
			Home:       filepath.Join(xdgDir, "home"),
			ConfigHome: filepath.Join(xdgDir, "config"),
			ConfigDirs: []string{filepath.Join(xdgDir, "etc")},
			DataHome:   filepath.Join(xdgDir, "data"),
			StateHome:  filepath.Join(xdgDir, "state"),
		},
		Mint:       mint,
		Executable: binPath,
		Version:    "test",
	}
}

func runApp(t *testing.T, mint profiles.Minter, args ...string) result {
	t.Helper()
	return runEnv(t, testEnv(mint), args...)
}

// runEnv runs the app in-process with e and returns what it printed.
func runEnv(t *testing.T, e *Env, args ...string) result {
	t.Helper()
	var out, errb bytes.Buffer
	e.Stdout, e.Stderr = &out, &errb
	code := Run(context.Background(), e, append([]string{"dsqlenv"}, args...))
	return result{code, out.String(), errb.String()}
}

func writeFile(t *testing.T, dir, name, content string) string {
	t.Helper()
	p := filepath.Join(dir, name)
	if err := os.WriteFile(p, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

// goldenCases put one kind of hostile value in user, database, application_name and options.
var goldenCases = map[string]string{
	"plain":   "app_rw",
	"quote":   "o'brien",
	"unicode": "\u2018curly\u2019\u201Alow\u201B",
	"percent": "50%2F%PATH%",
	"amp":     "a&b|c<d>^e",
	"backsl":  `back\slash\`,
	"bang":    "wow!",
	"empty":   "",
	"emoji":   "😀 db",
}

func goldenProfile(value string) string {
	y := "profiles:\n  prod:\n    endpoint: abcdefghijklmnopqrstuvwxyz.dsql.us-east-1.on.aws\n    expires_in: 1h\n    connect_timeout: 10\n"
	if value == "" { // an empty field is refused by the loader, so this case keeps the defaults
		return y
	}
	q := "'" + strings.ReplaceAll(value, "'", "''") + "'"
	return y + "    user: " + q + "\n    database: " + q + "\n    application_name: " + q + "\n    options: " + q + "\n"
}

// TestGoldenBlocks renders every case in every renderer of the dialect table, each under the
// name of the first row that uses it (zsh and sh print bash's block:
// TestAliasesRenderTheSame); a new row with a renderer of its own fails here until its
// golden files are written with -update and read.
func TestGoldenBlocks(t *testing.T) {
	testkit.UnixOnly(t, "the golden files hold a Unix run's paths; the renderers are the same code on Windows")
	dir := t.TempDir()
	for name, value := range goldenCases {
		cfg := writeFile(t, dir, name+".yaml", goldenProfile(value))
		for _, dialect := range renderers() {
			r := runApp(t, fixedMint, "--config", cfg, dialect, "prod")
			got := r.stdout
			if r.code != 0 {
				got = fmt.Sprintf("exit %d\nstdout: %q\nstderr: %s", r.code, r.stdout, r.stderr)
			}
			got = strings.ReplaceAll(strings.ReplaceAll(got, xdgDir, "$XDG"), dir, "$DIR")
			golden(t, filepath.Join("testdata", "golden", dialect+"-"+name+".txt"), got)
		}
	}
}

// golden compares got with a file under testdata/golden; -update rewrites the file instead.
func golden(t *testing.T, path, got string) {
	t.Helper()
	if *update {
		os.MkdirAll(filepath.Dir(path), 0o755)
		if err := os.WriteFile(path, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test -run %s -update to create it)", err, t.Name())
	}
	if got != string(want) {
		t.Errorf("output differs from %s\n got: %q\nwant: %q", path, got, want)
	}
}

// renderers names the first row of the dialect table for each renderer, in the table's order.
func renderers() []string {
	var names []string
	seen := map[emit.Shell]bool{}
	for _, d := range emit.Dialects {
		if !seen[d.Shell] {
			seen[d.Shell] = true
			names = append(names, d.Name)
		}
	}
	return names
}

// TestAliasesRenderTheSame: an alias prints its dialect's block, and rows that share a
// renderer print the same block as the first row with it.
func TestAliasesRenderTheSame(t *testing.T) {
	cfg := writeFile(t, t.TempDir(), "p.yaml", goldenProfile("x"))
	same := map[string]string{}
	first := map[emit.Shell]string{}
	for _, d := range emit.Dialects {
		if f, ok := first[d.Shell]; ok {
			same[d.Name] = f
		} else {
			first[d.Shell] = d.Name
		}
		for _, a := range d.Aliases {
			same[a] = d.Name
		}
	}
	if len(same) == 0 {
		t.Fatal("the dialect table has no alias and no shared renderer to compare")
	}
	for a, b := range same {
		ra, rb := runApp(t, fixedMint, "--config", cfg, a, "prod"), runApp(t, fixedMint, "--config", cfg, b, "prod")
		if ra.code != 0 || ra.stdout != rb.stdout {
			t.Errorf("%s and %s differ:\n%s\n%s", a, b, ra.stdout, rb.stdout)
		}
	}
}

// TestFailureContract: on every error, a non-zero status, one `dsqlenv: …` line on stderr
// naming what is wrong, and on stdout nothing, or a lone "false" for the POSIX shells and fish.
func TestFailureContract(t *testing.T) {
	dir := t.TempDir()
	good := writeFile(t, dir, "good.yaml", "profiles:\n  prod:\n    endpoint: abcdefghijklmnopqrstuvwxyz.dsql.us-east-1.on.aws\n  prod-eu:\n    endpoint: zyxwvutsrqponmlkjihgfedcba.dsql.eu-west-1.on.aws\n")
	bad := writeFile(t, dir, "bad.yaml", "profiles:\n  prod:\n    endpoint: a.dsql.us-east-1.on.aws\n    prot: 5432\n")
	quote := writeFile(t, dir, "quote.yaml", "profiles:\n  prod:\n    endpoint: a.dsql.us-east-1.on.aws\n    user: 'say \"hi\"'\n")
	failMint := func(_ context.Context, c *profiles.Connection) (string, error) {
		return "", &profiles.CredentialsError{Profile: c.Profile, AWSProfile: "work", Err: fmt.Errorf("the SSO session has expired")}
	}
	for _, tc := range []struct {
		name   string
		mint   profiles.Minter
		args   []string
		code   int
		stderr string
		stdout string
	}{
		{"unknown profile", fixedMint, []string{"-c", good, "bash", "prdo"}, 1, `dsqlenv: no profile "prdo" in ` + good + `: did you mean "prod"?`, "false\n"},
		{"unknown profile fish", fixedMint, []string{"-c", good, "fish", "nope"}, 1, `dsqlenv: no profile "nope"`, "false\n"},
		{"unknown profile powershell", fixedMint, []string{"-c", good, "powershell", "nope"}, 1, `dsqlenv: no profile "nope"`, ""},
		{"unknown dialect", fixedMint, []string{"-c", good, "tcsh", "prod"}, 2, `shells: bash, bat, cmd, dotenv, env, fish, json, powershell, pwsh, sh, zsh; commands: list, show, token, exec, init, service, pgpass, cert, doctor, hook, completion, status, url, jdbc`, "false\n"},
		{"missing profile arg", fixedMint, []string{"-c", good, "zsh"}, 2, "dsqlenv: zsh: missing PROFILE", "false\n"},
		{"two profile args", fixedMint, []string{"-c", good, "sh", "prod", "prod-eu"}, 2, "dsqlenv: sh: expected one PROFILE", "false\n"},
		{"bad flag", fixedMint, []string{"bash", "--nope", "prod"}, 2, "dsqlenv: bash: unknown flag --nope", "false\n"},
		{"bad global flag", fixedMint, []string{"--nope", "bash", "prod"}, 2, "dsqlenv: unknown flag --nope", "false\n"},
		{"bad timeout", fixedMint, []string{"--timeout", "xx", "zsh", "prod"}, 2, "dsqlenv: --timeout xx: give a duration such as 10s, 2m or 1h30m", "false\n"},
		{"config without a file", fixedMint, []string{"-c", "bash", "prod"}, 2, `dsqlenv: unknown command or shell "prod"`, "false\n"},
		{"bad global flag fish", fixedMint, []string{"--nope", "fish", "prod"}, 2, "dsqlenv: unknown flag --nope", "false\n"},
		{"bad global flag pwsh", fixedMint, []string{"--nope", "pwsh", "prod"}, 2, "dsqlenv: unknown flag --nope", ""},
		{"broken file", fixedMint, []string{"-c", bad, "bash", "prod"}, 1, bad + `:4: profile prod: unknown field "prot"; did you mean "port"?`, "false\n"},
		{"missing file", fixedMint, []string{"-c", filepath.Join(dir, "none.yaml"), "cmd", "prod"}, 1, "does not exist: run `dsqlenv init`", ""},
		{"credentials", failMint, []string{"-c", good, "bash", "prod"}, 1, "dsqlenv: profile prod: the SSO login for AWS profile work (from aws_profile:) has expired: run `aws sso login --profile work`", "false\n"},
		{"credentials token", failMint, []string{"-c", good, "token", "prod"}, 1, "dsqlenv: profile prod: the SSO login for AWS profile work", ""},
		{"quote in cmd", fixedMint, []string{"-c", quote, "cmd", "prod"}, 1, "dsqlenv: profile prod: user (PGUSER) holds a double quote", ""},
		{"quote in bat", fixedMint, []string{"-c", quote, "bat", "prod"}, 1, "dsqlenv: profile prod: user (PGUSER) holds a double quote", ""},
		{"quote in env", fixedMint, []string{"-c", quote, "env", "prod"}, 1, "dsqlenv: profile prod: user (PGUSER) holds a quote or a backslash", ""},
		{"show unknown", fixedMint, []string{"-c", good, "show", "x"}, 1, `dsqlenv: no profile "x"`, ""},
		{"list extra arg", fixedMint, []string{"-c", good, "list", "x"}, 2, "dsqlenv: list: takes no arguments", ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := runApp(t, tc.mint, tc.args...)
			if r.code != tc.code {
				t.Errorf("exit %d, want %d (stderr %q)", r.code, tc.code, r.stderr)
			}
			if r.stdout != tc.stdout {
				t.Errorf("stdout %q, want %q", r.stdout, tc.stdout)
			}
			if !strings.HasPrefix(r.stderr, "dsqlenv: ") || strings.Count(r.stderr, "\n") != 1 || !strings.Contains(r.stderr, tc.stderr) {
				t.Errorf("stderr %q\nwant one line containing %q", r.stderr, tc.stderr)
			}
		})
	}
}

func TestHelpWorksWithABrokenProfilesFile(t *testing.T) {
	bad := writeFile(t, t.TempDir(), "bad.yaml", "profiles: [\n")
	for _, args := range [][]string{{"--help"}, {"bash", "--help"}, {"show", "--help"}, {"--version"}} {
		r := runApp(t, fixedMint, append([]string{"-c", bad}, args...)...)
		if r.code != 0 || r.stderr != "" || r.stdout == "" {
			t.Errorf("%v: exit %d, stderr %q", args, r.code, r.stderr)
		}
	}
	r := runApp(t, fixedMint, "bash", "--help")
	if !strings.Contains(r.stdout, "Examples:") || !strings.Contains(r.stdout, `eval "$(dsqlenv bash prod)"`) {
		t.Errorf("bash --help lacks examples:\n%s", r.stdout)
	}
}

// TestNoArgumentsPrintsHelpOnStderr: a bare dsqlenv is a usage error with the help on
// stderr; piped (eval "$(dsqlenv)"), stdout is a lone false, at a terminal nothing.
func TestNoArgumentsPrintsHelpOnStderr(t *testing.T) {
	r := runApp(t, fixedMint)
	if r.code != 2 || r.stdout != "false\n" || !strings.Contains(r.stderr, "USAGE") {
		t.Errorf("exit %d stdout %q stderr %q", r.code, r.stdout, r.stderr)
	}
	e := testEnv(fixedMint)
	e.StdoutIsTerminal = true
	if r := runEnv(t, e); r.code != 2 || r.stdout != "" || !strings.Contains(r.stderr, "USAGE") {
		t.Errorf("at a terminal: exit %d stdout %q", r.code, r.stdout)
	}
}

func TestListShowAndToken(t *testing.T) {
	cfg := writeFile(t, t.TempDir(), "p.yaml", "defaults:\n  user: app\nprofiles:\n  prod:\n    endpoint: abcdefghijklmnopqrstuvwxyz.dsql.us-east-1.on.aws\n  local:\n    endpoint: localhost\n    region: eu-west-1\n    user: admin\n")
	r := runApp(t, fixedMint, "-c", cfg, "list")
	want := "PROFILE  ENDPOINT                                          USER   REGION\n" +
		"prod     abcdefghijklmnopqrstuvwxyz.dsql.us-east-1.on.aws  app    us-east-1\n" +
		"local    localhost                                         admin  eu-west-1\n"
	if r.code != 0 || r.stdout != want {
		t.Errorf("list:\n%s\nwant:\n%s", r.stdout, want)
	}
	r = runApp(t, fixedMint, "-c", cfg, "show", "prod")
	spaced := regexp.MustCompile(` +`).ReplaceAllString(r.stdout, " ")
	for _, line := range []string{"profile prod (" + cfg + ")", "region us-east-1", "inferred from the endpoint, line 5",
		"user app", "defaults, line 2", "database postgres", "built-in default", "expires_in 15m"} {
		if !strings.Contains(spaced, line) {
			t.Errorf("show lacks %q:\n%s", line, r.stdout)
		}
	}
	if strings.Contains(r.stdout, "X-Amz") {
		t.Error("show printed a token")
	}
	r = runApp(t, fixedMint, "-c", cfg, "token", "local")
	if r.code != 0 || r.stdout != fixedToken(&profiles.Connection{Host: "localhost", User: "admin", Region: "eu-west-1", ExpiresIn: 15 * time.Minute})+"\n" {
		t.Errorf("token: %q %q", r.stdout, r.stderr)
	}
}

func TestInitWritesStarterAndRefusesOverwrite(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "sub", "profiles.yaml")
	r := runApp(t, fixedMint, "init", "--config", path)
	if r.code != 0 || !strings.Contains(r.stderr, "wrote "+path) {
		t.Fatalf("init: %+v", r)
	}
	f, err := profiles.Load(path)
	if err != nil {
		t.Fatalf("the starter file does not load: %v", err)
	}
	// Its endpoint is a placeholder every command refuses until it is edited.
	if _, err := f.Resolve("prod", dir); err == nil || !strings.Contains(err.Error(), path+":22: profile prod: endpoint: edit the example endpoint") {
		t.Errorf("the starter profile's example endpoint: %v", err)
	}
	os.WriteFile(path, []byte("mine"), 0o600)
	r = runApp(t, fixedMint, "init", "--config", path)
	if r.code != 1 || !strings.Contains(r.stderr, "already exists") {
		t.Errorf("second init: %+v", r)
	}
	if b, _ := os.ReadFile(path); string(b) != "mine" {
		t.Error("init overwrote an existing file")
	}
}

func TestShortLivedCredentialsWarn(t *testing.T) {
	cfg := writeFile(t, t.TempDir(), "p.yaml", "profiles:\n  prod:\n    endpoint: abcdefghijklmnopqrstuvwxyz.dsql.us-east-1.on.aws\n    expires_in: 1h\n")
	// The SDK shortens the token to the credentials' life; this signer does the same.
	mint := func(_ context.Context, c *profiles.Connection) (string, error) {
		c2 := *c
		c2.ExpiresIn = 4*time.Minute + 12*time.Second
		return fixedToken(&c2), nil
	}
	r := runApp(t, mint, "-c", cfg, "bash", "prod")
	if r.code != 0 || r.stderr != "dsqlenv: token expires in 4m12s, not 1h: the AWS session for the default AWS credential chain ends first\n" {
		t.Errorf("stderr %q", r.stderr)
	}
	if want := fmt.Sprintf("export DSQLENV_EXPIRES_AT='%d';\n", fixedNow.Add(252*time.Second).Unix()); !strings.Contains(r.stdout, want) {
		t.Errorf("expiry not read back from the token:\n%s", r.stdout)
	}
}

// writeExecutable writes a script the test then runs. It holds syscall.ForkLock while the
// file is open for writing: a child that another test forks in that moment would inherit
// the descriptor, and running the script would fail with "text file busy" (ETXTBSY) until
// that child execs (golang/go#22315).
func writeExecutable(t *testing.T, path, script string) {
	t.Helper()
	syscall.ForkLock.RLock()
	err := os.WriteFile(path, []byte(script), 0o755)
	syscall.ForkLock.RUnlock()
	if err != nil {
		t.Fatal(err)
	}
}

// Binary tests: the program as a shell runs it. The test binary is dsqlenv too: testscript.Main
// hard-links it into a directory it puts first on PATH, and run under that name it is Main and
// nothing else, so no test builds or copies a binary (a copy can fail with "text file busy").

var binPath, xdgDir string

func TestMain(m *testing.M) {
	testscript.Main(binaryTests{m}, map[string]func(){"dsqlenv": Main, "argsecho": argsEcho})
}

// permHere is the permission bits os.Stat reports here for a file made with perm: Windows
// has no modes, and Go reports 0666 there for every writable file (0444 for a read-only one).
func permHere(perm os.FileMode) os.FileMode {
	switch {
	case runtime.GOOS != "windows":
		return perm
	case perm&0o200 != 0:
		return 0o666
	}
	return 0o444
}

// argsEcho is a child for exec's tests: it prints its arguments quoted, one a line, then
// PGHOST and whether PGPASSWORD holds a token, and exits with $ARGSECHO_EXIT.
func argsEcho() {
	for _, a := range os.Args[1:] {
		fmt.Printf("%q\n", a)
	}
	fmt.Printf("PGHOST=%s\ntoken=%v\n", os.Getenv("PGHOST"), strings.Contains(os.Getenv("PGPASSWORD"), "X-Amz-Signature="))
	code, _ := strconv.Atoi(os.Getenv("ARGSECHO_EXIT"))
	os.Exit(code)
}

// binaryTests prepares the run of the tests once the dsqlenv link is on PATH.
type binaryTests struct{ m *testing.M }

func (b binaryTests) Run() int {
	flag.Parse()
	var err error
	if binPath, err = exec.LookPath("dsqlenv"); err != nil {
		panic(err)
	}
	self, err := os.Executable()
	if err != nil {
		panic(err)
	}
	// A copy run at once can fail with ETXTBSY on Unix (a fork elsewhere holds it open for
	// writing); Windows has no such race, and testscript always copies there.
	if a, b := stat(binPath), stat(self); runtime.GOOS != "windows" && !os.SameFile(a, b) {
		fmt.Fprintf(os.Stderr, "%s is a copy of the test binary, not a link (the temporary directory is on another file system?)\n", binPath)
		return 1
	}
	// Under go test -race every dsqlenv run is this race-built binary, which sleeps 1 s at exit
	// (GORACE's atexit_sleep_ms, time for other goroutines to report) unless told not to.
	if os.Getenv("GORACE") == "" {
		os.Setenv("GORACE", "atexit_sleep_ms=0")
	}
	// Others may run it: a scenario runs dsqlenv as nobody (testdata/script/unreadable-file.txt).
	os.Chmod(filepath.Dir(filepath.Dir(binPath)), 0o755)
	dir, err := os.MkdirTemp("", "dsqlenv-test")
	if err != nil {
		panic(err)
	}
	// In-process runs get their own directories (testEnv), never the developer's.
	xdgDir = filepath.Join(dir, "xdg")
	// Tests set what they need: a developer's own profiles file or service file must not leak in.
	for _, v := range []string{"DSQLENV_CONFIG", "DSQLENV_TIMEOUT", "PGSERVICEFILE", "PGPASSFILE", "PGPASSWORD", "PGSERVICE"} {
		os.Unsetenv(v)
	}
	sts := fakeSTS()
	stsURL = sts.URL
	stopIMDS := startHangingIMDS()
	code := b.m.Run()
	stopIMDS()
	sts.Close()
	os.RemoveAll(dir)
	return code
}

func stat(path string) os.FileInfo {
	fi, err := os.Stat(path)
	if err != nil {
		panic(err)
	}
	return fi
}

// stsURL is the fake STS every awsEnv points at; stsAuth the Authorization header it last got.
var (
	stsURL  string
	stsAuth atomic.Pointer[string]
)

// fakeSTS answers GetCallerIdentity as AWS STS does (the Query API, XML), for doctor.
func fakeSTS() *httptest.Server {
	return httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		body, _ := io.ReadAll(req.Body)
		if !strings.Contains(string(body), "Action=GetCallerIdentity") {
			http.Error(w, "unexpected "+string(body), http.StatusBadRequest)
			return
		}
		a := req.Header.Get("Authorization")
		stsAuth.Store(&a)
		w.Header().Set("Content-Type", "text/xml")
		io.WriteString(w, `<GetCallerIdentityResponse xmlns="https://sts.amazonaws.com/doc/2011-06-15/"><GetCallerIdentityResult>`+
			`<Arn>arn:aws:iam::123456789012:user/dev</Arn><UserId>AIDAEXAMPLE</UserId><Account>123456789012</Account>`+
			`</GetCallerIdentityResult><ResponseMetadata><RequestId>r</RequestId></ResponseMetadata></GetCallerIdentityResponse>`)
	}))
}

// awsEnv is an environment with AWS's example keys and nothing of this machine's AWS setup.
func awsEnv(t *testing.T, keys bool, extra ...string) []string {
	dir := t.TempDir()
	env := []string{"PATH=" + os.Getenv("PATH"), "HOME=" + dir, "XDG_CONFIG_HOME=" + filepath.Join(dir, "config"),
		"XDG_DATA_HOME=" + filepath.Join(dir, "data"), "XDG_STATE_HOME=" + filepath.Join(dir, "state"),
		"XDG_CACHE_HOME=" + filepath.Join(dir, "cache"),
		"AWS_CONFIG_FILE=" + filepath.Join(dir, "aws-config"), "AWS_SHARED_CREDENTIALS_FILE=" + filepath.Join(dir, "aws-credentials"),
		"AWS_EC2_METADATA_DISABLED=true", "GORACE=" + os.Getenv("GORACE"),
		// No test reaches AWS: doctor's STS question goes to the tests' fake.
		"AWS_ENDPOINT_URL_STS=" + stsURL}
	if keys {
		env = append(env, "AWS_ACCESS_KEY_ID=AKIAIOSFODNN7EXAMPLE", "AWS_SECRET_ACCESS_KEY=wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY")
	}
	return append(env, extra...)
}

func runBin(t *testing.T, env []string, args ...string) result {
	t.Helper()
	cmd := exec.Command(binPath, args...)
	cmd.Env = env
	return runCmd(t, cmd)
}

// runCmd runs a prepared command and returns its status and output.
func runCmd(t *testing.T, cmd *exec.Cmd) result {
	t.Helper()
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	err := cmd.Run()
	if errors.Is(err, exec.ErrWaitDelay) {
		t.Errorf("%v: a process it started still held its output after it exited", cmd.Args)
		err = nil
	}
	code := 0
	if ee, ok := err.(*exec.ExitError); ok {
		code = ee.ExitCode()
	} else if err != nil {
		t.Fatal(err)
	}
	return result{code, out.String(), errb.String()}
}

func TestEvalFailureStopsTheChain(t *testing.T) {
	for _, shell := range []string{"bash", "zsh", "dash"} {
		if _, err := exec.LookPath(shell); err != nil {
			continue // the real-shell tests in emit fail under CI when a shell is missing
		}
		cmd := exec.Command(shell, "-c", `eval "$("$BIN" bash demo)" && echo RAN`)
		cmd.Env = append(awsEnv(t, false, "DSQLENV_CONFIG="+demoYAML), "BIN="+binPath)
		out, err := cmd.Output()
		if err == nil || strings.Contains(string(out), "RAN") {
			t.Errorf("%s: eval of a failed block succeeded: %q %v", shell, out, err)
		}
	}
}

// TestHelpCommand: dsqlenv help [COMMAND] is --help; a profile named help stays a profile;
// flag errors name flags as typed and what a valid value is; edit says where the file is.
func TestHelpCommand(t *testing.T) {
	r := runApp(t, fixedMint, "help")
	if r.code != 0 || !strings.Contains(r.stdout, "USAGE:") || r.stderr != "" {
		t.Errorf("help: %+v", r)
	}
	r = runApp(t, fixedMint, "help", "service")
	if want := runApp(t, fixedMint, "service", "--help"); r.code != 0 || r.stdout != want.stdout {
		t.Errorf("help service differs from service --help:\n%s", r.stdout)
	}
	if r := runApp(t, fixedMint, "help", "nope"); r.code != 2 || r.stdout != "false\n" || !strings.Contains(r.stderr, `unknown command or shell "nope"`) {
		t.Errorf("help nope: %+v", r)
	}
	cfg := writeFile(t, t.TempDir(), "p.yaml", "profiles:\n  help:\n    endpoint: abcdefghijklmnopqrstuvwxyz.dsql.us-east-1.on.aws\n")
	if r := runApp(t, fixedMint, "-c", cfg, "bash", "help"); r.code != 0 || !strings.Contains(r.stdout, "export DSQLENV_PROFILE='help';") {
		t.Errorf("bash help (a profile): %+v", r)
	}
	for args, want := range map[string]string{
		"pgpass --min-valid 5x":    "pgpass: --min-valid 5x: give a duration such as 10s, 2m or 1h30m",
		"proxy --max-sessions x p": "proxy: --max-sessions x: give a whole number",
		"list --bogus":             "list: unknown flag --bogus",
		"edit":                     "there is no edit command: open " + cfg + " in your editor",
	} {
		if r := runApp(t, fixedMint, append([]string{"-c", cfg}, strings.Fields(args)...)...); r.code != 2 || !strings.Contains(r.stderr, want) {
			t.Errorf("%s: %+v, want %q", args, r, want)
		}
	}
}

// TestShowNamesTheAWSIdentity: show says which AWS profile signs and where that came from.
func TestShowNamesTheAWSIdentity(t *testing.T) {
	cfg := writeFile(t, t.TempDir(), "p.yaml", "profiles:\n  own:\n    endpoint: abcdefghijklmnopqrstuvwxyz.dsql.us-east-1.on.aws\n    aws_profile: team\n  env:\n    endpoint: abcdefghijklmnopqrstuvwxyz.dsql.us-east-1.on.aws\n")
	for profile, want := range map[string]string{
		"own": "note: tokens are signed with AWS profile team (aws_profile: in the profiles file; AWS_PROFILE does not override it)",
		"env": "note: tokens are signed with AWS profile work (from AWS_PROFILE)",
	} {
		r := runEnv(t, testEnv(fixedMint, "AWS_PROFILE=work"), "-c", cfg, "show", profile)
		if r.code != 0 || !strings.Contains(r.stdout, want) {
			t.Errorf("show %s lacks %q:\n%s", profile, want, r.stdout)
		}
	}
	r := runEnv(t, testEnv(fixedMint, "AWS_PROFILE=", "AWS_DEFAULT_PROFILE="), "-c", cfg, "show", "env")
	if !strings.Contains(r.stdout, "note: tokens are signed with the AWS SDK's default credentials") {
		t.Errorf("show without any AWS profile:\n%s", r.stdout)
	}
}
