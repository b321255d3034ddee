package pgfile

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/dsqlenv/dsqlenv/internal/testkit"
)

var prod = Section{Name: "prod", Keys: []KV{{"host", "a.dsql.us-east-1.on.aws"}, {"port", "5432"}, {"sslmode", "verify-full"}}}

// mergeProd writes prod into a file, as `dsqlenv service prod` does.
func mergeProd(b []byte) ([]byte, error) {
	out, _, err := MergeService(b, []Section{prod}, false, false)
	return out, err
}

// testLocks is a lock directory of the test's own (see Edit).
func testLocks(t *testing.T) string { return filepath.Join(t.TempDir(), "locks") }

const prodBody = "host=a.dsql.us-east-1.on.aws\nport=5432\nsslmode=verify-full\n"

func TestMergeService(t *testing.T) {
	m := Marker + "\n"
	for _, tc := range []struct {
		name, in, want string
		remove, force  bool
		report         ServiceReport
	}{
		{"no file", "", "[prod]\n" + m + prodBody, false, false, ServiceReport{Written: []string{"prod"}}},
		{"foreign sections and comments kept, new section at the end",
			"# my services\n[other]\nhost=x  \n\n",
			"# my services\n[other]\nhost=x  \n\n[prod]\n" + m + prodBody, false, false, ServiceReport{Written: []string{"prod"}}},
		{"missing final newline", "[other]\nhost=x",
			"[other]\nhost=x\n\n[prod]\n" + m + prodBody, false, false, ServiceReport{Written: []string{"prod"}}},
		{"replaced where it stands, comments inside kept",
			"[a]\nhost=1\n\n[prod]\n" + m + "# note\nhost=old\nuser=bob\n\n[z]\nhost=2\n",
			"[a]\nhost=1\n\n[prod]\n" + m + prodBody + "# note\n\n[z]\nhost=2\n", false, false, ServiceReport{Written: []string{"prod"}}},
		{"a header with a comment after it is the same section (libpq ignores what follows ])",
			"[prod] # managed\n" + m + "host=old\n",
			"[prod]\n" + m + prodBody, false, false, ServiceReport{Written: []string{"prod"}}},
		{"white space around a header is the same section",
			" \t[prod]\t \n" + m + "host=old\n\n[z]\nhost=2\n",
			"[prod]\n" + m + prodBody + "\n[z]\nhost=2\n", false, false, ServiceReport{Written: []string{"prod"}}},
		{"a later duplicate (which libpq never reads) is emptied",
			"[prod]\n" + m + "host=1\n\n[prod]\n" + m + "host=2\n",
			"[prod]\n" + m + prodBody + "\n", false, false, ServiceReport{Written: []string{"prod"}}},
		{"a hand-written section is replaced with force",
			"[prod]\nhost=mine\n", "[prod]\n" + m + prodBody, false, true, ServiceReport{Written: []string{"prod"}}},
		{"CRLF stays CRLF", "[other]\r\nhost=x\r\n",
			"[other]\r\nhost=x\r\n\r\n[prod]\r\n" + Marker + "\r\n" + strings.ReplaceAll(prodBody, "\n", "\r\n"), false, false, ServiceReport{Written: []string{"prod"}}},
		{"remove", "[a]\nhost=1\n\n[prod]\n" + m + "host=old\n\n[z]\nhost=2\n", "[a]\nhost=1\n\n[z]\nhost=2\n", true, false, ServiceReport{Removed: []string{"prod"}}},
		{"remove with a trailing comment on the header", "[a]\nhost=1\n\n[prod]   # x\n" + m + "host=old\n", "[a]\nhost=1\n\n", true, false, ServiceReport{Removed: []string{"prod"}}},
		{"remove absent", "[a]\nhost=1\n", "[a]\nhost=1\n", true, false, ServiceReport{Missing: []string{"prod"}}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			out, report, err := MergeService([]byte(tc.in), []Section{prod}, tc.remove, tc.force)
			if err != nil {
				t.Fatal(err)
			}
			if string(out) != tc.want {
				t.Errorf("got:\n%q\nwant:\n%q", out, tc.want)
			}
			if fmt.Sprint(report) != fmt.Sprint(tc.report) {
				t.Errorf("report %+v, want %+v", report, tc.report)
			}
			again, report, err := MergeService(out, []Section{prod}, tc.remove, false)
			if err != nil || string(again) != string(out) {
				t.Errorf("not idempotent: second write gives %v\n%q", err, again)
			}
			if tc.remove && fmt.Sprint(report) != fmt.Sprint(ServiceReport{Missing: []string{"prod"}}) {
				t.Errorf("second remove reports %+v, want prod missing", report)
			}
		})
	}
}

