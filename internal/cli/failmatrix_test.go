package cli

import (
	"crypto/sha1"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io/fs"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/dsqlenv/dsqlenv/internal/testkit"
	"github.com/dsqlenv/dsqlenv/profiles"
)

// The failure matrix runs the built binary, as a shell does, once per bad input, in a sandbox
// of its own (HOME, XDG directories, AWS files). Each row gives the exit status and the one
// stderr line; stdout must be empty, or "false" for the bash dialect; and nothing in the
// sandbox may change. Each row runs again with --debug, whose stderr must hold no signature
// and no secret.

const matrixEndpoint = "abcdefghijklmnopqrstuvwxyz.dsql.us-east-1.on.aws"

// matrixProfiles is the profiles file of most rows: one profile per failure that lives in the
// profile itself or in the AWS configuration it names.
var matrixProfiles = `profiles:
  ok:
    endpoint: ` + matrixEndpoint + `
  quote:
    endpoint: ` + matrixEndpoint + `
    user: 'say "hi"'
  mismatch:
    endpoint: ` + matrixEndpoint + `
    region: eu-west-1
  noroot:
    endpoint: ` + matrixEndpoint + `
    sslrootcert: /nonexistent/ca.pem
  cpfail:
    endpoint: ` + matrixEndpoint + `
    aws_profile: cpfail
  cphang:
    endpoint: ` + matrixEndpoint + `
    aws_profile: cphang
  sso:
    endpoint: ` + matrixEndpoint + `
    aws_profile: sso
  nosuch:
    endpoint: ` + matrixEndpoint + `
    aws_profile: nosuch
`

const ssoStartURL = "https://example.awsapps.com/start"

// matrixAWSConfig holds a credential_process that fails, one that hangs, and an SSO profile
// whose cached session has expired (written by sandbox below). Nothing here reaches the
// network: the SSO token is rejected from the cache before any call.
var matrixAWSConfig = `[profile cpfail]
credential_process = sh -c 'exit 3'
[profile cphang]
credential_process = echo $$ > PIDFILE; exec sleep 30
[profile sso]
sso_start_url = ` + ssoStartURL + `
sso_region = us-east-1
sso_account_id = 123456789012
sso_role_name = Admin
region = us-east-1
`

type sandbox struct {
	dir, home, config string
	env               []string
}

// newSandbox makes a world-readable directory (a row may run as nobody) with the profiles
// file, the AWS files and an expired SSO token cache.
func newSandbox(t *testing.T, profilesYAML []byte) *sandbox {
	dir, err := os.MkdirTemp("", "dsqlenv-matrix-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		filepath.WalkDir(dir, func(p string, d fs.DirEntry, _ error) error { os.Chmod(p, 0o755); return nil })
		os.RemoveAll(dir)
	})
	os.Chmod(dir, 0o755)
	s := &sandbox{dir: dir, home: filepath.Join(dir, "home"), config: filepath.Join(dir, "profiles.yaml")}
	sum := sha1.Sum([]byte(ssoStartURL))
	cache := filepath.Join(s.home, ".aws", "sso", "cache")
	os.MkdirAll(cache, 0o755)
	os.WriteFile(filepath.Join(cache, hex.EncodeToString(sum[:])+".json"),
		[]byte(`{"accessToken":"expired-token","expiresAt":"2020-01-01T00:00:00Z","region":"us-east-1","startUrl":"`+ssoStartURL+`"}`), 0o644)
	// The hanging credential_process leaves its pid beside the sandbox, not in it.
	os.WriteFile(filepath.Join(s.home, ".aws", "config"), []byte(strings.ReplaceAll(matrixAWSConfig, "PIDFILE", s.pidFile())), 0o644)
	t.Cleanup(func() { os.Remove(s.pidFile()) })
	if profilesYAML != nil {
		os.WriteFile(s.config, profilesYAML, 0o644)
	}
	s.env = []string{"PATH=" + os.Getenv("PATH"), "HOME=" + s.home,
		"XDG_CONFIG_HOME=" + filepath.Join(dir, "config"), "XDG_DATA_HOME=" + filepath.Join(dir, "data"),
		"XDG_STATE_HOME=" + filepath.Join(dir, "state"), "XDG_CACHE_HOME=" + filepath.Join(dir, "cache"),
		"AWS_CONFIG_FILE=" + filepath.Join(s.home, ".aws", "config"),
		"AWS_SHARED_CREDENTIALS_FILE=" + filepath.Join(s.home, ".aws", "credentials"),
		"DSQLENV_CONFIG=" + s.config}
	return s
}

