package emit

import (
	"strings"
	"testing"

	"golang.org/x/text/encoding"
	"golang.org/x/text/encoding/charmap"
	"golang.org/x/text/encoding/japanese"
)

// consoleCodePages are the code pages Windows PowerShell 5.1 may decode a native command's
// output with (the console's OEM code page, or another after chcp): Japanese, Central
// European, Cyrillic, Western and the US OEM page.
var consoleCodePages = map[string]encoding.Encoding{
	"cp932":  japanese.ShiftJIS, // x/text: "also known as Code Page 932 and Windows-31J"
	"cp1250": charmap.Windows1250,
	"cp1251": charmap.Windows1251,
	"cp1252": charmap.Windows1252,
	"cp437":  charmap.CodePage437,
}

// nonASCIIAlphabet adds to hostileAlphabet the characters that matter for code pages: `Ł`
// (C5 81, whose 81 starts a cp932 pair), the code points behind bytes 0x82/0x91/0x92 in
// cp1252, the edges of the BMP and of the surrogate range, and astral characters.
const nonASCIIAlphabet = hostileAlphabet + "\u0141\u0080\u00ff\u201A\u2018\u2019\u201C\u201D\u00a0\ud7ff\ue000\uffff\U00010000\U0010FFFF\u0085"

// TestPowerShellOutputIsASCIIAndCodePageProof renders values that all hold non-ASCII text,
// checks that the block is pure ASCII, that every line reads back exactly, and that decoding
// the block's bytes in each console code page reads back the same values.
func TestPowerShellOutputIsASCIIAndCodePageProof(t *testing.T) {
	vals := []string{"\u0141f; Start-Process calc.exe; #", "x\u0141f'; calc; '", "\u2019; calc; \u2018", "\U0001D11E"}
	for _, v := range randomFrom(propertySeed(t)+2, nonASCIIAlphabet, 400) {
		if nonASCII(v) < 0 {
			v += "\u0141" // every value must hold non-ASCII text
		}
		vals = append(vals, v)
	}
	b := hostileBlock(vals)
	out, err := PowerShell.Render(b)
	if err != nil {
		t.Fatal(err)
	}
	if i := nonASCII(string(out)); i >= 0 {
		t.Fatalf("byte %d of the block is not ASCII: %q", i, out[max(0, i-20):min(len(out), i+20)])
	}
	check := func(page, text string) {
		lines := strings.Split(strings.TrimSuffix(text, "\r\n"), "\r\n")[len(b.Unset):]
		if len(lines) != len(b.Set) {
			t.Fatalf("%s: %d lines for %d variables", page, len(lines), len(b.Set))
		}
		for i, line := range lines {
			name, got, err := parsePowerShellSet(line)
			if err != nil || name != b.Set[i].Name || got != b.Set[i].Value {
				t.Errorf("%s: line %q reads back as %s=%q (%v), want %q", page, line, name, got, err, b.Set[i].Value)
			}
		}
	}
	check("UTF-8", string(out))
	for page, enc := range consoleCodePages {
		text, err := enc.NewDecoder().Bytes(out)
		if err != nil {
			t.Fatalf("%s: %v", page, err)
		}
		check(page, string(text))
	}
}

// TestCodePagesTurnUTF8IntoQuotes shows the attack the ASCII rule defends against: the UTF-8
// bytes of the value, decoded in cp932, hold U+2019, which PowerShell reads as a
// closing quote. If this stopped holding, the test above would prove less.
func TestCodePagesTurnUTF8IntoQuotes(t *testing.T) {
	old := "'\u0141f; Start-Process calc.exe; #'" // what the UTF-8 quoting wrote
	text, err := japanese.ShiftJIS.NewDecoder().String(old)
	if err != nil {
		t.Fatal(err)
	}
	got, rest, err := parsePowerShellValue(text)
	if err != nil || rest == "" {
		t.Fatalf("cp932 reading of %q = %q: read %q, rest %q, %v; want the string closed early", old, text, got, rest, err)
	}
	t.Logf("cp932 reads %q as the string %q followed by the code %q", old, got, rest)
}
