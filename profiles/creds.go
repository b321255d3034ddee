package profiles

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/credentials/ec2rolecreds"
	"github.com/aws/aws-sdk-go-v2/credentials/processcreds"
	"github.com/aws/aws-sdk-go-v2/credentials/stscreds"
	"github.com/aws/aws-sdk-go-v2/feature/ec2/imds"
	"github.com/aws/aws-sdk-go-v2/service/sts"

	"github.com/dsqlenv/dsqlenv/internal/text"
)

// Credential sources a TimeoutError can name.
const (
	SourceProcess = "credential_process"
	SourceIMDS    = "the EC2 instance metadata service"
	SourceMFA     = "the MFA code prompt"
)

// TimeoutError is a credential source that did not answer in time: a credential_process that
// was stopped (with everything it started), the instance metadata service past IMDSBudget, or
// whatever the chain was waiting on when the caller's deadline passed.
type TimeoutError struct {
	Profile    string // the dsqlenv profile
	Command    string // or the command that asked with none (see CredentialsError.Command)
	AWSProfile string // "" for the default credential chain
	Source     string // SourceProcess, SourceIMDS, or what the chain was waiting on ("STS AssumeRole (role_arn)", …)
	// AWSProfileFrom, EnvVar and EnvProfile say where the AWS profile was chosen, as in
	// CredentialsError.
	AWSProfileFrom, EnvVar, EnvProfile string
	// ProcessProfile is the aws profile whose credential_process was stopped: AWSProfile, the
	// end of its source_profile chain, or the default chain's profile (AWS_PROFILE or default).
	ProcessProfile string
	After          time.Duration // how long it was given
	Deadline       bool          // After is the caller's deadline (--timeout), not a budget of dsqlenv's own
	ConfigFile     string        // AWS_CONFIG_FILE, "" for ~/.aws/config
}

func (e *TimeoutError) Error() string {
	// who is named with what chose it where the message starts, bare in the fix.
	who, from := "the default AWS credential chain", ""
	if name, f := awsProfileInUse(e.Command, e.AWSProfile, e.AWSProfileFrom, e.EnvVar, e.EnvProfile); name != "" {
		who, from = "AWS profile "+name, f
	}
	var what, fix string
	switch e.Source {
	case SourceProcess:
		what = "its credential_process did not finish within " + formatBudget(e.After) + " and was stopped"
		fix = "run the credential_process of AWS profile " + e.ProcessProfile + " in " + configFileName(e.ConfigFile) + " by hand to see why it hangs"
	case SourceMFA:
		what = "no MFA code was typed within " + formatBudget(e.After)
		fix = "type it sooner"
	case SourceIMDS:
		what = SourceIMDS + " did not answer within " + formatBudget(e.After)
		fix = "dsqlenv is not on an EC2 instance with an instance profile, or the service is blocked: change credential_source of " + who + " in " + configFileName(e.ConfigFile)
	default:
		what = e.Source + " did not answer within " + formatBudget(e.After)
		fix = "check the network and the settings of " + who + " in " + configFileName(e.ConfigFile)
	}
	if e.Deadline {
		fix += ", or raise --timeout"
	}
	return fmt.Sprintf("%s: no AWS credentials from %s%s: %s: %s", subject(e.Command, e.Profile), who, from, what, fix)
}

// formatBudget writes a budget the way FormatDuration does, but keeps tenths of a second
// beyond one (1.5s), which FormatDuration rounds away.
func formatBudget(d time.Duration) string {
	if t := d.Round(100 * time.Millisecond); d >= time.Second && t%time.Second != 0 {
		return t.String()
	}
	return text.FormatDuration(d)
}

