package safefile

import (
	"encoding/binary"
	"os"
	"path/filepath"
	"testing"
	"unicode/utf16"

	"golang.org/x/sys/windows"

	"github.com/dsqlenv/dsqlenv/internal/testkit"
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

// TestWindowsNotRegularKind: what the open handle shows decides, and every reparse point is
// refused, named by its tag. The values are given: wine 8 cannot make a reparse point (see
// TestWindowsReadOwnedRefusesAReparsePoint).
func TestWindowsNotRegularKind(t *testing.T) {
	const reparse, dir, archive = windows.FILE_ATTRIBUTE_REPARSE_POINT, windows.FILE_ATTRIBUTE_DIRECTORY, windows.FILE_ATTRIBUTE_ARCHIVE
	for _, tc := range []struct {
		fileType, attrs, tag uint32
		want                 string
	}{
		{windows.FILE_TYPE_DISK, archive, 0, ""},
		{windows.FILE_TYPE_DISK, windows.FILE_ATTRIBUTE_NORMAL, 0, ""},
		{windows.FILE_TYPE_DISK, archive | reparse, windows.IO_REPARSE_TAG_SYMLINK, "a symbolic link"},
		{windows.FILE_TYPE_DISK, dir | reparse, windows.IO_REPARSE_TAG_SYMLINK, "a symbolic link"},
		{windows.FILE_TYPE_DISK, dir | reparse, windows.IO_REPARSE_TAG_MOUNT_POINT, "a junction"},
		{windows.FILE_TYPE_DISK, archive | reparse, 0x80000023, "a reparse point (tag 0x80000023)"}, // IO_REPARSE_TAG_AF_UNIX
		{windows.FILE_TYPE_DISK, dir, 0, "a directory"},
		{windows.FILE_TYPE_CHAR, 0, 0, "a character device"},
		{windows.FILE_TYPE_PIPE, 0, 0, "a FIFO"},
		{windows.FILE_TYPE_UNKNOWN, 0, 0, "a special file"},
	} {
		if got := notRegularKind(tc.fileType, tc.attrs, tc.tag); got != tc.want {
			t.Errorf("notRegularKind(%d, %#x, %#x) = %q, want %q", tc.fileType, tc.attrs, tc.tag, got, tc.want)
		}
	}
}

// TestWindowsReadOwnedRefusesWhatIsNotAFile: ReadOwned, which opens without following a
// link, refuses what Read refuses, and opens the path once (refusesWhatIsNotAFile's pipe).
func TestWindowsReadOwnedRefusesWhatIsNotAFile(t *testing.T) {
	refusesWhatIsNotAFile(t, "ReadOwned", func(path string, max int64) error {
		_, err := ReadOwned(path, max)
		return err
	})
}

// TestWindowsReadOwnedRefusesAReparsePoint: a symbolic link to the user's own file and a
// junction are refused as themselves, not followed. Not under wine, which cannot make a
// reparse point: its CreateSymbolicLinkW returns success and creates nothing (os.Symlink
// returns nil, and Lstat then finds no file), FSCTL_SET_REPARSE_POINT answers "Request not
// supported", and a Unix symbolic link on Z: is followed by wine itself and shows no
// FILE_ATTRIBUTE_REPARSE_POINT.
func TestWindowsReadOwnedRefusesAReparsePoint(t *testing.T) {
	testkit.SkipUnderWine(t, "wine 8 cannot make a reparse point: CreateSymbolicLinkW creates nothing, FSCTL_SET_REPARSE_POINT is not supported")
	dir := t.TempDir()
	target := filepath.Join(dir, "real.json")
	if err := os.WriteFile(target, []byte("{}"), 0o600); err != nil {
		t.Fatal(err)
	}
	t.Run("junction", func(t *testing.T) {
		// A junction needs no privilege, unlike a symbolic link.
		junction := filepath.Join(dir, "junction")
		makeJunction(t, junction, t.TempDir())
		t.Cleanup(func() { os.Remove(junction) }) // the junction alone, before its directory is removed
		want := junction + " is a junction, not a regular file"
		if _, err := ReadOwned(junction, 100); err == nil || err.Error() != want {
			t.Errorf("ReadOwned(junction) = %v, want %s", err, want)
		}
	})
	t.Run("symlink", func(t *testing.T) {
		link := filepath.Join(dir, "link.json")
		if err := os.Symlink(target, link); err != nil {
			t.Skipf("no symbolic links for this user (Windows without developer mode or the privilege): %v", err)
		}
		want := link + " is a symbolic link, not a regular file"
		if b, err := ReadOwned(link, 100); err == nil || err.Error() != want {
			t.Errorf("ReadOwned(link) = %q, %v, want %s", b, err, want)
		}
	})
}

// makeJunction makes the empty directory path a junction to target (FSCTL_SET_REPARSE_POINT
// with a REPARSE_DATA_BUFFER for IO_REPARSE_TAG_MOUNT_POINT: the NT path, then the printed one).
func makeJunction(t *testing.T, path, target string) {
	t.Helper()
	if err := os.Mkdir(path, 0o700); err != nil {
		t.Fatal(err)
	}
	nt := utf16.Encode([]rune(`\??\` + target))
	printName := utf16.Encode([]rune(target))
	names := make([]byte, 0, 2*(len(nt)+len(printName)+2))
	for _, s := range [][]uint16{nt, printName} {
		for _, c := range append(s, 0) {
			names = binary.LittleEndian.AppendUint16(names, c)
		}
	}
	var buf []byte
	buf = binary.LittleEndian.AppendUint32(buf, windows.IO_REPARSE_TAG_MOUNT_POINT)
	buf = binary.LittleEndian.AppendUint16(buf, uint16(8+len(names)))     // ReparseDataLength
	buf = binary.LittleEndian.AppendUint16(buf, 0)                        // Reserved
	buf = binary.LittleEndian.AppendUint16(buf, 0)                        // SubstituteNameOffset
	buf = binary.LittleEndian.AppendUint16(buf, uint16(2*len(nt)))        // SubstituteNameLength
	buf = binary.LittleEndian.AppendUint16(buf, uint16(2*len(nt)+2))      // PrintNameOffset
	buf = binary.LittleEndian.AppendUint16(buf, uint16(2*len(printName))) // PrintNameLength
	buf = append(buf, names...)
	p, _ := windows.UTF16PtrFromString(path)
	h, err := windows.CreateFile(p, windows.GENERIC_WRITE, 0, nil, windows.OPEN_EXISTING,
		windows.FILE_FLAG_OPEN_REPARSE_POINT|windows.FILE_FLAG_BACKUP_SEMANTICS, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer windows.CloseHandle(h)
	var n uint32
	if err := windows.DeviceIoControl(h, windows.FSCTL_SET_REPARSE_POINT, &buf[0], uint32(len(buf)), nil, 0, &n, nil); err != nil {
		t.Fatalf("making the junction %s: %v", path, err)
	}
}
