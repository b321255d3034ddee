package profiles

import (
	"os"

	"golang.org/x/term"
)

// echoOff on Windows only saves the console's mode, which on returns: term.ReadPassword
// (readLine) turns ENABLE_ECHO_INPUT off itself.
func echoOff(fd int) (on func(), err error) {
	state, err := term.GetState(fd)
	if err != nil {
		return nil, err
	}
	return func() { term.Restore(fd, state) }, nil
}

// readLine reads the line typed on the console in with echo off (term.ReadPassword).
func readLine(in *os.File) (string, error) {
	b, err := term.ReadPassword(int(in.Fd()))
	return string(b), err
}