// TestHandWrittenSectionNeedsForce: a section without the marker is the user's. The error
// shows its first three lines, escaped, with a password masked.
func TestHandWrittenSectionNeedsForce(t *testing.T) {
	in := "[other]\nhost=x\n[prod] # mine\npassword=hunter2\nhost=\x1b]0;pwned\x07\nport=1\nuser=me\n"
	for _, remove := range []bool{false, true} {
		out, _, err := MergeService([]byte(in), []Section{prod}, remove, false)
		var hw *HandWrittenError
		if !errors.As(err, &hw) || out != nil {
			t.Fatalf("remove=%v: err %v, out %q", remove, err, out)
		}
		msg := err.Error()
		verb := map[bool]string{false: "replace", true: "remove"}[remove]
		for _, want := range []string{"section [prod] was not written by dsqlenv", `"[prod] # mine" "password=***" "host=\x1b]0;pwned\a"`, "to " + verb + " it anyway, run again with --force"} {
			if !strings.Contains(msg, want) {
				t.Errorf("remove=%v: error %q lacks %q", remove, msg, want)
			}
		}
		if strings.Contains(msg, "hunter2") || strings.Contains(msg, "port=1") || strings.ContainsAny(msg, "\x1b\x07\n") {
			t.Errorf("remove=%v: error shows too much: %q", remove, msg)
		}
	}
}

