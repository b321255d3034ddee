package profiles

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/credentials/ec2rolecreds"
	"github.com/aws/aws-sdk-go-v2/feature/ec2/imds"
	"github.com/dsqlenv/dsqlenv/internal/testkit"
)

const (
	exampleKeyID  = "AKIAIOSFODNN7EXAMPLE"
	exampleSecret = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"
)

// isolateAWS points the SDK at AWS's documented example keys and at no file or metadata
// service of this machine, so tests neither read a developer's setup nor reach the network.
func isolateAWS(t *testing.T, withKeys bool) {
	dir := t.TempDir()
	for _, k := range []string{"AWS_PROFILE", "AWS_DEFAULT_PROFILE", "AWS_SESSION_TOKEN", "AWS_REGION", "AWS_DEFAULT_REGION",
		"AWS_ROLE_ARN", "AWS_WEB_IDENTITY_TOKEN_FILE", "AWS_CONTAINER_CREDENTIALS_FULL_URI", "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI"} {
		t.Setenv(k, "")
		os.Unsetenv(k)
	}
	t.Setenv("AWS_CONFIG_FILE", filepath.Join(dir, "config"))
	t.Setenv("AWS_SHARED_CREDENTIALS_FILE", filepath.Join(dir, "credentials"))
	t.Setenv("AWS_EC2_METADATA_DISABLED", "true")
	if withKeys {
		t.Setenv("AWS_ACCESS_KEY_ID", exampleKeyID)
		t.Setenv("AWS_SECRET_ACCESS_KEY", exampleSecret)
	} else {
		t.Setenv("AWS_ACCESS_KEY_ID", "")
		t.Setenv("AWS_SECRET_ACCESS_KEY", "")
		os.Unsetenv("AWS_ACCESS_KEY_ID")
		os.Unsetenv("AWS_SECRET_ACCESS_KEY")
	}
}

var checkSigV4 = testkit.CheckSigV4

func verifySigV4(t *testing.T, token, secret string) url.Values {
	t.Helper()
	q, err := checkSigV4(token, secret)
	if err != nil {
		t.Fatal(err)
	}
	return q
}

func TestMintedTokenVerifiesWithIndependentSigV4(t *testing.T) {
	isolateAWS(t, true)
	for _, tc := range []struct {
		user, action string
		expires      time.Duration
	}{
		{"admin", "DbConnectAdmin", 15 * time.Minute},
		{"app_rw", "DbConnect", time.Hour},
	} {
		c := &Connection{Profile: "p", Host: "abcdefghijklmnopqrstuvwxyz.dsql.eu-west-1.on.aws", Region: "eu-west-1", User: tc.user, ExpiresIn: tc.expires}
		before := time.Now().UTC().Truncate(time.Second)
		tok, err := MintWithSDK(context.Background(), c)
		if err != nil {
			t.Fatal(err)
		}
		if !strings.HasPrefix(tok, c.Host+"?") {
			t.Errorf("token does not start with the host: %s", tok)
		}
		q := verifySigV4(t, tok, exampleSecret)
		if q.Get("Action") != tc.action {
			t.Errorf("user %s: Action = %s, want %s", tc.user, q.Get("Action"), tc.action)
		}
		wantCred := exampleKeyID + "/" + before.Format("20060102") + "/eu-west-1/dsql/aws4_request"
		if q.Get("X-Amz-Credential") != wantCred {
			t.Errorf("credential scope %s, want %s", q.Get("X-Amz-Credential"), wantCred)
		}
		if q.Get("X-Amz-Expires") != fmt.Sprint(int(tc.expires.Seconds())) {
			t.Errorf("X-Amz-Expires = %s, want %v", q.Get("X-Amz-Expires"), tc.expires)
		}
		info, err := ParseToken(tok)
		if err != nil {
			t.Fatal(err)
		}
		if info.Lifetime != tc.expires || info.SignedAt.Before(before) || info.ExpiresAt != info.SignedAt.Add(tc.expires) ||
			info.Action != tc.action || info.Region != "eu-west-1" || info.AccessKey != exampleKeyID {
			t.Errorf("ParseToken = %+v", info)
		}
	}
}

func TestVerifierRejectsTamperedTokens(t *testing.T) {
	isolateAWS(t, true)
	c := &Connection{Profile: "p", Host: "h.dsql.us-east-1.on.aws", Region: "us-east-1", User: "admin", ExpiresIn: time.Minute}
	tok, err := MintWithSDK(context.Background(), c)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := checkSigV4(tok, exampleSecret); err != nil {
		t.Fatalf("the untampered token: %v", err)
	}
	for _, bad := range []string{
		strings.Replace(tok, "X-Amz-Expires=60", "X-Amz-Expires=6000", 1),
		strings.Replace(tok, "Action=DbConnectAdmin", "Action=DbConnect", 1),
		strings.Replace(tok, "h.dsql.us-east-1", "i.dsql.us-east-1", 1),
	} {
		if bad == tok {
			t.Fatal("the replacement changed nothing")
		}
		if _, err := checkSigV4(bad, exampleSecret); err == nil {
			t.Errorf("a tampered token verified: %s", bad)
		}
	}
	if _, err := checkSigV4(tok, "wrong-secret"); err == nil {
		t.Error("verified with the wrong secret")
	}
}

