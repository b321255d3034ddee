package cli

import (
	"fmt"
	"strings"
	"unicode/utf8"
)

// termSafe escapes what a terminal would act on in text meant for a person: C0 controls
// (ESC starts the sequences that retitle, clear or rewrite a terminal), DEL and the C1
// controls U+0080–U+009F (U+009B is a one-character CSI on many terminals; ECMA-48 §5.3).
// Values from a profiles file, a server's certificate or an error pass through here before
// they reach stderr or a report; shell blocks do not, they are quoted for their shell.
func termSafe(s string) string {
	// Invalid UTF-8 goes through the loop too, which writes U+FFFD for each bad byte: a lone
	// 0x9b byte is CSI to a terminal in 8-bit mode.
	if !strings.ContainsFunc(s, isTermControl) && utf8.ValidString(s) {
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
		case r < 0x80 && isTermControl(r):
			fmt.Fprintf(&b, `\x%02x`, r)
		case isTermControl(r):
			fmt.Fprintf(&b, `\u%04x`, r)
		default:
			b.WriteRune(r)
		}
	}
	return b.String()
}

func isTermControl(r rune) bool { return r < 0x20 || r == 0x7f || (r >= 0x80 && r <= 0x9f) }
