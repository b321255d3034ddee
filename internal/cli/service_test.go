package cli

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestAFailedServiceWritesNothing: when the roots cannot be written, the service file that
// would name them is not written either.
func TestAFailedServiceWritesNothing(t *testing.T) {
	dir := t.TempDir()
	cfg := writeFile(t, dir, "p.yaml", "profiles:\n  prod:\n    endpoint: "+hardHost+"\n")
	env := awsEnv(t, true)
	data := filepath.Dir(rootsOf(env))
	os.MkdirAll(filepath.Dir(data), 0o700)
	writeFile(t, filepath.Dir(data), filepath.Base(data), "") // a file where the roots' directory goes
	svc := filepath.Join(dir, "pg_service.conf")
	r := runBin(t, env, "-c", cfg, "service", "--file", svc, "prod")
	if r.code != 1 || !strings.Contains(r.stderr, "writing the Amazon root CAs") {
		t.Errorf("exit %d stderr %q", r.code, r.stderr)
	}
	if _, err := os.Lstat(svc); err == nil {
		t.Error("the service file was written though its roots were not")
	}
}
