package cli

import (
	"path/filepath"
	"strings"
	"testing"
)

// TestWindowsDoctorNamesTheWindowsPaths: doctor names the profiles file it read and the
// bundled roots in the local application data folder. (Its DNS check fails: the demo endpoint
// is not a real cluster, and nothing here reaches the network.)
func TestWindowsDoctorNamesTheWindowsPaths(t *testing.T) {
	env, _ := windowsEnv(t)
	r := runBin(t, env, "doctor", "demo")
	for _, want := range []string{
		"ok    profiles file " + demoYAML + " parses",
		"ok    demo: sslrootcert amazon: the bundled Amazon Root CA 1 to 4 at " + filepath.Join(localAppData(t), "dsqlenv", "AmazonRootCAs.pem") + "\n",
	} {
		if !strings.Contains(r.stdout, want) {
			t.Errorf("doctor does not say %q:\n%s%s", want, r.stdout, r.stderr)
		}
	}
}
