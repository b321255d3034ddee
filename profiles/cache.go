package profiles

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"
)

// cacheMagic starts every cache file; a new layout needs a new number.
const cacheMagic = "dsqlenv profiles cache 2"

// LoadCached is Load with a cache in dir. A cold start of yaml.v3 costs about 1.5 ms even for
// a one-profile file, and about 25 ms for 1,000 profiles (make bench), paid at every shell
// start-up and prompt re-mint; reading the cache costs a fraction. The cache holds what Parse returned
// for the file's exact bytes, keyed by their SHA-256, so an edited file is parsed again and
// a file that fails to parse is never cached: the errors are always Parse's own. Any problem
// with the cache (missing, corrupt, unwritable) falls back to parsing, silently.
//
// On a miss, save writes the cache (best effort); callers run it once their command has
// succeeded, so that a command that fails writes nothing. On a hit it does nothing.
func LoadCached(path, dir string) (f *File, save func(), err error) {
	save = func() {}
	data, err := readFile(path)
	if err != nil {
		return nil, save, err
	}
	if dir == "" {
		f, err = Parse(path, data)
		return f, save, err
	}
	sum := sha256.Sum256(data)
	key := hex.EncodeToString(sum[:])
	abs, err := filepath.Abs(path)
	if err != nil {
		f, err = Parse(path, data)
		return f, save, err
	}
	name := sha256.Sum256([]byte(abs))
	cpath := filepath.Join(dir, "profiles-"+hex.EncodeToString(name[:8])+".cache")
	if f, err := readCache(cpath, key); err == nil {
		f.Path = path
		return f, save, nil
	}
	f, err = Parse(path, data)
	if err != nil {
		return nil, save, err
	}
	return f, func() { _ = writeCache(dir, cpath, key, f) }, nil
}

// The cache is text, one record a line:
//
//	dsqlenv profiles cache 2
//	<sha256 of the profiles file>
//	D <number of profiles>              the defaults follow
//	P <line> <length>:<name>            a profile follows
//	F <field index> <line> <length>:<value>
//	END
//
// Values are length-prefixed, so they need no escaping and are read without copying;
// durations are in nanoseconds.

func writeCache(dir, cpath, key string, f *File) error {
	var b bytes.Buffer
	fmt.Fprintf(&b, "%s\n%s\nD %d\n", cacheMagic, key, len(f.Profiles))
	writeFields(&b, &f.Defaults)
	for i := range f.Profiles {
		p := &f.Profiles[i]
		fmt.Fprintf(&b, "P %d %d:%s\n", p.Line, len(p.Name), p.Name)
		writeFields(&b, &p.Fields)
	}
	b.WriteString("END\n")
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return err
	}
	tmp, err := os.CreateTemp(dir, ".profiles-*.tmp")
	if err != nil {
		return err
	}
	defer os.Remove(tmp.Name())
	if _, err := tmp.Write(b.Bytes()); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Close(); err != nil {
		return err
	}
	return os.Rename(tmp.Name(), cpath)
}

func writeFields(b *bytes.Buffer, f *Fields) {
	for i := range FieldNames {
		s, set, line := fieldText(f, i)
		if set {
			fmt.Fprintf(b, "F %d %d %d:%s\n", i, line, len(s), s)
		}
	}
}

// fieldText and setFieldText convert field i (the index in FieldNames) to and from text.
func fieldText(f *Fields, i int) (string, bool, int) {
	switch p := fieldPtr(f, i).(type) {
	case *Field[string]:
		return p.Value, p.Set, p.Line
	case *Field[int]:
		return strconv.Itoa(p.Value), p.Set, p.Line
	case *Field[time.Duration]:
		return strconv.FormatInt(int64(p.Value), 10), p.Set, p.Line
	}
	panic("unreachable")
}

