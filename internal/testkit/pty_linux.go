package testkit

import (
	"bytes"
	"fmt"
	"os"
	"strings"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// OpenPTY opens a new pseudo-terminal pair (pts(4): /dev/ptmx, unlocked, its number from
// TIOCGPTN), both closed when the test ends. The slave is a real terminal: its termios can be
// read, and a process can take it as its controlling terminal.
func OpenPTY(t testing.TB) (master, slave *os.File, slavePath string) {
	t.Helper()
	master, err := os.OpenFile("/dev/ptmx", os.O_RDWR|unix.O_NOCTTY, 0)
	if err != nil {
		t.Fatalf("opening a pty: %v", err)
	}
	t.Cleanup(func() { master.Close() })
	fd := int(master.Fd())
	if err := unix.IoctlSetPointerInt(fd, unix.TIOCSPTLCK, 0); err != nil {
		t.Fatalf("unlocking the pty: %v", err)
	}
	n, err := unix.IoctlGetUint32(fd, unix.TIOCGPTN)
	if err != nil {
		t.Fatalf("the pty's number: %v", err)
	}
	slavePath = fmt.Sprintf("/dev/pts/%d", n)
	slave, err = os.OpenFile(slavePath, os.O_RDWR|unix.O_NOCTTY, 0)
	if err != nil {
		t.Fatalf("opening %s: %v", slavePath, err)
	}
	t.Cleanup(func() { slave.Close() })
	return master, slave, slavePath
}

// Echoing says whether the terminal f echoes what is typed (termios ECHO).
func Echoing(t testing.TB, f *os.File) bool {
	t.Helper()
	tio, err := unix.IoctlGetTermios(int(f.Fd()), unix.TCGETS)
	if err != nil {
		t.Fatalf("reading the termios of %s: %v", f.Name(), err)
	}
	return tio.Lflag&unix.ECHO != 0
}

// PTYScreen collects what a pty's master shows, for WaitFor.
type PTYScreen struct {
	got chan []byte
	buf bytes.Buffer
}

// WatchPTY starts reading master until it closes.
func WatchPTY(master *os.File) *PTYScreen {
	s := &PTYScreen{got: make(chan []byte, 64)}
	go func() {
		for {
			b := make([]byte, 256)
			n, err := master.Read(b)
			if n > 0 {
				s.got <- b[:n]
			}
			if err != nil {
				close(s.got)
				return
			}
		}
	}()
	return s
}

// WaitFor waits until the screen shows want and returns what it showed before want, since
// the last WaitFor; what follows want is kept for the next.
func (s *PTYScreen) WaitFor(t testing.TB, want string) string {
	t.Helper()
	deadline := time.After(60 * time.Second)
	for !strings.Contains(s.buf.String(), want) {
		select {
		case b, ok := <-s.got:
			if !ok {
				t.Fatalf("the pty closed before %q; it showed %q", want, s.buf.String())
			}
			s.buf.Write(b)
		case <-deadline:
			t.Fatalf("no %q on the pty in 60s; it showed %q", want, s.buf.String())
		}
	}
	before, rest, _ := strings.Cut(s.buf.String(), want)
	s.buf.Reset()
	s.buf.WriteString(rest)
	return before
}

// WaitEcho waits until the terminal's echo flag is want; it is set by the other goroutine.
func WaitEcho(t testing.TB, slave *os.File, want bool) {
	t.Helper()
	for deadline := time.Now().Add(60 * time.Second); Echoing(t, slave) != want; time.Sleep(10 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("the terminal's echo flag did not become %v in 60s", want)
		}
	}
}
