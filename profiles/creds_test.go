//go:build unix

package profiles

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/dsqlenv/dsqlenv/internal/testkit"
)

// treeScript forks a child that forks a grandchild; each records its pid and ignores SIGTERM
// and SIGHUP, so only a SIGKILL to the whole group ends them.
const treeScript = `#!/bin/sh
trap '' TERM HUP
echo $$ > "$0.$1.pid"
if [ "$1" -lt 2 ]; then "$0" $(($1 + 1)) & fi
exec sleep 300
`

func TestCredentialProcessTreeIsKilledAtTheDeadline(t *testing.T) {
	for _, tc := range []struct {
		name, awsProfile string
		processProfile   string // where the credential_process is
		config           func(dir string) string
		pids             []string // pid files the tree writes in dir
	}{
		{
			// The case from the issue: sh -c 'sleep 300 & sleep 300', pids recorded.
			name: "background and foreground sleep", awsProfile: "", processProfile: "default",
			config: func(dir string) string {
				return "[default]\ncredential_process = sh -c 'sleep 300 & echo $! > " + dir + "/bg.pid; echo $$ > " + dir + "/fg.pid; exec sleep 300'\n"
			},
			pids: []string{"bg.pid", "fg.pid"},
		},
		{
			name: "grandchild ignoring SIGTERM and SIGHUP", awsProfile: "cp", processProfile: "cp",
			config: func(dir string) string {
				return "[profile cp]\ncredential_process = " + dir + "/tree.sh 0\n"
			},
			pids: []string{"tree.sh.0.pid", "tree.sh.1.pid", "tree.sh.2.pid"},
		},
		{
			// A role assumed with the process as its source: the SDK runs it from the STS
			// client it builds itself. The process hangs, so STS is never called.
			name: "source_profile of an assumed role", awsProfile: "role", processProfile: "cp",
			config: func(dir string) string {
				return "[profile role]\nrole_arn = arn:aws:iam::123456789012:role/dsqlenv-test\nsource_profile = cp\n\n" +
					"[profile cp]\ncredential_process = " + dir + "/tree.sh 0\n"
			},
			pids: []string{"tree.sh.0.pid", "tree.sh.1.pid", "tree.sh.2.pid"},
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			isolateAWS(t, false)
			dir := t.TempDir()
			if err := os.WriteFile(filepath.Join(dir, "tree.sh"), []byte(treeScript), 0o755); err != nil {
				t.Fatal(err)
			}
			writeAWSConfig(t, tc.config(dir))
			c := &Connection{Profile: "p", Host: "h.dsql.us-east-1.on.aws", Region: "us-east-1", User: "admin", ExpiresIn: time.Minute, AWSProfile: tc.awsProfile}

			ctx := deadlineLater(1500 * time.Millisecond)
			defer ctx.expire()
			errc := make(chan error, 1)
			go func() {
				_, err := MintWithSDK(ctx, c)
				errc <- err
			}()
			// While it runs, the tree is in a process group of its own, not dsqlenv's.
			pids := waitForPids(t, dir, tc.pids, time.Minute)
			t.Cleanup(func() {
				if !t.Failed() {
					return // all dead, checked below; their pids may already name other processes
				}
				for _, pid := range pids {
					syscall.Kill(pid, syscall.SIGKILL) // whatever a failed run left behind
				}
			})
			for _, pid := range pids {
				if pg, err := syscall.Getpgid(pid); err != nil || pg == syscall.Getpgrp() {
					t.Errorf("pid %d: process group %d (err %v), dsqlenv's is %d", pid, pg, err, syscall.Getpgrp())
				}
			}
			ctx.expire() // the deadline, once the whole tree runs
			expired := time.Now()
			var err error
			select {
			case err = <-errc:
			case <-time.After(2 * time.Minute):
				t.Fatal("MintWithSDK did not return within 2 minutes of its deadline")
			}
			took := time.Since(expired)

			var te *TimeoutError
			if !errors.As(err, &te) || te.Source != SourceProcess {
				t.Fatalf("want a TimeoutError for the credential_process, got %T %v", err, err)
			}
			if msg := err.Error(); !strings.Contains(msg, "credential_process did not finish within 1.5s and was stopped") ||
				!strings.Contains(msg, "run the credential_process of AWS profile "+tc.processProfile+" in ~/.aws/config") || !strings.Contains(msg, "raise --timeout") {
				t.Errorf("message: %s", msg)
			}
			if errors.Is(err, context.DeadlineExceeded) {
				t.Errorf("the error matches context.DeadlineExceeded, so a caller would replace its message: %v", err)
			}
			// Not a speed assertion: the process is killed at the deadline, not after its 300 s.
			if took > time.Minute {
				t.Errorf("MintWithSDK returned %v after its deadline", took)
			}
			// MintWithSDK waits for the kill; the grace covers only the reparenting of orphans
			// (and a killed process's exit, which a loaded machine may put off).
			for _, pid := range pids {
				if alive(pid, 30*time.Second) {
					t.Errorf("pid %d of the credential_process tree outlived MintWithSDK", pid)
				}
			}
		})
	}
}

