package profiles

import (
	"context"
	"errors"
	"testing"
	"time"
)

// TestTypingStopsTheTimeout: while an MFA code is typed, WithTimeoutExceptTyping's deadline
// moves with the clock and never passes; once typed, it runs again with the time it had left,
// and it ends when it passes or its parent ends.
func TestTypingStopsTheTimeout(t *testing.T) {
	ctx, cancel := WithTimeoutExceptTyping(context.Background(), time.Hour)
	defer cancel()
	resume := pauseForTyping(ctx)
	d1, _ := ctx.Deadline()
	time.Sleep(20 * time.Millisecond)
	if d2, _ := ctx.Deadline(); !d2.After(d1) {
		t.Errorf("while typing, the deadline stays at %v: it must move with the clock", d1)
	}
	resume()
	d3, _ := ctx.Deadline()
	time.Sleep(20 * time.Millisecond)
	if d4, _ := ctx.Deadline(); !d4.Equal(d3) || !d3.After(d1) {
		t.Errorf("after typing, the deadline %v then %v, want it fixed, later than %v", d3, d4, d1)
	}
	if ctx.Err() != nil {
		t.Fatalf("ended early: %v", ctx.Err())
	}

	short, cancelShort := WithTimeoutExceptTyping(context.Background(), time.Millisecond)
	defer cancelShort()
	<-short.Done() // no typing: it passes
	if !errors.Is(short.Err(), context.DeadlineExceeded) {
		t.Errorf("passed deadline: %v", short.Err())
	}
	parent, stop := context.WithCancel(context.Background())
	child, cancelChild := WithTimeoutExceptTyping(parent, time.Hour)
	defer cancelChild()
	stop()
	<-child.Done()
	if !errors.Is(child.Err(), context.Canceled) {
		t.Errorf("parent cancelled: %v", child.Err())
	}
}
