package profiles

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/credentials/ec2rolecreds"
	"github.com/aws/aws-sdk-go-v2/credentials/processcreds"
	"github.com/aws/aws-sdk-go-v2/feature/dsql/auth"
	"github.com/aws/smithy-go/logging"
)

// Minter signs a token for a connection. MintWithSDK is the real one; tests pass their own.
type Minter func(ctx context.Context, c *Connection) (string, error)

// IMDSBudget bounds credential retrieval when the chain has fallen through to the EC2
// instance metadata service. On an instance it answers in milliseconds; off one, the SDK's
// 3 attempts with 250 ms dial and 500 ms response timeouts cost about 4 s, far too long for a
// command in a shell prompt.
const IMDSBudget = 1500 * time.Millisecond

// processMargin is how much sooner than the caller's deadline a credential_process is killed.
const processMargin = 100 * time.Millisecond

// MintWithSDK loads AWS credentials (the profile's aws_profile, else the default chain) and
// signs a DSQL token: DbConnectAdmin for the admin role, DbConnect for every other role.
func MintWithSDK(ctx context.Context, c *Connection) (string, error) {
	// The SDK's own warnings (such as "falling back to IMDSv1") would land on the user's
	// terminal at every prompt; failures come back as errors and are reported once.
	opts := []func(*config.LoadOptions) error{config.WithLogger(logging.Nop{})}
	if c.AWSProfile != "" {
		// WithSharedConfigProfile, not AWS_PROFILE: with AWS_PROFILE, access keys in the
		// environment would silently win over the named profile.
		opts = append(opts, config.WithSharedConfigProfile(c.AWSProfile))
	}
	// The credentials cache runs providers without the caller's deadline, so a hung
	// credential_process would outlive dsqlenv, holding the terminal. The SDK's own timeout
	// for it ends a little before ours, so the process is killed before dsqlenv exits.
	if dl, ok := ctx.Deadline(); ok {
		left := max(time.Until(dl)-processMargin, processMargin)
		opts = append(opts, config.WithProcessCredentialOptions(func(o *processcreds.Options) { o.Timeout = left }))
	}
	cfg, err := config.LoadDefaultConfig(ctx, opts...)
	if err != nil {
		return "", credentialsError(c, err)
	}
	region := c.Region
	if region == "" {
		region = cfg.Region
	}
	if region == "" {
		return "", fmt.Errorf("profile %s: no region: the endpoint %s does not name one and the AWS configuration has none: add region: to the profile", c.Profile, c.Host)
	}
	c.Region = region

	rctx := ctx
	if aws.IsCredentialsProvider(cfg.Credentials, (*ec2rolecreds.Provider)(nil)) {
		var cancel context.CancelFunc
		rctx, cancel = context.WithTimeout(ctx, IMDSBudget)
		defer cancel()
	}
	if _, err := cfg.Credentials.Retrieve(rctx); err != nil {
		if strings.Contains(err.Error(), "credential process timed out") {
			return "", fmt.Errorf("profile %s: credential_process: %w", c.Profile, context.DeadlineExceeded)
		}
		if rctx.Err() != nil && ctx.Err() == nil {
			return "", credentialsError(c, fmt.Errorf("no credentials found and the EC2 instance metadata service did not answer within %s", IMDSBudget))
		}
		return "", credentialsError(c, err)
	}
	sign := auth.GenerateDbConnectAuthToken
	if c.User == "admin" {
		sign = auth.GenerateDBConnectAdminAuthToken
	}
	// The credentials cache hands the same credentials to the signer without a second fetch.
	tok, err := sign(ctx, c.Host, region, cfg.Credentials, func(o *auth.TokenOptions) { o.ExpiresIn = c.ExpiresIn })
	if err != nil {
		return "", credentialsError(c, err)
	}
	return tok, nil
}

// CredentialsError is a failure to get AWS credentials, with the fix.
type CredentialsError struct {
	Profile    string
	AWSProfile string
	Err        error
}

