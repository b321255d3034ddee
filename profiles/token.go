package profiles

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"io/fs"
	"net"
	"net/url"
	"os"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/credentials/ec2rolecreds"
	"github.com/aws/aws-sdk-go-v2/credentials/processcreds"
	"github.com/aws/aws-sdk-go-v2/credentials/ssocreds"
	"github.com/aws/aws-sdk-go-v2/feature/dsql/auth"
	"github.com/aws/smithy-go"
	"github.com/aws/smithy-go/logging"
	smithyhttp "github.com/aws/smithy-go/transport/http"

	"github.com/dsqlenv/dsqlenv/internal/safefile"
	"github.com/dsqlenv/dsqlenv/internal/text"
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
	tok, err := s.mint(ctx, c.User, true, given)
	c.Origin = s.Origin()
	return tok, err
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
	c      Connection
	cfg    aws.Config
	w      *sourceWatch
	origin *originBox
	cache  *cachedCredentials // nil: not a role or an SSO role
}

// NewSigner loads the AWS configuration for c (it sets c.Region from it when the profile has
// none). A credential_process the signer starts is killed, with its group, when ctx ends or
// Close is called.
func NewSigner(ctx context.Context, c *Connection) (*Signer, error) {
	w := newSourceWatch(ctx)
	w.onPrompt, w.tty = c.OnPrompt, [2]string{ttyIn, ttyOut}
	w.cacheDir, w.now, w.debugf = c.CredentialCache, c.Now, c.Debugf
	if w.now == nil {
		w.now = time.Now
	}
	if w.debugf == nil {
		w.debugf = func(string, ...any) {}
	}
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
		return nil, credentialsError(c, "", err)
	}
	w.adopt(&cfg)
	region := c.Region
	if region == "" {
		region = cfg.Region
	}
	if region == "" {
		w.finish()
		if c.Command != "" {
			return nil, fmt.Errorf("%s: no region: the AWS configuration%s has none: give --region", c.Command, inProfile(c.AWSProfile))
		}
		return nil, fmt.Errorf("profile %s: no region: the endpoint %s does not name one and the AWS configuration has none: add region: to the profile", c.Profile, c.Host)
	}
	c.Region = region
	s := &Signer{c: *c, w: w, origin: &originBox{}}
	s.cache = cacheCredentials(&cfg, w.shared, c.CredentialCache, c.RefreshCredentials, w.now, w.debugf, s.origin)
	s.cfg = cfg
	return s, nil
}

// Peek says where the signer's credentials would come from, reading the AWS CLI's cache but
// calling nothing: Cached with the entry's expiry when a fresh one is there.
func (s *Signer) Peek() CredentialOrigin {
	if s.cache == nil {
		return CredentialOrigin{}
	}
	o := CredentialOrigin{Via: s.cache.via, CacheFile: s.cache.path}
	if o.CacheFile != "" {
		if creds, ok := s.cache.read(); ok {
			o.Cached, o.Expires = true, creds.Expires
		}
	}
	return o
}

// Origin says where the credentials of the last Mint or Retrieve came from.
func (s *Signer) Origin() CredentialOrigin { return s.origin.get() }

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
	if err := s.retrieve(ctx); err != nil {
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
	tok, err := sign(ctx, c.SigningHost(), c.Region, s.cfg.Credentials, func(o *auth.TokenOptions) { o.ExpiresIn = c.ExpiresIn })
	if err != nil {
		return "", credentialsError(&c, s.w.commandProfile, err)
	}
	return tok, nil
}

// AWSConfig is the configuration the signer loaded, for a client of another AWS API (the
// DSQL control plane): its credentials run a credential_process the way Mint does, and its
// region is the one the signer settled on.
func (s *Signer) AWSConfig() aws.Config {
	cfg := s.cfg.Copy()
	cfg.Region = s.c.Region
	return cfg
}

// Retrieve gets the credentials as Mint does, with Mint's errors (*CredentialsError,
// *TimeoutError): a caller of another API calls it first, so that a missing login is told
// as dsqlenv tells it rather than as the SDK's operation error.
func (s *Signer) Retrieve(ctx context.Context) error {
	given := timeLeft(ctx)
	if err := s.retrieve(ctx); err != nil {
		c := s.c
		return retrieveError(ctx, &c, s.cfg.Credentials, s.w, given, err)
	}
	return nil
}

