package cli

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/dsqlenv/dsqlenv/internal/proxy"
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
		o.log.say("proxy %s: --check: logged in to the cluster as %s", ep.profile, ep.user)
	}
	return nil
}

// proxyHTTP is what --http serves: health for a supervisor, metrics for Prometheus, and the
// open sessions. It has no authentication, so it listens on loopback only.
type proxyHTTP struct {
	r       *run
	o       proxyOptions
	eps     []*endpoint  // set before started
	probes  []*readiness // one per endpoint, set before started
	started atomic.Bool
	drain   atomic.Bool
	srv     *http.Server
}

// startHTTP listens on --http before anything else starts, so that /startup can say the
// proxy is still starting.
func (r *run) startHTTP(o proxyOptions) (*proxyHTTP, error) {
	ln, err := net.Listen("tcp", o.http)
	if err != nil {
		return nil, fmt.Errorf("proxy: --http %s: %v", o.http, err)
	}
	h := &proxyHTTP{r: r, o: o}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /startup", h.startup)
	mux.HandleFunc("GET /liveness", func(w http.ResponseWriter, _ *http.Request) { io.WriteString(w, "ok\n") })
	mux.HandleFunc("GET /readiness", h.readiness)
	mux.HandleFunc("GET /metrics", h.metrics)
	mux.HandleFunc("GET /sessions", h.sessions)
	h.srv = &http.Server{Handler: loopbackHost(mux), ReadHeaderTimeout: 10 * time.Second}
	go h.srv.Serve(ln)
	o.log.say("proxy: --http on http://%s: /startup, /liveness, /readiness, /metrics, /sessions", ln.Addr())
	return h, nil
}

// loopbackHost refuses, with 421 Misdirected Request, a request whose Host is not a loopback
// name or address (localhost, 127.0.0.1, [::1]): a web page whose own name an attacker
// rebinds to 127.0.0.1 (DNS rebinding) is sent by the browser with that name as Host, and
// could otherwise read the session list and the rest.
func loopbackHost(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		if !proxy.IsLoopback(req.Host) {
			http.Error(w, "dsqlenv proxy: --http answers only requests for localhost, 127.0.0.1 or [::1]", http.StatusMisdirectedRequest)
			return
		}
		next.ServeHTTP(w, req)
	})
}

// ready marks the start done: every endpoint listens.
func (h *proxyHTTP) ready(eps []*endpoint) {
	if h == nil {
		return
	}
	h.eps = eps
	for _, ep := range eps {
		h.probes = append(h.probes, &readiness{now: h.r.Now, timeout: h.o.timeout, reach: ep.server.Reachable,
			mint: func(ctx context.Context) (time.Time, error) {
				if _, err := ep.signer.Mint(ctx, ep.user); err != nil {
					return time.Time{}, err
				}
				return ep.signer.Origin().Expires, nil
			}})
	}
	h.started.Store(true)
}

func (h *proxyHTTP) draining() {
	if h != nil {
		h.drain.Store(true)
	}
}

func (h *proxyHTTP) close() {
	if h != nil {
		h.srv.Close()
	}
}

func (h *proxyHTTP) startup(w http.ResponseWriter, _ *http.Request) {
	if !h.started.Load() {
		http.Error(w, "starting", http.StatusServiceUnavailable)
		return
	}
	io.WriteString(w, "ok\n")
}

// readiness fails while the proxy starts or drains, when a profile has --max-sessions client
// sessions, cannot mint a token (the credentials have expired, say) or cannot reach its
// cluster.
func (h *proxyHTTP) readiness(w http.ResponseWriter, _ *http.Request) {
	var why []string
	switch {
	case !h.started.Load():
		why = append(why, "starting")
	case h.drain.Load():
		why = append(why, "draining: the proxy is stopping")
	default:
		for i, ep := range h.eps {
			if n := ep.server.Sessions(); n >= h.o.maxSessions {
				why = append(why, fmt.Sprintf("profile %s: %d sessions, the --max-sessions limit", ep.profile, n))
			}
			mintErr, reachErr := h.probes[i].check()
			if mintErr != nil {
				why = append(why, fmt.Sprintf("profile %s cannot mint a token: %s", ep.profile, strings.TrimPrefix(mintErr.Error(), "dsqlenv: ")))
			}
			if reachErr != nil {
				why = append(why, fmt.Sprintf("profile %s cannot reach its cluster: %s", ep.profile, strings.TrimPrefix(reachErr.Error(), "dsqlenv proxy: ")))
			}
		}
	}
	if len(why) > 0 {
		http.Error(w, strings.Join(why, "\n"), http.StatusServiceUnavailable)
		return
	}
	io.WriteString(w, "ok\n")
}

