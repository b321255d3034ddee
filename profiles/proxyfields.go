package profiles

import (
	"fmt"
	"net"
	"strconv"
	"strings"
	"time"

	"gopkg.in/yaml.v3"

	"github.com/dsqlenv/dsqlenv/internal/text"
)

// ProxyFields is a proxy: block, in a profile or in defaults: what `dsqlenv proxy` does for
// the profile when its command line does not say (a flag wins over the block).
type ProxyFields struct {
	Listen  Field[string]        // --listen: a loopback HOST:PORT
	Warm    Field[int]           // --warm
	WarmAge Field[time.Duration] // --warm-age
	Drain   Field[time.Duration] // --drain
}

// ProxyFieldNames lists the keys a proxy: block may hold.
var ProxyFieldNames = []string{"listen", "warm", "warm_age", "drain"}

// The range of warm_age (and --warm-age): DSQL ends a session after 60 minutes, so a client
// handed a warm session gets what is left of them, up to warm_age less; a second is the
// clock's grain.
const (
	MinWarmAge = time.Second
	MaxWarmAge = 30 * time.Minute
)

// What `dsqlenv proxy` does when neither a flag nor a proxy: block says (warm: 0, no listen:).
const (
	DefaultWarmAge = 2 * time.Minute
	DefaultDrain   = 30 * time.Second
)

// CheckWarmAge says why d cannot be a warm session's age ("" when it can).
func CheckWarmAge(d time.Duration) string {
	if d < MinWarmAge || d > MaxWarmAge {
		return fmt.Sprintf("%s is out of range: give a duration from %s to %s, such as 2m (a warm session is at most this old when a client gets it, and DSQL ends every session at 60 minutes)", text.FormatDuration(d), text.FormatDuration(MinWarmAge), text.FormatDuration(MaxWarmAge))
	}
	return ""
}

// CheckListen says why addr cannot be the proxy's TCP address ("" when it can): it must be a
// loopback HOST:PORT: whoever logs in to the proxy acts as the user's IAM identity.
func CheckListen(addr string) string {
	host, port, err := net.SplitHostPort(addr)
	if n, perr := strconv.Atoi(port); err != nil || perr != nil || n < 0 || n > 65535 {
		return fmt.Sprintf("%q is not HOST:PORT: give 127.0.0.1:6432, [::1]:6432 or localhost:6432", addr)
	}
	// Only the addresses the proxy's password-file lines name (localhost, 127.0.0.1, ::1): on
	// 127.0.0.2 it would leave 127.0.0.1:PORT to another local user, whom libpq would send
	// the saved password. proxy.IsLoopback applies the same rule to --listen.
	if ip := net.ParseIP(host); !strings.EqualFold(host, "localhost") && !ip.Equal(net.IPv4(127, 0, 0, 1)) && !ip.Equal(net.IPv6loopback) {
		if ip != nil && ip.IsLoopback() {
			return fmt.Sprintf("%s is not 127.0.0.1: the proxy's password-file lines are for localhost, 127.0.0.1 and ::1, so it listens only there; give 127.0.0.1:%s, [::1]:%s or localhost:%s", host, port, port, port)
		}
		return fmt.Sprintf("%s is not a loopback address: give 127.0.0.1:%s, [::1]:%s or localhost:%s (whoever logs in to the proxy acts as your IAM identity)", host, port, port, port)
	}
	return ""
}

// decodeProxy takes a proxy: block: a mapping of ProxyFieldNames, each once, checked as the
// proxy's flags are.
func decodeProxy(f *Field[ProxyFields], n *yaml.Node) error {
	if n.Kind != yaml.MappingNode {
		return errAt(n, "expected a mapping (listen: 127.0.0.1:6432, warm: 2, warm_age: 2m, drain: 30s), found %s", describe(n))
	}
	var p ProxyFields
	seen := map[string]int{}
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, v := n.Content[i], n.Content[i+1]
		if prev, dup := seen[k.Value]; dup {
			return errAt(k, "field %q is given twice (first on line %d)", k.Value, prev)
		}
		seen[k.Value] = k.Line
		var err error
		switch k.Value {
		case "listen":
			err = decodeString(&p.Listen, v, CheckListen)
		case "warm":
			err = decodeInt(&p.Warm, v, func(s string) string {
				if strings.HasPrefix(s, "-") {
					return s + " is below 0: give 0 (none) or more"
				}
				return ""
			})
		case "warm_age":
			err = decodeProxyDuration(&p.WarmAge, v, CheckWarmAge)
		case "drain":
			err = decodeProxyDuration(&p.Drain, v, func(time.Duration) string { return "" })
		default:
			return errAt(k, "unknown field %q%s (a proxy: block holds %s)", k.Value, suggest(k.Value, ProxyFieldNames), strings.Join(ProxyFieldNames, ", "))
		}
		if err != nil {
			if le, ok := err.(*lineError); ok {
				le.Msg = k.Value + ": " + le.Msg
			}
			return err
		}
	}
	*f = Field[ProxyFields]{Value: p, Set: true, Line: n.Line}
	return nil
}

// decodeProxyDuration takes a duration of zero or more ("30s", "2m", or whole seconds) that
// chk accepts.
func decodeProxyDuration(f *Field[time.Duration], n *yaml.Node, chk func(time.Duration) string) error {
	if n.Kind != yaml.ScalarNode {
		return errAt(n, "expected a duration such as 30s or 2m, found %s", describe(n))
	}
	d, err := ParseDuration(n.Value)
	if err != nil || d < 0 {
		return errAt(n, "%q is not a duration of zero or more: write it like 30s, 2m or 90", n.Value)
	}
	if msg := chk(d); msg != "" {
		return errAt(n, "%s", msg)
	}
	*f = Field[time.Duration]{Value: d, Set: true, Line: n.Line}
	return nil
}

// resolveProxy is the proxy: settings of a profile: each one from the profile's block, else
// from the defaults' block.
func resolveProxy(own, def ProxyFields) ProxyFields {
	out := def
	if own.Listen.Set {
		out.Listen = own.Listen
	}
	if own.Warm.Set {
		out.Warm = own.Warm
	}
	if own.WarmAge.Set {
		out.WarmAge = own.WarmAge
	}
	if own.Drain.Set {
		out.Drain = own.Drain
	}
	return out
}
