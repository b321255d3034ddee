package roots

import (
	"bytes"
	"crypto/sha256"
	"crypto/x509"
	"encoding/hex"
	"encoding/pem"
	"fmt"
	"os"
	"strings"
	"testing"
)

// The fingerprints of Amazon Root CA 1 to 4 as Amazon publishes them (checked against Debian's
// ca-certificates and amazontrust.com): written out here, not read from SHA256, so
// a bundle and a list changed together still fail.
var amazonRootFingerprints = []string{
	"8ECDE6884F3D87B1125BA31AC3FCB13D7016DE7F57CC904FE1CB97C6AE98196E",
	"1BA5B2AA8C65401A82960118F80BEC4F62304D83CEC4713A19C39C011EA46DB4",
	"18CE6CFE7BF14E60B2E347B8DFE868CB31D02EBB3ADA271569F50343B46DB3A4",
	"E35D28419ED02025CFA69038CD623962458DA5C695FBDEA3C22B0BFB25897092",
}

func TestPEMAreAmazonRootCA1To4AndNothingElse(t *testing.T) {
	rest := PEM
	var certs []*x509.Certificate
	for {
		var block *pem.Block
		block, rest = pem.Decode(rest)
		if block == nil {
			break
		}
		if block.Type != "CERTIFICATE" {
			t.Fatalf("a %s block in the bundle", block.Type)
		}
		c, err := x509.ParseCertificate(block.Bytes)
		if err != nil {
			t.Fatal(err)
		}
		certs = append(certs, c)
	}
	if len(bytes.TrimSpace(rest)) != 0 || len(certs) != 4 {
		t.Fatalf("%d certificates and %d bytes of something else", len(certs), len(bytes.TrimSpace(rest)))
	}
	for i, c := range certs {
		sum := sha256.Sum256(c.Raw)
		if got := strings.ToUpper(hex.EncodeToString(sum[:])); got != amazonRootFingerprints[i] {
			t.Errorf("certificate %d: fingerprint %s, want %s", i+1, got, amazonRootFingerprints[i])
		}
		if !strings.EqualFold(SHA256[i], amazonRootFingerprints[i]) {
			t.Errorf("SHA256[%d] = %s, want %s", i, SHA256[i], amazonRootFingerprints[i])
		}
		if want := fmt.Sprintf("CN=Amazon Root CA %d,O=Amazon,C=US", i+1); c.Subject.String() != want || !c.IsCA || c.Subject.String() != c.Issuer.String() {
			t.Errorf("certificate %d: subject %s, issuer %s, CA %v", i+1, c.Subject, c.Issuer, c.IsCA)
		}
	}
	if len(SHA256) != 4 {
		t.Errorf("%d fingerprints listed", len(SHA256))
	}
}

// The bundle is Debian's files, byte for byte, so anyone can check it with cmp.
func TestPEMMatchDebiansCACertificates(t *testing.T) {
	var debian []byte
	for i := 1; i <= 4; i++ {
		b, err := os.ReadFile(fmt.Sprintf("/usr/share/ca-certificates/mozilla/Amazon_Root_CA_%d.crt", i))
		if err != nil {
			if os.Getenv("CI") == "true" {
				t.Fatalf("%v: the ca-certificates package is missing (CI=true, so this is a failure)", err)
			}
			t.Skipf("%v; skipping (install ca-certificates)", err)
		}
		debian = append(debian, b...)
	}
	if !bytes.Equal(debian, PEM) {
		t.Error("AmazonRootCAs.pem differs from cat /usr/share/ca-certificates/mozilla/Amazon_Root_CA_{1,2,3,4}.crt")
	}
}