// How long /readiness keeps a profile's answers to the checks that cost a call outside the
// proxy, and how long it waits for the cluster to take a TCP connection. A supervisor probes
// every few seconds (Kubernetes' periodSeconds defaults to 10, and people set 1): kept 10 s,
// the answers cost the credential chain (STS, SSO, a credential_process) and the cluster one
// call in ten seconds whatever the rate.
const (
	readyFor     = 10 * time.Second
	reachTimeout = 5 * time.Second
)

// readiness is one profile's answers to whether it can mint a token and whether its cluster
// takes a TCP connection, each kept readyFor, and a mint's no longer than the credentials it
// used (then the next probe finds out whether they renew). A probe that finds an answer too
// old is given it still while one refresh runs in the background: a mint may take up to
// --timeout, far longer than a supervisor waits for a probe (Kubernetes' timeoutSeconds
// defaults to 1). Only the first probe, with no answer yet, waits for one.
type readiness struct {
	now     func() time.Time
	timeout time.Duration                            // the mint's: --timeout
	mint    func(context.Context) (time.Time, error) // and when the credentials expire: zero for never
	reach   func(context.Context) error

	mu                    sync.Mutex
	answered              bool          // a refresh has ended
	refreshing            chan struct{} // closed when the refresh running ends; nil while none runs
	mintErr, reachErr     error
	mintUntil, reachUntil time.Time
}

// check returns the answers, and starts a refresh of those older than they may be.
func (p *readiness) check() (mintErr, reachErr error) {
	p.mu.Lock()
	now := p.now()
	mintDue, reachDue := !now.Before(p.mintUntil), !now.Before(p.reachUntil)
	if (mintDue || reachDue) && p.refreshing == nil {
		p.refreshing = make(chan struct{})
		go p.refresh(mintDue, reachDue, p.refreshing)
	}
	wait := p.refreshing
	if !p.answered {
		p.mu.Unlock()
		<-wait
		p.mu.Lock()
	}
	defer p.mu.Unlock()
	return p.mintErr, p.reachErr
}