func (s *sandbox) pidFile() string { return s.dir + ".pid" }

// snapshot is every path under the sandbox with its mode and content hash.
func (s *sandbox) snapshot(t *testing.T) string {
	var lines []string
	filepath.WalkDir(s.dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			lines = append(lines, p+" error "+err.Error())
			return nil
		}
		info, _ := d.Info()
		line := fmt.Sprintf("%s %v %d", p, info.Mode(), info.Size())
		if info.Mode().IsRegular() {
			b, _ := os.ReadFile(p)
			sum := sha256.Sum256(b)
			line += " " + hex.EncodeToString(sum[:8])
		}
		lines = append(lines, line)
		return nil
	})
	sort.Strings(lines)
	return strings.Join(lines, "\n")
}

// hangingIMDS is a metadata endpoint that accepts connections and never answers.
func hangingIMDS(t *testing.T) string {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { l.Close() })
	go func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			t.Cleanup(func() { c.Close() })
		}
	}()
	return "http://" + l.Addr().String()
}

var (
	keys     = []string{"AWS_ACCESS_KEY_ID=" + testkit.ExampleKeyID, "AWS_SECRET_ACCESS_KEY=" + testkit.ExampleSecret}
	noIMDS   = "AWS_EC2_METADATA_DISABLED=true"
	sigRE    = regexp.MustCompile(`X-Amz-Signature=[0-9a-f]{16}`)
	secretRE = regexp.MustCompile(regexp.QuoteMeta(testkit.ExampleSecret))
)

type matrixRow struct {
	name   string
	yaml   []byte // the profiles file; nil for none
	setup  func(t *testing.T, s *sandbox)
	env    []string // added to the sandbox's
	args   []string
	nobody bool // run as the unprivileged user nobody when the tests run as root
	check  func(t *testing.T, s *sandbox)
	code   int
	stderr string // the one line on stderr contains this
}

func fieldRows() []matrixRow {
	ep := "    endpoint: " + matrixEndpoint + "\n"
	var rows []matrixRow
	bad := func(name, line, want string) {
		rows = append(rows, matrixRow{name: name, yaml: []byte("profiles:\n  p:\n" + ep + line + "\n"), env: keys,
			args: []string{"bash", "p"}, code: 1, stderr: want})
	}
	// A wrong type for every field: a list where a scalar belongs.
	for _, f := range profiles.FieldNames {
		if f == "endpoint" {
			rows = append(rows, matrixRow{name: "type endpoint", yaml: []byte("profiles:\n  p:\n    endpoint: [a, b]\n"), env: keys,
				args: []string{"bash", "p"}, code: 1, stderr: "profiles.yaml:3: profile p: endpoint: expected a string, found a list"})
			continue
		}
		bad("type "+f, "    "+f+": [1, 2]", "profiles.yaml:4: profile p: "+f+": expected a ")
	}
	// Values out of range, or of the right type and still wrong.
	bad("range port", "    port: 0", "port: 0 is out of range: use 1 to 65535")
	bad("range port high", "    port: 65536", "port: 65536 is out of range")
	bad("range connect_timeout", "    connect_timeout: -1", "connect_timeout: -1 is out of range")
	bad("range expires_in", "    expires_in: 8d", "expires_in: ")
	bad("range expires_in week", "    expires_in: 604801", "expires_in: 604801 is out of range")
	bad("value sslmode", "    sslmode: prefer", `sslmode: "prefer" is not allowed`)
	bad("value region", "    region: useast1", `region: "useast1" is not an AWS region name`)
	bad("value port text", "    port: five", `port: expected a whole number, found "five"`)
	return rows
}