// retrieve gets the credentials and notes the expiry of those that do not come from a role
// or SSO role (cachedCredentials notes theirs).
func (s *Signer) retrieve(ctx context.Context) error {
	creds, err := s.cfg.Credentials.Retrieve(ctx)
	if err == nil && creds.CanExpire {
		s.origin.mu.Lock()
		if s.origin.o.Via == "" {
			s.origin.o.Expires = creds.Expires
		}
		s.origin.mu.Unlock()
	}
	return err
}

// Close stops every credential_process the signer started and waits until each is reaped.
func (s *Signer) Close() { s.w.finish() }

// retrieveError names the source that failed or ran out of time. given is the caller's
// deadline as it was on entry, 0 without one.
func retrieveError(ctx context.Context, c *Connection, chain aws.CredentialsProvider, w *sourceWatch, given time.Duration, err error) error {
	if errors.Is(ctx.Err(), context.Canceled) {
		return fmt.Errorf("%s: getting AWS credentials: %w", subject(c.Command, c.Profile), ctx.Err())
	}
	timeout := func(source string, after time.Duration, deadline bool) error {
		te := &TimeoutError{Profile: c.Profile, Command: c.Command, AWSProfile: c.AWSProfile, AWSProfileFrom: c.AWSProfileFrom,
			EnvVar: c.AWSProfileEnv, EnvProfile: c.EnvAWSProfile, Source: source, After: after, Deadline: deadline, ConfigFile: c.AWSConfigFile}
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
		return credentialsError(c, w.commandProfile, fmt.Errorf("no credentials found and %s did not answer within %s", SourceIMDS, formatBudget(after)))
	case source == SourceIMDS && budgetSpent:
		return timeout(SourceIMDS, IMDSBudget, false)
	case source != "":
		return timeout(source, given, true)
	case ctx.Err() != nil:
		return timeout(waitingOn(chain), given, true)
	}
	return credentialsError(c, w.commandProfile, err)
}

// CredentialsError is a failure to get AWS credentials, with the fix. Error says what happened
// for the source that failed (an SSO login missing or expired, an AWS profile that does not
// exist, a network that cannot reach SSO or STS, a failing credential_process) and what to run,
// naming the AWS profile in use and where it was chosen.
type CredentialsError struct {
	Profile    string
	AWSProfile string // the profile's aws_profile:, "" for the default chain
	// Command, when set, is the command that asked with no dsqlenv profile (dsqlenv
	// clusters): messages name it, and AWSProfile came from its --aws-profile.
	Command string
	// AWSProfileFrom says where AWSProfile was chosen when that is neither the profile's
	// aws_profile: nor --aws-profile (say, "aws_profile: under defaults:").
	AWSProfileFrom string
	// EnvVar and EnvProfile: when AWSProfile is "", the variable (AWS_PROFILE or
	// AWS_DEFAULT_PROFILE) that chose the default chain's AWS profile, and its value, as the
	// caller saw the environment (Connection.NoteEnvironment); "" when unknown or unset.
	EnvVar, EnvProfile string
	// SourceProfile is the AWS profile whose own settings supply the credentials, the end of
	// a source_profile chain; "" when the configuration was never loaded.
	SourceProfile string
	ConfigFile    string // AWS_CONFIG_FILE, "" for ~/.aws/config
	// NoCache: the AWS CLI's credential cache is off for this profile, so an MFA code
	// typed elsewhere cannot reach it.
	NoCache bool
	Err     error
}

