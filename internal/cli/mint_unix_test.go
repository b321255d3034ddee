//go:build unix

package cli

import (
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// awsFileWatch makes AWS_CONFIG_FILE and AWS_SHARED_CREDENTIALS_FILE named pipes with a
// writer waiting on each: any program that loads the AWS configuration opens them, which
// wakes the writer. touched reports whether that happened.
type awsFileWatch struct {
	paths  []string
	opened chan string
}

func watchAWSFiles(t *testing.T) (*awsFileWatch, []string) {
	dir := t.TempDir()
	w := &awsFileWatch{opened: make(chan string, 2)}
	var env []string
	for _, name := range []string{"AWS_CONFIG_FILE", "AWS_SHARED_CREDENTIALS_FILE"} {
		p := filepath.Join(dir, strings.ToLower(name))
		if err := syscall.Mkfifo(p, 0o600); err != nil {
			t.Fatal(err)
		}
		w.paths = append(w.paths, p)
		env = append(env, name+"="+p)
		go func() {
			f, err := os.OpenFile(p, os.O_WRONLY, 0) // blocks until a reader opens the pipe
			if err == nil {
				w.opened <- name
				f.Close() // the reader sees an empty file
			}
		}()
	}
	t.Cleanup(func() {
		// Release writers nobody woke, so their goroutines end.
		for _, p := range w.paths {
			if f, err := os.OpenFile(p, os.O_RDONLY|syscall.O_NONBLOCK, 0); err == nil {
				time.Sleep(10 * time.Millisecond)
				f.Close()
			}
		}
	})
	return w, env
}

// touched names the file a program that has already exited opened, "" for none, waiting up
// to wait for the writer it woke to say so. That writer may run late on a loaded machine:
// where a file must have been opened, wait long; where none may be, a short wait can only
// miss an open, never invent one.
func (w *awsFileWatch) touched(wait time.Duration) string {
	select {
	case name := <-w.opened:
		return name
	case <-time.After(wait):
		return ""
	}
}

// TestNoTokenCommandsDoNotLoadAWSConfig: commands that need no token must not pay for the
// AWS configuration (it runs in shell start-up files and at every Tab). show is not one of
// them: it reads the AWS configuration to say whether the AWS CLI's cache holds a role's
// credentials.
func TestNoTokenCommandsDoNotLoadAWSConfig(t *testing.T) {
	svc := filepath.Join(t.TempDir(), "pg_service.conf")
	for _, args := range [][]string{
		{"list"}, {"bash", "--unset"}, {"fish", "--unset"}, {"powershell", "--unset"}, {"cmd", "--unset"},
		{"hook", "bash"}, {"hook", "zsh"}, {"hook", "fish"}, {"hook", "powershell"},
		{"completion", "bash"}, {"completion", "zsh"}, {"completion", "fish"}, {"completion", "powershell"},
		{"__complete", "--cur=", "bash"}, {"service", "--file", svc, "demo"}, {"cert"}, {"cert", "--pem"}, {"init", "--path"},
		{"service", "--remove", "--file", svc, "demo"}, {"pgpass", "--path"}, {"dotenv", "--help"},
		{"--help"}, {"bash", "--help"}, {"--version"},
	} {
		t.Run(strings.Join(args, " "), func(t *testing.T) {
			t.Parallel()
			w, env := watchAWSFiles(t)
			r := runBin(t, append(awsEnv(t, true, "DSQLENV_CONFIG="+demoYAML), env...), args...)
			if r.code != 0 {
				t.Errorf("exit %d: %s", r.code, r.stderr)
			}
			if name := w.touched(200 * time.Millisecond); name != "" {
				t.Errorf("loaded the AWS configuration (opened %s)", name)
			}
		})
	}
	// The detector works: commands that mint do open the files.
	for _, args := range [][]string{{"token", "demo"}, {"bash", "demo"}} {
		w, env := watchAWSFiles(t)
		r := runBin(t, append(awsEnv(t, true, "DSQLENV_CONFIG="+demoYAML), env...), args...)
		if r.code != 0 {
			t.Errorf("%v: exit %d: %s", args, r.code, r.stderr)
		}
		if w.touched(time.Minute) == "" {
			t.Errorf("%v minted without opening the AWS files: the detector is blind", args)
		}
	}
}
