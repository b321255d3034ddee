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

// IMDSBudget bounds all requests to the EC2 instance metadata service in one MintWithSDK, from
// the first, whether the default chain fell through to it or a profile names it with
// credential_source = Ec2InstanceMetadata. On an instance it answers in milliseconds; off one,
// the SDK's 3 attempts with 250 ms dial and 500 ms response timeouts cost about 4 s (5 s per
// operation at most), far too long for a command in a shell prompt.
const IMDSBudget = 1500 * time.Millisecond

// MintWithSDK loads AWS credentials (the profile's aws_profile, else the default chain) and
// signs a DSQL token: DbConnectAdmin for the admin role, DbConnect for every other role.
//
// A credential_process runs in a process group of its own, killed with everything in it when
// ctx ends; MintWithSDK returns only once it is gone. Errors are *CredentialsError, or
// *TimeoutError when a source (the process, instance metadata, SSO, STS…) ran out of time.
func MintWithSDK(ctx context.Context, c *Connection) (string, error) {
	given := timeLeft(ctx)
	s, err := NewSigner(ctx, c)
	if err != nil {
		return "", err
	}
	defer s.Close()
	return s.mint(ctx, c.User, true, given)
}

// timeLeft is the time to ctx's deadline, 0 without one: what a timeout message says the
// caller gave.
func timeLeft(ctx context.Context) time.Duration {
	if dl, ok := ctx.Deadline(); ok {
		return time.Until(dl)
	}
	return 0
}

// Signer signs tokens for one profile's cluster with the AWS configuration loaded once: the
// SDK's credentials cache keeps the credentials between tokens, so a token signed while they
// are fresh makes no network call and starts no process. MintWithSDK uses one for a single
// token; the proxy keeps one per profile for as long as it runs.
type Signer struct {
	c   Connection
	cfg aws.Config
	w   *sourceWatch
}

// NewSigner loads the AWS configuration for c (it sets c.Region from it when the profile has
// none). A credential_process the signer starts is killed, with its group, when ctx ends or
// Close is called.
func NewSigner(ctx context.Context, c *Connection) (*Signer, error) {
	w := newSourceWatch(ctx)
	// The SDK's own warnings (such as "falling back to IMDSv1") would land on the user's
	// terminal at every prompt; failures come back as errors and are reported once.
	opts := append(w.loadOptions(), config.WithLogger(logging.Nop{}))
	if c.AWSProfile != "" {
		// WithSharedConfigProfile, not AWS_PROFILE: with AWS_PROFILE, access keys in the
		// environment would silently win over the named profile.
		opts = append(opts, config.WithSharedConfigProfile(c.AWSProfile))
	}
	cfg, err := config.LoadDefaultConfig(ctx, opts...)
	if err != nil {
		w.finish()
		return nil, credentialsError(c, err)
	}
	w.adopt(&cfg)
	region := c.Region
	if region == "" {
		region = cfg.Region
	}
	if region == "" {
		w.finish()
		return nil, fmt.Errorf("profile %s: no region: the endpoint %s does not name one and the AWS configuration has none: add region: to the profile", c.Profile, c.Host)
	}
	c.Region = region
	return &Signer{c: *c, cfg: cfg, w: w}, nil
}

// Mint signs a token for user: DbConnectAdmin for admin, DbConnect for any other role.
func (s *Signer) Mint(ctx context.Context, user string) (string, error) {
	return s.mint(ctx, user, false, timeLeft(ctx))
}

// mint is Mint; once says the signer ends with this call, so a failed credential_process is
// reaped before its error is judged and printed; given is the caller's deadline as it was on
// entry, for messages.
func (s *Signer) mint(ctx context.Context, user string, once bool, given time.Duration) (string, error) {
	c := s.c
	c.User = user
	if _, err := s.cfg.Credentials.Retrieve(ctx); err != nil {
		if once {
			s.w.finish() // the process is gone before the error is judged, and before it is printed
		}
		return "", retrieveError(ctx, &c, s.cfg.Credentials, s.w, given, err)
	}
	sign := auth.GenerateDbConnectAuthToken
	if user == "admin" {
		sign = auth.GenerateDBConnectAdminAuthToken
	}
	// The credentials cache hands the same credentials to the signer without a second fetch.
	tok, err := sign(ctx, c.Host, c.Region, s.cfg.Credentials, func(o *auth.TokenOptions) { o.ExpiresIn = c.ExpiresIn })
	if err != nil {
		return "", credentialsError(&c, err)
	}
	return tok, nil
}

// Close stops every credential_process the signer started and waits until each is reaped.
func (s *Signer) Close() { s.w.finish() }

// retrieveError names the source that failed or ran out of time. given is the caller's
// deadline as it was on entry, 0 without one.
func retrieveError(ctx context.Context, c *Connection, chain aws.CredentialsProvider, w *sourceWatch, given time.Duration, err error) error {
	if errors.Is(ctx.Err(), context.Canceled) {
		return fmt.Errorf("profile %s: getting AWS credentials: %w", c.Profile, ctx.Err())
	}
	timeout := func(source string, after time.Duration, deadline bool) error {
		te := &TimeoutError{Profile: c.Profile, AWSProfile: c.AWSProfile, Source: source, After: after, Deadline: deadline}
		if source == SourceProcess {
			te.ProcessProfile = w.commandProfile
		}
		return te
	}
	source, budgetSpent := w.timedOut(ctx)
	switch {
	case source == SourceProcess && ctx.Err() == nil:
		return timeout(SourceProcess, processcreds.DefaultTimeout, false) // the SDK's own limit
	case (source == SourceIMDS || source == "" && ctx.Err() != nil) && aws.IsCredentialsProvider(chain, (*ec2rolecreds.Provider)(nil)):
		// The chain tried everything and ended at the instance metadata service: on a laptop
		// that means no credentials at all, which is what to say.
		after := given
		if budgetSpent {
			after = IMDSBudget
		}
		return credentialsError(c, fmt.Errorf("no credentials found and %s did not answer within %s", SourceIMDS, formatBudget(after)))
	case source == SourceIMDS && budgetSpent:
		return timeout(SourceIMDS, IMDSBudget, false)
	case source != "":
		return timeout(source, given, true)
	case ctx.Err() != nil:
		return timeout(waitingOn(chain), given, true)
	}
	return credentialsError(c, err)
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
	var pe *processcreds.ProviderError
	if e.AWSProfile != "" && (errors.As(e.Err, &pe) || strings.Contains(msg, "credential_process")) {
		fix = "run the credential_process of aws profile " + e.AWSProfile + " in ~/.aws/config by hand to see why it fails"
	}
	if strings.Contains(msg, "parse failed of process output") {
		// The SDK quotes the whole output, which holds the secret key when the JSON is
		// merely malformed (a trailing comma): never print it.
		msg = "its credential_process printed output that is not the JSON the AWS CLI expects (not shown: it may hold secrets)"
	}
	if strings.Contains(msg, "no EC2 IMDS role found") || strings.Contains(msg, SourceIMDS+" did not answer") {
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
