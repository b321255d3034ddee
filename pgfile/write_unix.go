//go:build unix

package pgfile

import (
	"bytes"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"

	"golang.org/x/sys/unix"

	"github.com/dsqlenv/dsqlenv/internal/safefile"
)

// writeAtomic writes data to a temporary file in path's directory, syncs it and renames it
// over path, so a reader sees the old file or the new one, never a mix. Every step goes
// through one descriptor of the directory (openat, renameat), so the directory that was
// checked is the one written into, and nothing is reached by a path that a rename could
// redirect: the temporary file is created O_EXCL|O_NOFOLLOW and 0600 from the first byte,
// gets its mode by fchmod on its own descriptor, and the rename replaces whatever entry
// stands at path (a link planted there is replaced, not followed). strict, and every write
// by root, first checks the directory (checkDir). SIGINT, SIGTERM and SIGHUP during the
// write remove the temporary file (see temps and AbortWrites).
func writeAtomic(path string, data []byte, mode fs.FileMode, strict bool) error {
	dir, base := filepath.Dir(path), filepath.Base(path)
	dfd, err := openDir(dir, strict)
	if err != nil {
		return fmt.Errorf("cannot write %s: %w (the file is unchanged)", path, err)
	}
	defer unix.Close(dfd)
	return writeIn(dfd, dir, base, data, mode)
}

// replace is Replace on Unix: the old file is read through the checked directory's descriptor
// with O_NOFOLLOW and O_NONBLOCK, so a link, FIFO or device at path is never opened.
func replace(path string, data []byte, mode fs.FileMode, verify func() error) (created bool, err error) {
	dir, base := filepath.Dir(path), filepath.Base(path)
	dfd, err := openDir(dir, true)
	if err != nil {
		return false, fmt.Errorf("cannot write %s: %w (nothing was written)", path, err)
	}
	defer unix.Close(dfd)
	created = true
	if fd, err := unix.Openat(dfd, base, unix.O_RDONLY|unix.O_NONBLOCK|unix.O_NOFOLLOW|unix.O_CLOEXEC, 0); err == nil {
		f := os.NewFile(uintptr(fd), path)
		cur, st, rerr := safefile.ReadOpen(f, path, int64(len(data)))
		f.Close()
		created = st == nil || !st.Mode().IsRegular()
		if rerr == nil && bytes.Equal(cur, data) && st.Mode().Perm() == mode {
			return false, nil
		}
	}
	if verify != nil {
		if err := verify(); err != nil {
			return false, err
		}
	}
	return created, writeIn(dfd, dir, base, data, mode)
}

func writeIn(dfd int, dir, base string, data []byte, mode fs.FileMode) error {
	path := filepath.Join(dir, base)
	tmp, err := temps.createAt(dfd, dir, "."+base+".tmp-")
	if err != nil {
		return fmt.Errorf("cannot write %s: %w (the file is unchanged)", path, unwrapPath(err))
	}
	defer temps.discard(tmp.Name()) // after a successful rename there is nothing left to remove
	if _, err := tmp.Write(data); err != nil {
		tmp.Close()
		return fmt.Errorf("cannot write %s: %w (the file is unchanged)", path, err)
	}
	if err := tmp.Sync(); err != nil {
		tmp.Close()
		return fmt.Errorf("cannot write %s: %w (the file is unchanged)", path, err)
	}
	if err := tmp.Chmod(mode); err != nil { // fchmod: the descriptor, never a path
		tmp.Close()
		return fmt.Errorf("cannot set the mode of %s: %w (the file is unchanged)", path, unwrapPath(err))
	}
	if err := tmp.Close(); err != nil {
		return fmt.Errorf("cannot write %s: %w (the file is unchanged)", path, err)
	}
	if err := temps.renameAt(dfd, tmp.Name(), base); err != nil {
		return fmt.Errorf("cannot replace %s: %w (the file is unchanged)", path, unwrapPath(err))
	}
	unix.Fsync(dfd)
	return nil
}

// openDir opens dir for the *at calls; with strict, or as root, it also checks it (checkDir).
func openDir(dir string, strict bool) (int, error) {
	dfd, err := unix.Open(dir, unix.O_RDONLY|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
	if err != nil {
		return -1, &fs.PathError{Op: "open", Path: dir, Err: err}
	}
	if strict || unix.Geteuid() == 0 {
		if err := checkDir(dfd, dir); err != nil {
			unix.Close(dfd)
			return -1, err
		}
	}
	return dfd, nil
}

// checkDir refuses a directory, checked on its open descriptor, that belongs to someone other
// than the user or root, or that others can write: they could plant a link for a write to
// follow, or replace the file after it was written. Root meets this when another user's
// directory is in its environment (XDG_DATA_HOME or HOME kept by sudo -E, or su without -).
func checkDir(dfd int, dir string) error {
	var st unix.Stat_t
	if err := unix.Fstat(dfd, &st); err != nil {
		return &fs.PathError{Op: "stat", Path: dir, Err: err}
	}
	euid := uint32(unix.Geteuid())
	switch {
	case st.Uid != euid && st.Uid != 0:
		return &UnsafeDirError{Dir: dir, Why: fmt.Sprintf("belongs to uid %d, not to you (uid %d) or root", st.Uid, euid)}
	case st.Mode&0o022 != 0:
		return &UnsafeDirError{Dir: dir, Why: fmt.Sprintf("can be written by others (mode %04o)", st.Mode&0o7777)}
	}
	return nil
}

// createAt makes the temporary file in the directory dfd, mode 0600 from the start, with a
// random name, and registers it under the lock, so a signal cannot fall between its creation
// and its registration.
func (t *tempFiles) createAt(dfd int, dir, prefix string) (*os.File, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.aborted {
		return nil, errAborted
	}
	for range 100 {
		var rnd [8]byte
		rand.Read(rnd[:])
		name := prefix + hex.EncodeToString(rnd[:])
		fd, err := unix.Openat(dfd, name, unix.O_WRONLY|unix.O_CREAT|unix.O_EXCL|unix.O_NOFOLLOW|unix.O_CLOEXEC, 0o600)
		if errors.Is(err, unix.EEXIST) {
			continue
		}
		if err != nil {
			return nil, &fs.PathError{Op: "open", Path: filepath.Join(dir, name), Err: err}
		}
		path := filepath.Join(dir, name)
		t.files[path] = true
		return os.NewFile(uintptr(fd), path), nil
	}
	return nil, fmt.Errorf("cannot make a temporary file in %s", dir)
}

// renameAt moves a registered temporary file (its full path) to base in the directory dfd and
// forgets it.
func (t *tempFiles) renameAt(dfd int, tmp, base string) error {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.aborted {
		return errAborted
	}
	err := unix.Renameat(dfd, filepath.Base(tmp), dfd, base)
	if err != nil {
		return &os.LinkError{Op: "rename", Old: tmp, New: base, Err: err}
	}
	delete(t.files, tmp)
	return nil
}
