//go:build unix

package pgfile

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"syscall"

	"golang.org/x/sys/unix"

	"github.com/dsqlenv/dsqlenv/internal/safefile"
)

// tryLock makes one attempt at the lock for dir: flock, without blocking, on a lock file in
// locks, made 0600 through a descriptor of locks that was made 0700, opened without following
// a link, and checked to be the user's own with no group or other bits, so no one else can
// open the file or swap the directory under it. The file is named after dir's device and
// inode, which name the directory however its path is spelled (through a link, or /home
// linked to /usr/home), as the inode a lock on the directory itself was taken on did.
// release is nil when another run holds the lock, or let go of it and removed the file (or
// the directory) meanwhile: then try again. release removes the file before it lets go, so
// whoever locked the removed file finds that it is no longer at its name and tries again.
func tryLock(locks, dir string) (path string, release func(), err error) {
	var st unix.Stat_t
	if err := unix.Stat(dir, &st); err != nil {
		return "", nil, &fs.PathError{Op: "stat", Path: dir, Err: err}
	}
	name := fmt.Sprintf("%x-%x.lock", uint64(st.Dev), uint64(st.Ino))
	path = filepath.Join(locks, name)
	if err := os.MkdirAll(locks, 0o700); errors.Is(err, fs.ErrNotExist) {
		return path, nil, nil // a run letting go removed a parent meanwhile
	} else if err != nil {
		return "", nil, notLocks(locks, err)
	}
	dfd, err := unix.Open(locks, unix.O_RDONLY|unix.O_DIRECTORY|unix.O_NOFOLLOW|unix.O_CLOEXEC, 0)
	switch {
	case err == unix.ENOENT:
		return path, nil, nil
	case err != nil:
		return "", nil, notLocks(locks, &fs.PathError{Op: "open", Path: locks, Err: err})
	}
	fd := -1
	defer func() {
		if release == nil {
			unix.Close(dfd)
			if fd >= 0 {
				unix.Close(fd)
			}
		}
	}()
	var ds unix.Stat_t
	if err := unix.Fstat(dfd, &ds); err != nil {
		return "", nil, &fs.PathError{Op: "stat", Path: locks, Err: err}
	}
	switch euid := unix.Geteuid(); {
	case int(ds.Uid) != euid:
		return "", nil, unsafeLocks(locks, fmt.Sprintf("belongs to uid %d, not to you (uid %d)", ds.Uid, euid))
	case ds.Mode&0o077 != 0:
		return "", nil, unsafeLocks(locks, fmt.Sprintf("can be opened by others (mode %04o)", ds.Mode&0o7777))
	}
	fd, err = unix.Openat(dfd, name, unix.O_RDWR|unix.O_CREAT|unix.O_NOFOLLOW|unix.O_NONBLOCK|unix.O_CLOEXEC, 0o600)
	switch {
	case err == unix.ENOENT: // the directory was removed after it was opened
		return path, nil, nil
	case err != nil:
		return "", nil, &fs.PathError{Op: "open", Path: path, Err: err}
	}
	switch err := unix.Flock(fd, unix.LOCK_EX|unix.LOCK_NB); err {
	case nil:
	case unix.EWOULDBLOCK, unix.EINTR:
		return path, nil, nil
	default:
		return "", nil, &fs.PathError{Op: "flock", Path: path, Err: err}
	}
	var locked, named unix.Stat_t
	if unix.Fstat(fd, &locked) != nil || unix.Fstatat(dfd, name, &named, unix.AT_SYMLINK_NOFOLLOW) != nil || locked.Dev != named.Dev || locked.Ino != named.Ino {
		return path, nil, nil
	}
	return path, func() {
		unix.Unlinkat(dfd, name, 0)
		unix.Close(fd) // closing the last descriptor lets go of the flock
		unix.Close(dfd)
	}, nil
}

// notLocks explains why the lock directory could not be made or opened: what stands there
// instead of a directory (a link, a file), or err.
func notLocks(locks string, err error) error {
	if st, lerr := os.Lstat(locks); lerr == nil && !st.IsDir() {
		return unsafeLocks(locks, "is "+safefile.Kind(st.Mode()))
	}
	return fmt.Errorf("cannot make the lock directory: %w", err)
}

func unsafeLocks(locks, why string) error {
	return fmt.Errorf("the lock directory %s %s: it must be a directory of your own that no one else can open; remove it, and dsqlenv makes it again (mode 0700)", locks, why)
}

func findHolder(path string) string { return "find it with: fuser -v " + path }

// followable refuses the symbolic link at link (st its Lstat; path is the name it was reached
// from) where Linux's fs.protected_symlinks would refuse it: in a sticky directory anyone can
// write (/tmp), a link is followed only when it belongs to the follower or to the directory's
// owner (Documentation/admin-guide/sysctl/fs.rst, protected_symlinks; fs/namei.c
// may_follow_link). resolve reads links itself with Readlink, which the kernel never checks,
// so without this another user's /tmp/x -> ~/.bashrc given as PGPASSFILE would rewrite
// .bashrc. The same rule holds on every Unix: a sticky /tmp is shared everywhere.
func followable(path, link string, st fs.FileInfo) error {
	ls, ok := st.Sys().(*syscall.Stat_t)
	if !ok {
		return nil
	}
	dir := filepath.Dir(link)
	var ds unix.Stat_t
	if err := unix.Stat(dir, &ds); err != nil {
		return fmt.Errorf("cannot use %s: %w", path, &fs.PathError{Op: "stat", Path: dir, Err: err})
	}
	const shared = unix.S_ISVTX | 0o002
	euid := unix.Geteuid()
	if ds.Mode&shared != shared || int(ls.Uid) == euid || ls.Uid == ds.Uid {
		return nil
	}
	name := link
	if link != path {
		name = fmt.Sprintf("%s (reached through %s)", link, path)
	}
	return fmt.Errorf("refusing to follow the symbolic link %s: it belongs to uid %d, not to you (uid %d), and sits in %s, a sticky directory anyone can write, so anyone could have pointed it at your files (the kernel's fs.protected_symlinks rule); set PGPASSFILE or PGSERVICEFILE to the file itself, not to a link there (nothing was read or written)", name, ls.Uid, euid, dir)
}
