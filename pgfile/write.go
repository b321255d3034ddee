package pgfile

import (
	"bytes"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"time"

	"github.com/dsqlenv/dsqlenv/internal/safefile"
)

// LockWait is how long Edit waits for another writer of the same directory to finish.
var LockWait = 10 * time.Second

// Edit reads the file at path (a missing file reads as empty), passes its content to edit,
// and writes the result back atomically under an exclusive lock, so concurrent dsqlenv runs
// each see the other's change. It returns the path written. The lock is a file in locks, a
// directory of the user's own that only the user can open (see lock); every writer of the
// same files must name the same one.
//
// Only regular files are read or written: a symbolic link is followed to its final target and
// written through (a dotfile kept in a dotfiles repository stays there), except a link another
// user made in a sticky directory anyone can write (see followable); a target that is a
// device, FIFO, socket or directory is refused with a *NotRegularError before anything opens
// it (opening a device can have effects of its own, and a FIFO blocks). The directory of a
// path that does not exist yet is created, but never the directory of a dangling link's
// target. The mode of an existing file is kept; a new file gets newMode; a read-only file is
// refused. An error from edit comes back prefixed with the file's path.
func Edit(locks, path string, newMode fs.FileMode, edit func([]byte) ([]byte, error)) (string, error) {
	return rewrite(locks, path, newMode, false, edit)
}

// EditPrivate is Edit for a file that holds a secret: it ends with mode 0600, whatever its
// old mode.
func EditPrivate(locks, path string, edit func([]byte) ([]byte, error)) (string, error) {
	return rewrite(locks, path, 0o600, true, edit)
}

// rewrite is Edit; with private the file ends with mode 0600 whatever its old mode.
func rewrite(locks, path string, newMode fs.FileMode, private bool, edit func([]byte) ([]byte, error)) (string, error) {
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
	unlock, err := lock(locks, dir)
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
	return target, writeAtomic(target, data, mode, false)
}

// Locked runs do under the lock Edit takes for files in dir: for a read-or-create of files
// there that must not race another dsqlenv run doing the same.
func Locked(locks, dir string, do func() error) error {
	unlock, err := lock(locks, dir)
	if err != nil {
		return fmt.Errorf("cannot lock %s: %w", dir, err)
	}
	defer unlock()
	return do()
}

// lock takes the exclusive lock under which a file in dir is read, changed and renamed over:
// an OS lock on a lock file in locks, named after dir (tryLock). locks is made 0700 and
// refused unless it is a directory of the user's own that no one else can open, so only the
// user's own processes (and root) can hold the lock. A lock on dir itself, or on a file
// beside the target, could be held by anyone who can open it (a home directory at 0755),
// and would stop every dsqlenv write there: a systemd unit's proxy would never start.
// Letting go removes the lock file and the directories lock made, when empty: a run leaves
// nothing behind. It gives up after LockWait: a cron job must not wait for ever on a stuck run.
func lock(locks, dir string) (func(), error) {
	if locks == "" {
		return nil, errors.New("no lock directory was given (a bug in dsqlenv)")
	}
	deadline := time.Now().Add(LockWait)
	for {
		made := missingDirs(locks)
		path, release, err := tryLock(locks, dir)
		switch {
		case release != nil:
			return func() { release(); removeDirs(made) }, nil
		case err != nil:
			removeDirs(made)
			return nil, err
		case time.Now().After(deadline):
			removeDirs(made)
			return nil, fmt.Errorf("another dsqlenv run has held the lock %s for over %s; %s", path, LockWait, findHolder(path))
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// missingDirs lists the directories that making dir would create, outermost first.
func missingDirs(dir string) []string {
	var made []string
	for d := dir; ; d = filepath.Dir(d) {
		if _, err := os.Lstat(d); err == nil || d == filepath.Dir(d) {
			return made
		}
		made = append([]string{d}, made...)
	}
}

// removeDirs removes the directories missingDirs listed, innermost first, when empty.
func removeDirs(made []string) {
	for i := len(made) - 1; i >= 0; i-- {
		os.Remove(made[i]) // only an empty directory goes
	}
}

// MaxFileSize bounds a service or password file dsqlenv reads: a real one is a few
// kilobytes, and /dev/zero or a runaway file must not eat memory.
const MaxFileSize = 16 << 20

// readRegular reads target, refusing anything but a regular file of at most MaxFileSize
// (safefile.Read: the check is made on the open file, because the path may have been
// replaced since resolve looked at it, and the open does not block on a FIFO).
func readRegular(path, target string) ([]byte, fs.FileInfo, error) {
	data, st, err := safefile.Read(target, MaxFileSize)
	switch {
	case err == nil, errors.Is(err, fs.ErrNotExist):
		return data, st, err
	case safefile.IsNotRegular(err):
		return nil, nil, notRegular(path, target, st.Mode())
	}
	return nil, nil, fmt.Errorf("cannot read %s: %w", target, unwrapPath(err))
}

// Replace writes data to path, a file that belongs to dsqlenv itself (the bundled roots),
// when it is missing or different. Unlike Edit it never follows a symbolic link at path:
// a link, a FIFO or a device there is replaced by the rename, never opened or written
// through. The directory is created (0700) when missing, and must belong to the user (or
// root) and be writable by no one else; otherwise Replace refuses and says why, since anyone
// who can write there could swap the file, or plant a link that a write would follow.
// verify, when not nil, runs only when the file is to be written (its error stops the write):
// a check too costly for every run. undo, when not nil, takes back what Replace made: the
// file, when no regular file stood there before, and the directories it created; a caller
// whose later writes fail calls it.
func Replace(path string, data []byte, mode fs.FileMode, verify func() error) (undo func(), err error) {
	made := missingDirs(filepath.Dir(path))
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return nil, fmt.Errorf("cannot create the directory of %s: %w", path, unwrapPath(err))
	}
	created, err := replace(path, data, mode, verify)
	undo = func() {
		if created {
			os.Remove(path)
		}
		removeDirs(made)
	}
	if err != nil {
		undo()
		return nil, err
	}
	if !created && len(made) == 0 {
		return nil, nil
	}
	return undo, nil
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
// where a link points is not dsqlenv's business. It refuses a link the kernel would not
// follow for the user either (followable): following links here bypasses the kernel's check.
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
			if err := followable(path, target, st); err != nil {
				return "", false, err
			}
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
	return &NotRegularError{Path: path, Target: target, Kind: safefile.Kind(m)}
}
