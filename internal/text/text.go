// Package text holds the small text helpers every part of dsqlenv writes messages with:
// terminal-safe escaping, durations as people write them, and did-you-mean.
package text

import (
	"fmt"
	"sort"
	"strings"
	"time"
	"unicode/utf8"
)

// EscapeControls makes text safe to show a person on a terminal, and one line: it escapes C0
// controls (ESC starts the sequences that retitle, clear or rewrite a terminal; a line feed
// would split an error), DEL and the C1 controls U+0080–U+009F (U+009B is a one-character CSI
// on many terminals; ECMA-48 §5.3). Invalid UTF-8 becomes U+FFFD, since a lone 0x9b byte is
// CSI to a terminal in 8-bit mode. Errors quoting a value from the file the way yaml.v3 does
// (between backticks, control characters and all) pass through here, and so does everything
// dsqlenv prints for a person (internal/cli's termSafe).
func EscapeControls(s string) string {
	if !strings.ContainsFunc(s, IsControl) && utf8.ValidString(s) {
		return s
	}
	var b strings.Builder
	for _, r := range s {
		switch {
		case r == '\n':
			b.WriteString(`\n`)
		case r == '\r':
			b.WriteString(`\r`)
		case r == '\t':
			b.WriteString(`\t`)
		case r < 0x80 && IsControl(r):
			fmt.Fprintf(&b, `\x%02x`, r)
		case IsControl(r):
			fmt.Fprintf(&b, `\u%04x`, r)
		default:
			b.WriteRune(r)
		}
	}
	return b.String()
}

// IsControl reports a C0 or C1 control character, or DEL.
func IsControl(r rune) bool { return r < 0x20 || r == 0x7f || (r >= 0x80 && r <= 0x9f) }

// Closest returns the names within a small edit distance of s, nearest first.
func Closest(s string, names []string) []string {
	type cand struct {
		name string
		d    int
	}
	var cands []cand
	limit := max(2, len(s)/3)
	for _, n := range names {
		d := editDistance(strings.ToLower(s), strings.ToLower(n))
		if d <= limit || (len(s) >= 3 && strings.HasPrefix(n, s)) {
			cands = append(cands, cand{n, d})
		}
	}
	sort.SliceStable(cands, func(i, j int) bool { return cands[i].d < cands[j].d })
	out := make([]string, 0, len(cands))
	for _, c := range cands {
		out = append(out, c.name)
	}
	if len(out) > 3 {
		out = out[:3]
	}
	return out
}

func editDistance(a, b string) int {
	ra, rb := []rune(a), []rune(b)
	prev := make([]int, len(rb)+1)
	cur := make([]int, len(rb)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(ra); i++ {
		cur[0] = i
		for j := 1; j <= len(rb); j++ {
			cost := 1
			if ra[i-1] == rb[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev, cur = cur, prev
	}
	return prev[len(rb)]
}

// FormatDuration writes d the way people write it in the profiles file: 15m, 1h, 1h30m, 45s.
// A second or more is rounded to the second; less keeps its unit (250ms, 1ns), so that a short
// --timeout is never reported as 0s.
func FormatDuration(d time.Duration) string {
	if d != 0 && d > -time.Second && d < time.Second {
		if ms := d.Round(time.Millisecond); ms != 0 {
			return ms.String()
		}
		return d.String()
	}
	s := d.Round(time.Second).String()
	if strings.HasSuffix(s, "m0s") {
		s = strings.TrimSuffix(s, "0s")
	}
	if strings.HasSuffix(s, "h0m") {
		s = strings.TrimSuffix(s, "0m")
	}
	return s
}
