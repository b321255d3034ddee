package pgfile

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"time"
)

// LockWait is how long Update waits for another writer of the same directory to finish.
var LockWait = 10 * time.Second

// Update reads the file at path (a missing file reads as empty), passes its content to edit,
// and writes the result back atomically under an exclusive lock, so concurrent dsqlenv runs
// each see the other's change. It returns the path written.
//
// Only regular files are read or written: a symbolic link is followed to its final target and
// written through (a dotfile kept in a dotfiles repository stays there); a target that is a
// device, FIFO, socket or directory is refused with a *NotRegularError before anything opens
// it (opening a device can have effects of its own, and a FIFO blocks). The directory of a
// path that does not exist yet is created, but never the directory of a dangling link's
// target. The mode of an existing file is kept; a new file gets newMode; a read-only file is
// refused. An error from edit comes back prefixed with the file's path.
func Update(path string, newMode fs.FileMode, edit func([]byte) ([]byte, error)) (string, error) {
	return update(path, newMode, false, edit)
}

// update is Update; with private the file ends with mode 0600 whatever its old mode.
func update(path string, newMode fs.FileMode, private bool, edit func([]byte) ([]byte, error)) (string, error) {
	target, linked, err := resolve(path)
	if err != nil {
		return "", err
	}
	dir := filepath.Dir(target)
	if !linked {
		if err := os.MkdirAll(dir, 0o700); err != nil {
			return "", fmt.Errorf("cannot create the directory of %s: %w", target, err)
		}
	}
	unlock, err := lockDir(dir)
	if err != nil {
		return "", fmt.Errorf("cannot lock %s: %w", dir, err)
	}
	defer unlock()

	mode := newMode
	old, st, err := readRegular(path, target)
	switch {
	case err == nil:
		if !private {
			mode = st.Mode().Perm()
		}
		// A file its owner cannot write was made read-only on purpose; replacing it by a
		// rename would succeed anyway (and root may write anything), so refuse here.
		if perm := st.Mode().Perm(); perm&0o200 == 0 {
			return "", fmt.Errorf("cannot write %s: it is read-only (mode %04o): make it writable (chmod u+w) to let dsqlenv update it (the file is unchanged)", target, perm)
		}
	case errors.Is(err, fs.ErrNotExist):
		old = nil
	default:
		return "", err
	}
	data, err := edit(old)
	if err != nil {
		return "", fmt.Errorf("%s: %w", target, err)
	}
	if old == nil && len(data) == 0 {
		return target, nil // nothing to write (say, removing from a missing file): create nothing
	}
	if old != nil && bytes.Equal(data, old) && st.Mode().Perm() == mode {
		return target, nil // nothing changed: leave the file, its mode and its time alone
	}
	return target, writeAtomic(target, data, mode)
}

// readRegular reads target, refusing anything but a regular file. The check is made again on
// the open file because the path may have been replaced since resolve looked at it.
func readRegular(path, target string) ([]byte, fs.FileInfo, error) {
	f, err := os.OpenFile(target, openRead, 0)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil, err
	}
	if err != nil {
		return nil, nil, fmt.Errorf("cannot read %s: %w", target, unwrapPath(err))
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return nil, nil, fmt.Errorf("cannot read %s: %w", target, unwrapPath(err))
	}
	if !st.Mode().IsRegular() {
		return nil, nil, notRegular(path, target, st.Mode())
	}
	data, err := io.ReadAll(f)
	if err != nil {
		return nil, nil, fmt.Errorf("cannot read %s: %w", target, unwrapPath(err))
	}
	return data, st, nil
}

