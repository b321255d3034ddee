package pgfile

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
)

var prod = Section{Name: "prod", Keys: []KV{{"host", "a.dsql.us-east-1.on.aws"}, {"port", "5432"}, {"sslmode", "verify-full"}}}

func TestMergeService(t *testing.T) {
	for _, tc := range []struct {
		name, in, want string
		remove         bool
	}{
		{"no file", "", "[prod]\nhost=a.dsql.us-east-1.on.aws\nport=5432\nsslmode=verify-full\n", false},
		{"foreign sections and comments kept, new section at the end",
			"# my services\n[other]\nhost=x  \n\n",
			"# my services\n[other]\nhost=x  \n\n[prod]\nhost=a.dsql.us-east-1.on.aws\nport=5432\nsslmode=verify-full\n", false},
		{"missing final newline", "[other]\nhost=x",
			"[other]\nhost=x\n\n[prod]\nhost=a.dsql.us-east-1.on.aws\nport=5432\nsslmode=verify-full\n", false},
		{"replaced where it stands, comments inside kept",
			"[a]\nhost=1\n\n[prod]\n# note\nhost=old\nuser=bob\n\n[z]\nhost=2\n",
			"[a]\nhost=1\n\n[prod]\nhost=a.dsql.us-east-1.on.aws\nport=5432\nsslmode=verify-full\n# note\n\n[z]\nhost=2\n", false},
		{"CRLF stays CRLF", "[other]\r\nhost=x\r\n",
			"[other]\r\nhost=x\r\n\r\n[prod]\r\nhost=a.dsql.us-east-1.on.aws\r\nport=5432\r\nsslmode=verify-full\r\n", false},
		{"remove", "[a]\nhost=1\n\n[prod]\nhost=old\n\n[z]\nhost=2\n", "[a]\nhost=1\n\n[z]\nhost=2\n", true},
		{"remove absent", "[a]\nhost=1\n", "[a]\nhost=1\n", true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := string(MergeService([]byte(tc.in), []Section{prod}, tc.remove))
			if got != tc.want {
				t.Errorf("got:\n%q\nwant:\n%q", got, tc.want)
			}
			if again := string(MergeService([]byte(got), []Section{prod}, tc.remove)); again != got {
				t.Errorf("not idempotent: second write gives\n%q", again)
			}
		})
	}
}

func TestCheckSectionRefusesWhatLibpqMisreads(t *testing.T) {
	for _, v := range []string{"a\nb", " lead", "trail ", strings.Repeat("x", MaxLine)} {
		if err := CheckSection(Section{Name: "p", Keys: []KV{{"options", v}}}); err == nil {
			t.Errorf("accepted %q", v[:min(len(v), 20)])
		}
	}
	if err := CheckSection(prod); err != nil {
		t.Error(err)
	}
}

func TestMergePass(t *testing.T) {
	in := "# mine\nother:5432:db:u:secret\nh:5432:postgres:admin:OLD\nlast:1:d:u:p"
	got := string(MergePass([]byte(in), []PassEntry{{"h", "5432", "postgres", "admin", "NEW"}, {"h:x", "5432", "postgres", `a\b`, "T"}}))
	want := "# mine\nother:5432:db:u:secret\nh:5432:postgres:admin:NEW\nlast:1:d:u:p\nh\\:x:5432:postgres:a\\\\b:T\n"
	if got != want {
		t.Errorf("got:\n%q\nwant:\n%q", got, want)
	}
	if f := splitPass(`h\:x:5432:postgres:a\\b:T`); strings.Join(f, "|") != `h:x|5432|postgres|a\b|T` {
		t.Errorf("splitPass = %q", f)
	}
}

func TestUpdateKeepsModeAndFollowsSymlink(t *testing.T) {
	dir := t.TempDir()
	real := filepath.Join(dir, "dotfiles", "pg_service.conf")
	os.MkdirAll(filepath.Dir(real), 0o755)
	os.WriteFile(real, []byte("[a]\nhost=1\n"), 0o640)
	link := filepath.Join(dir, ".pg_service.conf")
	os.Symlink("dotfiles/pg_service.conf", link)
	written, err := Update(link, 0o600, func(b []byte) ([]byte, error) { return MergeService(b, []Section{prod}, false), nil })
	if err != nil || written != real {
		t.Fatalf("Update = %s, %v", written, err)
	}
	if st, _ := os.Lstat(link); st.Mode()&os.ModeSymlink == 0 {
		t.Error("the symbolic link was replaced by a file")
	}
	st, _ := os.Stat(real)
	if st.Mode().Perm() != 0o640 {
		t.Errorf("mode %v, want 0640 kept", st.Mode().Perm())
	}
	if b, _ := os.ReadFile(real); !strings.Contains(string(b), "[prod]") || !strings.HasPrefix(string(b), "[a]\nhost=1\n") {
		t.Errorf("content %q", b)
	}
	fresh := filepath.Join(dir, "new", "svc")
	if _, err := Update(fresh, 0o600, func(b []byte) ([]byte, error) { return MergeService(b, []Section{prod}, false), nil }); err != nil {
		t.Fatal(err)
	}
	if st, _ := os.Stat(fresh); st.Mode().Perm() != 0o600 {
		t.Errorf("new file mode %v, want 0600", st.Mode().Perm())
	}
	entries, _ := os.ReadDir(filepath.Dir(real))
	if len(entries) != 1 {
		t.Errorf("temporary files left behind: %v", entries)
	}
}