// hangingIMDS points the SDK at a metadata endpoint that accepts connections and never
// answers: the worst case on a laptop whose network swallows 169.254.169.254.
func hangingIMDS(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	testkit.Serve(t, ln, func(c net.Conn) { t.Cleanup(func() { c.Close() }) })
	t.Setenv("AWS_EC2_METADATA_DISABLED", "")
	os.Unsetenv("AWS_EC2_METADATA_DISABLED")
	t.Setenv("AWS_EC2_METADATA_SERVICE_ENDPOINT", "http://"+ln.Addr().String())
}

func TestMintFailsFastWhenMetadataServiceHangs(t *testing.T) {
	for _, tc := range []struct {
		name, awsProfile, config string
		deadline                 time.Duration // 0: none
		want                     []string
		timeout                  bool // a *TimeoutError, else a *CredentialsError
	}{
		{name: "default chain", want: []string{
			"profile prod: no AWS credentials from the default AWS credential chain: none found in the environment, the shared config and credentials files, or instance metadata",
			"aws sso login"}},
		{name: "default chain, deadline before the budget", deadline: time.Second, want: []string{
			"profile prod: no AWS credentials from the default AWS credential chain: none found in the environment, the shared config and credentials files, or instance metadata"}},
		{name: "credential_source", awsProfile: "ec2role", timeout: true,
			config: "[profile ec2role]\nrole_arn = arn:aws:iam::123456789012:role/dsqlenv-test\ncredential_source = Ec2InstanceMetadata\n",
			want: []string{
				"profile prod: no AWS credentials from AWS profile ec2role (from aws_profile:): the EC2 instance metadata service did not answer within 1.5s: ",
				"change credential_source of AWS profile ec2role"}},
		{name: "credential_source, deadline before the budget", awsProfile: "ec2role", timeout: true, deadline: time.Second,
			config: "[profile ec2role]\nrole_arn = arn:aws:iam::123456789012:role/dsqlenv-test\ncredential_source = Ec2InstanceMetadata\n",
			want: []string{
				"profile prod: no AWS credentials from AWS profile ec2role (from aws_profile:): the EC2 instance metadata service did not answer within ",
				"raise --timeout"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			isolateAWS(t, false)
			hangingIMDS(t)
			if err := os.WriteFile(os.Getenv("AWS_CONFIG_FILE"), []byte(tc.config), 0o600); err != nil {
				t.Fatal(err)
			}
			c := &Connection{Profile: "prod", Host: "h.dsql.us-east-1.on.aws", Region: "us-east-1", User: "admin", ExpiresIn: time.Minute, AWSProfile: tc.awsProfile}
			ctx := context.Background()
			if tc.deadline > 0 {
				var cancel context.CancelFunc
				ctx, cancel = context.WithTimeout(ctx, tc.deadline)
				defer cancel()
			}
			_, err := MintWithSDK(ctx, c)
			var te *TimeoutError
			var ce *CredentialsError
			if tc.timeout && (!errors.As(err, &te) || te.Source != SourceIMDS) || !tc.timeout && !errors.As(err, &ce) {
				t.Fatalf("got %T %v", err, err)
			}
			for _, w := range tc.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("message lacks %q: %v", w, err)
				}
			}
			if ce != nil && !ce.UserMustAct() {
				t.Errorf("no credentials at all, yet not UserMustAct: %v", err)
			}
			// With the caller's deadline first, the message gives the time that was left of it
			// when signing began: up to the deadline, and never the budget.
			if tc.timeout && tc.deadline > 0 {
				m := regexp.MustCompile(`did not answer within ([0-9.]+m?s): `).FindStringSubmatch(err.Error())
				var d time.Duration
				if m != nil {
					d, _ = time.ParseDuration(m[1])
				}
				if d <= 0 || d > tc.deadline {
					t.Errorf("the time given is not the caller's deadline (%v) or less: %v", tc.deadline, err)
				}
			}
			// Neither of the sources that did not run is blamed.
			if strings.Contains(err.Error(), "credential_process") || strings.Contains(err.Error(), "SSO settings") {
				t.Errorf("message blames a source that never ran: %v", err)
			}
			if errors.Is(err, context.DeadlineExceeded) {
				t.Errorf("the error matches context.DeadlineExceeded, so a caller would replace its message: %v", err)
			}
		})
	}
}