// refresh checks again what is due, then closes done.
func (p *readiness) refresh(mint, reach bool, done chan struct{}) {
	defer close(done)
	var (
		mintErr, reachErr error
		expires           time.Time
	)
	if mint {
		// Not a probe's context: an answer cut short by a supervisor that stopped waiting
		// would be kept as if the profile had failed.
		ctx, cancel := context.WithTimeout(context.Background(), p.timeout)
		expires, mintErr = p.mint(ctx)
		cancel()
	}
	if reach {
		ctx, cancel := context.WithTimeout(context.Background(), reachTimeout)
		reachErr = p.reach(ctx)
		cancel()
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	now := p.now()
	if mint {
		p.mintErr, p.mintUntil = mintErr, now.Add(readyFor)
		if mintErr == nil && expires.After(now) && expires.Before(p.mintUntil) {
			p.mintUntil = expires
		}
	}
	if reach {
		p.reachErr, p.reachUntil = reachErr, now.Add(readyFor)
	}
	p.answered, p.refreshing = true, nil
}

// metrics writes Prometheus' text exposition format by hand: a client library would cost
// every other command its start-up, and these few lines are the whole format the proxy needs
// (https://prometheus.io/docs/instrumenting/exposition_formats/).
func (h *proxyHTTP) metrics(w http.ResponseWriter, _ *http.Request) {
	var eps []*endpoint
	if h.started.Load() {
		eps = h.eps
	}
	stats := make([]proxy.Stats, len(eps))
	for i, ep := range eps {
		stats[i] = ep.server.Stats()
	}
	w.Header().Set("Content-Type", "text/plain; version=0.0.4; charset=utf-8")
	var b strings.Builder
	family := func(name, kind, help string, value func(proxy.Stats) int64) {
		fmt.Fprintf(&b, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, kind)
		for i, ep := range eps {
			fmt.Fprintf(&b, "%s{profile=%s} %d\n", name, promLabel(ep.profile), value(stats[i]))
		}
	}
	family("dsqlenv_proxy_sessions_open", "gauge", "Client sessions past the local login, now.",
		func(s proxy.Stats) int64 { return int64(s.Open) })
	family("dsqlenv_proxy_sessions_total", "counter", "Client sessions past the local login.",
		func(s proxy.Stats) int64 { return s.Total })
	family("dsqlenv_proxy_mint_failures_total", "counter", "Sessions refused because no token could be minted.",
		func(s proxy.Stats) int64 { return s.MintFailures })
	// split is a family with one series per profile and value of label.
	split := func(name, help, label string, values []string, value func(proxy.Stats) []int64) {
		fmt.Fprintf(&b, "# HELP %s %s\n# TYPE %s counter\n", name, help, name)
		for i, ep := range eps {
			for j, n := range value(stats[i]) {
				fmt.Fprintf(&b, "%s{profile=%s,%s=\"%s\"} %d\n", name, promLabel(ep.profile), label, values[j], n)
			}
		}
	}
	split("dsqlenv_proxy_refusals_total", "Sessions refused: 53300 at --max-sessions, 53400 by the cluster's connection limits.",
		"sqlstate", []string{"53300", "53400"}, func(s proxy.Stats) []int64 { return []int64{s.Refused53300, s.Refused53400} })
	split("dsqlenv_proxy_bytes_total", "Bytes copied by sessions that have ended, by direction.",
		"direction", []string{"client_to_server", "server_to_client"}, func(s proxy.Stats) []int64 { return []int64{s.BytesIn, s.BytesOut} })
	const connect = "dsqlenv_proxy_upstream_connect_seconds"
	fmt.Fprintf(&b, "# HELP %s Time to open an upstream session (TCP, TLS, startup and login; not the token), of those that opened, for clients and warm sessions.\n# TYPE %s histogram\n", connect, connect)
	for i, ep := range eps {
		h, profile := stats[i].Connect, promLabel(ep.profile)
		for j, le := range h.Bounds {
			fmt.Fprintf(&b, "%s_bucket{profile=%s,le=\"%s\"} %d\n", connect, profile, strconv.FormatFloat(le, 'g', -1, 64), h.Counts[j])
		}
		fmt.Fprintf(&b, "%s_bucket{profile=%s,le=\"+Inf\"} %d\n", connect, profile, h.Count)
		fmt.Fprintf(&b, "%s_sum{profile=%s} %s\n", connect, profile, strconv.FormatFloat(h.Sum, 'g', -1, 64))
		fmt.Fprintf(&b, "%s_count{profile=%s} %d\n", connect, profile, h.Count)
	}
	family("dsqlenv_proxy_warm_sessions", "gauge", "Warm sessions (--warm) open and ready for a client, now.",
		func(s proxy.Stats) int64 { return int64(s.Warm) })
	family("dsqlenv_proxy_warm_hits_total", "counter", "Client sessions handed a warm session ready when they came (--warm).",
		func(s proxy.Stats) int64 { return s.WarmHits })
	family("dsqlenv_proxy_warm_misses_total", "counter", "Client sessions that waited for an upstream session to open while --warm was on: none was ready.",
		func(s proxy.Stats) int64 { return s.WarmMisses })
	io.WriteString(w, b.String())
}

// promLabel quotes a label value as the text format does: backslash, double quote and line
// feed escaped.
func promLabel(v string) string {
	return `"` + strings.NewReplacer(`\`, `\\`, `"`, `\"`, "\n", `\n`).Replace(v) + `"`
}

// sessionJSON is one line of /sessions; age in seconds.
type sessionJSON struct {
	proxy.SessionInfo
	Age float64 `json:"age"`
}

func (h *proxyHTTP) sessions(w http.ResponseWriter, _ *http.Request) {
	out := []sessionJSON{}
	if h.started.Load() {
		now := time.Now()
		for _, ep := range h.eps {
			for _, s := range ep.server.OpenSessions() {
				out = append(out, sessionJSON{SessionInfo: s, Age: now.Sub(s.Start).Round(time.Millisecond).Seconds()})
			}
		}
	}
	w.Header().Set("Content-Type", "application/json")
	json.NewEncoder(w).Encode(out)
}