func (e *CredentialsError) Error() string {
	name, from := e.inUse()
	who := "the default AWS credential chain"
	if name != "" {
		who = "AWS profile " + name + from
	}
	// The SDK's credentials cache prefixes every failure with its own words; they add nothing.
	msg := strings.TrimPrefix(oneLine(e.Err.Error()), "failed to refresh cached credentials, ")

	var notExist config.SharedConfigProfileNotExistError
	var pe *processcreds.ProviderError
	var invalid *ssocreds.InvalidTokenError
	// ssocreds.InvalidTokenError where the SDK gives one (legacy sso_start_url profiles); the
	// sso-session token provider returns plain text.
	isSSO := errors.As(e.Err, &invalid) || strings.Contains(msg, "cached SSO token") || strings.Contains(msg, "SSO session has expired")
	var noTTY *NoTerminalError
	switch {
	case errors.As(e.Err, &noTTY):
		return e.noTerminal(noTTY, who, name)
	case strings.Contains(msg, "parse failed of process output"):
		// The SDK quotes the whole output, which holds the secret key when the JSON is
		// merely malformed (a trailing comma): never print it.
		msg = "its credential_process printed output that is not the JSON the AWS CLI expects (not shown: it may hold secrets)"
		return fmt.Sprintf("%s: no AWS credentials from %s: %s: %s", subject(e.Command, e.Profile), who, msg, e.processFix(name))
	case errors.As(e.Err, &notExist):
		return e.unknownProfile(notExist.Profile, from)
	case errors.As(e.Err, &pe) || strings.Contains(msg, "credential_process"):
		msg = strings.TrimPrefix(msg, "process provider error: ")
		return fmt.Sprintf("%s: no AWS credentials from %s: %s: %s", subject(e.Command, e.Profile), who, msg, e.processFix(name))
	case strings.Contains(msg, "no EC2 IMDS role found") || strings.Contains(msg, SourceIMDS+" did not answer"):
		// The chain tried everything and ended at the instance metadata service; its
		// HTTP details say nothing useful to someone at a laptop.
		msg = "none found in the environment, the shared config and credentials files, or instance metadata"
	}
	if what, ok := unreachable(e.Err); ok {
		return fmt.Sprintf("%s: cannot reach %s, for %s: check your network or VPN", subject(e.Command, e.Profile), what, who)
	}
	if isSSO {
		login, through := name, ""
		if e.SourceProfile != "" && e.SourceProfile != name {
			login = e.SourceProfile
			if name != "" {
				through = " through its source_profile " + e.SourceProfile
			}
		}
		if login == "" {
			login = "default"
		}
		fix := "run `aws sso login --profile " + login + "`"
		target := "AWS profile " + login + from
		if through != "" {
			target = who + through
		}
		switch {
		case errors.Is(e.Err, fs.ErrNotExist):
			// No cached token at all: this machine never logged in (or the cache was cleared).
			return fmt.Sprintf("%s: not logged in to SSO for %s: %s", subject(e.Command, e.Profile), target, fix)
		case invalid != nil && invalid.Err == nil || strings.Contains(msg, "cached SSO token is expired") ||
			invalid == nil && strings.Contains(msg, "SSO session has expired"):
			return fmt.Sprintf("%s: the SSO login for %s has expired: %s", subject(e.Command, e.Profile), target, fix)
		}
		return fmt.Sprintf("%s: the cached SSO login for %s cannot be used (%s): %s", subject(e.Command, e.Profile), target, msg, fix)
	}
	fix := "run `aws configure` or `aws sso login`, set aws_profile: in the profile, or export AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY"
	if e.Command != "" {
		fix = "run `aws configure` or `aws sso login`, give --aws-profile, or export AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY"
	}
	if name != "" {
		fix = "check AWS profile " + name + " in " + configFileName(e.ConfigFile) + " (`aws configure list --profile " + name + "`)"
		switch {
		case e.AWSProfile != "":
			fix += ", or change " + e.profileSetting()
		case e.EnvVar != "":
			fix += ", or change " + e.EnvVar
		}
	}
	return fmt.Sprintf("%s: no AWS credentials from %s: %s: %s", subject(e.Command, e.Profile), who, msg, fix)
}

func (e *CredentialsError) Unwrap() error { return e.Err }

// UserMustAct reports whether only the user can fix the failure: no credentials configured,
// an AWS profile that does not exist, an SSO login missing or expired, an MFA code with no
// terminal to type it on. A network that does not answer or a failing credential_process
// may do better on a retry.
func (e *CredentialsError) UserMustAct() bool {
	if _, ok := unreachable(e.Err); ok {
		return false
	}
	msg := e.Err.Error()
	var notExist config.SharedConfigProfileNotExistError
	var invalid *ssocreds.InvalidTokenError
	var noTTY *NoTerminalError
	return errors.As(e.Err, &notExist) || errors.As(e.Err, &invalid) || errors.As(e.Err, &noTTY) ||
		strings.Contains(msg, "cached SSO token") || strings.Contains(msg, "SSO session has expired") ||
		strings.Contains(msg, "no EC2 IMDS role found") || strings.Contains(msg, SourceIMDS+" did not answer")
}

