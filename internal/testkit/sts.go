package testkit

import (
	"crypto/sha1"
	"encoding/hex"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"sync"
	"testing"
	"time"
)

// ExampleSessionToken is the session token the STS and SSO stand-ins hand out with AWS's
// example keys.
const ExampleSessionToken = "IQoJb3JpZ2luX2VjEXAMPLESESSIONTOKEN"

// AWSStandIn answers STS AssumeRole (the Query API, XML) and SSO GetRoleCredentials (REST,
// JSON) as AWS does, on 127.0.0.1, with AWS's example keys, and counts the calls. Point the
// SDK at it with AWS_ENDPOINT_URL_STS and AWS_ENDPOINT_URL_SSO.
type AWSStandIn struct {
	URL string
	// Lifetime is how long the credentials it hands out last (an hour unless set before the
	// first call); Now is its clock.
	Lifetime time.Duration
	Now      func() time.Time

	mu         sync.Mutex
	assumeRole []url.Values // the form of each AssumeRole call
	sso        []url.Values // the query of each GetRoleCredentials call, with the bearer token as "token"
}

// StartAWSStandIn starts the stand-in until the test ends.
func StartAWSStandIn(t testing.TB) *AWSStandIn {
	t.Helper()
	s := &AWSStandIn{Lifetime: time.Hour, Now: time.Now}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewUnstartedServer(http.HandlerFunc(s.serve))
	srv.Listener.Close()
	srv.Listener = ln
	srv.Start()
	t.Cleanup(srv.Close)
	s.URL = srv.URL
	return s
}

// AssumeRoleCalls returns the form of every AssumeRole call so far.
func (s *AWSStandIn) AssumeRoleCalls() []url.Values {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]url.Values(nil), s.assumeRole...)
}

// SSOCalls returns the query of every GetRoleCredentials call so far.
func (s *AWSStandIn) SSOCalls() []url.Values {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]url.Values(nil), s.sso...)
}

func (s *AWSStandIn) serve(w http.ResponseWriter, req *http.Request) {
	s.mu.Lock()
	expires := s.Now().Add(s.Lifetime).UTC()
	s.mu.Unlock()
	if req.URL.Path == "/federation/credentials" {
		q := req.URL.Query()
		q.Set("token", req.Header.Get("X-Amz-Sso_bearer_token"))
		s.mu.Lock()
		s.sso = append(s.sso, q)
		s.mu.Unlock()
		w.Header().Set("Content-Type", "application/json")
		fmt.Fprintf(w, `{"roleCredentials":{"accessKeyId":%q,"secretAccessKey":%q,"sessionToken":%q,"expiration":%d}}`,
			ExampleKeyID, ExampleSecret, ExampleSessionToken, expires.UnixMilli())
		return
	}
	body, _ := io.ReadAll(req.Body)
	form, err := url.ParseQuery(string(body))
	if err != nil || form.Get("Action") != "AssumeRole" {
		http.Error(w, "unexpected "+string(body), http.StatusBadRequest)
		return
	}
	s.mu.Lock()
	s.assumeRole = append(s.assumeRole, form)
	s.mu.Unlock()
	w.Header().Set("Content-Type", "text/xml")
	fmt.Fprintf(w, `<AssumeRoleResponse xmlns="https://sts.amazonaws.com/doc/2011-06-15/"><AssumeRoleResult>`+
		`<AssumedRoleUser><Arn>arn:aws:sts::123456789012:assumed-role/dev/%s</Arn><AssumedRoleId>AROAEXAMPLE:%s</AssumedRoleId></AssumedRoleUser>`+
		`<Credentials><AccessKeyId>%s</AccessKeyId><SecretAccessKey>%s</SecretAccessKey><SessionToken>%s</SessionToken><Expiration>%s</Expiration></Credentials>`+
		`</AssumeRoleResult><ResponseMetadata><RequestId>r%s</RequestId></ResponseMetadata></AssumeRoleResponse>`,
		form.Get("RoleSessionName"), form.Get("RoleSessionName"), ExampleKeyID, ExampleSecret, ExampleSessionToken,
		expires.Format(time.RFC3339), strconv.Itoa(len(s.AssumeRoleCalls())))
}

// WriteSSOToken writes the cached SSO token `aws sso login` leaves in home's
// ~/.aws/sso/cache, under the key the SDK looks for (the start URL, or the sso-session
// name), expiring at expires; its access token is "cached-token".
func WriteSSOToken(t testing.TB, home, key string, expires time.Time) {
	t.Helper()
	sum := sha1.Sum([]byte(key))
	dir := filepath.Join(home, ".aws", "sso", "cache")
	if err := os.MkdirAll(dir, 0o700); err != nil {
		t.Fatal(err)
	}
	body := `{"accessToken":"cached-token","expiresAt":"` + expires.UTC().Format(time.RFC3339) + `","region":"us-east-1","startUrl":"https://example.awsapps.com/start"}`
	if err := os.WriteFile(filepath.Join(dir, hex.EncodeToString(sum[:])+".json"), []byte(body), 0o600); err != nil {
		t.Fatal(err)
	}
}
