// Package roots is the bundle dsqlenv trusts by default (sslrootcert: amazon): Amazon Root CA
// 1 to 4, embedded, with their fingerprints, so that a damaged binary never hands out another
// bundle.
package roots

import (
	"crypto/sha256"
	"crypto/x509"
	_ "embed"
	"encoding/hex"
	"encoding/pem"
	"fmt"
)

// PEM is the default sslrootcert: Amazon Root CA 1 to 4, concatenated PEM, byte for
// byte as Debian's ca-certificates ships them (/usr/share/ca-certificates/mozilla/
// Amazon_Root_CA_{1..4}.crt, from Mozilla's store; also at amazontrust.com/repository/).
// Every Aurora DSQL endpoint's chain ends at Root CA 1 today; 2 to 4 are Amazon's other roots,
// so a change of chain keeps verifying. Public certificates.
//
//go:embed AmazonRootCAs.pem
var PEM []byte

// SHA256 are the SHA-256 fingerprints of PEM's certificates (DER), in order:
// Root CA 1 (RSA 2048, to 2038-01-17), 2 (RSA 4096, to 2040), 3 (P-256, to 2040) and 4 (P-384,
// to 2040). dsqlenv refuses to hand out a bundle that does not match.
var SHA256 = []string{
	"8ecde6884f3d87b1125ba31ac3fcb13d7016de7f57cc904fe1cb97c6ae98196e",
	"1ba5b2aa8c65401a82960118f80bec4f62304d83cec4713a19c39c011ea46db4",
	"18ce6cfe7bf14e60b2e347b8dfe868cb31d02ebb3ada271569f50343b46db3a4",
	"e35d28419ed02025cfa69038cd623962458da5c695fbdea3c22b0bfb25897092",
}

// Certificates parses the bundled certificates, Amazon Root CA 1 first.
func Certificates() ([]*x509.Certificate, error) {
	var certs []*x509.Certificate
	for rest := PEM; ; {
		var block *pem.Block
		if block, rest = pem.Decode(rest); block == nil {
			break
		}
		c, err := x509.ParseCertificate(block.Bytes)
		if err != nil {
			return nil, fmt.Errorf("the bundled Amazon roots: %v: the binary is damaged", err)
		}
		certs = append(certs, c)
	}
	return certs, nil
}

// Check refuses to hand out a bundle that is not exactly Amazon's roots, by their
// fingerprints.
func Check() error {
	certs, err := Certificates()
	if err != nil {
		return err
	}
	if len(certs) != len(SHA256) {
		return fmt.Errorf("the bundled Amazon roots hold %d certificates, not %d: the binary is damaged", len(certs), len(SHA256))
	}
	for i, c := range certs {
		sum := sha256.Sum256(c.Raw)
		if hex.EncodeToString(sum[:]) != SHA256[i] {
			return fmt.Errorf("the bundled Amazon Root CA %d has fingerprint %x, not %s: the binary is damaged", i+1, sum, SHA256[i])
		}
	}
	return nil
}

// Pool is a certificate pool of the bundled roots.
func Pool() (*x509.CertPool, error) {
	certs, err := Certificates()
	if err != nil {
		return nil, err
	}
	pool := x509.NewCertPool()
	for _, c := range certs {
		pool.AddCert(c)
	}
	return pool, nil
}
