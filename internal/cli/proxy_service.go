package cli

import (
	"context"
	"fmt"
	"strings"
)

// The proxy run as a service: a check at start, systemd's readiness and socket activation,
// health and metrics over HTTP, and logs for a journal.

// checkEndpoints logs in once per profile, as its user, through the proxy's own path to the
// cluster (credentials, token, TLS, login), so that what would fail the first client fails
// the start instead.
func (r *run) checkEndpoints(ctx context.Context, o proxyOptions, eps []*endpoint) error {
	for _, ep := range eps {
		cctx, cancel := context.WithTimeout(ctx, o.timeout)
		err := ep.server.Check(cctx, ep.user)
		cancel()
		if err != nil {
			why := strings.TrimPrefix(strings.TrimPrefix(err.Error(), "dsqlenv: "), "dsqlenv proxy: ")
			return fmt.Errorf("proxy %s: --check: logging in as %s: %s", ep.profile, ep.user, why)
		}
		r.say("proxy %s: --check: logged in to the cluster as %s", ep.profile, ep.user)
	}
	return nil
}
