//go:build unix

package profiles

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/url"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/aws/smithy-go"

	"github.com/dsqlenv/dsqlenv/internal/testkit"
)

// credMsgConfig is an ~/.aws/config with the setups a newcomer meets: SSO (legacy and
// sso-session), a failing credential_process, and a role assumed through STS.
const credMsgConfig = `[profile work]
sso_start_url = https://example.awsapps.com/start
sso_region = us-east-1
sso_account_id = 123456789012
sso_role_name = Admin

[profile sess]
sso_session = corp
sso_account_id = 123456789012
sso_role_name = Admin

[sso-session corp]
sso_start_url = https://corp.awsapps.com/start
sso_region = us-east-1

[profile cp]
credential_process = sh -c 'exit 3'

[profile role]
role_arn = arn:aws:iam::123456789012:role/dsqlenv-test
source_profile = keys

[profile viasso]
role_arn = arn:aws:iam::123456789012:role/dsqlenv-test
source_profile = work

[profile keys]
aws_access_key_id = AKIAIOSFODNN7EXAMPLE
aws_secret_access_key = wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY
`

// writeSSOCache writes the cached SSO token the AWS CLI leaves after `aws sso login`.
var writeSSOCache = testkit.WriteSSOToken

// closedPort returns a local address nothing listens on.
func closedPort(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	return addr
}

func TestCredentialErrorsSayWhatHappenedAndWhatToRun(t *testing.T) {
	for _, tc := range []struct {
		name       string
		awsProfile string // aws_profile:
		envProfile string // AWS_PROFILE
		cache      string // "": none; "expired"; "valid"
		want       string // the whole message, with ADDR for the closed port and CONFIG for the config file
		retry      bool   // a retry may do better: not UserMustAct
	}{
		{name: "SSO never logged in, AWS_PROFILE", envProfile: "work",
			want: "profile prod: not logged in to SSO for AWS profile work (from AWS_PROFILE): run `aws sso login --profile work`"},
		{name: "SSO never logged in, aws_profile", awsProfile: "work",
			want: "profile prod: not logged in to SSO for AWS profile work (from aws_profile:): run `aws sso login --profile work`"},
		{name: "SSO expired", envProfile: "work", cache: "expired",
			want: "profile prod: the SSO login for AWS profile work (from AWS_PROFILE) has expired: run `aws sso login --profile work`"},
		{name: "sso-session never logged in", envProfile: "sess",
			want: "profile prod: not logged in to SSO for AWS profile sess (from AWS_PROFILE): run `aws sso login --profile sess`"},
		{name: "sso-session expired", awsProfile: "sess", cache: "expired",
			want: "profile prod: the SSO login for AWS profile sess (from aws_profile:) has expired: run `aws sso login --profile sess`"},
		{name: "SSO never logged in, through a source_profile", envProfile: "viasso",
			want: "profile prod: not logged in to SSO for AWS profile viasso (from AWS_PROFILE) through its source_profile work: run `aws sso login --profile work`"},
		{name: "SSO portal unreachable", envProfile: "work", cache: "valid", retry: true,
			want: "profile prod: cannot reach AWS IAM Identity Center (SSO) at ADDR (connection refused), for AWS profile work (from AWS_PROFILE): check your network or VPN"},
		{name: "STS unreachable", awsProfile: "role", retry: true,
			want: "profile prod: cannot reach AWS STS at ADDR (connection refused), for AWS profile role (from aws_profile:): check your network or VPN"},
		{name: "typo, aws_profile", awsProfile: "wrok",
			want: "profile prod: no AWS profile wrok (from aws_profile:) in CONFIG: did you mean work? (change aws_profile:)"},
		{name: "typo, AWS_PROFILE", envProfile: "wrok",
			want: "profile prod: no AWS profile wrok (from AWS_PROFILE) in CONFIG: did you mean work? (change AWS_PROFILE)"},
		{name: "credential_process, AWS_PROFILE", envProfile: "cp", retry: true,
			want: "profile prod: no AWS credentials from AWS profile cp (from AWS_PROFILE): error in credential_process: exit status 3: run the credential_process of AWS profile cp in CONFIG by hand to see why it fails"},
		{name: "credential_process, aws_profile", awsProfile: "cp", retry: true,
			want: "profile prod: no AWS credentials from AWS profile cp (from aws_profile:): error in credential_process: exit status 3: run the credential_process of AWS profile cp in CONFIG by hand to see why it fails"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			isolateAWS(t, false)
			home := t.TempDir()
			t.Setenv("HOME", home)
			writeAWSConfig(t, credMsgConfig)
			// Every AWS service the chain may call is a closed local port: nothing reaches the network.
			addr := closedPort(t)
			for _, k := range []string{"AWS_ENDPOINT_URL_SSO", "AWS_ENDPOINT_URL_SSO_OIDC", "AWS_ENDPOINT_URL_STS"} {
				t.Setenv(k, "http://"+addr)
			}
			if tc.envProfile != "" {
				t.Setenv("AWS_PROFILE", tc.envProfile)
			}
			switch tc.cache {
			case "expired":
				writeSSOCache(t, home, "https://example.awsapps.com/start", time.Date(2020, 1, 1, 0, 0, 0, 0, time.UTC))
				writeSSOCache(t, home, "corp", time.Date(2020, 1, 1, 0, 0, 0, 0, time.UTC))
			case "valid":
				writeSSOCache(t, home, "https://example.awsapps.com/start", time.Now().Add(time.Hour))
			}
			c := &Connection{Profile: "prod", Host: "h.dsql.us-east-1.on.aws", Region: "us-east-1", User: "admin", ExpiresIn: time.Minute, AWSProfile: tc.awsProfile}
			c.NoteEnvironment(os.Getenv)
			_, err := MintWithSDK(context.Background(), c)
			var ce *CredentialsError
			if !errors.As(err, &ce) {
				t.Fatalf("got %T %v", err, err)
			}
			want := strings.NewReplacer("ADDR", addr, "CONFIG", os.Getenv("AWS_CONFIG_FILE")).Replace(tc.want)
			if err.Error() != want {
				t.Errorf("got  %s\nwant %s", err, want)
			}
			if got := ce.UserMustAct(); got == tc.retry {
				t.Errorf("UserMustAct() = %v", got)
			}
		})
	}
}

