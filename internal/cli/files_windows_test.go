package cli

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"golang.org/x/sys/windows"
)

// windowsEnv is a Windows user's environment with the profile and roaming application data
// folders in a temporary directory, no XDG variable, the demo profiles file and AWS's example
// keys. The local application data folder is the known folder (localAppData): dsqlenv asks
// Windows for it, as other programs do, and no variable moves it.
func windowsEnv(t *testing.T) (env []string, roaming string) {
	dir := t.TempDir()
	roaming = filepath.Join(dir, "AppData", "Roaming")
	return []string{"PATH=" + os.Getenv("PATH"), "SystemRoot=" + os.Getenv("SystemRoot"), "USERPROFILE=" + dir, "APPDATA=" + roaming,
		"AWS_CONFIG_FILE=" + filepath.Join(dir, "aws-config"), "AWS_SHARED_CREDENTIALS_FILE=" + filepath.Join(dir, "aws-credentials"),
		"AWS_EC2_METADATA_DISABLED=true", "AWS_ENDPOINT_URL_STS=" + stsURL,
		"AWS_ACCESS_KEY_ID=AKIAIOSFODNN7EXAMPLE", "AWS_SECRET_ACCESS_KEY=wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY",
		"DSQLENV_CONFIG=" + demoYAML}, roaming
}

func localAppData(t *testing.T) string {
	local, err := windows.KnownFolderPath(windows.FOLDERID_LocalAppData, 0)
	if err != nil {
		t.Fatal(err)
	}
	return local
}

// TestWindowsFilesLandWhereWindowsProgramsLook: libpq's service file is written at
// %APPDATA%\postgresql\.pg_service.conf and the blocks name it; the profiles file and
// dsqlenv's password file go under the user's local application data folder (the known folder,
// which %LOCALAPPDATA% names), in dsqlenv\, with the bundled roots the service file names.
// The known folder cannot be moved to a temporary directory by the environment: the roots
// are written there as any run writes them, and the other paths are asked with --path.
func TestWindowsFilesLandWhereWindowsProgramsLook(t *testing.T) {
	env, roaming := windowsEnv(t)
	mustRun := func(args ...string) string {
		t.Helper()
		r := runBin(t, env, args...)
		if r.code != 0 {
			t.Fatalf("dsqlenv %s: exit %d: %s", strings.Join(args, " "), r.code, r.stderr)
		}
		return r.stdout
	}

	mustRun("service", "demo")
	svc := filepath.Join(roaming, "postgresql", ".pg_service.conf")
	if b, err := os.ReadFile(svc); err != nil || !strings.Contains(string(b), "[demo]") {
		t.Errorf("%s: %q, %v", svc, b, err)
	}

	local := localAppData(t)
	// service stages the bundled roots its section names: in the known folder, as the
	// cmd block does for every run of dsqlenv there.
	roots := filepath.Join(local, "dsqlenv", "AmazonRootCAs.pem")
	if b, _ := os.ReadFile(svc); !strings.Contains(string(b), "sslrootcert="+roots+"\n") {
		t.Errorf("%s does not name the roots at %s:\n%s", svc, roots, b)
	}
	if _, err := os.Stat(roots); err != nil {
		t.Error(err)
	}
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"init", "--path"}, filepath.Join(local, "dsqlenv", "profiles.yaml")},
		{[]string{"pgpass", "--path"}, filepath.Join(local, "dsqlenv", "pgpass")},
	} {
		env[len(env)-1] = "DSQLENV_CONFIG=" // init --path names the default file
		if got := strings.TrimSpace(mustRun(tc.args...)); got != tc.want {
			t.Errorf("dsqlenv %s = %s, want %s", strings.Join(tc.args, " "), got, tc.want)
		}
	}
}
