package cli

// doctor_net.go: the network and TLS probe of doctor (DNS, TCP, TLS started as the profile
// says, verified like verify-full). The words its failures are told in are in errors.go.

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"net"
	"strconv"
	"strings"
	"time"

	"github.com/dsqlenv/dsqlenv/profiles"
)

// network resolves, connects, asks PostgreSQL for TLS and verifies the handshake.
func (d *doctor) network(name string, conn *profiles.Connection, roots *x509.CertPool) (bool, []check) {
	var out checks
	dialHost := conn.Host
	if conn.HostAddr != "" {
		// vpc_endpoint: the PrivateLink name resolves only with private DNS; libpq connects to
		// the address the block carries (PGHOSTADDR) and checks the certificate against the
		// name, and so does this probe.
		dialHost = conn.HostAddr
		out.add("ok", name, fmt.Sprintf("vpc_endpoint %s: connecting to %s, the certificate checked against %s", conn.VPCEndpoint, conn.HostAddr, conn.Host), "")
	} else {
		ctx, cancel := context.WithTimeout(context.Background(), doctorDNSTimeout)
		addrs, err := net.DefaultResolver.LookupHost(ctx, conn.Host)
		cancel()
		if err != nil {
			msg := err.Error()
			if errors.Is(err, context.DeadlineExceeded) {
				msg = fmt.Sprintf("timed out after %s", doctorDNSTimeout)
			}
			out.add("FAIL", name, "DNS: "+conn.Host+": "+msg, "check the endpoint, your network or VPN")
			return false, out
		}
		out.add("ok", name, fmt.Sprintf("DNS: %s resolves to %s", conn.Host, strings.Join(addrs, ", ")), "")
	}
	addr := net.JoinHostPort(dialHost, strconv.Itoa(conn.Port))
	raw, err := net.DialTimeout("tcp", addr, doctorDialTimeout)
	if err != nil {
		msg := err.Error()
		var ne net.Error
		if errors.As(err, &ne) && ne.Timeout() {
			msg = fmt.Sprintf("timed out after %s", doctorDialTimeout)
		}
		out.add("FAIL", name, "TCP connect to "+addr+": "+msg, "check the port, security groups, VPN or firewall")
		return false, out
	}
	defer raw.Close()
	out.add("ok", name, "TCP connect to "+addr, "")
	raw.SetDeadline(time.Now().Add(doctorTLSTimeout))
	direct := conn.SSLNegotiation == "direct"
	if !direct {
		// PostgreSQL's SSLRequest: length 8, code 80877103; the server answers 'S' or 'N'.
		req := make([]byte, 8)
		binary.BigEndian.PutUint32(req[0:], 8)
		binary.BigEndian.PutUint32(req[4:], 80877103)
		ans := make([]byte, 1)
		if _, err = raw.Write(req); err == nil {
			_, err = io.ReadFull(raw, ans)
		}
		if err != nil || ans[0] != 'S' {
			out.add("FAIL", name, fmt.Sprintf("PostgreSQL SSLRequest: the server did not accept TLS (%v)", errOr(err, "answered "+strconv.Quote(string(ans)))), "is this a PostgreSQL endpoint with TLS?")
			return false, out
		}
	}
	if roots == nil {
		return false, out
	}
	cfg := &tls.Config{ServerName: conn.Host, RootCAs: roots, MinVersion: tls.VersionTLS12}
	if direct {
		// Direct negotiation, as libpq 17+ does it: the ClientHello comes first, offering
		// ALPN "postgresql", which the server must select (PostgreSQL documentation,
		// "Protocol Flow", SSL Session Encryption).
		cfg.NextProtos = []string{"postgresql"}
	}
	if conn.SSLMode != "verify-full" {
		// verify-ca and require do not check the host name; verify the chain only here.
		cfg.InsecureSkipVerify = true
		cfg.VerifyConnection = func(cs tls.ConnectionState) error {
			opts := x509.VerifyOptions{Roots: roots, Intermediates: x509.NewCertPool()}
			for _, c := range cs.PeerCertificates[1:] {
				opts.Intermediates.AddCert(c)
			}
			_, err := cs.PeerCertificates[0].Verify(opts)
			return err
		}
	}
	tc := tls.Client(raw, cfg)
	if err := tc.Handshake(); err != nil {
		if direct && !certProblem(err) {
			out.add("FAIL", name, "TLS with direct negotiation (sslnegotiation direct): "+directInPlainWords(err), noDirectFix)
			return false, out
		}
		out.add("FAIL", name, "TLS: "+tlsInPlainWords(err, conn.Host), "point sslrootcert at the CA that signs the server's certificate (DSQL: leave sslrootcert out for the bundled Amazon roots)")
		return false, out
	}
	st := tc.ConnectionState()
	if direct && st.NegotiatedProtocol != "postgresql" {
		// libpq 17+ drops such a connection: "direct SSL connection was established without
		// ALPN protocol negotiation extension".
		out.add("FAIL", name, "TLS with direct negotiation (sslnegotiation direct): the server did not select ALPN protocol \"postgresql\", without which libpq 17+ refuses the connection", noDirectFix)
		return false, out
	}
	out.add("ok", name, fmt.Sprintf("TLS %s verified (%s, sslnegotiation %s): certificate for %s issued by %s", tlsVersion(st.Version), conn.SSLMode, orDefault(conn.SSLNegotiation, "postgres"), st.PeerCertificates[0].Subject.CommonName, st.PeerCertificates[0].Issuer.CommonName), "")
	return true, out
}

const noDirectFix = "set sslnegotiation: postgres in the profile: this server takes TLS only after PostgreSQL's SSLRequest, as servers before PostgreSQL 17 do (Aurora DSQL takes direct)"

func errOr(err error, s string) string {
	if err != nil {
		return err.Error()
	}
	return s
}

func tlsVersion(v uint16) string {
	return map[uint16]string{tls.VersionTLS12: "1.2", tls.VersionTLS13: "1.3"}[v]
}