func TestConcurrentWritersLoseNothing(t *testing.T) {
	path := filepath.Join(t.TempDir(), "svc")
	os.WriteFile(path, []byte("# keep me\n"), 0o600)
	var wg sync.WaitGroup
	errs := make(chan error, 8)
	for i := 0; i < 8; i++ {
		wg.Add(1)
		go func(i int) {
			defer wg.Done()
			s := Section{Name: fmt.Sprintf("p%d", i), Keys: []KV{{"host", fmt.Sprintf("h%d", i)}}}
			_, err := Update(path, 0o600, func(b []byte) ([]byte, error) { return MergeService(b, []Section{s}, false), nil })
			errs <- err
		}(i)
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
	b, _ := os.ReadFile(path)
	for i := 0; i < 8; i++ {
		if !strings.Contains(string(b), fmt.Sprintf("[p%d]\nhost=h%d\n", i, i)) {
			t.Errorf("section p%d lost:\n%s", i, b)
		}
	}
	if !strings.HasPrefix(string(b), "# keep me\n") {
		t.Errorf("foreign content lost:\n%s", b)
	}
}

// TestConcurrentProcessesLoseNothing runs the writers as separate processes, as eight shells
// running dsqlenv service at once would: the lock is an OS lock, not a Go mutex.
func TestConcurrentProcessesLoseNothing(t *testing.T) {
	if os.Getenv("PGFILE_CHILD") != "" {
		_, err := Update(os.Getenv("PGFILE_PATH"), 0o600, func(b []byte) ([]byte, error) {
			s := Section{Name: os.Getenv("PGFILE_CHILD"), Keys: []KV{{"host", "h"}}}
			return MergeService(b, []Section{s}, false), nil
		})
		if err != nil {
			t.Fatal(err)
		}
		return
	}
	path := filepath.Join(t.TempDir(), "svc")
	var cmds []*exec.Cmd
	for i := 0; i < 8; i++ {
		cmd := exec.Command(os.Args[0], "-test.run", "^TestConcurrentProcessesLoseNothing$")
		cmd.Env = append(os.Environ(), fmt.Sprintf("PGFILE_CHILD=c%d", i), "PGFILE_PATH="+path)
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		cmds = append(cmds, cmd)
	}
	for _, c := range cmds {
		if err := c.Wait(); err != nil {
			t.Fatal(err)
		}
	}
	b, _ := os.ReadFile(path)
	for i := 0; i < 8; i++ {
		if !strings.Contains(string(b), fmt.Sprintf("[c%d]\n", i)) {
			t.Errorf("section c%d lost:\n%s", i, b)
		}
	}
}

// TestReadOnlyDirectoryLeavesTheFileAlone: the write fails with a clear error and the
// original is untouched. Root ignores directory permissions, so as root the writer runs as
// the unprivileged user nobody.
func TestReadOnlyDirectoryLeavesTheFileAlone(t *testing.T) {
	if os.Getenv("PGFILE_RO_CHILD") != "" {
		_, err := Update(os.Getenv("PGFILE_PATH"), 0o600, func(b []byte) ([]byte, error) { return MergeService(b, []Section{prod}, false), nil })
		if err == nil {
			fmt.Println("NO ERROR")
			os.Exit(3)
		}
		fmt.Println(err)
		return
	}
	dir, err := os.MkdirTemp("", "pgfile-ro-")
	if err != nil {
		t.Fatal(err)
	}
	defer os.RemoveAll(dir)
	os.Chmod(dir, 0o755)
	ro := filepath.Join(dir, "ro")
	os.Mkdir(ro, 0o755)
	path := filepath.Join(ro, "svc")
	orig := "[a]\nhost=1\n"
	os.WriteFile(path, []byte(orig), 0o666)
	os.Chmod(ro, 0o555)
	defer os.Chmod(ro, 0o755)
	self := os.Args[0]
	if os.Geteuid() == 0 { // the test binary sits in a private directory nobody cannot reach
		b, err := os.ReadFile(self)
		if err != nil {
			t.Fatal(err)
		}
		self = filepath.Join(dir, "pgfile.test")
		os.WriteFile(self, b, 0o755)
	}
	cmd := exec.Command(self, "-test.run", "^TestReadOnlyDirectoryLeavesTheFileAlone$")
	cmd.Env = append(os.Environ(), "PGFILE_RO_CHILD=1", "PGFILE_PATH="+path)
	if os.Geteuid() == 0 {
		cmd.SysProcAttr = &syscall.SysProcAttr{Credential: &syscall.Credential{Uid: 65534, Gid: 65534}}
	}
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("child: %v\n%s", err, out)
	}
	if !strings.Contains(string(out), "cannot write "+path+": permission denied (the file is unchanged)") {
		t.Errorf("error message: %s", out)
	}
	if b, _ := os.ReadFile(path); string(b) != orig {
		t.Errorf("the file changed: %q", b)
	}
}

// TestReadOnlyFileIsRefused: a file its owner made read-only is left alone, even where the
// directory would let a rename replace it (and even for root).
func TestReadOnlyFileIsRefused(t *testing.T) {
	path := filepath.Join(t.TempDir(), "svc")
	orig := "[a]\nhost=1\n"
	os.WriteFile(path, []byte(orig), 0o444)
	_, err := Update(path, 0o600, func(b []byte) ([]byte, error) { return MergeService(b, []Section{prod}, false), nil })
	if err == nil || !strings.Contains(err.Error(), "it is read-only (mode 0444): make it writable (chmod u+w)") {
		t.Errorf("err %v", err)
	}
	if b, _ := os.ReadFile(path); string(b) != orig {
		t.Errorf("the file changed: %q", b)
	}
	if m, _ := filepath.Glob(filepath.Join(filepath.Dir(path), ".svc.tmp-*")); len(m) > 0 {
		t.Errorf("temporary files left: %v", m)
	}
}
