package cli

import (
	"context"

	"github.com/urfave/cli/v2"
)

// loginOptions are what `dsqlenv login` is told on its command line.
type loginOptions struct {
	global
	profile string
}

func newLoginCommand(r *run) *cli.Command {
	var o loginOptions
	return &cli.Command{
		Name:      "login",
		Category:  "Commands",
		Usage:     "get fresh AWS credentials for PROFILE now, and keep them in the AWS CLI's cache",
		ArgsUsage: "PROFILE",
		Description: `For a profile whose AWS profile assumes a role (asking for the MFA code of
mfa_serial on the terminal) or uses an SSO role: gets new credentials now, writes them
to the AWS CLI's credential cache (~/.aws/cli/cache, shared with the AWS CLI), and says
on stderr until when they are valid. Later runs without a terminal (eval in a script, the
proxy, CI) use them until 15 minutes before they expire. An expired SSO session is not
renewed here: run aws sso login --profile NAME.

Examples:
   dsqlenv login prod`,
		Action: func(c *cli.Context) error {
			var err error
			if o.profile, err = oneArg(c, "PROFILE"); err != nil {
				return err
			}
			o.global = r.globals()
			return runLogin(c.Context, r, o)
		},
	}
}

func runLogin(ctx context.Context, r *run, o loginOptions) error {
	s, err := r.resolve(o.global, o.profile, noRootCert)
	if err != nil {
		return err
	}
	conn := s.conn
	conn.RefreshCredentials = true
	if err := r.sign(ctx, o.global, s); err != nil {
		return err
	}
	origin := conn.Origin
	switch {
	case origin.Via == "":
		r.say("%s: credentials from %s need no login (not an assumed role or an SSO role): nothing to keep", o.profile, credentialSource(conn))
	case origin.CacheErr != nil:
		r.say("%s: %s: %s; not kept: %s", o.profile, credentialSource(conn), r.credentialOrigin(conn), termSafe(origin.CacheErr.Error()))
	case origin.CacheFile == "":
		r.say("%s: %s: %s; not kept: the credential cache is off (credential_cache: false or DSQLENV_CREDENTIAL_CACHE=off)", o.profile, credentialSource(conn), r.credentialOrigin(conn))
	default:
		r.say("%s: %s: %s; kept in %s for dsqlenv and the AWS CLI", o.profile, credentialSource(conn), r.credentialOrigin(conn), termSafe(origin.CacheFile))
	}
	return nil
}