// writeAtomic writes data to a temporary file in the same directory, syncs it and renames it
// over path, so a reader sees the old file or the new one, never a mix. The temporary file is
// 0600 from its creation and gets mode only just before the rename, so a token is never in a
// file others can read; SIGINT, SIGTERM and SIGHUP during the write remove it (see temps).
func writeAtomic(path string, data []byte, mode fs.FileMode) error {
	temps.begin()
	defer temps.end()
	dir := filepath.Dir(path)
	tmp, err := temps.create(dir, "."+filepath.Base(path)+".tmp-*")
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
	if err := tmp.Chmod(mode); err != nil {
		tmp.Close()
		return fmt.Errorf("cannot set the mode of %s: %w (the file is unchanged)", path, unwrapPath(err))
	}
	if err := tmp.Close(); err != nil {
		return fmt.Errorf("cannot write %s: %w (the file is unchanged)", path, err)
	}
	if err := temps.rename(tmp.Name(), path); err != nil {
		return fmt.Errorf("cannot replace %s: %w (the file is unchanged)", path, unwrapPath(err))
	}
	syncDir(dir)
	return nil
}

func unwrapPath(err error) error {
	var pe *fs.PathError
	if errors.As(err, &pe) {
		return pe.Err
	}
	var le *os.LinkError
	if errors.As(err, &le) {
		return le.Err
	}
	return err
}

// maxLinks is Linux's limit on symbolic links followed in one lookup (MAXSYMLINKS, 40).
const maxLinks = 40

// resolve follows symbolic links to the file they name, and reports whether it followed any.
// It only looks (lstat), never opens. It refuses a target that exists and is not a regular
// file, and a dangling link whose target's directory does not exist: creating directories
// where a link points is not dsqlenv's business.
func resolve(path string) (target string, linked bool, err error) {
	target = path
	for range maxLinks {
		st, err := os.Lstat(target)
		switch {
		case errors.Is(err, fs.ErrNotExist):
			if linked {
				dir := filepath.Dir(target)
				if ds, err := os.Stat(dir); err != nil || !ds.IsDir() {
					return "", false, fmt.Errorf("cannot write %s: it is a symbolic link to %s, whose directory %s does not exist: create that directory or fix the link (nothing was written)", path, target, dir)
				}
			}
			return target, linked, nil
		case err != nil:
			return "", false, fmt.Errorf("cannot write %s: %w", path, unwrapPath(err))
		case st.Mode()&fs.ModeSymlink != 0:
			dest, err := os.Readlink(target)
			if err != nil {
				return "", false, fmt.Errorf("cannot write %s: %w", path, unwrapPath(err))
			}
			if !filepath.IsAbs(dest) {
				dest = filepath.Join(filepath.Dir(target), dest)
			}
			target, linked = dest, true
		case !st.Mode().IsRegular():
			return "", false, notRegular(path, target, st.Mode())
		default:
			return target, linked, nil
		}
	}
	return "", false, fmt.Errorf("cannot write %s: too many levels of symbolic links (fix the link)", path)
}

// NotRegularError is returned for a path that is, or links to, something other than a
// regular file.
type NotRegularError struct {
	Path   string // the path as given
	Target string // the final target of its symbolic links, or Path
	Kind   string // "a FIFO", "a character device", "a socket", "a directory", …
}

func (e *NotRegularError) Error() string {
	name := e.Path
	if e.Target != e.Path {
		name = fmt.Sprintf("%s (a symbolic link to %s)", e.Path, e.Target)
	}
	return fmt.Sprintf("cannot write %s: it is %s, not a regular file, and dsqlenv writes only regular files (it was left alone)", name, e.Kind)
}

func notRegular(path, target string, m fs.FileMode) error {
	var kind string
	switch {
	case m.IsDir():
		kind = "a directory"
	case m&fs.ModeNamedPipe != 0:
		kind = "a FIFO"
	case m&fs.ModeSocket != 0:
		kind = "a socket"
	case m&fs.ModeCharDevice != 0:
		kind = "a character device"
	case m&fs.ModeDevice != 0:
		kind = "a block device"
	case m&fs.ModeSymlink != 0:
		kind = "a symbolic link"
	default:
		kind = "a special file"
	}
	return &NotRegularError{Path: path, Target: target, Kind: kind}
}
