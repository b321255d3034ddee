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
	if c.IsCA || c.KeyUsage&x509.KeyUsageCertSign != 0 || c.KeyUsage&x509.KeyUsageDigitalSignature == 0 {
		t.Errorf("local certificate: IsCA %v, key usage %b; want a server's (digital signature), not a CA's", c.IsCA, c.KeyUsage)
	}
	// It still verifies as its own root for localhost, as a verify-full client does.
	roots := x509.NewCertPool()
	roots.AddCert(c)
	if _, err := c.Verify(x509.VerifyOptions{DNSName: "localhost", Roots: roots}); err != nil {
		t.Errorf("verify-full against the local certificate: %v", err)
	}
}
