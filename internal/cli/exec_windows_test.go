package cli

import (
	"fmt"
	"strings"
	"testing"
)

// TestWindowsExecPassesArgumentsEnvironmentAndStatus: exec on Windows starts the program as a
// child (CreateProcess takes one command line, which the child splits again): every argument
// arrives as given, spaces, quotes, backslashes and cmd's special characters included; the
// block's variables are in its environment; dsqlenv exits with the child's status.
func TestWindowsExecPassesArgumentsEnvironmentAndStatus(t *testing.T) {
	args := []string{"plain", "with space", `quote"inside`, `back\slash\`, `trailing\\`, `"`, "", `a\"b`, "tab\tx", "%PATH%", `^&|<>`, `C:\Program Files\x`}
	env := awsEnv(t, true, "DSQLENV_CONFIG="+demoYAML, "ARGSECHO_EXIT=7")
	r := runBin(t, env, append([]string{"exec", "demo", "--", "argsecho"}, args...)...)
	if r.code != 7 {
		t.Errorf("exit %d, want the child's 7: %s", r.code, r.stderr)
	}
	var want strings.Builder
	for _, a := range args {
		fmt.Fprintf(&want, "%q\n", a)
	}
	want.WriteString("PGHOST=abcdefghijklmnopqrstuvwxyz.dsql.us-east-1.on.aws\ntoken=true\n")
	if r.stdout != want.String() {
		t.Errorf("the child saw:\n%s\nwant:\n%s", r.stdout, want.String())
	}
	env[len(env)-1] = "ARGSECHO_EXIT=0"
	if r := runBin(t, env, "exec", "demo", "--", "argsecho"); r.code != 0 {
		t.Errorf("exit %d for a child that succeeded: %s", r.code, r.stderr)
	}
}
