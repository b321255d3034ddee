package text

import (
	"testing"
	"time"
)

func TestFormatDuration(t *testing.T) {
	for d, want := range map[time.Duration]string{15 * time.Minute: "15m", time.Hour: "1h", 90 * time.Minute: "1h30m", 45 * time.Second: "45s", 4*time.Minute + 12*time.Second: "4m12s",
		0: "0s", time.Nanosecond: "1ns", 1500 * time.Microsecond: "2ms", 250 * time.Millisecond: "250ms", 999 * time.Millisecond: "999ms", 1499 * time.Millisecond: "1s"} {
		if got := FormatDuration(d); got != want {
			t.Errorf("FormatDuration(%v) = %s, want %s", d, got, want)
		}
	}
}

func TestEscapeControlsKeepsOneLineAndNoControls(t *testing.T) {
	for in, want := range map[string]string{
		"plain":          "plain",
		"a\nb":           `a\nb`,
		"\x1b]0;title\a": `\x1b]0;title\x07`,
		"csi\u009b":      `csi\u009b`,
		"bad\xffutf8":    "bad\uFFFDutf8",
	} {
		if got := EscapeControls(in); got != want {
			t.Errorf("EscapeControls(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestClosestNamesTheNearestFirst(t *testing.T) {
	got := Closest("prdo", []string{"dev", "prod", "prod-eu", "staging"})
	if len(got) == 0 || got[0] != "prod" {
		t.Errorf("Closest(prdo) = %v, want prod first", got)
	}
	if got := Closest("zzzzzz", []string{"prod"}); len(got) != 0 {
		t.Errorf("Closest(zzzzzz) = %v, want none", got)
	}
}