func TestUncarriableFieldsAreRefused(t *testing.T) {
	for _, tc := range []struct {
		s     Section
		field string
	}{
		{Section{Name: "p\nq", Keys: []KV{{"host", "h"}}}, `section name "p\nq"`},
		{Section{Name: "p\x00", Keys: []KV{{"host", "h"}}}, `section name "p\x00"`},
		{Section{Name: "p]x", Keys: []KV{{"host", "h"}}}, `section name "p]x"`},
		{Section{Name: "", Keys: []KV{{"host", "h"}}}, `section name ""`},
		{Section{Name: "p", Keys: []KV{{"ho\rst", "h"}}}, `"ho\rst"`},
		{Section{Name: "p", Keys: []KV{{"host=x", "h"}}}, `"host=x"`},
		{Section{Name: "p", Keys: []KV{{"dbname", "postgres\n*"}}}, "dbname"},
		{Section{Name: "p", Keys: []KV{{"dbname", "a\rb"}}}, "dbname"},
		{Section{Name: "p", Keys: []KV{{"user", "a\x00b"}}}, "user"},
	} {
		for _, remove := range []bool{false, true} {
			_, _, err := MergeService(nil, []Section{tc.s}, remove, true)
			var fe *FieldError
			if remove && tc.s.Name == "p" {
				if err != nil { // removing needs only the name
					t.Errorf("remove %q: %v", tc.s.Keys, err)
				}
				continue
			}
			if !errors.As(err, &fe) || fe.Field != tc.field {
				t.Errorf("%q remove=%v: err %#v, want a FieldError for %s", tc.s, remove, err, tc.field)
			}
		}
	}
	for _, e := range []PassEntry{
		{Host: "h\n", Port: "5432", Database: "postgres", User: "admin", Password: "t"}, {Host: "h", Port: "5432\r", Database: "postgres", User: "admin", Password: "t"},
		{Host: "h", Port: "5432", Database: "postgres\n*", User: "admin", Password: "t"}, {Host: "h", Port: "5432", Database: "postgres", User: "ad\x00min", Password: "t"},
		{Host: "h", Port: "5432", Database: "postgres", User: "admin", Password: "tok\nen"},
	} {
		_, err := MergePass([]byte("# mine\n"), []PassEntry{e}, nil)
		var fe *FieldError
		if !errors.As(err, &fe) {
			t.Errorf("%+v: err %v, want a FieldError", e, err)
			continue
		}
		if strings.Contains(err.Error(), "tok") || !strings.Contains(err.Error(), "which a password file cannot carry") {
			t.Errorf("%+v: message %q", e, err)
		}
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
	out, err := MergePass([]byte(in), []PassEntry{{Host: "h", Port: "5432", Database: "postgres", User: "admin", Password: "NEW"}, {Host: "h:x", Port: "5432", Database: "postgres", User: `a\b`, Password: "T"}, {Host: "#h", Port: "5432", Database: "*", User: "u", Password: "T"}}, nil)
	if err != nil {
		t.Fatal(err)
	}
	got := string(out)
	want := "# mine\nother:5432:db:u:secret\nh:5432:postgres:admin:NEW\nlast:1:d:u:p\nh\\:x:5432:postgres:a\\\\b:T\n\\#h:5432:\\*:u:T\n"
	if got != want {
		t.Errorf("got:\n%q\nwant:\n%q", got, want)
	}
	if f := splitPass(`h\:x:5432:postgres:a\\b:T`); strings.Join(f, "|") != `h:x|5432|postgres|a\b|T` {
		t.Errorf("splitPass = %q", f)
	}
}

func TestUpdateKeepsModeAndFollowsSymlink(t *testing.T) {
	testkit.UnixOnly(t, "Windows has no mode bits to keep, and wine 8 cannot open the symbolic links it makes")
	dir := t.TempDir()
	real := filepath.Join(dir, "dotfiles", "pg_service.conf")
	os.MkdirAll(filepath.Dir(real), 0o755)
	os.WriteFile(real, []byte("[a]\nhost=1\n"), 0o640)
	link := filepath.Join(dir, ".pg_service.conf")
	os.Symlink("dotfiles/pg_service.conf", link)
	written, err := Edit(testLocks(t), link, 0o600, mergeProd)
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
	if _, err := Edit(testLocks(t), fresh, 0o600, mergeProd); err != nil {
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
	path, locks := filepath.Join(t.TempDir(), "svc"), testLocks(t)
	os.WriteFile(path, []byte("# keep me\n"), 0o600)
	var wg sync.WaitGroup
	errs := make(chan error, 8)
	for i := 0; i < 8; i++ {
		wg.Add(1)
		go func(i int) {
			defer wg.Done()
			s := Section{Name: fmt.Sprintf("p%d", i), Keys: []KV{{"host", fmt.Sprintf("h%d", i)}}}
			_, err := Edit(locks, path, 0o600, func(b []byte) ([]byte, error) {
				out, _, err := MergeService(b, []Section{s}, false, false)
				return out, err
			})
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
		if !strings.Contains(string(b), fmt.Sprintf("[p%d]\n%s\nhost=h%d\n", i, Marker, i)) {
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
		_, err := Edit(os.Getenv("PGFILE_LOCKS"), os.Getenv("PGFILE_PATH"), 0o600, func(b []byte) ([]byte, error) {
			s := Section{Name: os.Getenv("PGFILE_CHILD"), Keys: []KV{{"host", "h"}}}
			out, _, err := MergeService(b, []Section{s}, false, false)
			return out, err
		})
		if err != nil {
			t.Fatal(err)
		}
		return
	}
	path, locks := filepath.Join(t.TempDir(), "svc"), testLocks(t)
	var cmds []*exec.Cmd
	for i := 0; i < 8; i++ {
		cmds = append(cmds, testkit.StartCmd(t, func() *exec.Cmd {
			cmd := exec.Command(os.Args[0], "-test.run", "^TestConcurrentProcessesLoseNothing$")
			cmd.Env = append(os.Environ(), fmt.Sprintf("PGFILE_CHILD=c%d", i), "PGFILE_PATH="+path, "PGFILE_LOCKS="+locks)
			return cmd
		}))
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

// TestReadOnlyFileIsRefused: a file its owner made read-only is left alone, even where the
// directory would let a rename replace it (and even for root).
func TestReadOnlyFileIsRefused(t *testing.T) {
	path := filepath.Join(t.TempDir(), "svc")
	orig := "[a]\nhost=1\n"
	os.WriteFile(path, []byte(orig), 0o444)
	_, err := Edit(testLocks(t), path, 0o600, mergeProd)
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

// TestMergePassWildcardAndDrop: an entry marked Wildcard writes `*` as libpq's wildcard (a
// literal `*` stays `\*`), and the lines drop picks go while every other line stays.
func TestMergePassWildcardAndDrop(t *testing.T) {
	in := "# mine\n127.0.0.1:7000:*:*:pw\nmine:5432:*:*:pw\n127.0.0.1:6432:postgres:admin:pw\n"
	drop := func(e PassEntry) bool { return e.Host == "127.0.0.1" && e.Password == "pw" }
	out, err := MergePass([]byte(in), []PassEntry{
		{Host: "127.0.0.1", Port: "6432", Database: "*", User: "*", Password: "pw", Wildcard: true},
		{Host: "::1", Port: "6432", Database: "*", User: "*", Password: "pw", Wildcard: true},
		{Host: "h", Port: "1", Database: "*", User: "u", Password: "t"},
	}, drop)
	want := "# mine\nmine:5432:*:*:pw\n127.0.0.1:6432:*:*:pw\n\\:\\:1:6432:*:*:pw\nh:1:\\*:u:t\n"
	if err != nil || string(out) != want {
		t.Errorf("got:\n%q\nwant:\n%q (%v)", out, want, err)
	}
}
