package profiles

import (
	"math/rand"
	"regexp"
	"testing"
)

// TestMatchersAgreeWithTheirPatterns holds each hand-written matcher to the regular
// expression it replaces, on tricky strings and on random ones from a small alphabet.
func TestMatchersAgreeWithTheirPatterns(t *testing.T) {
	region := regexp.MustCompile(`\.dsql[^.]*\.([^.]+)\.on\.aws$`)
	regionOf := func(s string) string {
		if m := region.FindStringSubmatch(s); m != nil {
			return m[1]
		}
		return ""
	}
	bools := []struct {
		name  string
		re    *regexp.Regexp
		match func(string) bool
		alpha string
	}{
		{"profile name", regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._-]*$`), IsProfileName, "aZ9._-/ "},
		{"host name", regexp.MustCompile(`^[A-Za-z0-9]([A-Za-z0-9-]*[A-Za-z0-9])?(\.[A-Za-z0-9]([A-Za-z0-9-]*[A-Za-z0-9])?)*\.?$`), isHostname, "aZ9.-_:"},
		{"region", regexp.MustCompile(`^[a-z]{2}(-[a-z]+)+-[0-9]+$`), isRegion, "ae-19A"},
		{"cluster id", regexp.MustCompile(`^[a-z0-9]{26}$`), IsClusterID, "a9A-"},
	}
	fixed := []string{"", ".", "..", "a", "a.", ".a", "a-", "-a", "a--b", "a.b.c.", "a..b", "us-east-1", "us-east-", "u-east-1", "us--1",
		"us-east-1a", "eu-central-2", "abcdefghijklmnopqrstuvwxyz", "abcdefghijklmnopqrstuvwxy", "_a", "9a", "a_b",
		"abc.dsql.us-east-1.on.aws", "abc.dsql-x1y2.eu-west-1.on.aws", "abc.dsql..on.aws", "dsql.us-east-1.on.aws", ".dsql.r.on.aws",
		"abc.dsqlx.r.on.aws", "abc.dsq.r.on.aws", "abc.dsql.r.s.on.aws", "abc.dsql.r.on.aws.", "x.dsql.a.b.dsql.c.on.aws"}
	rng := rand.New(rand.NewSource(7))
	random := func(alpha string, n int) string {
		b := make([]byte, rng.Intn(n))
		for i := range b {
			b[i] = alpha[rng.Intn(len(alpha))]
		}
		return string(b)
	}
	for _, m := range bools {
		cases := append([]string(nil), fixed...)
		for range 20000 {
			cases = append(cases, random(m.alpha, 30))
		}
		for _, s := range cases {
			if got, want := m.match(s), m.re.MatchString(s); got != want {
				t.Errorf("%s %q: got %v, the pattern says %v", m.name, s, got, want)
			}
		}
	}
	pieces := []string{"abc", ".", "dsql", "-x1", "us-east-1", "on", "aws", ".on.aws", ".dsql."}
	cases := append([]string(nil), fixed...)
	for range 20000 {
		s := ""
		for range rng.Intn(8) {
			s += pieces[rng.Intn(len(pieces))]
		}
		cases = append(cases, s)
	}
	for _, s := range cases {
		if got, want := RegionFromEndpoint(s), regionOf(s); got != want {
			t.Errorf("RegionFromEndpoint(%q) = %q, the pattern says %q", s, got, want)
		}
	}
}
