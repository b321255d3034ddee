package cli

import "fmt"

// Exit statuses.
const (
	exitOK        = 0
	exitError     = 1  // the command could not do its job: profiles file, credentials, files
	exitUsage     = 2  // the command line itself is wrong: unknown command, missing argument, bad flag
	exitSoftware  = 70 // dsqlenv itself failed (a panic): EX_SOFTWARE from sysexits.h
	exitCannotRun = 126
	exitNotFound  = 127 // exec: the program cannot be run or found, as sh(1) and env(1) say
)

// usageError is a mistake on the command line (exit status 2).
type usageError struct{ msg string }

func (e *usageError) Error() string { return e.msg }

func usagef(format string, args ...any) error { return &usageError{fmt.Sprintf(format, args...)} }

// codedError is an error with its own exit status (exec's 126 and 127).
type codedError struct {
	msg  string
	code int
}

func (e *codedError) Error() string { return e.msg }

// silentError carries an exit status for a command that has already said what went wrong
// (doctor's report, the status of a program exec ran on Windows).
type silentError struct{ code int }

func (e *silentError) Error() string { return fmt.Sprintf("exit status %d", e.code) }
