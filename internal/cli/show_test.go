package cli

import (
	"path/filepath"
	"runtime"
	"strings"
	"testing"
)

func TestShowSaysWhereSSLNegotiationCameFrom(t *testing.T) {
	cfg := writeFile(t, t.TempDir(), "p.yaml", "profiles:\n  builtin:\n    endpoint: localhost\n    region: us-east-1\n  own:\n    endpoint: localhost\n    region: us-east-1\n    sslnegotiation: postgres\n")
	r := runApp(t, fixedMint, "-c", cfg, "show", "builtin")
	for _, want := range []string{"sslrootcert  amazon       built-in default",
		"note: sslrootcert amazon is Amazon Root CA 1 to 4, bundled, written to " + filepath.Join(xdgDir, "data", "dsqlenv", bundleFile),
		"note: sslnegotiation is not set, so clients start TLS with an SSLRequest (libpq's default, postgres), while dsqlenv proxy connects with direct TLS (ALPN postgresql, a round trip fewer); sslnegotiation: direct saves clients that round trip with libpq 17+ (see dsqlenv doctor)"} {
		if !strings.Contains(r.stdout, want) {
			t.Errorf("show builtin lacks %q:\n%s", want, r.stdout)
		}
	}
	r = runApp(t, fixedMint, "-c", cfg, "show", "own")
	for _, want := range []string{"sslnegotiation  postgres     profile, line 8", "note: sslnegotiation postgres: clients and dsqlenv proxy both start TLS with an SSLRequest"} {
		if !strings.Contains(r.stdout, want) {
			t.Errorf("show own lacks %q:\n%s", want, r.stdout)
		}
	}
	if strings.Contains(show(t, cfg, "builtin"), "sslnegotiation  ") {
		t.Errorf("a profile without sslnegotiation shows a value for it")
	}
	cfg = writeFile(t, t.TempDir(), "p.yaml", "defaults:\n  sslnegotiation: direct\nprofiles:\n  d:\n    endpoint: localhost\n    region: us-east-1\n")
	for _, want := range []string{"sslnegotiation  direct       defaults, line 2",
		"libpq before 17 rejects the keyword in service files and URLs", "lib/pq 1.12.3 and older", "lib/pq#1331"} {
		if got := show(t, cfg, "d"); !strings.Contains(got, want) {
			t.Errorf("show d lacks %q:\n%s", want, got)
		}
	}
}

func show(t *testing.T, cfg, profile string) string {
	r := runApp(t, fixedMint, "-c", cfg, "show", profile)
	if r.code != 0 {
		t.Fatalf("show %s: %+v", profile, r)
	}
	return r.stdout
}

// TestShowListsTheProxyBlock: show lists what dsqlenv proxy does for the profile without
// flags, each setting from the profile's proxy: block, else the defaults' one, else built in.
func TestShowListsTheProxyBlock(t *testing.T) {
	cfg := writeFile(t, t.TempDir(), "p.yaml", "defaults:\n  proxy:\n    listen: 127.0.0.1:6440\n    drain: 5s\nprofiles:\n  p:\n    endpoint: localhost\n    region: us-east-1\n    proxy:\n      warm: 2\n  bare:\n    endpoint: localhost\n    region: us-east-1\n")
	var rows []string
	for _, line := range strings.Split(show(t, cfg, "p"), "\n") {
		rows = append(rows, strings.Join(strings.Fields(line), " "))
	}
	got := strings.Join(rows, "\n")
	for _, want := range []string{"dsqlenv proxy p without flags (its proxy: block)", "listen 127.0.0.1:6440 defaults, line 3", "warm 2 profile, line 10",
		"warm_age 2m built-in default", "drain 5s defaults, line 4"} {
		if !strings.Contains(got, want+"\n") {
			t.Errorf("show p lacks %q:\n%s", want, got)
		}
	}
	rows = rows[:0]
	for _, line := range strings.Split(show(t, cfg, "bare"), "\n") {
		rows = append(rows, strings.Join(strings.Fields(line), " "))
	}
	got = strings.Join(rows, "\n")
	for _, want := range []string{"listen 127.0.0.1:6440 defaults, line 3", "warm 0 built-in default (none opened ahead)", "drain 5s defaults, line 4"} {
		if !strings.Contains(got, want+"\n") {
			t.Errorf("show bare lacks %q:\n%s", want, got)
		}
	}
	cfg = writeFile(t, t.TempDir(), "p.yaml", "profiles:\n  q:\n    endpoint: localhost\n    region: us-east-1\n")
	// Where the proxy has no Unix socket (Windows, the BSDs), --listen is needed.
	listen := "listen - built-in default (the Unix socket only)"
	if !proxySockets(runtime.GOOS) {
		listen = "listen - built-in default (none: " + noProxySocket(runtime.GOOS) + ")"
	}
	if got := strings.Join(strings.Fields(show(t, cfg, "q")), " "); !strings.Contains(got, listen) || !strings.Contains(got, "drain 30s built-in default") {
		t.Errorf("show q without proxy: blocks:\n%s", got)
	}
}