func (e *CredentialsError) Error() string {
	who := "the default AWS credential chain"
	fix := "run `aws configure` or `aws sso login`, set aws_profile: in the profile, or export AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY"
	if e.AWSProfile != "" {
		who = "aws profile " + e.AWSProfile
		fix = "run `aws sso login --profile " + e.AWSProfile + "` if it uses SSO, check it in ~/.aws/config, or change aws_profile:"
	}
	msg := oneLine(e.Err.Error())
	if e.AWSProfile != "" && strings.Contains(msg, "credential_process") {
		fix = "run the credential_process of aws profile " + e.AWSProfile + " in ~/.aws/config by hand to see why it fails"
	}
	if strings.Contains(msg, "no EC2 IMDS role found") || strings.Contains(msg, "EC2 instance metadata service did not answer") {
		// The chain tried everything and ended at the instance metadata service; its
		// HTTP details say nothing useful to someone at a laptop.
		msg = "none found in the environment, the shared config and credentials files, or instance metadata"
	}
	return fmt.Sprintf("profile %s: no AWS credentials from %s: %s: %s", e.Profile, who, msg, fix)
}

func (e *CredentialsError) Unwrap() error { return e.Err }

func credentialsError(c *Connection, err error) error {
	return &CredentialsError{Profile: c.Profile, AWSProfile: c.AWSProfile, Err: err}
}

// oneLine flattens an SDK error chain to one line and drops request ids and other noise.
func oneLine(s string) string {
	s = strings.Join(strings.Fields(s), " ")
	if len(s) > 300 {
		s = s[:300] + "…"
	}
	return s
}

// Token facts read back from a signed token.
type TokenInfo struct {
	SignedAt  time.Time
	Lifetime  time.Duration
	ExpiresAt time.Time
	Action    string
	Region    string
	AccessKey string
}

// ParseToken reads X-Amz-Date, X-Amz-Expires, Action and the credential scope from a token.
// The SDK shortens X-Amz-Expires to the credentials' remaining life without saying so, so the
// real expiry must come from here, not from what was asked.
func ParseToken(tok string) (TokenInfo, error) {
	var ti TokenInfo
	i := strings.IndexByte(tok, '?')
	if i < 0 {
		return ti, errors.New("token has no query string")
	}
	q, err := url.ParseQuery(tok[i+1:])
	if err != nil {
		return ti, fmt.Errorf("token query: %w", err)
	}
	ti.SignedAt, err = time.Parse("20060102T150405Z", q.Get("X-Amz-Date"))
	if err != nil {
		return ti, errors.New("token has no valid X-Amz-Date")
	}
	secs, err := strconv.Atoi(q.Get("X-Amz-Expires"))
	if err != nil || secs <= 0 {
		return ti, errors.New("token has no valid X-Amz-Expires")
	}
	ti.Lifetime = time.Duration(secs) * time.Second
	ti.ExpiresAt = ti.SignedAt.Add(ti.Lifetime)
	ti.Action = q.Get("Action")
	if parts := strings.Split(q.Get("X-Amz-Credential"), "/"); len(parts) == 5 {
		ti.AccessKey, ti.Region = parts[0], parts[2]
	}
	return ti, nil
}

// Redact hides the secret parts of a token (the signature and any session token) for logs.
func Redact(tok string) string {
	i := strings.IndexByte(tok, '?')
	if i < 0 {
		return "<redacted>"
	}
	q, err := url.ParseQuery(tok[i+1:])
	if err != nil {
		return "<redacted>"
	}
	for _, k := range []string{"X-Amz-Signature", "X-Amz-Security-Token"} {
		if q.Has(k) {
			q.Set(k, "REDACTED")
		}
	}
	return tok[:i+1] + q.Encode()
}

// FormatDuration writes d the way people write it in the profiles file: 15m, 1h, 1h30m, 45s.
func FormatDuration(d time.Duration) string {
	s := d.Round(time.Second).String()
	if strings.HasSuffix(s, "m0s") {
		s = strings.TrimSuffix(s, "0s")
	}
	if strings.HasSuffix(s, "h0m") {
		s = strings.TrimSuffix(s, "0m")
	}
	return s
}