// noTerminal is an MFA code that could not be asked for: the fix is to fill the AWS CLI's
// credential cache from a terminal, which this run then reads.
func (e *CredentialsError) noTerminal(nt *NoTerminalError, who, name string) string {
	what := fmt.Sprintf("%s: %s needs an MFA code for %s, and there is no terminal to ask on (%s: %v)", subject(e.Command, e.Profile), who, nt.Serial, nt.Device, nt.Err)
	aws := cmp.Or(name, "default")
	switch {
	case e.Command != "" && e.NoCache:
		return what + ": run it in a terminal"
	case e.Command != "":
		return what + ": run it in a terminal, or any `aws … --profile " + aws + "` command there, which fills the AWS CLI's credential cache this reads"
	case e.NoCache:
		return what + ": run it in a terminal (the credential cache is off here, credential_cache: false or DSQLENV_CREDENTIAL_CACHE=off, so a code typed elsewhere is not seen)"
	}
	return what + ": run `dsqlenv login " + e.Profile + "` in a terminal, or any `aws … --profile " + aws + "` command there; either fills the AWS CLI's credential cache, which this reads"
}

// profileSetting is where AWSProfile was chosen: aws_profile: in a profile, or --aws-profile.
func (e *CredentialsError) profileSetting() string {
	return profileSetting(e.Command, e.AWSProfileFrom)
}

// profileSetting is where a chosen AWS profile came from: from when it says (aws_profile:
// under defaults:), else a command's --aws-profile, else the profile's aws_profile:.
func profileSetting(command, from string) string {
	if from != "" {
		return from
	}
	if command != "" {
		return "--aws-profile"
	}
	return "aws_profile:"
}

// awsProfileInUse names the AWS profile a chain read and, as " (from …)", what chose it, the
// one way every credential message says it; "" for the name when none was chosen (the
// default chain, with no AWS_PROFILE known).
func awsProfileInUse(command, awsProfile, awsProfileFrom, envVar, envProfile string) (name, from string) {
	switch {
	case awsProfile != "":
		return awsProfile, " (from " + profileSetting(command, awsProfileFrom) + ")"
	case envProfile != "":
		return envProfile, " (from " + envVar + ")"
	}
	return "", ""
}

// subject is what a credentials message is about: the dsqlenv profile, or a command that has
// none.
func subject(command, profile string) string {
	if command != "" {
		return command
	}
	return "profile " + profile
}

// inProfile is " of AWS profile NAME", or "" for the default chain.
func inProfile(name string) string {
	if name == "" {
		return ""
	}
	return " of AWS profile " + name
}

// inUse names the AWS profile the chain read and, as " (from …)", what chose it: "" for the
// name when the default chain ran without one known.
func (e *CredentialsError) inUse() (name, from string) {
	if name, from := awsProfileInUse(e.Command, e.AWSProfile, e.AWSProfileFrom, e.EnvVar, e.EnvProfile); name != "" {
		return name, from
	}
	var notExist config.SharedConfigProfileNotExistError
	switch {
	case errors.As(e.Err, &notExist):
		return notExist.Profile, ""
	}
	return e.SourceProfile, ""
}

// processFix is what to do about a failing credential_process, however its profile was chosen.
func (e *CredentialsError) processFix(name string) string {
	p := e.SourceProfile
	if p == "" {
		p = name
	}
	if p == "" {
		p = "default"
	}
	return "run the credential_process of AWS profile " + p + " in " + configFileName(e.ConfigFile) + " by hand to see why it fails"
}

// unknownProfile says that the AWS profile name does not exist, with the closest names in the
// files the SDK read (AWS_CONFIG_FILE and AWS_SHARED_CREDENTIALS_FILE, as the SDK reads them).
func (e *CredentialsError) unknownProfile(name, from string) string {
	env, _ := config.NewEnvConfig()
	files := []string{env.SharedConfigFile, env.SharedCredentialsFile}
	if files[0] == "" {
		files[0] = config.DefaultSharedConfigFilename()
	}
	if files[1] == "" {
		files[1] = config.DefaultSharedCredentialsFilename()
	}
	var names, read []string
	seen := map[string]bool{}
	for _, f := range files {
		if ns, err := sharedProfileNames(f); err == nil {
			read = append(read, f)
			for _, n := range ns { // a profile is often in both files
				if !seen[n] {
					seen[n] = true
					names = append(names, n)
				}
			}
		}
	}
	change := "change " + e.profileSetting()
	if e.AWSProfile == "" {
		change = "change " + cmp.Or(e.EnvVar, "AWS_PROFILE")
	}
	where := "in " + strings.Join(read, " or ")
	if len(read) == 0 {
		where = "(" + files[0] + " does not exist)"
	}
	msg := fmt.Sprintf("%s: no AWS profile %s%s %s", subject(e.Command, e.Profile), name, from, where)
	switch close := text.Closest(name, names); {
	case len(close) > 0:
		return msg + fmt.Sprintf(": did you mean %s? (%s)", strings.Join(close, " or "), change)
	case len(names) > 0:
		return msg + fmt.Sprintf(": the profiles there are %s: %s, or create it with `aws configure sso --profile %s`", strings.Join(names, ", "), change, name)
	}
	return msg + fmt.Sprintf(": create it with `aws configure sso --profile %s` (or `aws configure --profile %s` for access keys), or %s", name, name, change)
}