func setFieldText(f *Fields, i, line int, s string) error {
	switch p := fieldPtr(f, i).(type) {
	case *Field[string]:
		*p = Field[string]{s, true, line}
	case *Field[int]:
		v, err := strconv.Atoi(s)
		if err != nil {
			return err
		}
		*p = Field[int]{v, true, line}
	case *Field[time.Duration]:
		v, err := strconv.ParseInt(s, 10, 64)
		if err != nil {
			return err
		}
		*p = Field[time.Duration]{time.Duration(v), true, line}
	default:
		return fmt.Errorf("no field %d", i)
	}
	return nil
}

// fieldPtr returns field i of FieldNames, or nil.
func fieldPtr(f *Fields, i int) any {
	switch i {
	case 0:
		return &f.Endpoint
	case 1:
		return &f.Region
	case 2:
		return &f.User
	case 3:
		return &f.Database
	case 4:
		return &f.Port
	case 5:
		return &f.SSLMode
	case 6:
		return &f.SSLRootCert
	case 7:
		return &f.ExpiresIn
	case 8:
		return &f.AWSProfile
	case 9:
		return &f.ApplicationName
	case 10:
		return &f.ConnectTimeout
	case 11:
		return &f.Options
	}
	return nil
}

func readCache(cpath, key string) (*File, error) {
	data, err := os.ReadFile(cpath)
	if err != nil {
		return nil, err
	}
	r := cacheReader{s: string(data)}
	if r.line() != cacheMagic || r.line() != key || r.word() != "D" {
		return nil, fmt.Errorf("stale or foreign cache")
	}
	n := r.int()
	if r.err != nil || n <= 0 || n > len(r.s) || r.line() != "" {
		return nil, fmt.Errorf("bad cache header")
	}
	f := &File{Profiles: make([]Profile, 0, n)}
	cur := &f.Defaults
	for r.err == nil {
		switch r.word() {
		case "END":
			if len(f.Profiles) != n || r.s[r.i:] != "\n" {
				return nil, fmt.Errorf("cache without profiles or with trailing data")
			}
			return f, nil
		case "P":
			line, name := r.int(), r.value()
			f.Profiles = append(f.Profiles, Profile{Name: name, Line: line})
			cur = &f.Profiles[len(f.Profiles)-1].Fields
		case "F":
			i, line, v := r.int(), r.int(), r.value()
			if r.err == nil {
				r.err = setFieldText(cur, i, line, v)
			}
		default:
			r.err = fmt.Errorf("bad cache record at byte %d", r.i)
		}
	}
	return nil, r.err
}

// cacheReader reads the records of a cache; the first problem sticks in err.
type cacheReader struct {
	s   string
	i   int
	err error
}

func (r *cacheReader) fail() string {
	if r.err == nil {
		r.err = fmt.Errorf("bad cache at byte %d", r.i)
	}
	r.i = len(r.s)
	return ""
}

// line reads up to the end of the line.
func (r *cacheReader) line() string {
	j := strings.IndexByte(r.s[r.i:], '\n')
	if j < 0 {
		return r.fail()
	}
	l := r.s[r.i : r.i+j]
	r.i += j + 1
	return l
}

// word reads up to the next space or newline, and skips a space after it.
func (r *cacheReader) word() string {
	j := strings.IndexAny(r.s[r.i:], " \n")
	if j < 0 {
		return r.fail()
	}
	w := r.s[r.i : r.i+j]
	r.i += j
	if r.s[r.i] == ' ' {
		r.i++
	}
	return w
}

func (r *cacheReader) int() int {
	n, err := strconv.Atoi(r.word())
	if err != nil {
		r.fail()
	}
	return n
}

// value reads <length>:<bytes> and the newline after it.
func (r *cacheReader) value() string {
	j := strings.IndexByte(r.s[r.i:], ':')
	if j < 0 {
		return r.fail()
	}
	n, err := strconv.Atoi(r.s[r.i : r.i+j])
	start := r.i + j + 1
	if err != nil || n < 0 || start+n >= len(r.s) || r.s[start+n] != '\n' {
		return r.fail()
	}
	r.i = start + n + 1
	return r.s[start : start+n]
}
