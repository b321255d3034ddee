package testkit

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"net/url"
	"sort"
	"strings"
)

// Example credentials: AWS's documented example keys. A token signed with them is a real
// signature that opens no real cluster.
const (
	ExampleKeyID  = "AKIAIOSFODNN7EXAMPLE"
	ExampleSecret = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"
)

// CheckSigV4 checks a DSQL token the way the service would, written from the AWS Signature
// Version 4 specification ("Create a signed AWS API request", query-string authentication)
// rather than with the SDK's signer. It returns the parsed query.
func CheckSigV4(token, secret string) (url.Values, error) {
	host, rawQuery, ok := strings.Cut(token, "?")
	if !ok {
		return nil, fmt.Errorf("token has no query: %s", token)
	}
	q, err := url.ParseQuery(rawQuery)
	if err != nil {
		return nil, err
	}
	sig := q.Get("X-Amz-Signature")
	if q.Get("X-Amz-Algorithm") != "AWS4-HMAC-SHA256" || q.Get("X-Amz-SignedHeaders") != "host" || sig == "" {
		return nil, fmt.Errorf("token is not a SigV4 presigned query: %v", q)
	}
	// Canonical query string: every parameter but the signature, sorted by name, with names
	// and values percent-encoded except A-Z a-z 0-9 - _ . ~ (RFC 3986 unreserved).
	var keys []string
	for k := range q {
		if k != "X-Amz-Signature" {
			keys = append(keys, k)
		}
	}
	sort.Strings(keys)
	var pairs []string
	for _, k := range keys {
		pairs = append(pairs, uriEncode(k)+"="+uriEncode(q.Get(k)))
	}
	// Only host is signed, and the payload is the empty string.
	emptyHash := sha256.Sum256(nil)
	canonical := strings.Join([]string{"GET", "/", strings.Join(pairs, "&"), "host:" + host + "\n", "host", hex.EncodeToString(emptyHash[:])}, "\n")
	_, scope, _ := strings.Cut(q.Get("X-Amz-Credential"), "/")
	reqHash := sha256.Sum256([]byte(canonical))
	stringToSign := "AWS4-HMAC-SHA256\n" + q.Get("X-Amz-Date") + "\n" + scope + "\n" + hex.EncodeToString(reqHash[:])
	key := []byte("AWS4" + secret)
	for _, p := range strings.Split(scope, "/") { // date, region, service, aws4_request
		key = hmacSHA256(key, p)
	}
	if want := hex.EncodeToString(hmacSHA256(key, stringToSign)); want != sig {
		return q, fmt.Errorf("signature %s does not verify (expected %s)", sig, want)
	}
	return q, nil
}

func hmacSHA256(key []byte, data string) []byte {
	m := hmac.New(sha256.New, key)
	m.Write([]byte(data))
	return m.Sum(nil)
}

func uriEncode(s string) string {
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		c := s[i]
		if 'A' <= c && c <= 'Z' || 'a' <= c && c <= 'z' || '0' <= c && c <= '9' || c == '-' || c == '_' || c == '.' || c == '~' {
			b.WriteByte(c)
		} else {
			fmt.Fprintf(&b, "%%%02X", c)
		}
	}
	return b.String()
}
