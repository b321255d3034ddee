package profiles

import (
	"context"
	"testing"
	"time"

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

// TestMFAEchoStaysOnWhenTheCallerGivesUpBeforeEchoGoesOff: a caller that gives up after it got
// the function that turns echo back on but before echo went off (a Ctrl-C as the prompt
// appears) leaves echo on: echo is then not turned off at all, and the read gives up too.
func TestMFAEchoStaysOnWhenTheCallerGivesUpBeforeEchoGoesOff(t *testing.T) {
	master, slave, _ := testkit.OpenPTY(t)
	testkit.WatchPTY(master)
	var restore func()
	beforeEchoOff = func() { restore() } // the caller gives up, here, in this moment
	t.Cleanup(func() { beforeEchoOff = func() {} })
	returned := make(chan error, 1)
	go func() {
		_, err := readHidden(slave, slave, func(r func()) {
			if r != nil {
				restore = r
			}
		})
		returned <- err
	}()
	// Echo is watched until readHidden returns: it must never go off.
	deadline := time.Now().Add(60 * time.Second)
	for {
		select {
		case err := <-returned:
			if err == nil {
				t.Error("readHidden read a line after the caller gave up")
			}
			if !testkit.Echoing(t, slave) {
				t.Error("echo is off after the caller gave up")
			}
			return
		case <-time.After(10 * time.Millisecond):
		}
		if !testkit.Echoing(t, slave) {
			master.WriteString("\n") // ends the read
			t.Fatal("echo went off after the caller gave up, and stays off while the read goes on")
		}
		if time.Now().After(deadline) {
			t.Fatal("readHidden has not returned after 60 s")
		}
	}
}
