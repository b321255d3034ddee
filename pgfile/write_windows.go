//go:build windows

package pgfile

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"time"

	"golang.org/x/sys/windows"
)

// writeAtomic writes data to a temporary file in the same directory, syncs it and renames it
// over path, so a reader sees the old file or the new one, never a mix. Windows has no
// openat: the directory is not checked (strict is for Unix's root), and the mode is set on
// the open file before the rename.
func writeAtomic(path string, data []byte, mode fs.FileMode, _ bool) error {
	dir := filepath.Dir(path)
	tmp, err := temps.create(dir, "."+filepath.Base(path)+".tmp-*")
	if err != nil {
		return fmt.Errorf("cannot write %s: %w (the file is unchanged)", path, unwrapPath(err))
	}
	defer temps.discard(tmp.Name())
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
	return nil
}

// replace is Replace on Windows: a link at path is removed, never written through.
func replace(path string, data []byte, mode fs.FileMode, verify func() error) (created bool, err error) {
	st, err := os.Lstat(path)
	created = err != nil || !st.Mode().IsRegular()
	if err == nil && st.Mode()&fs.ModeSymlink != 0 {
		if err := os.Remove(path); err != nil {
			return false, fmt.Errorf("cannot write %s: %w", path, unwrapPath(err))
		}
	} else if err == nil && st.Mode().IsRegular() {
		if cur, _, err := readRegular(path, path); err == nil && string(cur) == string(data) {
			return false, nil
		}
	}
	if verify != nil {
		if err := verify(); err != nil {
			return false, err
		}
	}
	return created, writeAtomic(path, data, mode, true)
}

func (t *tempFiles) create(dir, pattern string) (*os.File, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.aborted {
		return nil, errAborted
	}
	f, err := os.CreateTemp(dir, pattern)
	if err == nil {
		t.files[f.Name()] = true
	}
	return f, err
}

// Windows refuses to rename over a file another program holds open without
// FILE_SHARE_DELETE, as editors, indexers and virus scanners do for a moment. A replace tries
// again for about renameRetry before it fails, as Go's own tools do
// (cmd/go/internal/robustio: 2 s, on ERROR_ACCESS_DENIED and ERROR_SHARING_VIOLATION). The
// wait is counted in the pauses taken, and sleep is a variable, so tests need no clock.
var (
	renameRetry = 2 * time.Second
	sleep       = time.Sleep
)

func (t *tempFiles) rename(tmp, path string) error {
	pause := time.Millisecond
	for waited := time.Duration(0); ; waited += pause {
		err := t.renameOnce(tmp, path)
		if err == nil || waited >= renameRetry ||
			!(errors.Is(err, windows.ERROR_ACCESS_DENIED) || errors.Is(err, windows.ERROR_SHARING_VIOLATION)) {
			return err
		}
		pause = min(2*pause, 100*time.Millisecond)
		sleep(pause)
	}
}

func (t *tempFiles) renameOnce(tmp, path string) error {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.aborted {
		return errAborted
	}
	err := os.Rename(tmp, path)
	if err == nil {
		delete(t.files, tmp)
	}
	return err
}
