package profiles

import (
	"bufio"
	"fmt"
	"os"
	"strings"

	"github.com/dsqlenv/dsqlenv/internal/text"
)

// NoTerminalError is an MFA code that could not be asked for: the terminal could not be
// opened (a pipe, CI, a service). CredentialsError says what to run instead.
type NoTerminalError struct {
	Serial string // mfa_serial
	Device string // the terminal tried: /dev/tty, CONIN$
	Err    error
}

func (e *NoTerminalError) Error() string {
	return fmt.Sprintf("an MFA code for %s is needed and there is no terminal to ask on (%s: %v)", e.Serial, e.Device, e.Err)
}

func (e *NoTerminalError) Unwrap() error { return e.Err }

// askMFA asks for the code of the MFA device serial on the controlling terminal, as the AWS
// CLI does (botocore: "Enter MFA code for <serial>: "), naming the AWS profile too. It never
// reads stdin or writes stdout: under eval "$(dsqlenv bash prod)" stdout is captured, and
// stdin may be a pipe.
func askMFA(serial, awsProfile, ttyIn, ttyOut string) (string, error) {
	in, err := os.OpenFile(ttyIn, os.O_RDWR, 0)
	if err != nil {
		return "", &NoTerminalError{Serial: serial, Device: ttyIn, Err: unwrapPathErr(err)}
	}
	defer in.Close()
	out := in
	if ttyOut != ttyIn {
		if out, err = os.OpenFile(ttyOut, os.O_WRONLY, 0); err != nil {
			return "", &NoTerminalError{Serial: serial, Device: ttyOut, Err: unwrapPathErr(err)}
		}
		defer out.Close()
	}
	fmt.Fprintf(out, "Enter MFA code for %s (AWS profile %s): ", text.EscapeControls(serial), text.EscapeControls(awsProfile))
	line, err := bufio.NewReader(in).ReadString('\n')
	code := strings.TrimSpace(line)
	if code == "" {
		if err == nil {
			err = fmt.Errorf("no code was typed")
		}
		return "", fmt.Errorf("reading the MFA code for %s from %s: %w", serial, ttyIn, err)
	}
	return code, nil
}

func unwrapPathErr(err error) error {
	if pe, ok := err.(*os.PathError); ok {
		return pe.Err
	}
	return err
}
