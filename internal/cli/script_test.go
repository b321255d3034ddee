package cli

import (
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
	"testing"

	"github.com/rogpeppe/go-internal/testscript"

	"github.com/dsqlenv/dsqlenv/internal/testkit"
	"github.com/dsqlenv/dsqlenv/profiles"
)

// TestScripts runs the scenarios under testdata/script, one behaviour a file: dsqlenv as a
// shell runs it (the test binary itself, linked onto PATH by TestMain), in a $WORK of its own
// that holds HOME, the XDG directories and the AWS files, with AWS's example keys, instance
// metadata off and STS answered by the tests' fake. A scenario puts its profiles file at
// config/dsqlenv/profiles.yaml, where dsqlenv looks by default. `fails` checks a failure;
// [root] is true when the tests run as root (a scenario runs dsqlenv as nobody with setpriv).
func TestScripts(t *testing.T) {
	testscript.Run(t, testscript.Params{
		Dir:                 "testdata/script",
		RequireExplicitExec: true,
		Setup:               scriptSetup,
		Cmds:                map[string]func(*testscript.TestScript, bool, []string){"fails": cmdFails, "stopped": cmdStopped},
		Condition: func(cond string) (bool, error) {
			if cond == "root" {
				return os.Geteuid() == 0, nil
			}
			return false, fmt.Errorf("unknown condition %q", cond)
		},
	})
}

func scriptSetup(e *testscript.Env) error {
	w := e.WorkDir
	for _, kv := range [][2]string{
		{"HOME", filepath.Join(w, "home")},
		{"XDG_CONFIG_HOME", filepath.Join(w, "config")},
		{"XDG_DATA_HOME", filepath.Join(w, "data")},
		{"XDG_STATE_HOME", filepath.Join(w, "state")},
		{"XDG_CACHE_HOME", filepath.Join(w, "cache")},
		{"AWS_CONFIG_FILE", filepath.Join(w, "home", ".aws", "config")},
		{"AWS_SHARED_CREDENTIALS_FILE", filepath.Join(w, "home", ".aws", "credentials")},
		{"AWS_ACCESS_KEY_ID", testkit.ExampleKeyID},
		{"AWS_SECRET_ACCESS_KEY", testkit.ExampleSecret},
		{"AWS_EC2_METADATA_DISABLED", "true"},
		// No scenario reaches AWS: doctor's STS question goes to the tests' fake.
		{"AWS_ENDPOINT_URL_STS", stsURL},
		// A metadata endpoint that accepts connections and never answers.
		{"HANGING_IMDS", hangingIMDS},
	} {
		e.Setenv(kv[0], kv[1])
	}
	// The AWS files exist and are empty unless the scenario brings its own.
	if err := os.MkdirAll(filepath.Join(w, "home", ".aws"), 0o755); err != nil {
		return err
	}
	for _, f := range []string{"config", "credentials"} {
		if f, err := os.OpenFile(filepath.Join(w, "home", ".aws", f), os.O_CREATE|os.O_EXCL|os.O_WRONLY, 0o644); err == nil {
			f.Close()
		} else if !os.IsExist(err) {
			return err
		}
	}
	// nobody must reach $WORK when a scenario runs dsqlenv as nobody (testscript makes its
	// parent 0700).
	if os.Geteuid() == 0 {
		return os.Chmod(filepath.Dir(w), 0o755)
	}
	return nil
}

// matrixEndpoint is the endpoint of the Go tests' profiles files, the scenarios' too.
const matrixEndpoint = "abcdefghijklmnopqrstuvwxyz.dsql.us-east-1.on.aws"

var (
	signatureRE = regexp.MustCompile(`X-Amz-Signature=[0-9a-f]{16}`)
	stderrLine  = regexp.MustCompile(`\Adsqlenv: [^\n]*\n\z`)
)