func matrixRows(t *testing.T) []matrixRow {
	ep := "    endpoint: " + matrixEndpoint + "\n"
	good := []byte(matrixProfiles)
	rows := []matrixRow{
		{name: "unknown field", yaml: []byte("profiles:\n  p:\n" + ep + "    regoin: us-east-1\n"), env: keys, args: []string{"bash", "p"}, code: 1,
			stderr: `profiles.yaml:4: profile p: unknown field "regoin"; did you mean "region"?`},
		{name: "duplicate profile", yaml: []byte("profiles:\n  p:\n" + ep + "  p:\n" + ep), env: keys, args: []string{"bash", "p"}, code: 1,
			stderr: `profiles.yaml:4: profile "p" is defined twice (first on line 2)`},
		{name: "tab indentation", yaml: []byte("profiles:\n\tp:\n" + ep), env: keys, args: []string{"bash", "p"}, code: 1,
			stderr: "profiles.yaml:2: indented with a tab: YAML indentation must use spaces"},
		{name: "BOM and an error: the line still counts", yaml: []byte("\xef\xbb\xbfprofiles:\n  p:\n" + ep + "    prot: 1\n"), env: keys, args: []string{"bash", "p"}, code: 1,
			stderr: `profiles.yaml:4: profile p: unknown field "prot"`},
		{name: "empty file", yaml: []byte(""), env: keys, args: []string{"bash", "p"}, code: 1,
			stderr: "profiles.yaml: is empty: add a profiles: section"},
		{name: "missing file", env: keys, args: []string{"bash", "p"}, code: 1,
			stderr: "profiles.yaml does not exist: run `dsqlenv init`"},
		{name: "directory for the file", setup: func(t *testing.T, s *sandbox) { os.Mkdir(s.config, 0o755) }, env: keys, args: []string{"bash", "p"}, code: 1,
			stderr: "profiles.yaml: is a directory, not a profiles file"},
		{name: "unreadable file", yaml: good, setup: func(t *testing.T, s *sandbox) { os.Chmod(s.config, 0) }, nobody: true, env: keys, args: []string{"bash", "ok"}, code: 1,
			stderr: "profiles.yaml: cannot be read (permission denied): check its mode and owner"},
		{name: "unknown profile", yaml: good, env: keys, args: []string{"bash", "okk"}, code: 1, stderr: `no profile "okk"`},
		{name: "endpoint and region disagree", yaml: good, env: keys, args: []string{"bash", "mismatch"}, code: 1,
			stderr: "profiles.yaml:9: profile mismatch: region eu-west-1 contradicts the endpoint, which is in us-east-1"},
		{name: "missing sslrootcert file", yaml: good, env: keys, args: []string{"bash", "noroot"}, code: 1,
			stderr: "profiles.yaml:12: profile noroot: sslrootcert /nonexistent/ca.pem does not exist"},
		{name: "value cmd cannot carry", yaml: good, env: keys, args: []string{"cmd", "quote"}, code: 1,
			stderr: "profile quote: user (PGUSER) holds a double quote"},
		{name: "no credentials at all", yaml: good, env: []string{noIMDS}, args: []string{"bash", "ok"}, code: 1,
			stderr: "profile ok: no AWS credentials from the default AWS credential chain"},
		{name: "aws profile missing", yaml: good, env: []string{noIMDS}, args: []string{"bash", "nosuch"}, code: 1,
			stderr: "nosuch"},
		{name: "credential_process fails", yaml: good, env: []string{noIMDS}, args: []string{"bash", "cpfail"}, code: 1,
			stderr: "profile cpfail: no AWS credentials from AWS profile cpfail (from aws_profile:): error in credential_process: exit status 3: run the credential_process of AWS profile cpfail in "},
		{name: "credential_process hangs", yaml: good, env: []string{noIMDS}, args: []string{"--timeout", "2s", "bash", "cphang"}, code: 1,
			stderr: "profile cphang: no AWS credentials from AWS profile cphang: its credential_process did not finish within 2s and was stopped",
			check: func(t *testing.T, s *sandbox) {
				b, err := os.ReadFile(s.pidFile())
				pid, _ := strconv.Atoi(strings.TrimSpace(string(b)))
				if err != nil || pid <= 0 {
					t.Fatalf("the credential_process never ran: %v", err)
				}
				if err := syscall.Kill(pid, 0); err != syscall.ESRCH {
					syscall.Kill(pid, syscall.SIGKILL)
					t.Errorf("the hung credential_process (pid %d) outlived dsqlenv", pid)
				}
			}},
		{name: "expired SSO session", yaml: good, env: []string{noIMDS}, args: []string{"bash", "sso"}, code: 1,
			stderr: "profile sso: the SSO login for AWS profile sso (from aws_profile:) has expired: run `aws sso login --profile sso`"},
		{name: "clusters: credential_process fails", yaml: good, env: []string{noIMDS}, args: []string{"clusters", "--aws-profile", "cpfail", "--region", "us-east-1"}, code: 1,
			stderr: "clusters: no AWS credentials from AWS profile cpfail (from --aws-profile): error in credential_process: exit status 3"},
		{name: "add: expired SSO session", yaml: good, env: []string{noIMDS}, args: []string{"add", "new", "--cluster", "abcdefghijklmnopqrstuvwxyz", "--aws-profile", "sso"}, code: 1,
			stderr: "add: the SSO login for AWS profile sso (from --aws-profile) has expired: run `aws sso login --profile sso`"},
		{name: "add: read-only profiles file", yaml: good, env: keys,
			setup: func(t *testing.T, s *sandbox) { os.Chmod(s.config, 0o444) },
			args:  []string{"add", "new", "--cluster", "abcdefghijklmnopqrstuvwxyz", "--region", "us-east-1", "--no-check"}, code: 1,
			stderr: "profiles.yaml: it is read-only (mode 0444)"},
		{name: "metadata endpoint never answers", yaml: good, env: []string{"AWS_EC2_METADATA_SERVICE_ENDPOINT=" + hangingIMDS(t)}, args: []string{"bash", "ok"}, code: 1,
			stderr: "profile ok: no AWS credentials from the default AWS credential chain: none found in the environment, the shared config and credentials files, or instance metadata"},
		{name: "read-only service file", yaml: good, env: keys,
			setup: func(t *testing.T, s *sandbox) {
				os.WriteFile(filepath.Join(s.dir, "pg_service.conf"), []byte("[mine]\nhost=x\n"), 0o444)
			},
			args: []string{"service", "--file", "SANDBOX/pg_service.conf", "ok"}, code: 1,
			stderr: "pg_service.conf: it is read-only (mode 0444): make it writable (chmod u+w)"},
		{name: "read-only password file", yaml: good, env: keys,
			setup: func(t *testing.T, s *sandbox) {
				os.WriteFile(filepath.Join(s.dir, "pgpass"), []byte("h:1:d:u:p\n"), 0o400)
			},
			args: []string{"pgpass", "--file", "SANDBOX/pgpass", "ok"}, code: 1,
			stderr: "pgpass: it is read-only (mode 0400)"},
		{name: "exec of a missing program", yaml: good, env: keys, args: []string{"exec", "ok", "--", "no-such-program-dsqlenv"}, code: 127,
			stderr: "exec: cannot run no-such-program-dsqlenv: executable file not found in $PATH"},
	}
	return append(rows, fieldRows()...)
}