// sharedProfileNames lists the profiles of an AWS config or credentials file: [profile NAME]
// and [default] in the one, [NAME] in the other.
func sharedProfileNames(path string) ([]string, error) {
	data, _, err := safefile.Read(path, MaxFileSize)
	if err != nil {
		return nil, err
	}
	var names []string
	seen := map[string]bool{}
	for _, line := range strings.Split(string(data), "\n") {
		line = strings.TrimSpace(line)
		if !strings.HasPrefix(line, "[") {
			continue
		}
		end := strings.IndexByte(line, ']')
		if end < 0 {
			continue
		}
		sec := strings.Join(strings.Fields(line[1:end]), " ")
		if rest, ok := strings.CutPrefix(sec, "profile "); ok {
			sec = rest
		} else if strings.Contains(sec, " ") {
			continue // [sso-session s], [services s]
		}
		if sec != "" && !seen[sec] {
			seen[sec] = true
			names = append(names, sec)
		}
	}
	return names, nil
}

// unreachable describes a network failure on the way to an AWS service (SSO, STS…): what could
// not be reached and why, in a few words.
func unreachable(err error) (string, bool) {
	var dns *net.DNSError
	var op *net.OpError
	var se *smithyhttp.RequestSendError
	if !errors.As(err, &dns) && !errors.As(err, &op) && !errors.As(err, &se) {
		return "", false
	}
	service := "AWS"
	var oe *smithy.OperationError
	if errors.As(err, &oe) {
		switch oe.ServiceID {
		case "SSO", "SSO OIDC":
			service = "AWS IAM Identity Center (SSO)"
		case "STS":
			service = "AWS STS"
		case "ec2imds":
			return "", false // the end of the default chain; said elsewhere
		default:
			service = "AWS " + oe.ServiceID
		}
	}
	host := ""
	var ue *url.Error
	if errors.As(err, &ue) {
		if u, perr := url.Parse(ue.URL); perr == nil {
			host = u.Host
		}
	}
	why := ""
	var sc *os.SyscallError
	switch {
	case dns != nil:
		host = cmp.Or(host, dns.Name)
		why = "the name " + dns.Name + " does not resolve"
		if dns.IsTimeout {
			why = "looking up " + dns.Name + " timed out"
		}
	case errors.As(err, &sc):
		why = sc.Err.Error()
	case op != nil:
		why = op.Err.Error()
	}
	what := service
	if host != "" {
		what += " at " + host
	}
	if why != "" {
		what += " (" + why + ")"
	}
	return what, true
}

func credentialsError(c *Connection, sourceProfile string, err error) error {
	return &CredentialsError{Profile: c.Profile, Command: c.Command, AWSProfileFrom: c.AWSProfileFrom, AWSProfile: c.AWSProfile, EnvVar: c.AWSProfileEnv, EnvProfile: c.EnvAWSProfile,
		SourceProfile: sourceProfile, ConfigFile: c.AWSConfigFile, NoCache: c.CredentialCache == "", Err: err}
}

// oneLine flattens an SDK error chain to one line, at most about 300 bytes, cut between words.
func oneLine(s string) string {
	s = strings.Join(strings.Fields(s), " ")
	if len(s) <= 300 {
		return s
	}
	cut := strings.LastIndexByte(s[:301], ' ')
	if cut < 200 {
		// One very long word (a path, a URL): cut it at a character boundary instead.
		cut = 300
		for cut > 0 && !utf8.RuneStart(s[cut]) {
			cut--
		}
	}
	return strings.TrimRight(s[:cut], " ,:;") + " …"
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
