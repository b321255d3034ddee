//go:build unix

package profiles

import (
	"bufio"
	"os"

	"golang.org/x/sys/unix"
)

// echoOff turns the terminal fd's echo off, as term.ReadPassword does (ECHO cleared; ICANON,
// ISIG and ICRNL set, so the line is still edited, Ctrl-C still signals, and Enter ends it),
// and returns what turns it back on. It is done here rather than inside term.ReadPassword so
// that readHidden decides, under its lock, whether echo may still go off.
func echoOff(fd int) (on func(), err error) {
	old, err := unix.IoctlGetTermios(fd, getTermios)
	if err != nil {
		return nil, err
	}
	hidden := *old
	hidden.Lflag &^= unix.ECHO
	hidden.Lflag |= unix.ICANON | unix.ISIG
	hidden.Iflag |= unix.ICRNL
	if err := unix.IoctlSetTermios(fd, setTermios, &hidden); err != nil {
		return nil, err
	}
	return func() { unix.IoctlSetTermios(fd, setTermios, old) }, nil
}

// readLine reads the line typed on the terminal in, echo already off (echoOff): the terminal
// is in canonical mode, so a read ends with the line.
func readLine(in *os.File) (string, error) {
	return bufio.NewReader(in).ReadString('\n')
}
