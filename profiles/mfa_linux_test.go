package profiles

import (
	"context"
	"testing"

	"github.com/dsqlenv/dsqlenv/internal/testkit"
)

// TestMFACodeIsNotEchoed: on a real terminal, the code is read with echo off (the flag is off
// while it is read and nothing typed comes back to the screen), and echo is on again after.
func TestMFACodeIsNotEchoed(t *testing.T) {
	master, slave, path := testkit.OpenPTY(t)
	if !testkit.Echoing(t, slave) {
		t.Fatal("a new pty does not echo")
	}
	sts, c := mfaSetup(t, path)
	screen := testkit.WatchPTY(master)
	done := make(chan error, 1)
	go func() { _, err := MintWithSDK(context.Background(), c); done <- err }()
	screen.WaitFor(t, "Enter MFA code for arn:aws:iam::123456789012:mfa/me (AWS profile role): ")
	testkit.WaitEcho(t, slave, false)
	master.WriteString("123456\n")
	if shown := screen.WaitFor(t, "\n"); shown != "" && shown != "\r" {
		// What the terminal shows before the line's end is what it echoed of the typing.
		t.Errorf("the terminal showed %q of the code, want nothing", shown)
	}
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	if !testkit.Echoing(t, slave) {
		t.Error("echo is still off after the code was read")
	}
	if calls := sts.AssumeRoleCalls(); len(calls) != 1 || calls[0].Get("TokenCode") != "123456" {
		t.Errorf("AssumeRole calls %v, want one with the code typed", calls)
	}
}

// TestMFAEchoBackWhenTheCallerGivesUp: a mint that ends while the code is still being read (a
// signal cancels the run's context, or the deadline passes) has echo back on when it returns,
// before the process could exit.
func TestMFAEchoBackWhenTheCallerGivesUp(t *testing.T) {
	master, slave, path := testkit.OpenPTY(t)
	_, c := mfaSetup(t, path)
	screen := testkit.WatchPTY(master)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { _, err := MintWithSDK(ctx, c); done <- err }()
	screen.WaitFor(t, "Enter MFA code for")
	testkit.WaitEcho(t, slave, false)
	cancel()
	if err := <-done; err == nil {
		t.Fatal("a cancelled mint succeeded")
	}
	if !testkit.Echoing(t, slave) {
		t.Error("echo is still off after the mint gave up on the code")
	}
	master.WriteString("\n") // ends the read still going on
}
