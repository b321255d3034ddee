// Package safefile reads the files dsqlenv is given (profiles, root certificates, service and
// password files) the one safe way: opened without blocking, checked on the open descriptor
// to be a regular file, and read through a size cap. A FIFO would otherwise hang the read
// for ever, and /dev/zero would grow memory until the process died (a fatal out-of-memory,
// which no recover catches, leaves an empty stdout that eval runs as success).
package safefile

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
)

// NotRegularError is returned for a path that is, or links to, something other than a
// regular file.
type NotRegularError struct {
	Path string
	Kind string // "a FIFO", "a character device", "a directory", …
}

func (e *NotRegularError) Error() string {
	return fmt.Sprintf("%s is %s, not a regular file", e.Path, e.Kind)
}

// TooLargeError is returned for a file over the cap.
type TooLargeError struct {
	Path string
	Max  int64
}

func (e *TooLargeError) Error() string {
	return fmt.Sprintf("%s is larger than the %s dsqlenv reads from such a file", e.Path, Size(e.Max))
}

// Size is a cap in words: 4 MiB, 64 KiB, 100 bytes.
func Size(n int64) string {
	switch {
	case n >= 1<<20 && n%(1<<20) == 0:
		return fmt.Sprintf("%d MiB", n>>20)
	case n >= 1<<10 && n%(1<<10) == 0:
		return fmt.Sprintf("%d KiB", n>>10)
	}
	return fmt.Sprintf("%d bytes", n)
}

// Read reads the regular file at path (symbolic links are followed), at most max bytes. The
// open does not block on a FIFO (O_NONBLOCK), and the type and size are checked on the open
// descriptor, so the file cannot be swapped between the check and the read. Errors from
// opening keep their fs error (fs.ErrNotExist, fs.ErrPermission) for errors.Is.
func Read(path string, max int64) ([]byte, fs.FileInfo, error) {
	f, err := os.OpenFile(path, os.O_RDONLY|openNonblock, 0)
	if err != nil {
		return nil, nil, err
	}
	defer f.Close()
	return ReadOpen(f, path, max)
}

// ReadOpen is Read for a file the caller opened (with O_NONBLOCK where it matters).
func ReadOpen(f *os.File, path string, max int64) ([]byte, fs.FileInfo, error) {
	st, err := f.Stat()
	if err != nil {
		return nil, nil, err
	}
	if !st.Mode().IsRegular() {
		return nil, st, &NotRegularError{Path: path, Kind: Kind(st.Mode())}
	}
	if st.Size() > max {
		return nil, st, &TooLargeError{Path: path, Max: max}
	}
	data, err := io.ReadAll(io.LimitReader(f, max+1))
	if err != nil {
		return nil, st, err
	}
	if int64(len(data)) > max {
		return nil, st, &TooLargeError{Path: path, Max: max} // it grew while being read
	}
	return data, st, nil
}

// Kind names a file type for messages: "a FIFO", "a character device", …
func Kind(m fs.FileMode) string {
	switch {
	case m.IsRegular():
		return "a regular file"
	case m.IsDir():
		return "a directory"
	case m&fs.ModeNamedPipe != 0:
		return "a FIFO"
	case m&fs.ModeSocket != 0:
		return "a socket"
	case m&fs.ModeCharDevice != 0:
		return "a character device"
	case m&fs.ModeDevice != 0:
		return "a block device"
	case m&fs.ModeSymlink != 0:
		return "a symbolic link"
	}
	return "a special file"
}

// IsNotRegular reports whether err says the file was not a regular file.
func IsNotRegular(err error) bool {
	var e *NotRegularError
	return errors.As(err, &e)
}
