//go:build unix

package pgfile

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// signalChildSize is the size of the file the child rewrites: large enough that most of its
// time is spent inside a write, where the signals should land.
const signalChildSize = 4 << 20

// TestSignalDuringWriteLeavesNoTempFile kills a process that rewrites a 4 MiB password file
// in a loop with SIGTERM or SIGINT at random moments. Afterwards no temporary file is left,
// the file is whole (the old content or a new one), the process's handler (AbortWrites, then
// exit 128+n) ended it, and no temporary file was ever readable by others — the
// old file's mode was 0644, which an earlier version gave the temporary file before the
// rename.
func TestSignalDuringWriteLeavesNoTempFile(t *testing.T) {
	if path := os.Getenv("PGFILE_SIGNAL_CHILD"); path != "" {
		// The handler a program using pgfile installs (dsqlenv's is in internal/cli).
		sigs := make(chan os.Signal, 1)
		signal.Notify(sigs, syscall.SIGTERM, syscall.SIGINT)
		go func() {
			s := <-sigs
			AbortWrites()
			os.Exit(128 + int(s.(syscall.Signal)))
		}()
		fmt.Println("ready")
		for k := 0; ; k++ {
			data := append(bytes.Repeat([]byte{'a' + byte(k%26)}, signalChildSize-1), '\n')
			_, err := rewrite(filepath.Join(filepath.Dir(path), "locks"), path, 0o600, true, func([]byte) ([]byte, error) { return data, nil })
			if errors.Is(err, errAborted) {
				select {} // the handler is ending the process
			}
			if err != nil {
				fmt.Fprintln(os.Stderr, err)
				os.Exit(3)
			}
		}
	}
	dir := t.TempDir()
	path := filepath.Join(dir, "pgpass")
	orig := "# old\n"
	os.WriteFile(path, []byte(orig), 0o644)
	os.Chmod(path, 0o644)

	// Watch the directory for temporary files others could read, for as long as the test runs.
	var mu sync.Mutex
	var exposed []string
	var seen int
	stop := make(chan struct{})
	watching := make(chan struct{})
	go func() {
		defer close(watching)
		for {
			select {
			case <-stop:
				return
			default:
			}
			entries, _ := os.ReadDir(dir)
			for _, e := range entries {
				if !strings.HasPrefix(e.Name(), ".pgpass.tmp-") {
					continue
				}
				st, err := os.Lstat(filepath.Join(dir, e.Name()))
				mu.Lock()
				seen++
				if err == nil && st.Mode().Perm()&0o077 != 0 {
					exposed = append(exposed, fmt.Sprintf("%s %v", e.Name(), st.Mode().Perm()))
				}
				mu.Unlock()
			}
		}
	}()

	for i := range 30 {
		sig := syscall.SIGTERM
		if i%3 == 2 {
			sig = syscall.SIGINT
		}
		cmd := exec.Command(os.Args[0], "-test.run", "^TestSignalDuringWriteLeavesNoTempFile$")
		cmd.Env = append(os.Environ(), "PGFILE_SIGNAL_CHILD="+path)
		var stderr bytes.Buffer
		cmd.Stderr = &stderr
		out, _ := cmd.StdoutPipe()
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		if line, _ := bufio.NewReader(out).ReadString('\n'); line != "ready\n" {
			cmd.Process.Kill()
			t.Fatalf("child said %q", line)
		}
		time.Sleep(time.Duration(rand.IntN(40)) * time.Millisecond)
		cmd.Process.Signal(sig)
		cmd.Wait()
		if code := cmd.ProcessState.ExitCode(); code != 128+int(sig) {
			t.Errorf("round %d: the child did not exit %d after %v: %v %s", i, 128+int(sig), sig, cmd.ProcessState, stderr.Bytes())
		}
		if m, _ := filepath.Glob(filepath.Join(dir, ".*.tmp-*")); len(m) > 0 {
			t.Fatalf("round %d (%v): temporary files left: %v", i, sig, m)
		}
		b, _ := os.ReadFile(path)
		if s := string(b); s != orig && (len(b) != signalChildSize || strings.Trim(s[:len(s)-1], s[:1]) != "") {
			t.Fatalf("round %d: the file is torn (%d bytes)", i, len(b))
		}
	}
	close(stop)
	<-watching
	if len(exposed) > 0 {
		t.Errorf("temporary files readable by others: %v", exposed)
	}
	// A rewrite always ends 0600; when every child was stopped before its rename (a slow
	// machine, -race), the file is the original, mode and all.
	if b, _ := os.ReadFile(path); string(b) != orig {
		if st, _ := os.Stat(path); st.Mode().Perm() != 0o600 {
			t.Errorf("final mode %v, want 0600", st.Mode().Perm())
		}
	}
	t.Logf("temporary files observed by the watcher: %d", seen)
}
