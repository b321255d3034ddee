package pgfile

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/dsqlenv/dsqlenv/internal/testkit"
)

// libpqLookup is libpq's parseServiceFile (fe-connect.c) in Go, for the fuzz target: it reads
// the file in fgets chunks of at most 1023 bytes, cuts each at a NUL (strlen), refuses a
// chunk of 1023 bytes or more ("line too long"), trims white space, skips comments and blank
// lines, treats every line starting with '[' as a header that names service when the service
// and a ']' follow, and returns the first value of each key in the first matching section.
// TestHeadersAsLibpqReadsThem checks it against the real libpq.
func libpqLookup(data []byte, service string) (map[string]string, bool, error) {
	var keys map[string]string
	found := false
	for len(data) > 0 {
		n := bytes.IndexByte(data, '\n') + 1
		if n == 0 || n > 1023 {
			n = min(len(data), 1023)
		}
		chunk := data[:n]
		data = data[n:]
		if i := bytes.IndexByte(chunk, 0); i >= 0 {
			chunk = chunk[:i]
		}
		if len(chunk) >= 1023 {
			return nil, false, errors.New("line too long")
		}
		t := strings.Trim(string(chunk), cSpace)
		switch {
		case t == "" || t[0] == '#':
		case t[0] == '[':
			if found {
				return keys, true, nil
			}
			found = strings.HasPrefix(t[1:], service) && len(t) > len(service)+1 && t[len(service)+1] == ']'
			keys = map[string]string{}
		case found:
			k, v, ok := strings.Cut(t, "=")
			if !ok {
				return nil, false, errors.New("syntax error")
			}
			if _, dup := keys[k]; !dup {
				keys[k] = v
			}
		}
	}
	if !found {
		keys = nil
	}
	return keys, found, nil
}

var socketRE = regexp.MustCompile(`socket "/nonexistent/([^"/]*)/\.s\.PGSQL`)

// psqlHost asks the real libpq (through psql) which host the service file gives service
// prod: each host is a socket directory that does not exist, which psql names in its error
// without connecting anywhere. It returns "" when libpq finds no [prod].
func psqlHost(t *testing.T, psql string, data []byte) string {
	t.Helper()
	file := filepath.Join(t.TempDir(), "pg_service.conf")
	os.WriteFile(file, data, 0o600)
	cmd := exec.Command(psql, "-X", "-w", "service=prod", "-c", "")
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "PG") {
			cmd.Env = append(cmd.Env, kv)
		}
	}
	cmd.Env = append(cmd.Env, "PGSERVICEFILE="+file, "PGSYSCONFDIR=/nonexistent", "LC_ALL=C")
	out, _ := cmd.CombinedOutput()
	if m := socketRE.FindSubmatch(out); m != nil {
		return string(m[1])
	}
	if bytes.Contains(out, []byte(`definition of service "prod" not found`)) {
		return ""
	}
	t.Fatalf("psql on %q: %s", data, out)
	return ""
}

// TestHeadersAsLibpqReadsThem: for each way of writing a header line, the real libpq, the Go
// header() and libpqLookup agree on whether it is [prod]; and after MergeService (forced,
// since these sections have no marker) libpq reads the new section — never a stale one left
// above it. The marker line is inside every written section, so libpq's accepting the file
// also shows that the marker is a comment to it.
func TestHeadersAsLibpqReadsThem(t *testing.T) {
	psql := testkit.RequireTool(t, "psql")
	for _, h := range []string{
		"[prod]", "[prod] # managed", "  [prod]  ", "\t[prod]\t\r", "\v[prod]\f", "[prod]x", "[prod]]",
		"[prod]\x00junk", "[prod", "[ prod]", "[prod ]", "[[prod]", "#[prod]", " # [prod]", "[pr\x00od]",
		"[prod2]", "[pro]",
	} {
		old := []byte(h + "\nhost=/nonexistent/old\n")
		libpq := psqlHost(t, psql, old) == "old"
		_, isHeader, named := header(h)
		name, _, _ := header(h)
		ours := isHeader && named && name == "prod"
		keys, found, err := libpqLookup(old, "prod")
		if ours != libpq || found != libpq || err != nil || found && keys["host"] != "/nonexistent/old" {
			t.Errorf("%q: libpq reads it as [prod]: %v; header(): %v; libpqLookup: %v %v %v", h, libpq, ours, found, keys, err)
		}
		out, _, err := MergeService(old, []Section{{Name: "prod", Keys: []KV{{"host", "/nonexistent/new"}}}}, false, true)
		if err != nil {
			t.Fatal(err)
		}
		if got := psqlHost(t, psql, out); got != "new" {
			t.Errorf("%q: after the merge libpq reads host %q, want new; file:\n%s", h, got, out)
		}
	}
}

// FuzzMergeService merges a section into arbitrary service-file content and checks, by
// libpqLookup: libpq then reads exactly the written keys for it (or, removed, no section);
// every other section reads as before; and a second merge changes nothing.
func FuzzMergeService(f *testing.F) {
	f.Add([]byte("[other]\nhost=x\n"), "h", false, false)
	f.Add([]byte("[prod] # x\n"+Marker+"\nhost=old\n[z]\nport=1"), "a.dsql.us-east-1.on.aws", false, false)
	f.Add([]byte("# c\r\n[prod]\r\nhost=1\r\n\r\n[prod]\r\nuser=u\r\n"), "x y", true, true)
	f.Add([]byte("  [prod\n[prod]]\n\x00[prod]\nhost=\n"), "v", false, true)
	f.Fuzz(func(t *testing.T, data []byte, value string, remove, force bool) {
		s := Section{Name: "prod", Keys: []KV{{"host", value}}}
		out, report, err := MergeService(data, []Section{s}, remove, force)
		if err != nil {
			var fe *FieldError
			var hw *HandWrittenError
			if !errors.As(err, &fe) && !errors.As(err, &hw) {
				t.Fatalf("unexpected error %v", err)
			}
			return
		}
		again, report2, err := MergeService(out, []Section{s}, remove, false)
		if err != nil || !bytes.Equal(again, out) {
			t.Fatalf("second merge: %v\n%q\n%q", err, out, again)
		}
		if remove && len(report2.Missing) != 1 || !remove && len(report.Written) != 1 {
			t.Fatalf("reports %+v then %+v", report, report2)
		}
		for _, l := range splitLines(data) {
			// libpq refuses the whole file (counting the line ending, which a last line
			// without one gets when a section is appended): nothing to compare.
			if len(l.text)+2 >= 1023 {
				return
			}
		}
		keys, found, err := libpqLookup(out, "prod")
		switch {
		case err != nil && !remove:
			t.Fatalf("libpq would fail on the result: %v\n%q", err, out)
		case remove && found:
			t.Fatalf("[prod] still found after removal:\n%q", out)
		case !remove && (!found || fmt.Sprint(keys) != fmt.Sprint(map[string]string{"host": value})):
			t.Fatalf("libpq would read %v %v, want host=%q:\n%q", found, keys, value, out)
		}
		for _, sec := range parseSections(splitLines(data)) {
			if !sec.named || sec.name == "prod" {
				continue
			}
			k1, f1, e1 := libpqLookup(data, sec.name)
			k2, f2, e2 := libpqLookup(out, sec.name)
			if fmt.Sprint(k1, f1, e1) != fmt.Sprint(k2, f2, e2) {
				t.Fatalf("[%s] changed: %v %v %v, now %v %v %v\n%q\n%q", sec.name, k1, f1, e1, k2, f2, e2, data, out)
			}
		}
	})
}