func TestMintNamesMissingAWSProfile(t *testing.T) {
	isolateAWS(t, true)
	c := &Connection{Profile: "prod", Host: "h.dsql.us-east-1.on.aws", Region: "us-east-1", User: "admin", ExpiresIn: time.Minute, AWSProfile: "work"}
	_, err := MintWithSDK(context.Background(), c)
	if err == nil || !strings.Contains(err.Error(), "no AWS profile work (from aws_profile:)") || !strings.Contains(err.Error(), "`aws configure sso --profile work`") {
		t.Errorf("got %v", err)
	}
}

func TestMintNeedsARegion(t *testing.T) {
	isolateAWS(t, true)
	c := &Connection{Profile: "prod", Host: "localhost", User: "admin", ExpiresIn: time.Minute}
	_, err := MintWithSDK(context.Background(), c)
	if err == nil || !strings.Contains(err.Error(), "add region: to the profile") {
		t.Errorf("got %v", err)
	}
	t.Setenv("AWS_REGION", "ap-south-1")
	tok, err := MintWithSDK(context.Background(), c)
	if err != nil || !strings.Contains(tok, "%2Fap-south-1%2Fdsql%2F") {
		t.Errorf("with AWS_REGION: %v %s", err, tok)
	}
}

func TestRedactHidesSignatureAndSessionToken(t *testing.T) {
	tok := "h?Action=DbConnect&X-Amz-Security-Token=SECRETTOKEN&X-Amz-Signature=abcdef0123"
	r := Redact(tok)
	if strings.Contains(r, "SECRETTOKEN") || strings.Contains(r, "abcdef0123") || !strings.Contains(r, "Action=DbConnect") {
		t.Errorf("Redact = %s", r)
	}
}

// recordingIMDS is an instance metadata client that answers every request at once with an
// error, noting the deadline each request was given.
type recordingIMDS struct{ deadlines []time.Time }

func (r *recordingIMDS) GetMetadata(ctx context.Context, _ *imds.GetMetadataInput, _ ...func(*imds.Options)) (*imds.GetMetadataOutput, error) {
	d, _ := ctx.Deadline()
	r.deadlines = append(r.deadlines, d)
	return nil, errors.New("no instance metadata here")
}

// TestIMDSBudgetRunsFromTheFirstRequest: every instance metadata request of one mint carries
// the deadline IMDSBudget after the first request, the chain's provider is built with that
// client, and a caller's earlier deadline wins. Deadlines are compared, not durations timed,
// so a loaded machine cannot fail it (the end-to-end cases above check the words).
func TestIMDSBudgetRunsFromTheFirstRequest(t *testing.T) {
	w := newSourceWatch(context.Background())
	defer w.cancel()
	rec := &recordingIMDS{}
	w.imds = rec
	var o ec2rolecreds.Options
	for _, opt := range w.loadOptions() {
		var lo config.LoadOptions
		if err := opt(&lo); err != nil {
			t.Fatal(err)
		}
		if lo.EC2RoleCredentialOptions != nil {
			lo.EC2RoleCredentialOptions(&o)
		}
	}
	client, ok := o.Client.(imdsBudget)
	if !ok {
		t.Fatalf("the instance metadata provider's client is %T, not the budget's", o.Client)
	}
	before := time.Now()
	client.GetMetadata(context.Background(), &imds.GetMetadataInput{Path: "a"})
	after := time.Now()
	client.GetMetadata(context.Background(), &imds.GetMetadataInput{Path: "b"})
	early := time.Now().Add(time.Millisecond)
	ctx, cancel := context.WithDeadline(context.Background(), early)
	defer cancel()
	client.GetMetadata(ctx, &imds.GetMetadataInput{Path: "c"})
	if len(rec.deadlines) != 3 {
		t.Fatalf("%d requests reached the client, want 3", len(rec.deadlines))
	}
	first := rec.deadlines[0]
	if first.Before(before.Add(IMDSBudget)) || first.After(after.Add(IMDSBudget)) {
		t.Errorf("first request's deadline %v is not IMDSBudget (%v) after it started (%v to %v)", first, IMDSBudget, before, after)
	}
	if !rec.deadlines[1].Equal(first) {
		t.Errorf("second request's deadline %v, want the first's %v: the budget covers all requests together", rec.deadlines[1], first)
	}
	if !rec.deadlines[2].Equal(early) {
		t.Errorf("a caller's earlier deadline %v became %v", early, rec.deadlines[2])
	}
}

// writeAWSConfig writes the isolated AWS config file isolateAWS pointed the SDK at.
func writeAWSConfig(t *testing.T, text string) {
	t.Helper()
	if err := os.WriteFile(os.Getenv("AWS_CONFIG_FILE"), []byte(text), 0o600); err != nil {
		t.Fatal(err)
	}
}
