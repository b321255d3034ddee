package cli

import (
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/dsqlenv/dsqlenv/emit"
)

// TestBashHookClockNeverTrustsTheEnvironment: the bash hook's clock is printf %(%s)T, or in
// a bash without it (3.2, 4.0, 4.1) SECONDS counted from one `date` at load. An inherited
// or hostile EPOCHSECONDS (which `unset EPOCHSECONDS` turns into a plain variable in bash 5)
// is never evaluated and never read as the time.
func TestBashHookClockNeverTrustsTheEnvironment(t *testing.T) {
	// An old bash is simulated by a printf function that knows no %(...)T, as bash < 4.2.
	oldBash := `printf() { if [[ $1 == -v && $3 == '%(%s)T' ]]; then echo "printf: %(: invalid format character" >&2; return 1; fi; builtin printf "$@"; }` + "\n"
	for _, tc := range []struct {
		name, prelude string
		expiresIn     int64
		starts        int
		dates         int // date processes the hook may start: one at load in an old bash; -1: any
	}{
		{"fresh token", "", 600, 0, 0},
		{"expired token", "", 10, 1, 0},
		{"hostile EPOCHSECONDS, fresh", "unset EPOCHSECONDS; EPOCHSECONDS='a[$(touch MARK)]'\n", 600, 0, 0},
		{"EPOCHSECONDS from the past, fresh", "unset EPOCHSECONDS; EPOCHSECONDS=1\n", 600, 0, 0},
		{"EPOCHSECONDS from the future, expired", "unset EPOCHSECONDS; EPOCHSECONDS=99999999999\n", 10, 1, 0},
		{"old bash, fresh", oldBash, 600, 0, 1},
		{"old bash, expired", oldBash, 10, 1, 1},
		{"old bash, hostile SECONDS", oldBash + "unset SECONDS; SECONDS='a[$(touch MARK)]'\n", 600, 0, -1},
		{"old bash, hostile SECONDS, expired", oldBash + "unset SECONDS; SECONDS='a[$(touch MARK)]'\n", 10, 1, -1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			bin, count := countingBin(t)
			dir := t.TempDir()
			// date is counted too: a fresh prompt must start no process at all.
			dates := filepath.Join(dir, "dates")
			writeExecutable(t, filepath.Join(dir, "date"), "#!/bin/sh\necho run >> "+emit.QuotePOSIX(dates)+"\nexec /bin/date \"$@\"\n")
			env := hookEnv(t, true, time.Now().Unix()+tc.expiresIn)
			for i, kv := range env {
				if strings.HasPrefix(kv, "PATH=") {
					env[i] = "PATH=" + dir + ":" + strings.TrimPrefix(kv, "PATH=")
				}
			}
			marker := filepath.Join(dir, "ran")
			script := strings.ReplaceAll(tc.prelude, "MARK", marker) + "eval " + emit.QuotePOSIX(hookFor(t, "bash", bin)) + "\n:\n:\n:\n" + report
			out, stderr := interactive(t, "bash", env, script)
			if n := starts(t, count); n != tc.starts {
				t.Errorf("dsqlenv started %d times, want %d\n%s\n%s", n, tc.starts, out, stderr)
			}
			if n := starts(t, dates); tc.dates >= 0 && n != tc.dates {
				t.Errorf("date started %d times, want %d", n, tc.dates)
			}
			if _, err := os.Stat(marker); err == nil {
				t.Error("a value in the environment ran as code")
			}
			if strings.Contains(stderr, "bad math") || strings.Contains(stderr, "syntax error") {
				t.Errorf("the hook's arithmetic saw a non-number:\n%s", stderr)
			}
			if tc.starts == 1 {
				m := reportLine.FindStringSubmatch(out)
				if exp, _ := strconv.ParseInt(m[2], 10, 64); m == nil || exp < time.Now().Unix()+800 {
					t.Errorf("no fresh token after the re-mint: %q", out)
				}
			}
		})
	}
}
