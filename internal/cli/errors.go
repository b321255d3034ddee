package cli

// dsqlenv's errors, its exit statuses, and the table that turns the errors of TLS and of
// libpq's servers into words a person can act on.

import (
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"
	"syscall"
)

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

// certProblem reports whether a handshake failed on the server's certificate rather than on
// the way TLS was started.
func certProblem(err error) bool {
	var cv *tls.CertificateVerificationError
	var ua x509.UnknownAuthorityError
	var he x509.HostnameError
	var ci x509.CertificateInvalidError
	return errors.As(err, &cv) || errors.As(err, &ua) || errors.As(err, &he) || errors.As(err, &ci)
}

// directInPlainWords explains a failed direct handshake: a server before PostgreSQL 17 reads
// the ClientHello as a malformed startup packet and hangs up ("invalid length of startup
// packet" in its log).
func directInPlainWords(err error) string {
	if errors.Is(err, io.EOF) || errors.Is(err, syscall.ECONNRESET) {
		return "the server hung up on the TLS ClientHello: it does not take direct TLS"
	}
	return err.Error() + ": the server did not complete a direct TLS handshake"
}

// tlsInPlainWords says what an x509 failure means for the person reading it.
func tlsInPlainWords(err error, host string) string {
	var ua x509.UnknownAuthorityError
	var he x509.HostnameError
	var ci x509.CertificateInvalidError
	switch {
	case errors.As(err, &ua):
		issuer := "an unknown issuer"
		if ua.Cert != nil {
			issuer = strconv.Quote(ua.Cert.Issuer.CommonName)
		}
		return fmt.Sprintf("the server's certificate is signed by %s, which the configured root does not trust (unknown authority)", issuer)
	case errors.As(err, &he):
		return fmt.Sprintf("the server's certificate is not for %s (wrong host name): %v", host, he)
	case errors.As(err, &ci) && ci.Reason == x509.Expired:
		return fmt.Sprintf("the server's certificate has expired or is not yet valid: %v", ci)
	}
	return err.Error()
}

// fixVerbs begin the fix at the end of dsqlenv's error messages ("…: run aws sso login").
var fixVerbs = []string{"run ", "create ", "check ", "give ", "set ", "fix ", "edit ", "use ", "remove ", "raise ", "leave ", "install ", "choose ", "change ", "unset ", "allow ", "name "}

// splitFix cuts an error message into what happened and the fix, at the last ": " that a fix
// verb follows; fix is "" when there is none.
func splitFix(msg string) (what, fix string) {
	for i := strings.LastIndex(msg, ": "); i > 0; i = strings.LastIndex(msg[:i], ": ") {
		rest := msg[i+2:]
		for _, v := range fixVerbs {
			if strings.HasPrefix(rest, v) || strings.HasPrefix(rest, "`"+v) {
				return msg[:i], rest
			}
		}
	}
	return msg, ""
}