// sourceWatch is one MintWithSDK's hold on the credential sources that can hang: it runs the
// chain's credential_process in a process group of its own and kills the group when the call
// ends, puts IMDSBudget on every instance metadata request, and remembers which source ran out
// of time. The SDK's credentials cache runs providers with a context stripped of the caller's
// deadline (aws.CredentialsCache.Retrieve, suppressedContext), so the kill cannot rely on the
// context the SDK hands down: stop ends every run, and finish waits for them to be reaped.
type sourceWatch struct {
	stop    context.Context
	cancel  context.CancelFunc
	running sync.WaitGroup

	// Set after config.LoadDefaultConfig, before any provider runs: the credential_process
	// where the profile's source_profile chain ends, and the instance metadata client the SDK
	// would have built from the same configuration.
	command        string
	commandProfile string
	imds           ec2rolecreds.GetMetadataAPIClient
	// profile and shared: the AWS profile the SDK resolved and its settings (nil when it
	// read none), where a role's or SSO role's cache key comes from.
	profile string
	shared  *config.SharedConfig
	// onPrompt runs before the MFA code is asked for (Connection.OnPrompt); prompting is
	// set while it is, so that a deadline then is told as the code not typed.
	onPrompt  func()
	prompting bool
	// restoreTTY turns the terminal's echo back on while a code is read with it off; finish
	// calls it, since the read goes on after the caller gave up.
	restoreTTY func()
	tty        [2]string // ttyIn and ttyOut, as they were when the signer was made
	// The credential cache (Connection.CredentialCache, "" when off) and its clock and
	// debug lines, for the source roles of a chain (sourceRole).
	cacheDir string
	now      func() time.Time
	debugf   func(format string, args ...any)

	mu             sync.Mutex
	processTimeout bool      // a credential_process was stopped
	imdsDeadline   time.Time // IMDSBudget runs from the first metadata request
	imdsInFlight   int
	imdsTimeout    bool
}

func newSourceWatch(ctx context.Context) *sourceWatch {
	w := &sourceWatch{}
	w.stop, w.cancel = context.WithCancel(ctx)
	return w
}

// loadOptions hook the SDK's chain where it assumes a role (the MFA prompt, the duration, a
// credential_process or another role as its source) and where it asks instance metadata for
// credentials.
func (w *sourceWatch) loadOptions() []func(*config.LoadOptions) error {
	return []func(*config.LoadOptions) error{
		// A role assumed with a credential_process as its source: the SDK builds the STS
		// client with the process provider before any option can reach it, so the client is
		// rebuilt from its own options with the grouped provider in its place.
		config.WithAssumeRoleCredentialOptions(func(o *stscreds.AssumeRoleOptions) {
			// The AWS CLI sends no DurationSeconds without duration_seconds, and STS then
			// gives an hour; the SDK asks for 15 minutes, which a cache that refreshes with
			// 15 minutes left (botocore's window) could never use.
			if o.Duration == 0 {
				o.Duration = time.Hour
			}
			// mfa_serial: the code is asked for on the terminal when STS is called, as the
			// AWS CLI asks; the cache makes that once per role session.
			if o.SerialNumber != nil {
				serial := *o.SerialNumber
				o.TokenProvider = func() (string, error) { return w.askMFA(serial) }
			}
			cl, ok := o.Client.(*sts.Client)
			if !ok {
				return
			}
			switch opts := cl.Options(); {
			case aws.IsCredentialsProvider(opts.Credentials, (*processcreds.Provider)(nil)):
				grouped := aws.NewCredentialsCache(w.processProvider(opts.Credentials))
				o.Client = sts.New(opts, func(o *sts.Options) { o.Credentials = grouped })
			case aws.IsCredentialsProvider(opts.Credentials, (*stscreds.AssumeRoleProvider)(nil)):
				// A role assumed from a role: the source role goes through the cache too.
				src := aws.NewCredentialsCache(&sourceRole{w: w, outer: o.RoleARN, inner: opts.Credentials})
				o.Client = sts.New(opts, func(o *sts.Options) { o.Credentials = src })
			}
		}),
		// Instance metadata is reached both at the end of the default chain and through
		// credential_source = Ec2InstanceMetadata; both build their provider here.
		config.WithEC2RoleCredentialOptions(func(o *ec2rolecreds.Options) {
			if o.Client == nil {
				o.Client = imdsBudget{w}
			}
		}),
	}
}

