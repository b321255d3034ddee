//go:build windows

package safefile

import (
	"fmt"
	"os"
	"unsafe"

	"golang.org/x/sys/windows"
)

// ReadOwned is Read for a file that must be the user's own and is never reached through a
// link. Windows has no O_NOFOLLOW and no owner in the file mode: the file is opened with
// FILE_FLAG_OPEN_REPARSE_POINT, so a symbolic link or junction at path is opened itself
// rather than followed, and the open handle is checked to be a file on disk that is neither a
// directory nor a reparse point (openNoFollow). A link swapped in after the check cannot be
// followed: what is read is what was checked. The owner is read from the same handle's
// security descriptor and checked by checkOwner.
func ReadOwned(path string, max int64) ([]byte, error) {
	f, err := openNoFollow(path)
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

// openNoFollow opens path for reading without following a reparse point at path (CreateFile,
// FILE_FLAG_OPEN_REPARSE_POINT; FILE_FLAG_BACKUP_SEMANTICS lets a directory open, to be named
// as one), and refuses what the handle shows is not a regular file (notRegularKind). Errors
// from opening keep their fs error (fs.ErrNotExist) for errors.Is.
func openNoFollow(path string) (*os.File, error) {
	p, err := windows.UTF16PtrFromString(path)
	if err != nil {
		return nil, &os.PathError{Op: "open", Path: path, Err: err}
	}
	h, err := windows.CreateFile(p, windows.GENERIC_READ,
		windows.FILE_SHARE_READ|windows.FILE_SHARE_WRITE|windows.FILE_SHARE_DELETE, nil, windows.OPEN_EXISTING,
		windows.FILE_FLAG_OPEN_REPARSE_POINT|windows.FILE_FLAG_BACKUP_SEMANTICS, 0)
	if err != nil {
		return nil, &os.PathError{Op: "open", Path: path, Err: err}
	}
	kind, err := handleKind(h)
	if err != nil {
		err = &os.PathError{Op: "stat", Path: path, Err: err}
	} else if kind != "" {
		err = &NotRegularError{Path: path, Kind: kind}
	}
	if err != nil {
		windows.CloseHandle(h)
		return nil, err
	}
	return os.NewFile(uintptr(h), path), nil
}

// handleKind reads the open handle's type, attributes and reparse tag (FileAttributeTagInfo,
// which also answers for a reparse point opened as itself) for notRegularKind.
func handleKind(h windows.Handle) (string, error) {
	ft, err := windows.GetFileType(h)
	if err != nil {
		return "", err
	}
	var info struct{ Attributes, ReparseTag uint32 } // FILE_ATTRIBUTE_TAG_INFO
	if ft == windows.FILE_TYPE_DISK {
		err = windows.GetFileInformationByHandleEx(h, windows.FileAttributeTagInfo, (*byte)(unsafe.Pointer(&info)), uint32(unsafe.Sizeof(info)))
		if err != nil {
			return "", err
		}
	}
	return notRegularKind(ft, info.Attributes, info.ReparseTag), nil
}

// notRegularKind names what a handle of this type, attributes and reparse tag is when it is
// not a regular file ("" when it is). Every reparse point is refused, not only links: a file
// dsqlenv trusts is one the AWS CLI or dsqlenv wrote in place.
func notRegularKind(fileType, attrs, tag uint32) string {
	switch {
	case fileType == windows.FILE_TYPE_CHAR:
		return "a character device"
	case fileType == windows.FILE_TYPE_PIPE:
		return "a FIFO"
	case fileType != windows.FILE_TYPE_DISK:
		return "a special file"
	case attrs&windows.FILE_ATTRIBUTE_REPARSE_POINT != 0 && tag == windows.IO_REPARSE_TAG_SYMLINK:
		return "a symbolic link"
	case attrs&windows.FILE_ATTRIBUTE_REPARSE_POINT != 0 && tag == windows.IO_REPARSE_TAG_MOUNT_POINT:
		return "a junction"
	case attrs&windows.FILE_ATTRIBUTE_REPARSE_POINT != 0:
		return fmt.Sprintf("a reparse point (tag %#x)", tag)
	case attrs&windows.FILE_ATTRIBUTE_DIRECTORY != 0:
		return "a directory"
	}
	return ""
}
