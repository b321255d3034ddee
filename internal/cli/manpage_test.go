package cli

import (
	"strings"
	"testing"
)

// TestManPageNamesEveryCommand: the man page the packages install (internal/gendocs) is a
// section 1 page that names every command and global flag --help names.
func TestManPageNamesEveryCommand(t *testing.T) {
	man, err := ManPage()
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(man, ".TH dsqlenv 1\n") {
		t.Errorf("man page is not section 1 (no .TH dsqlenv 1):\n%.300s", man)
	}
	app := newApp(&run{Env: &Env{}})
	for _, c := range app.Commands {
		if !c.Hidden && !strings.Contains(man, "\n.SH "+strings.Join(c.Names(), ", ")+"\n") {
			t.Errorf("man page does not name the command %s", c.Name)
		}
	}
	for _, f := range app.Flags {
		if name := f.Names()[0]; !strings.Contains(man, "--"+name) {
			t.Errorf("man page does not name the flag --%s", name)
		}
	}
}