func TestFailureMatrix(t *testing.T) {
	for _, row := range matrixRows(t) {
		t.Run(row.name, func(t *testing.T) {
			t.Parallel()
			for _, debug := range []bool{false, true} {
				s := newSandbox(t, row.yaml)
				if row.setup != nil {
					row.setup(t, s)
				}
				args := append([]string(nil), row.args...)
				for i := range args {
					args[i] = strings.ReplaceAll(args[i], "SANDBOX", s.dir)
				}
				if debug {
					args = append([]string{"--debug"}, args...)
				}
				before := s.snapshot(t)
				r := runMatrix(t, s, row, args)
				if row.check != nil {
					row.check(t, s)
				}
				if after := s.snapshot(t); after != before {
					t.Errorf("%v wrote to the sandbox:\nbefore:\n%s\nafter:\n%s", args, before, after)
				}
				if r.code != row.code {
					t.Errorf("%v: exit %d, want %d; stderr %q", args, r.code, row.code, r.stderr)
				}
				wantOut := ""
				if args[len(args)-2] == "bash" {
					wantOut = "false\n"
				}
				if r.stdout != wantOut {
					t.Errorf("%v: stdout %q, want %q", args, r.stdout, wantOut)
				}
				if sigRE.MatchString(r.stderr) || secretRE.MatchString(r.stderr) {
					t.Errorf("%v: a signature or the secret key reached stderr:\n%s", args, r.stderr)
				}
				if debug {
					if !strings.Contains(r.stderr, row.stderr) {
						t.Errorf("%v: stderr lacks %q:\n%s", args, row.stderr, r.stderr)
					}
					continue
				}
				if !strings.HasPrefix(r.stderr, "dsqlenv: ") || strings.Count(r.stderr, "\n") != 1 || !strings.Contains(r.stderr, row.stderr) {
					t.Errorf("%v: stderr %q\nwant one dsqlenv line containing %q", args, r.stderr, row.stderr)
				}
			}
		})
	}
}