// A credential_process stopped at the caller's deadline is named as the other credential
// messages name their source: the AWS profile and what chose it.
func TestCredentialProcessTimeoutSaysWhereTheAWSProfileCameFrom(t *testing.T) {
	for _, tc := range []struct{ awsProfile, envProfile, from string }{
		{awsProfile: "hang", from: "aws_profile:"},
		{envProfile: "hang", from: "AWS_PROFILE"},
	} {
		t.Run(tc.from, func(t *testing.T) {
			isolateAWS(t, false)
			writeAWSConfig(t, "[profile hang]\ncredential_process = sleep 30\n")
			if tc.envProfile != "" {
				t.Setenv("AWS_PROFILE", tc.envProfile)
			}
			c := &Connection{Profile: "prod", Host: "h.dsql.us-east-1.on.aws", Region: "us-east-1", User: "admin", ExpiresIn: time.Minute, AWSProfile: tc.awsProfile}
			c.NoteEnvironment(os.Getenv)
			ctx, cancel := context.WithTimeout(context.Background(), time.Second)
			defer cancel()
			_, err := MintWithSDK(ctx, c)
			var te *TimeoutError
			if !errors.As(err, &te) || te.Source != SourceProcess || !te.Deadline {
				t.Fatalf("want a TimeoutError for the credential_process at the deadline, got %T %v", err, err)
			}
			te.After = time.Second // the deadline as the caller gave it (dsqlenv's --timeout), not as it was measured
			want := "profile prod: no AWS credentials from AWS profile hang (from " + tc.from + "): its credential_process did not finish within 1s and was stopped: " +
				"run the credential_process of AWS profile hang in " + os.Getenv("AWS_CONFIG_FILE") + " by hand to see why it hangs, or raise --timeout"
			if err.Error() != want {
				t.Errorf("got  %s\nwant %s", err, want)
			}
		})
	}
}

func TestCredentialErrorNamesTheHostItCouldNotResolve(t *testing.T) {
	// A DNS failure cannot be made without a resolver; the SDK's error chain is built by hand.
	dns := &net.DNSError{Err: "no such host", Name: "portal.sso.us-east-1.amazonaws.com", IsNotFound: true}
	sdkErr := fmt.Errorf("failed to refresh cached credentials, %w", &smithy.OperationError{ServiceID: "SSO", OperationName: "GetRoleCredentials",
		Err: &url.Error{Op: "Get", URL: "https://portal.sso.us-east-1.amazonaws.com/federation/credentials?account_id=1", Err: &net.OpError{Op: "dial", Net: "tcp", Err: dns}}})
	e := &CredentialsError{Profile: "prod", EnvVar: "AWS_PROFILE", EnvProfile: "work", Err: sdkErr}
	want := "profile prod: cannot reach AWS IAM Identity Center (SSO) at portal.sso.us-east-1.amazonaws.com (the name portal.sso.us-east-1.amazonaws.com does not resolve), for AWS profile work (from AWS_PROFILE): check your network or VPN"
	if e.Error() != want {
		t.Errorf("got  %s\nwant %s", e, want)
	}
}

func TestOneLineNeverCutsAWord(t *testing.T) {
	long := strings.Repeat("lookup portal.sso.us-east-1.amazonaws.com: ", 12)
	got := oneLine(long)
	if !strings.HasSuffix(got, " …") || len(got) > 310 {
		t.Fatalf("oneLine = %q", got)
	}
	body := strings.TrimSuffix(got, " …")
	if !strings.HasPrefix(long, body) || long[len(body)] != ' ' && long[len(body)] != ':' {
		t.Errorf("cut mid-word: %q", got)
	}
	if short := "a short error"; oneLine(short) != short {
		t.Errorf("oneLine changed a short error: %q", oneLine(short))
	}
}
