package testkit

import "os/exec"

// runAsOwner is never reached on Windows: StartPostgres skips there (UnixOnly).
func (pg *Postgres) runAsOwner(cmd *exec.Cmd) {}
