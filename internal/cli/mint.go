package cli

import (
	"context"
	"errors"
	"fmt"
	"net"
	"time"

	"github.com/dsqlenv/dsqlenv/emit"
	"github.com/dsqlenv/dsqlenv/internal/text"
	"github.com/dsqlenv/dsqlenv/profiles"
)

// Which sslrootcert value a session's clients get (see rootCertFor).
type readers uint8

const (
	noRootCert readers = iota // the output carries no sslrootcert (a password file, a removal)
	forUnix
	forWindows
)

// resolve loads the profiles file and resolves one profile, with the sslrootcert value its
// clients get. It reads no AWS configuration and stages nothing: a command that writes the
// session out stages the roots file it names (stageRoots).
func (r *run) resolve(g global, name string, clients readers) (*session, error) {
	f, err := g.loadProfiles()
	if err != nil {
		return nil, err
	}
	return r.sessionOf(f, name, clients)
}

func (r *run) sessionOf(f *profiles.File, name string, clients readers) (*session, error) {
	conn, err := f.Resolve(name, r.Paths.Home)
	if err != nil {
		return nil, err
	}
	conn.NoteEnvironment(r.Getenv) // for credential errors: which AWS_PROFILE the SDK reads
	// The address is looked up as the output is made, so a block carries where the VPC
	// endpoint is now.
	ctx, cancel := context.WithTimeout(context.Background(), vpcEndpointLookupTimeout)
	defer cancel()
	if err := conn.ResolveVPCEndpoint(ctx, f.Path, r.lookupHost()); err != nil {
		return nil, err
	}
	if conn.Unverified {
		r.say("warning: %s", conn.UnverifiedWarning())
	}
	s := &session{conn: conn, file: f.Path}
	if clients != noRootCert {
		s.rootCert = r.rootCertFor(s, clients == forWindows)
	}
	r.prepareURL(s, clients)
	return s, nil
}

// vpcEndpointLookupTimeout bounds the DNS lookup of a vpc_endpoint: name.
const vpcEndpointLookupTimeout = 10 * time.Second

// lookupHost is Env.LookupHost, or the system's resolver.
func (r *run) lookupHost() func(context.Context, string) ([]string, error) {
	if r.LookupHost != nil {
		return r.LookupHost
	}
	return net.DefaultResolver.LookupHost
}

// clientsOf says which sslrootcert a dialect's readers need.
func clientsOf(windows bool) readers {
	if windows {
		return forWindows
	}
	return forUnix
}

// slowCredentials is how long a mint may take before a terminal is told what dsqlenv waits for.
const slowCredentials = 2 * time.Second

// credentialSource names where a connection's AWS credentials come from, for a person, in the
// words of the credential errors (profiles.CredentialsError): the AWS profile and what chose
// it (aws_profile:, a command's --aws-profile, AWS_PROFILE), or the default chain.
func credentialSource(c *profiles.Connection) string {
	switch {
	case c.AWSProfile != "" && c.AWSProfileFrom != "":
		return "AWS profile " + c.AWSProfile + " (from " + c.AWSProfileFrom + ")"
	case c.AWSProfile != "" && c.Command != "":
		return "AWS profile " + c.AWSProfile + " (from --aws-profile)"
	case c.AWSProfile != "":
		return "AWS profile " + c.AWSProfile + " (from aws_profile:)"
	case c.EnvAWSProfile != "":
		return "AWS profile " + c.EnvAWSProfile + " (from " + c.AWSProfileEnv + ")"
	}
	return "the default AWS credential chain"
}

// credentialOrigin says where the last mint's credentials came from, for doctor, login and
// show: "STS AssumeRole, cached until 14:05 (AWS CLI cache, FILE)", "STS AssumeRole, MFA,
// valid until 15:00", or "" when the signer said nothing (long-term keys, a test's signer).
func (r *run) credentialOrigin(c *profiles.Connection) string {
	o := c.Origin
	until := ""
	if !o.Expires.IsZero() {
		until = "until " + o.Expires.In(r.Now().Location()).Format("15:04")
		if o.Expires.Sub(r.Now()) >= 24*time.Hour {
			until = "until " + o.Expires.In(r.Now().Location()).Format("2006-01-02 15:04")
		}
	}
	switch {
	case o.Cached:
		return o.Via + ", cached " + until + " (AWS CLI cache, " + termSafe(o.CacheFile) + ")"
	case o.Via != "" && until != "":
		return o.Via + ", valid " + until
	case o.Via != "":
		return o.Via
	case until != "":
		return "valid " + until
	}
	return ""
}

// mint signs the session's token, warning on stderr when the credentials cut its life short.
func (r *run) mint(ctx context.Context, g global, s *session) error {
	if err := r.sign(ctx, g, s); err != nil {
		return err
	}
	if conn := s.conn; s.shortLived() {
		left := s.info.ExpiresAt.Sub(r.Now()).Round(time.Second)
		r.say("token expires in %s, not %s: the AWS session for %s ends first",
			text.FormatDuration(left), text.FormatDuration(conn.ExpiresIn), credentialSource(conn))
	}
	return nil
}