// manualDeadline is a context whose deadline is always the same time away until expire is
// called, and which then ends with context.DeadlineExceeded: what a timer's context does at
// its deadline, at the moment a test chooses (once what it must see has started, however
// long a loaded machine took), and with the time left a message reports the same each run.
type manualDeadline struct {
	context.Context
	left time.Duration
	done chan struct{}
	once sync.Once
}

func deadlineLater(left time.Duration) *manualDeadline {
	return &manualDeadline{Context: context.Background(), left: left, done: make(chan struct{})}
}

func (c *manualDeadline) Deadline() (time.Time, bool) { return time.Now().Add(c.left), true }
func (c *manualDeadline) Done() <-chan struct{}       { return c.done }
func (c *manualDeadline) Err() error {
	select {
	case <-c.done:
		return context.DeadlineExceeded
	default:
		return nil
	}
}
func (c *manualDeadline) expire() { c.once.Do(func() { close(c.done) }) }

func waitForPids(t *testing.T, dir string, files []string, within time.Duration) []int {
	t.Helper()
	var pids []int
	for end := time.Now().Add(within); ; time.Sleep(20 * time.Millisecond) {
		pids = pids[:0]
		for _, f := range files {
			b, _ := os.ReadFile(filepath.Join(dir, f))
			if pid, err := strconv.Atoi(strings.TrimSpace(string(b))); err == nil && pid > 0 {
				pids = append(pids, pid)
			}
		}
		if len(pids) == len(files) {
			return pids
		}
		if time.Now().After(end) {
			t.Fatalf("the credential_process tree did not start: %d of %v written", len(pids), files)
		}
	}
}

// alive reports whether pid still runs after grace. A killed orphan stays a zombie until the
// machine's init reaps it, and init in a container may never do so; a zombie runs nothing.
func alive(pid int, grace time.Duration) bool {
	for end := time.Now().Add(grace); ; time.Sleep(20 * time.Millisecond) {
		if syscall.Kill(pid, 0) == syscall.ESRCH {
			return false
		}
		if stat, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat"); err == nil {
			if i := strings.LastIndexByte(string(stat), ')'); i > 0 && strings.HasPrefix(string(stat[i:]), ") Z") {
				return false
			}
		}
		if time.Now().After(end) {
			return true
		}
	}
}

func TestCredentialProcessOutputStillMintsAToken(t *testing.T) {
	isolateAWS(t, false)
	dir := t.TempDir()
	script := "#!/bin/sh\ncat <<'EOF'\n" +
		`{"Version": 1, "AccessKeyId": "` + testkit.ExampleKeyID + `", "SecretAccessKey": "` + testkit.ExampleSecret + `"}` + "\nEOF\n"
	if err := os.WriteFile(filepath.Join(dir, "creds.sh"), []byte(script), 0o755); err != nil {
		t.Fatal(err)
	}
	writeAWSConfig(t, "[profile cp]\ncredential_process = "+dir+"/creds.sh\n")
	c := &Connection{Profile: "p", Host: "h.dsql.us-east-1.on.aws", Region: "us-east-1", User: "app", ExpiresIn: time.Minute, AWSProfile: "cp"}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	tok, err := MintWithSDK(ctx, c)
	if err != nil {
		t.Fatal(err)
	}
	q := verifySigV4(t, tok, testkit.ExampleSecret)
	if !strings.HasPrefix(q.Get("X-Amz-Credential"), testkit.ExampleKeyID+"/") || q.Get("Action") != "DbConnect" {
		t.Errorf("token: %v", q)
	}
}

