// Package testkit holds helpers the tests of several packages share: finding the real tools
// they drive and, in pg.go, a throwaway PostgreSQL server with TLS.
package testkit

import (
	"os"
	"os/exec"
	"testing"
)

// InCI reports whether the tests run under CI (CI=true), where a missing tool is a failure.
func InCI() bool { return os.Getenv("CI") == "true" }

// RequireTool returns the path of a program the test needs. Without it the test is skipped on
// a developer's machine and fails under CI, where .ci/run should have installed it.
func RequireTool(t testing.TB, name string) string {
	t.Helper()
	p, err := exec.LookPath(name)
	if err != nil {
		if InCI() {
			t.Fatalf("%s is not installed: .ci/run should have installed it (CI=true)", name)
		}
		t.Skipf("%s is not installed; skipping (install it to run this test)", name)
	}
	return p
}
