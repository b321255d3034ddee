package cli

// doctor_net.go: the network and TLS probe of doctor (DNS, TCP, TLS started as the profile
// says, verified like verify-full) and the words its failures are told in.

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
	"syscall"
	"time"

	"github.com/dsqlenv/dsqlenv/profiles"
)

// network resolves, connects, asks PostgreSQL for TLS and verifies the handshake.
func (d *doctor) network(name string, conn *profiles.Connection, roots *x509.CertPool) bool {
	ctx, cancel := context.WithTimeout(context.Background(), doctorDNSTimeout)
	addrs, err := net.DefaultResolver.LookupHost(ctx, conn.Host)
	cancel()
	if err != nil {
		msg := err.Error()
		if errors.Is(err, context.DeadlineExceeded) {
			msg = fmt.Sprintf("timed out after %s", doctorDNSTimeout)
		}
		d.say("FAIL", name, "DNS: "+conn.Host+": "+msg, "check the endpoint, your network or VPN")
		return false
	}
	d.say("ok", name, fmt.Sprintf("DNS: %s resolves to %s", conn.Host, strings.Join(addrs, ", ")), "")
	addr := net.JoinHostPort(conn.Host, strconv.Itoa(conn.Port))
	raw, err := net.DialTimeout("tcp", addr, doctorDialTimeout)
	if err != nil {
		msg := err.Error()
		var ne net.Error
		if errors.As(err, &ne) && ne.Timeout() {
			msg = fmt.Sprintf("timed out after %s", doctorDialTimeout)
		}
		d.say("FAIL", name, "TCP connect to "+addr+": "+msg, "check the port, security groups, VPN or firewall")
		return false
	}
	defer raw.Close()
	d.say("ok", name, "TCP connect to "+addr, "")
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
			d.say("FAIL", name, fmt.Sprintf("PostgreSQL SSLRequest: the server did not accept TLS (%v)", errOr(err, "answered "+strconv.Quote(string(ans)))), "is this a PostgreSQL endpoint with TLS?")
			return false
		}
	}
	if roots == nil {
		return false
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
			d.say("FAIL", name, "TLS with direct negotiation (sslnegotiation direct): "+directInPlainWords(err), noDirectFix)
			return false
		}
		d.say("FAIL", name, "TLS: "+tlsInPlainWords(err, conn.Host), "point sslrootcert at the CA that signs the server's certificate (DSQL: leave sslrootcert out for the bundled Amazon roots)")
		return false
	}
	st := tc.ConnectionState()
	if direct && st.NegotiatedProtocol != "postgresql" {
		// libpq 17+ drops such a connection: "direct SSL connection was established without
		// ALPN protocol negotiation extension".
		d.say("FAIL", name, "TLS with direct negotiation (sslnegotiation direct): the server did not select ALPN protocol \"postgresql\", without which libpq 17+ refuses the connection", noDirectFix)
		return false
	}
	d.say("ok", name, fmt.Sprintf("TLS %s verified (%s, sslnegotiation %s): certificate for %s issued by %s", tlsVersion(st.Version), conn.SSLMode, orDefault(conn.SSLNegotiation, "postgres"), st.PeerCertificates[0].Subject.CommonName, st.PeerCertificates[0].Issuer.CommonName), "")
	return true
}

const noDirectFix = "set sslnegotiation: postgres in the profile: this server takes TLS only after PostgreSQL's SSLRequest, as servers before PostgreSQL 17 do (Aurora DSQL takes direct)"

// certProblem reports whether a handshake failed on the server's certificate rather than on
// the way TLS was started.
func certProblem(err error) bool {
	var cv *tls.CertificateVerificationError
	var ua x509.UnknownAuthorityError
	var he x509.HostnameError
	var ci x509.CertificateInvalidError
	return errors.As(err, &cv) || errors.As(err, &ua) || errors.As(err, &he) || errors.As(err, &ci)
}

// directInPlainWords explains a failed direct handshake: a server before PostgreSQL 17 reads
// the ClientHello as a malformed startup packet and hangs up ("invalid length of startup
// packet" in its log).
func directInPlainWords(err error) string {
	if errors.Is(err, io.EOF) || errors.Is(err, syscall.ECONNRESET) {
		return "the server hung up on the TLS ClientHello: it does not take direct TLS"
	}
	return err.Error() + ": the server did not complete a direct TLS handshake"
}

func errOr(err error, s string) string {
	if err != nil {
		return err.Error()
	}
	return s
}

func tlsVersion(v uint16) string {
	return map[uint16]string{tls.VersionTLS12: "1.2", tls.VersionTLS13: "1.3"}[v]
}

// tlsInPlainWords says what an x509 failure means for the person reading it.
func tlsInPlainWords(err error, host string) string {
	var ua x509.UnknownAuthorityError
	var he x509.HostnameError
	var ci x509.CertificateInvalidError
	switch {
	case errors.As(err, &ua):
		issuer := "an unknown issuer"
		if ua.Cert != nil {
			issuer = strconv.Quote(ua.Cert.Issuer.CommonName)
		}
		return fmt.Sprintf("the server's certificate is signed by %s, which the configured root does not trust (unknown authority)", issuer)
	case errors.As(err, &he):
		return fmt.Sprintf("the server's certificate is not for %s (wrong host name): %v", host, he)
	case errors.As(err, &ci) && ci.Reason == x509.Expired:
		return fmt.Sprintf("the server's certificate has expired or is not yet valid: %v", ci)
	}
	return err.Error()
}
