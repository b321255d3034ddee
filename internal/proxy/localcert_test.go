package proxy

import (
	"crypto/x509"
	"encoding/pem"
	"testing"
)

// TestLocalCertificateIsNotACA: a client told to trust the local certificate (sslrootcert)
// trusts this server only: it cannot sign certificates for other names.
func TestLocalCertificateIsNotACA(t *testing.T) {
	certPEM, _, err := LocalCertificate()
	if err != nil {
		t.Fatal(err)
	}
	b, _ := pem.Decode(certPEM)
	if b == nil {
		t.Fatalf("no PEM block in %q", certPEM)
	}
	c, err := x509.ParseCertificate(b.Bytes)
	if err != nil {
		t.Fatal(err)
	}
	if c.IsCA || !c.BasicConstraintsValid || c.KeyUsage&x509.KeyUsageCertSign != 0 {
		t.Errorf("local certificate: IsCA %v (basic constraints %v), key usage %b; want a server's, not a CA's", c.IsCA, c.BasicConstraintsValid, c.KeyUsage)
	}
	// OpenSSL 1.1 refuses it as its own root with a key usage that lacks certificate signing:
	// TestProxyPsqlLineRequiresSCRAM connects with libpq 18 (OpenSSL 1.1) to prove it.
	if c.KeyUsage != 0 {
		t.Errorf("local certificate: key usage %b; want none (OpenSSL 1.1 would not trust it as its own root)", c.KeyUsage)
	}
	// It still verifies as its own root for localhost, as a verify-full client does.
	roots := x509.NewCertPool()
	roots.AddCert(c)
	if _, err := c.Verify(x509.VerifyOptions{DNSName: "localhost", Roots: roots}); err != nil {
		t.Errorf("verify-full against the local certificate: %v", err)
	}
}