// shortLived says the credentials gave the token a shorter life than the profile asked for.
func (s *session) shortLived() bool { return s.info.Lifetime+time.Second < s.conn.ExpiresIn }

// sign is mint without the warning, for doctor, which reports it as a check.
func (r *run) sign(ctx context.Context, g global, s *session) error {
	if err := g.waitsForAWS(); err != nil {
		return err
	}
	conn := s.conn
	ctx, cancel := profiles.WithTimeoutExceptTyping(ctx, g.timeout)
	defer cancel()
	g.debugf(r, "profile %s: signing for %s in %s as %s, asking %s", conn.Profile, conn.Host, orSDK(conn.Region), conn.User, text.FormatDuration(conn.ExpiresIn))
	if r.StderrIsTerminal {
		// A signature is local and instant; only getting credentials can take seconds (an SSO
		// refresh, a credential_process asking for MFA). A person watching is told what for.
		slow := time.AfterFunc(slowCredentials, func() {
			r.say("waiting for AWS credentials from %s (a credential_process, SSO or STS; giving up after %s, --timeout)",
				credentialSource(conn), text.FormatDuration(g.timeout))
		})
		defer slow.Stop()
		// An MFA prompt is the wait explained: the line must not land in the middle of it.
		conn.OnPrompt = func() { slow.Stop() }
	}
	r.credentialHooks(g, conn)
	tok, err := r.Mint(ctx, conn)
	if err != nil {
		// The signer names the credential source that timed out; the generic message is for
		// a signer that only reports the deadline.
		var te *profiles.TimeoutError
		var ce *profiles.CredentialsError
		if errors.As(err, &te) && te.Deadline {
			// The signer sees only the time left when it started, a little less than
			// --timeout (below zero for --timeout 1ns): the message names what was given.
			te.After = g.timeout
		}
		if te != nil || errors.As(err, &ce) {
			return err
		}
		if errors.Is(err, context.DeadlineExceeded) {
			return fmt.Errorf("profile %s: getting AWS credentials took longer than %s: the AWS configuration did not answer in time: raise --timeout", conn.Profile, text.FormatDuration(g.timeout))
		}
		return err
	}
	info, err := profiles.ParseToken(tok)
	if err != nil {
		return fmt.Errorf("profile %s: the signer returned an unreadable token: %v", conn.Profile, err)
	}
	g.debugf(r, "token %s", profiles.Redact(tok))
	s.token, s.info = tok, info
	return nil
}

// credentialHooks gives conn what every getting of AWS credentials shares, for a token or for
// the control plane (clusters, add): the clock the credential cache's expiry is judged by, and
// its --debug lines.
func (r *run) credentialHooks(g global, conn *profiles.Connection) {
	conn.Now = r.Now
	conn.Debugf = func(format string, args ...any) { g.debugf(r, format, args...) }
}

// defaultCredentialCache is the AWS CLI's credential cache for a command with no profile
// (clusters, add), as a profile without credential_cache: gets it: on, unless the profiles
// file's defaults: turn it off (a file that is missing or does not load leaves it on: these
// commands do not need one). DSQLENV_CREDENTIAL_CACHE=off is NoteEnvironment's.
func (r *run) defaultCredentialCache(g global) string {
	if f, err := g.loadProfiles(); err == nil && f.Defaults.CredentialCache.Set && !f.Defaults.CredentialCache.Value {
		return ""
	}
	return profiles.CredentialCacheDir(r.Paths.Home)
}

func orSDK(region string) string {
	if region == "" {
		return "the SDK's region"
	}
	return region
}

// renderError names the profile and field behind a value a dialect cannot carry.
func renderError(profile, dialect string, err error) error {
	var ve *emit.ValueError
	if errors.As(err, &ve) {
		return fmt.Errorf("profile %s: %s (%s) %s: the %s dialect cannot carry it; change the value or use another dialect",
			profile, fieldOf(ve.Var), ve.Var, ve.Reason, dialect)
	}
	return err
}

// sessions resolves the named profiles, or all of them.
func (r *run) sessions(g global, names []string, clients readers) ([]*session, error) {
	f, err := g.loadProfiles()
	if err != nil {
		return nil, err
	}
	return r.sessionsIn(f, names, clients)
}

// sessionsIn is sessions for a profiles file already loaded.
func (r *run) sessionsIn(f *profiles.File, names []string, clients readers) ([]*session, error) {
	if len(names) == 0 {
		names = f.Names()
	}
	var out []*session
	for _, n := range names {
		s, err := r.sessionOf(f, n, clients)
		if err != nil {
			return nil, err
		}
		out = append(out, s)
	}
	return out, nil
}
