package cli

import (
	"runtime/debug"
	"testing"
)

// TestVersionNamesCommitAndDate: --version says which build this is. The linker flags win
// (the release build and the Makefile set all three); what they leave empty comes from the
// build information, as `go install …@v1.2.0` and a `go build` in a checkout record it.
func TestVersionNamesCommitAndDate(t *testing.T) {
	vcs := &debug.BuildInfo{Main: debug.Module{Version: "(devel)"}, Settings: []debug.BuildSetting{
		{Key: "vcs.revision", Value: "0123456789abcdef0123456789abcdef01234567"},
		{Key: "vcs.time", Value: "2026-12-01T10:00:00Z"},
		{Key: "vcs.modified", Value: "false"},
	}}
	installed := &debug.BuildInfo{Main: debug.Module{Version: "v1.2.0"}}
	for _, c := range []struct {
		version, commit, date string
		bi                    *debug.BuildInfo
		want                  string
	}{
		{"v1.3.0", "89abcdef89abcdef89abcdef89abcdef89abcdef", "2026-12-07T17:00:00Z", vcs,
			"v1.3.0 (commit 89abcdef89abcdef89abcdef89abcdef89abcdef, 2026-12-07T17:00:00Z)"},
		{"", "", "", vcs, "dev (commit 0123456789abcdef0123456789abcdef01234567, 2026-12-01T10:00:00Z)"},
		{"", "", "", installed, "v1.2.0"},
		{"v1.3.0-dirty", "", "", installed, "v1.3.0-dirty"},
		{"", "", "", nil, "dev"},
	} {
		if got := describeVersion(c.version, c.commit, c.date, c.bi); got != c.want {
			t.Errorf("describeVersion(%q, %q, %q, %v):\n got %q\nwant %q", c.version, c.commit, c.date, c.bi != nil, got, c.want)
		}
	}
}
