//go:build unix

package testkit

import (
	"os/exec"
	"syscall"
)

// runAsOwner makes cmd run as the server's user, when that is not the test's own.
func (pg *Postgres) runAsOwner(cmd *exec.Cmd) {
	if pg.owner != nil {
		cmd.SysProcAttr = &syscall.SysProcAttr{Credential: &syscall.Credential{Uid: uint32(pg.owner.uid), Gid: uint32(pg.owner.gid)}}
	}
}