func TestCredentialProcessFailureIsNotATimeout(t *testing.T) {
	isolateAWS(t, false)
	writeAWSConfig(t, "[profile cp]\ncredential_process = sh -c 'exit 3'\n")
	c := &Connection{Profile: "p", Host: "h.dsql.us-east-1.on.aws", Region: "us-east-1", User: "app", ExpiresIn: time.Minute, AWSProfile: "cp"}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	_, err := MintWithSDK(ctx, c)
	var ce *CredentialsError
	if !errors.As(err, &ce) || !strings.Contains(err.Error(), "error in credential_process: exit status 3") ||
		!strings.Contains(err.Error(), "run the credential_process of AWS profile cp") {
		t.Errorf("got %T %v", err, err)
	}
}

// A credential_process in a process group of its own is in the background of the terminal,
// where reading it stops the process (SIGTTIN): an MFA prompt would hang. This runs
// MintWithSDK on a real terminal (script(1) makes one) with a credential_process that reads
// its code from it, and checks that dsqlenv gets the terminal back.
func TestCredentialProcessReadsTheTerminal(t *testing.T) {
	scriptCmd := testkit.RequireTool(t, "script")
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, scriptCmd, "-qec", os.Args[0]+" -test.run=^TestCredentialProcessOnATerminalHelper$ -test.v", "/dev/null")
	cmd.Env = append(os.Environ(), "DSQLENV_TEST_TERMINAL_HELPER=1")
	cmd.Stdin = strings.NewReader("123456\n")
	out, err := cmd.CombinedOutput()
	if err != nil || !strings.Contains(string(out), "MINTED") || !strings.Contains(string(out), "TERMINAL BACK") {
		t.Errorf("on a terminal: %v\n%s", err, out)
	}
}

func TestCredentialProcessOnATerminalHelper(t *testing.T) {
	if os.Getenv("DSQLENV_TEST_TERMINAL_HELPER") != "1" {
		t.Skip("run by TestCredentialProcessReadsTheTerminal")
	}
	if fg, err := unix.IoctlGetInt(0, unix.TIOCGPGRP); err != nil || fg != unix.Getpgrp() {
		t.Fatalf("the helper is not in the foreground of a terminal: %v", err)
	}
	isolateAWS(t, false)
	dir := t.TempDir()
	script := "#!/bin/sh\nprintf 'MFA code: ' >&2\nread code\n[ \"$code\" = 123456 ] || exit 9\ncat <<'EOF'\n" +
		`{"Version": 1, "AccessKeyId": "` + testkit.ExampleKeyID + `", "SecretAccessKey": "` + testkit.ExampleSecret + `"}` + "\nEOF\n"
	if err := os.WriteFile(filepath.Join(dir, "mfa.sh"), []byte(script), 0o755); err != nil {
		t.Fatal(err)
	}
	writeAWSConfig(t, "[profile mfa]\ncredential_process = "+dir+"/mfa.sh\n")
	c := &Connection{Profile: "p", Host: "h.dsql.us-east-1.on.aws", Region: "us-east-1", User: "app", ExpiresIn: time.Minute, AWSProfile: "mfa"}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	if _, err := MintWithSDK(ctx, c); err != nil {
		t.Fatal(err)
	}
	fmt.Println("MINTED")
	if fg, err := unix.IoctlGetInt(0, unix.TIOCGPGRP); err != nil || fg != unix.Getpgrp() {
		t.Fatalf("the terminal's foreground group is %d, dsqlenv's %d: %v", fg, unix.Getpgrp(), err)
	}
	fmt.Println("TERMINAL BACK")
}