func runMatrix(t *testing.T, s *sandbox, row matrixRow, args []string) result {
	cmd := exec.Command(binPath, args...)
	if row.nobody && os.Geteuid() == 0 {
		// Root reads any file: the row runs as nobody (TestMain leaves the binary's
		// directory open to others; no copy is made, none is run).
		cmd.SysProcAttr = &syscall.SysProcAttr{Credential: &syscall.Credential{Uid: 65534, Gid: 65534}}
	}
	cmd.Env = append(append([]string(nil), s.env...), row.env...)
	// A child of dsqlenv still holding stderr after dsqlenv exits is a failure, not a wait
	// (with a non-zero status Go reports it as the ExitError; the pid check of the hanging
	// credential_process row catches that case).
	cmd.WaitDelay = 3 * time.Second
	return runCmd(t, cmd)
}

// TestFilesAreWrittenOnSuccessOnly: the bundled root a block names is written by the run that
// succeeds, never by one that fails after staging it.
func TestFilesAreWrittenOnSuccessOnly(t *testing.T) {
	s := newSandbox(t, []byte("profiles:\n  amz:\n    endpoint: "+matrixEndpoint+"\n    sslrootcert: amazon\n"))
	root := filepath.Join(s.dir, "data", "dsqlenv", "AmazonRootCAs.pem")
	r := runMatrix(t, s, matrixRow{env: []string{"AWS_EC2_METADATA_DISABLED=true"}}, []string{"bash", "amz"})
	if _, err := os.Stat(root); r.code != 1 || r.stdout != "false\n" || err == nil {
		t.Fatalf("failed run: exit %d stdout %q, root file written: %v", r.code, r.stdout, err == nil)
	}
	r = runMatrix(t, s, matrixRow{env: keys}, []string{"bash", "amz"})
	if _, err := os.Stat(root); r.code != 0 || err != nil || !strings.Contains(r.stdout, "export PGSSLROOTCERT='"+root+"';") {
		t.Fatalf("successful run: exit %d, root file %v\n%s", r.code, err, r.stdout)
	}
}
