package cli

import (
	"strings"

	"github.com/dsqlenv/dsqlenv/internal/text"
)

// termSafe is what dsqlenv prints for a person — errors, show, list, --debug, doctor, status,
// a server certificate's names — with the characters a terminal would act on escaped
// (text.EscapeControls). Shell blocks do not pass through it: they are for a shell, and
// quoted for it.
func termSafe(s string) string { return text.EscapeControls(s) }

// termSafeLines is termSafe for text of several lines: the line breaks stay.
func termSafeLines(s string) string {
	lines := strings.Split(s, "\n")
	for i, l := range lines {
		lines[i] = termSafe(l)
	}
	return strings.Join(lines, "\n")
}

// plural is noun, or noun+"s" for any count but one.
func plural(n int, noun string) string {
	if n == 1 {
		return noun
	}
	return noun + "s"
}

// dash shows a missing value as "-", and any value terminal-safe.
func dash(s string) string {
	if s == "" {
		return "-"
	}
	return termSafe(s)
}