// cmdFails is `fails STATUS PROGRAM [ARGS...]`: it runs the program (dsqlenv, or setpriv
// running dsqlenv) and holds it to the failure contract: that exit status; on stderr one
// `dsqlenv: …` line (any number with --debug), never a token's signature or the secret key;
// and no file under $WORK created, changed or removed (stdout, `false` or nothing, is the
// scenario's to check).
func cmdFails(ts *testscript.TestScript, neg bool, args []string) {
	if neg || len(args) < 2 {
		ts.Fatalf("usage: fails STATUS PROGRAM [ARGS...]")
	}
	want, err := strconv.Atoi(args[0])
	if err != nil || want == 0 {
		ts.Fatalf("fails: %q is not a failing exit status", args[0])
	}
	work := ts.Getenv("WORK")
	before := snapshot(work)
	err = ts.Exec(args[1], args[2:]...)
	code := 0
	if ee, ok := err.(*exec.ExitError); ok {
		code = ee.ExitCode()
	} else if err != nil {
		ts.Fatalf("fails: %v", err)
	}
	if code != want {
		ts.Fatalf("exit status %d, want %d", code, want)
	}
	stderr := ts.ReadFile("stderr")
	if signatureRE.MatchString(stderr) || strings.Contains(stderr, testkit.ExampleSecret) {
		ts.Fatalf("a token's signature or the secret key reached stderr")
	}
	if !strings.Contains(strings.Join(args, " "), "--debug") && !stderrLine.MatchString(stderr) {
		ts.Fatalf("stderr is not one `dsqlenv: …` line")
	}
	if after := snapshot(work); after != before {
		ts.Fatalf("the failed run changed $WORK:\nbefore:\n%s\nafter:\n%s", before, after)
	}
}

// snapshot lists every path under dir with its mode, size and content hash, leaving out
// testscript's $WORK/.tmp ($TMPDIR, where a scenario's helper processes leave pid files).
func snapshot(dir string) string {
	var lines []string
	filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			lines = append(lines, p+" error "+err.Error())
			return nil
		}
		if p == filepath.Join(dir, ".tmp") {
			return filepath.SkipDir
		}
		info, err := d.Info()
		if err != nil {
			lines = append(lines, p+" error "+err.Error())
			return nil
		}
		line := fmt.Sprintf("%s %v %d", strings.TrimPrefix(p, dir), info.Mode(), info.Size())
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

// hangingIMDS is the address of a listener that accepts connections and never answers; TestMain
// starts it.
var hangingIMDS string

func startHangingIMDS() (stop func()) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		panic(err)
	}
	hangingIMDS = "http://" + l.Addr().String()
	var conns []net.Conn
	done := make(chan struct{})
	go func() {
		defer close(done)
		for {
			c, err := l.Accept()
			if err != nil {
				break
			}
			conns = append(conns, c)
		}
		for _, c := range conns {
			c.Close()
		}
	}()
	return func() { l.Close(); <-done }
}

// TestFieldTypeScenarioCoversEveryField: testdata/script/field-types.txt gives every profile
// field a value of the wrong type.
func TestFieldTypeScenarioCoversEveryField(t *testing.T) {
	b, err := os.ReadFile(filepath.Join("testdata", "script", "field-types.txt"))
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range profiles.FieldNames {
		if !strings.Contains(string(b), "fails 1 dsqlenv -c "+f+".yaml bash p\n") {
			t.Errorf("field-types.txt does not try field %s", f)
		}
	}
	for _, f := range profiles.ProxyFieldNames {
		if !strings.Contains(string(b), "fails 1 dsqlenv -c proxy."+f+".yaml bash p\n") {
			t.Errorf("field-types.txt does not try proxy: %s", f)
		}
	}
}

// cmdStopped is `stopped PIDFILE`: the process whose pid the file holds has ended (it is
// killed, and the scenario fails, when it has not).
func cmdStopped(ts *testscript.TestScript, neg bool, args []string) {
	if neg || len(args) != 1 {
		ts.Fatalf("usage: stopped PIDFILE")
	}
	pid, err := strconv.Atoi(strings.TrimSpace(ts.ReadFile(args[0])))
	if err != nil || pid <= 0 {
		ts.Fatalf("stopped: %s holds no pid: %v", args[0], err)
	}
	if killIfRunning(pid) {
		ts.Fatalf("process %d is still running", pid)
	}
}
