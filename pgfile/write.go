package pgfile

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
)

// Update reads the file at path (a missing file reads as empty), passes its content to edit,
// and writes the result back atomically under an exclusive lock, so concurrent dsqlenv runs
// each see the other's change. A symbolic link is written through to its target. The mode of
// an existing file is kept; a new file gets newMode; a read-only file is refused. It returns
// the path written.
func Update(path string, newMode fs.FileMode, edit func([]byte) ([]byte, error)) (string, error) {
	target, err := resolveLink(path)
	if err != nil {
		return "", err
	}
	dir := filepath.Dir(target)
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return "", fmt.Errorf("cannot create the directory of %s: %w", target, err)
	}
	unlock, err := lockDir(dir)
	if err != nil {
		return "", fmt.Errorf("cannot lock %s: %w", dir, err)
	}
	defer unlock()

	old, err := os.ReadFile(target)
	mode := newMode
	switch {
	case err == nil:
		if st, err := os.Stat(target); err == nil {
			mode = st.Mode().Perm()
		}
		// A file its owner cannot write was made read-only on purpose; replacing it by a
		// rename would succeed anyway (and root may write anything), so refuse here.
		if mode&0o200 == 0 {
			return "", fmt.Errorf("cannot write %s: it is read-only (mode %04o): make it writable (chmod u+w) to let dsqlenv update it (the file is unchanged)", target, mode)
		}
	case errors.Is(err, fs.ErrNotExist):
		old = nil
	default:
		return "", fmt.Errorf("cannot read %s: %w", target, err)
	}
	data, err := edit(old)
	if err != nil {
		return "", err
	}
	if old != nil && string(data) == string(old) {
		return target, nil // nothing changed: leave the file, its mode and its time alone
	}
	return target, writeAtomic(target, data, mode)
}

// writeAtomic writes data to a temporary file in the same directory, syncs it and renames it
// over path, so a reader sees the old file or the new one, never a mix.
func writeAtomic(path string, data []byte, mode fs.FileMode) error {
	dir := filepath.Dir(path)
	tmp, err := os.CreateTemp(dir, "."+filepath.Base(path)+".tmp-*")
	if err != nil {
		return fmt.Errorf("cannot write %s: %w (the file is unchanged)", path, unwrapPath(err))
	}
	defer os.Remove(tmp.Name()) // after a successful rename there is nothing left to remove
	if _, err := tmp.Write(data); err != nil {
		tmp.Close()
		return fmt.Errorf("cannot write %s: %w (the file is unchanged)", path, err)
	}
	if err := tmp.Chmod(mode); err != nil {
		tmp.Close()
		return fmt.Errorf("cannot set the mode of %s: %w", path, err)
	}
	if err := tmp.Sync(); err != nil {
		tmp.Close()
		return fmt.Errorf("cannot write %s: %w (the file is unchanged)", path, err)
	}
	if err := tmp.Close(); err != nil {
		return fmt.Errorf("cannot write %s: %w (the file is unchanged)", path, err)
	}
	if err := os.Rename(tmp.Name(), path); err != nil {
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

// resolveLink follows symbolic links to the file they name, so that a dotfile kept in a
// dotfiles repository and linked into place is updated there, not replaced by a regular file.
func resolveLink(path string) (string, error) {
	for i := 0; i < 32; i++ {
		st, err := os.Lstat(path)
		if err != nil || st.Mode()&fs.ModeSymlink == 0 {
			return path, nil
		}
		dest, err := os.Readlink(path)
		if err != nil {
			return "", err
		}
		if !filepath.IsAbs(dest) {
			dest = filepath.Join(filepath.Dir(path), dest)
		}
		path = dest
	}
	return "", fmt.Errorf("%s: too many levels of symbolic links", path)
}