// adopt takes over what LoadDefaultConfig resolved: the command and the metadata client, and a
// credential_process the chain runs directly.
func (w *sourceWatch) adopt(cfg *aws.Config) {
	w.imds = imds.NewFromConfig(*cfg)
	for _, s := range cfg.ConfigSources {
		var sc *config.SharedConfig
		switch v := s.(type) {
		case config.SharedConfig:
			sc = &v
		case *config.SharedConfig:
			sc = v
		}
		if sc == nil {
			continue
		}
		w.profile, w.shared = sc.Profile, sc
		// Only the profile where the source_profile chain ends can run a process.
		for sc.Source != nil {
			sc = sc.Source
		}
		w.command, w.commandProfile = sc.CredentialProcess, sc.Profile
		break
	}
	if aws.IsCredentialsProvider(cfg.Credentials, (*processcreds.Provider)(nil)) {
		cfg.Credentials = aws.NewCredentialsCache(w.processProvider(cfg.Credentials))
	}
}

// finish stops every credential_process this call started and waits until each is reaped, so
// none is left when MintWithSDK returns, and turns the terminal's echo back on if an MFA code
// is still being read.
func (w *sourceWatch) finish() {
	// Under the lock: a run that checked stop before this is already counted in running,
	// and one that checks it after sees it ended.
	w.mu.Lock()
	w.cancel()
	restore := w.restoreTTY
	w.mu.Unlock()
	if restore != nil {
		restore()
	}
	w.running.Wait()
}

// processProvider is the SDK's process provider (its run, its timeout, its parsing of the
// output) with a command of ours: the SDK's own, "sh -c" (cmd.exe /C on Windows) with the
// process's environment, stdin and stderr (for MFA prompts), in a process group of its own.
func (w *sourceWatch) processProvider(sdk aws.CredentialsProvider) aws.CredentialsProvider {
	var opts []func(*processcreds.Options)
	if ps, ok := sdk.(aws.CredentialProviderSource); ok {
		sources := ps.ProviderSources()
		opts = append(opts, func(o *processcreds.Options) { o.CredentialSources = sources })
	}
	return groupedProcess{w: w, opts: opts}
}

type groupedProcess struct {
	w    *sourceWatch
	opts []func(*processcreds.Options)
}

func (g groupedProcess) Retrieve(ctx context.Context) (aws.Credentials, error) {
	w := g.w
	w.mu.Lock()
	if w.stop.Err() != nil {
		w.mu.Unlock()
		return aws.Credentials{}, &processcreds.ProviderError{Err: errors.New("credential process not started: the call already ended")}
	}
	w.running.Add(1)
	w.mu.Unlock()
	defer w.running.Done()

	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	defer context.AfterFunc(w.stop, cancel)()

	var done func()
	builder := processcreds.NewCommandBuilderFunc(func(ctx context.Context) (*exec.Cmd, error) {
		if w.command == "" {
			return nil, &processcreds.ProviderError{Err: errors.New("failed to prepare command: command must not be empty")}
		}
		shell := append(processShell, w.command)
		cmd := exec.CommandContext(ctx, shell[0], shell[1:]...)
		// The SDK's own provider runs the process with dsqlenv's environment, stdin and
		// stderr (an MFA prompt reads the terminal): this one does the same.
		cmd.Env = os.Environ()
		cmd.Stderr = os.Stderr
		cmd.Stdin = os.Stdin
		// A member that left the group may hold stdout open; Wait must not hang on it.
		cmd.WaitDelay = 500 * time.Millisecond
		done = inOwnGroup(cmd)
		return cmd, nil
	})
	creds, err := processcreds.NewProviderCommand(builder, g.opts...).Retrieve(ctx)
	if done != nil {
		done()
	}
	if err != nil && ctx.Err() != nil {
		w.mu.Lock()
		w.processTimeout = true
		w.mu.Unlock()
	}
	return creds, err
}

// imdsBudget is the SDK's instance metadata client with IMDSBudget over all its requests for
// one MintWithSDK, counted from the first. It satisfies ec2rolecreds.GetMetadataAPIClient.
type imdsBudget struct{ w *sourceWatch }

