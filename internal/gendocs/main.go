// Command gendocs writes what the Linux packages install beside the binary into the directory
// it is given: the man page (dsqlenv.1.gz) and the bash, zsh and fish completions, each calling
// the packaged /usr/bin/dsqlenv. The release build runs it (.ci/goreleaser.yaml). It is built
// without the urfave_cli_no_docs tag, which urfave/cli's man page generator needs.
package main

import (
	"bytes"
	"compress/gzip"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"time"

	"github.com/dsqlenv/dsqlenv/internal/cli"
)

// bin is where the packages install dsqlenv; the completions call it there.
const bin = "/usr/bin/dsqlenv"

func main() {
	if len(os.Args) != 2 {
		fmt.Fprintln(os.Stderr, "usage: gendocs DIR")
		os.Exit(2)
	}
	if err := write(os.Args[1]); err != nil {
		fmt.Fprintln(os.Stderr, "gendocs:", err)
		os.Exit(1)
	}
}

func write(dir string) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	man, err := cli.ManPage()
	if err != nil {
		return err
	}
	// gzip -n: no name and no time in the header, so two builds give the same bytes.
	var gz bytes.Buffer
	zw, _ := gzip.NewWriterLevel(&gz, gzip.BestCompression)
	if _, err := zw.Write([]byte(man)); err != nil {
		return err
	}
	if err := zw.Close(); err != nil {
		return err
	}
	if err := os.WriteFile(filepath.Join(dir, "dsqlenv.1.gz"), gz.Bytes(), 0o644); err != nil {
		return err
	}
	for _, shell := range []string{"bash", "zsh", "fish"} {
		var out, errb bytes.Buffer
		// No PATH in the environment: the scripts then call dsqlenv by the Executable given
		// here, the packaged path, rather than wherever this generator runs.
		e := &cli.Env{
			Stdin: bytes.NewReader(nil), Stdout: &out, Stderr: &errb,
			Now: time.Now, GOOS: runtime.GOOS, Executable: bin, Version: "gendocs",
		}
		if code := cli.Run(context.Background(), e, []string{"dsqlenv", "completion", shell}); code != 0 {
			return fmt.Errorf("dsqlenv completion %s: exit %d: %s", shell, code, errb.String())
		}
		if !bytes.Contains(out.Bytes(), []byte(bin)) {
			return fmt.Errorf("dsqlenv completion %s does not call %s", shell, bin)
		}
		if err := os.WriteFile(filepath.Join(dir, "completion."+shell), out.Bytes(), 0o644); err != nil {
			return err
		}
	}
	return nil
}
