//go:build unix

package cli

import (
	"bytes"
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/dsqlenv/dsqlenv/internal/roots"
)

// TestRootsNeverWrittenThroughARacingLink: while another process keeps planting a link to a
// victim file at the roots path (symlink to a temporary name, then rename over it, the
// race of the report), 40 runs of `dsqlenv cert` never change the victim's bytes or mode.
func TestRootsNeverWrittenThroughARacingLink(t *testing.T) {
	env := awsEnv(t, false)
	roots := rootsOf(env)
	os.MkdirAll(filepath.Dir(roots), 0o700)
	victim := filepath.Join(t.TempDir(), "secret")
	os.WriteFile(victim, []byte("top secret\n"), 0o600)

	var stop atomic.Bool
	done := make(chan struct{})
	go func() {
		defer close(done)
		tmp := roots + ".plant"
		for !stop.Load() {
			os.Remove(tmp)
			if os.Symlink(victim, tmp) == nil {
				os.Rename(tmp, roots)
			}
		}
	}()
	for i := range 40 {
		r := runBin(t, env, "cert")
		if r.code != 0 {
			t.Errorf("run %d: exit %d: %s", i, r.code, r.stderr)
		}
	}
	stop.Store(true)
	<-done
	b, _ := os.ReadFile(victim)
	st, _ := os.Stat(victim)
	if string(b) != "top secret\n" || st.Mode().Perm() != 0o600 {
		t.Fatalf("the victim changed through the link: mode %v, %q", st.Mode().Perm(), b)
	}
}

// TestRootsRefusedInADirectoryOthersCanWrite: a data directory that others can write (or,
// as root, one that another user owns: sudo -E with their XDG_DATA_HOME) is refused with the
// reason, and nothing is written; the same run with a private directory works.
func TestRootsRefusedInADirectoryOthersCanWrite(t *testing.T) {
	env := awsEnv(t, false)
	dir := filepath.Dir(rootsOf(env))
	os.MkdirAll(dir, 0o700)
	os.Chmod(dir, 0o777)
	r := runBin(t, env, "cert")
	if r.code != 1 || r.stdout != "" || !strings.Contains(r.stderr, "can be written by others (mode 0777)") {
		t.Errorf("world-writable: %+v", r)
	}
	if _, err := os.Lstat(rootsOf(env)); err == nil {
		t.Error("the roots were written into a directory others can write")
	}
	if os.Geteuid() == 0 {
		os.Chmod(dir, 0o755)
		os.Chown(dir, 65534, 65534)
		r = runBin(t, env, "cert")
		if r.code != 1 || !strings.Contains(r.stderr, "belongs to uid 65534, not to you (uid 0) or root") {
			t.Errorf("another user's directory, as root: %+v", r)
		}
		os.Chown(dir, 0, 0)
	}
	os.Chmod(dir, 0o700)
	if r = runBin(t, env, "cert"); r.code != 0 || strings.TrimSpace(r.stdout) != rootsOf(env) {
		t.Errorf("private directory: %+v", r)
	}
}

// TestRootsPathHoldingAFIFOOrDevice: a FIFO at the roots path, or a link to /dev/zero, neither
// hangs nor eats memory: the block is printed and the path becomes the roots file. doctor
// with a FIFO as sslrootcert says what it is instead of waiting for a writer.
func TestRootsPathHoldingAFIFOOrDevice(t *testing.T) {
	cfg := writeFile(t, t.TempDir(), "p.yaml", "profiles:\n  prod:\n    endpoint: "+hardHost+"\n")
	for name, plant := range map[string]func(string) error{
		"fifo":      func(p string) error { return syscall.Mkfifo(p, 0o644) },
		"/dev/zero": func(p string) error { return os.Symlink("/dev/zero", p) },
	} {
		t.Run(name, func(t *testing.T) {
			env := awsEnv(t, true)
			path := rootsOf(env)
			os.MkdirAll(filepath.Dir(path), 0o700)
			if err := plant(path); err != nil {
				t.Fatal(err)
			}
			ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
			defer cancel()
			cmd := exec.CommandContext(ctx, binPath, "-c", cfg, "bash", "prod")
			cmd.Env = env
			r := runCmd(t, cmd)
			if ctx.Err() != nil {
				t.Fatal("dsqlenv hung on the roots path")
			}
			if r.code != 0 || !strings.Contains(r.stdout, "export PGSSLROOTCERT='"+path+"';") {
				t.Fatalf("exit %d: %s", r.code, r.stderr)
			}
			if b, err := os.ReadFile(path); err != nil || !bytes.Equal(b, roots.PEM) {
				t.Errorf("the roots path does not hold the roots now: %v", err)
			}
		})
	}
	t.Run("doctor sslrootcert fifo", func(t *testing.T) {
		dir := t.TempDir()
		fifo := filepath.Join(dir, "ca.pem")
		syscall.Mkfifo(fifo, 0o644)
		cfg := writeFile(t, dir, "p.yaml", "profiles:\n  prod:\n    endpoint: "+hardHost+"\n    sslrootcert: "+fifo+"\n")
		ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
		defer cancel()
		cmd := exec.CommandContext(ctx, binPath, "-c", cfg, "doctor", "prod")
		cmd.Env = awsEnv(t, true, "PATH=/nonexistent")
		r := runCmd(t, cmd)
		if ctx.Err() != nil {
			t.Fatal("doctor hung on a FIFO sslrootcert")
		}
		if !strings.Contains(r.stdout+r.stderr, "is a FIFO, not a regular file") {
			t.Errorf("doctor did not say what the sslrootcert is: exit %d\n%s%s", r.code, r.stdout, r.stderr)
		}
	})
}
