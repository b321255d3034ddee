package testkit

import (
	"os/exec"
	"testing"
)

// StartCmd starts the command mk makes. Under wine, CreateProcess now and then fails on a
// loaded machine ("fork/exec …\pgfile.test.exe: Internal error.", seen once in four make test
// runs with another beside it), which Windows does not do: there the start alone is tried
// again, with a fresh command, up to five times. Everywhere else a failed start fails the test
// at once. What the command then does is judged as always.
func StartCmd(t testing.TB, mk func() *exec.Cmd) *exec.Cmd {
	t.Helper()
	tries := 1
	if underWine() {
		tries = 5
	}
	var err error
	for i := 0; i < tries; i++ {
		cmd := mk()
		if err = cmd.Start(); err == nil {
			return cmd
		}
		t.Logf("start %d of %d failed: %v", i+1, tries, err)
	}
	t.Fatal(err)
	return nil
}