func (b imdsBudget) GetMetadata(ctx context.Context, in *imds.GetMetadataInput, optFns ...func(*imds.Options)) (*imds.GetMetadataOutput, error) {
	w := b.w
	w.mu.Lock()
	if w.imdsDeadline.IsZero() {
		w.imdsDeadline = time.Now().Add(IMDSBudget)
	}
	deadline, client := w.imdsDeadline, w.imds
	w.imdsInFlight++
	w.mu.Unlock()
	defer func() {
		w.mu.Lock()
		w.imdsInFlight--
		w.mu.Unlock()
	}()
	if client == nil {
		client = imds.New(imds.Options{})
	}
	ctx, cancel := context.WithDeadline(ctx, deadline)
	out, err := client.GetMetadata(ctx, in, optFns...)
	if err != nil {
		if ctx.Err() != nil {
			w.mu.Lock()
			w.imdsTimeout = true
			w.mu.Unlock()
		}
		cancel()
		return out, err
	}
	// The provider reads the body after this returns, so the deadline ends when it closes it.
	out.Content = cancelOnClose{out.Content, cancel}
	return out, nil
}

type cancelOnClose struct {
	io.ReadCloser
	cancel context.CancelFunc
}

func (c cancelOnClose) Close() error {
	defer c.cancel()
	return c.ReadCloser.Close()
}

// timedOut says which source ran out of time, after the chain failed with err: "" when none did.
func (w *sourceWatch) timedOut(ctx context.Context) (source string, imdsBudgetSpent bool) {
	w.mu.Lock()
	defer w.mu.Unlock()
	switch {
	case w.processTimeout:
		return SourceProcess, false
	case w.prompting && ctx.Err() != nil:
		return SourceMFA, false
	case w.imdsTimeout && ctx.Err() == nil:
		return SourceIMDS, true
	case w.imdsTimeout || w.imdsInFlight > 0:
		return SourceIMDS, false
	}
	return "", false
}

// askMFA asks for the MFA code on the terminal, noting that it does.
func (w *sourceWatch) askMFA(serial string) (string, error) {
	w.mu.Lock()
	w.prompting = true
	w.mu.Unlock()
	defer func() {
		w.mu.Lock()
		w.prompting = false
		w.mu.Unlock()
	}()
	// The person typing is not the network: --timeout stops while they do.
	defer pauseForTyping(w.stop)()
	if w.onPrompt != nil {
		w.onPrompt()
	}
	return askMFA(serial, w.profile, w.tty[0], w.tty[1], func(restore func()) {
		w.mu.Lock()
		w.restoreTTY = restore
		w.mu.Unlock()
	})
}

// waitingOn names the last step of the resolved chain, what a deadline most likely cut short.
func waitingOn(p aws.CredentialsProvider) string {
	ps, ok := p.(aws.CredentialProviderSource)
	if !ok {
		return "the AWS credential chain"
	}
	sources := ps.ProviderSources()
	for i := len(sources) - 1; i >= 0; i-- {
		switch sources[i] {
		case aws.CredentialSourceSTSAssumeRole, aws.CredentialSourceSTSAssumeRoleSaml:
			return "STS AssumeRole (role_arn)"
		case aws.CredentialSourceSTSAssumeRoleWebID, aws.CredentialSourceEnvVarsSTSWebIDToken, aws.CredentialSourceProfileSTSWebIDToken:
			return "STS AssumeRoleWithWebIdentity (web_identity_token_file)"
		case aws.CredentialSourceSSO, aws.CredentialSourceSSOLegacy, aws.CredentialSourceProfileSSO, aws.CredentialSourceProfileSSOLegacy:
			return "AWS IAM Identity Center (SSO)"
		case aws.CredentialSourceLogin, aws.CredentialSourceProfileLogin:
			return "the AWS sign-in session (aws login)"
		case aws.CredentialSourceHTTP:
			return "the container credentials endpoint"
		case aws.CredentialSourceIMDS:
			return SourceIMDS
		case aws.CredentialSourceProcess, aws.CredentialSourceProfileProcess:
			return SourceProcess
		}
	}
	return "the AWS credential chain"
}
