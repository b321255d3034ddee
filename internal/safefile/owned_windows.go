//go:build windows

package safefile

import (
	"fmt"
	"io/fs"
	"os"

	"golang.org/x/sys/windows"
)

// ReadOwned is Read for a file that must be the user's own and is never reached through a
// link. Windows has no O_NOFOLLOW and no owner in the file mode: a link found by Lstat is
// refused, and the owner is read from the open handle's security descriptor and checked by
// ownerAllowed.
func ReadOwned(path string, max int64) ([]byte, error) {
	if st, err := os.Lstat(path); err == nil && st.Mode()&fs.ModeSymlink != 0 {
		return nil, &NotRegularError{Path: path, Kind: "a symbolic link"}
	}
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	data, _, err := ReadOpen(f, path, max)
	if err != nil {
		return nil, err
	}
	sd, err := windows.GetSecurityInfo(windows.Handle(f.Fd()), windows.SE_FILE_OBJECT, windows.OWNER_SECURITY_INFORMATION)
	if err != nil {
		return nil, fmt.Errorf("%s: cannot read its owner: %v", path, err)
	}
	owner, _, err := sd.Owner()
	if err != nil {
		return nil, fmt.Errorf("%s: cannot read its owner: %v", path, err)
	}
	tu, err := windows.GetCurrentProcessToken().GetTokenUser()
	if err != nil {
		return nil, fmt.Errorf("cannot tell who you are (the process token's user): %v", err)
	}
	if err := checkOwner(path, owner, tu.User.Sid); err != nil {
		return nil, err
	}
	return data, nil
}

// checkOwner is the owner check: the file is the user's own, or owned by Administrators or
// SYSTEM, as OpenSSH for Windows accepts for its keys and config (check_secure_file_permission,
// contrib/win32/win32compat/w32-sshfileperm.c): a file made by an elevated process is owned
// by Administrators, and whoever is Administrators or SYSTEM can read the user's files anyway.
// Any other owner (another user, Everyone, Users) could have planted the file.
func checkOwner(path string, owner, user *windows.SID) error {
	if owner.Equals(user) || owner.IsWellKnown(windows.WinBuiltinAdministratorsSid) || owner.IsWellKnown(windows.WinLocalSystemSid) {
		return nil
	}
	return fmt.Errorf("%s belongs to %s, not to you (%s), Administrators or SYSTEM", path, account(owner), account(user))
}

// account names a SID for a message: DOMAIN\name (S-1-5-…), or the SID alone when it names
// no account here.
func account(sid *windows.SID) string {
	name, domain, _, err := sid.LookupAccount("")
	if err != nil {
		return sid.String()
	}
	if domain != "" {
		name = domain + `\` + name
	}
	return name + " (" + sid.String() + ")"
}
