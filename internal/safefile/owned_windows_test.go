package safefile

import (
	"os"
	"path/filepath"
	"testing"

	"golang.org/x/sys/windows"
)

func mustSID(t *testing.T, s string) *windows.SID {
	t.Helper()
	sid, err := windows.StringToSid(s)
	if err != nil {
		t.Fatal(err)
	}
	return sid
}

// TestWindowsCheckOwner: the user, Administrators and SYSTEM may own the file; another user,
// Everyone and Users may not, and the refusal names both owners. The SIDs are given: wine
// gives every file the user's owner (SetNamedSecurityInfo succeeds and changes nothing), and
// Windows lets only an administrator give a file away.
func TestWindowsCheckOwner(t *testing.T) {
	user := mustSID(t, "S-1-5-21-1111111111-2222222222-3333333333-1001")
	for _, tc := range []struct{ owner, err string }{
		{"S-1-5-21-1111111111-2222222222-3333333333-1001", ""}, // the user
		{"S-1-5-32-544", ""}, // BUILTIN\Administrators
		{"S-1-5-18", ""},     // NT AUTHORITY\SYSTEM
		{"S-1-5-21-1111111111-2222222222-3333333333-1002", `C:\f belongs to S-1-5-21-1111111111-2222222222-3333333333-1002, not to you (S-1-5-21-1111111111-2222222222-3333333333-1001), Administrators or SYSTEM`},
		{"S-1-1-0", `C:\f belongs to Everyone (S-1-1-0), not to you (S-1-5-21-1111111111-2222222222-3333333333-1001), Administrators or SYSTEM`},
		{"S-1-5-32-545", `C:\f belongs to BUILTIN\Users (S-1-5-32-545), not to you (S-1-5-21-1111111111-2222222222-3333333333-1001), Administrators or SYSTEM`},
	} {
		err := checkOwner(`C:\f`, mustSID(t, tc.owner), user)
		if got := ""; err != nil {
			got = err.Error()
			if got != tc.err {
				t.Errorf("owner %s: %s\nwant %s", tc.owner, got, tc.err)
			}
		} else if tc.err != "" {
			t.Errorf("owner %s: allowed, want %s", tc.owner, tc.err)
		}
	}
}

// TestWindowsReadOwnedReadsYourFile: a file the user made is read, its owner read from the
// open handle and matched against the process token's user.
func TestWindowsReadOwnedReadsYourFile(t *testing.T) {
	path := filepath.Join(t.TempDir(), "cache.json")
	if err := os.WriteFile(path, []byte("{}"), 0o600); err != nil {
		t.Fatal(err)
	}
	if b, err := ReadOwned(path, 100); err != nil || string(b) != "{}" {
		t.Fatalf("ReadOwned(own file) = %q, %v", b, err)
	}
}
