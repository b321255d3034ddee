//go:build unix

package cli

import (
	"bytes"
	"encoding/pem"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
)

// asRoot skips a test that gives a file to another user: only root can.
func asRoot(t *testing.T) {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Skip("giving a file to another user (chown) needs root")
	}
}

// TestProxyStateFilesAreTheUsersOwn: the proxy's local password and TLS key live in the state
// folder, which may be one another user can write (a shared XDG_STATE_HOME). A password file
// planted there (a link, another user's file, or one others can read) is refused, not used
// silently, and a planted link never has the key written through it into another file.
func TestProxyStateFilesAreTheUsersOwn(t *testing.T) {
	setup := func(t *testing.T) (*run, string) {
		state := t.TempDir()
		dir := filepath.Join(state, "dsqlenv", "proxy")
		if err := os.MkdirAll(dir, 0o700); err != nil {
			t.Fatal(err)
		}
		return &run{Env: &Env{Paths: Paths{StateHome: state}}}, dir
	}
	t.Run("made once, then read back", func(t *testing.T) {
		r, dir := setup(t)
		pw, file, err := r.localPassword("p")
		fi, serr := os.Lstat(file)
		if err != nil || serr != nil || fi.Mode().Perm() != 0o600 || file != filepath.Join(dir, "p.password") {
			t.Fatalf("first localPassword: %q %v %v %v", file, err, serr, fi)
		}
		if again, _, err := r.localPassword("p"); err != nil || again != pw {
			t.Errorf("second localPassword: %q, %v; want the first one", again, err)
		}
		if _, cert, err := r.localCertificate(); err != nil || cert != filepath.Join(dir, "localhost.crt") {
			t.Errorf("localCertificate: %q, %v", cert, err)
		}
		if _, _, err := r.localCertificate(); err != nil {
			t.Errorf("localCertificate read back: %v", err)
		}
	})
	// Two proxies starting at once (two profiles' units at login) share one certificate: each
	// serves the pair on disk, not one of its own that the other overwrote.
	t.Run("certificate made by two at once", func(t *testing.T) {
		for range 10 {
			r, dir := setup(t)
			var served [2][]byte
			var wg sync.WaitGroup
			for i := range served {
				wg.Go(func() {
					if conf, _, err := r.localCertificate(); err != nil {
						t.Errorf("localCertificate: %v", err)
					} else {
						served[i] = conf.Certificates[0].Certificate[0]
					}
				})
			}
			wg.Wait()
			pemData, err := os.ReadFile(filepath.Join(dir, "localhost.crt"))
			if err != nil {
				t.Fatal(err)
			}
			block, _ := pem.Decode(pemData)
			for i, der := range served {
				if block == nil || !bytes.Equal(der, block.Bytes) {
					t.Fatalf("proxy %d serves a certificate that is not the one in localhost.crt", i+1)
				}
			}
		}
	})
	planted := map[string]func(t *testing.T, file string){
		"a link to another file": func(t *testing.T, file string) {
			other := filepath.Join(t.TempDir(), "theirs")
			os.WriteFile(other, []byte("planted\n"), 0o600)
			if err := os.Symlink(other, file); err != nil {
				t.Fatal(err)
			}
		},
		"another user's file": func(t *testing.T, file string) {
			asRoot(t)
			os.WriteFile(file, []byte("planted\n"), 0o600)
			if err := os.Chown(file, 65534, 65534); err != nil {
				t.Fatal(err)
			}
		},
		"a file others can read": func(t *testing.T, file string) {
			os.WriteFile(file, []byte("planted\n"), 0o644)
			os.Chmod(file, 0o644)
		},
	}
	for name, plant := range planted {
		t.Run("password: "+name, func(t *testing.T) {
			r, dir := setup(t)
			file := filepath.Join(dir, "p.password")
			plant(t, file)
			pw, _, err := r.localPassword("p")
			if err == nil || pw == "planted" || !strings.Contains(err.Error(), file) {
				t.Errorf("localPassword with %s there: %q, %v; want an error naming the file", name, pw, err)
			}
		})
	}
	t.Run("a folder another user made", func(t *testing.T) {
		asRoot(t)
		r, dir := setup(t)
		os.Chmod(dir, 0o777)
		if err := os.Chown(dir, 65534, 65534); err != nil {
			t.Fatal(err)
		}
		if _, _, err := r.localPassword("p"); err == nil || !strings.Contains(err.Error(), dir+" belongs to UID 65534") || strings.Contains(err.Error(), "dsqlenv proxy:") {
			t.Errorf("localPassword in another user's folder: %v", err)
		}
		if _, err := os.Lstat(filepath.Join(dir, "p.password")); err == nil {
			t.Errorf("a password was written into another user's folder")
		}
	})
	t.Run("key: a link to another file is not written through", func(t *testing.T) {
		r, dir := setup(t)
		victim := filepath.Join(t.TempDir(), "victim")
		os.WriteFile(victim, []byte("keep me\n"), 0o600)
		if err := os.Symlink(victim, filepath.Join(dir, "localhost.key")); err != nil {
			t.Fatal(err)
		}
		_, _, err := r.localCertificate()
		if data, _ := os.ReadFile(victim); string(data) != "keep me\n" {
			t.Errorf("the key was written through a planted link into another file (err %v): %q", err, data)
		}
		if err == nil {
			t.Errorf("localCertificate with a planted link for its key: no error")
		}
	})
	t.Run("key: one others can read is refused", func(t *testing.T) {
		r, dir := setup(t)
		if _, _, err := r.localCertificate(); err != nil {
			t.Fatal(err)
		}
		key := filepath.Join(dir, "localhost.key")
		os.Chmod(key, 0o644)
		if _, _, err := r.localCertificate(); err == nil || !strings.Contains(err.Error(), key) {
			t.Errorf("localCertificate with a 0644 key: %v; want an error naming it", err)
		}
	})
}
