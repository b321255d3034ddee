package cli

import (
	"context"
	"fmt"
	"strconv"
	"text/tabwriter"

	"github.com/urfave/cli/v2"

	"github.com/dsqlenv/dsqlenv/internal/text"
	"github.com/dsqlenv/dsqlenv/profiles"
)

// showOptions are what `dsqlenv show` is told on its command line.
type showOptions struct {
	global
	profile string
}

func newShowCommand(r *run) *cli.Command {
	var o showOptions
	return &cli.Command{
		Name:      "show",
		Category:  "Commands",
		Usage:     "show every resolved setting of PROFILE and where it came from",
		ArgsUsage: "PROFILE",
		Description: `Prints each setting with its source: the profile, defaults, inferred from
the endpoint, or a built-in default. Never prints a token.

Examples:
   dsqlenv show prod`,
		Action: func(c *cli.Context) error {
			var err error
			if o.profile, err = oneArg(c, "PROFILE"); err != nil {
				return err
			}
			o.global = r.globals()
			return runShow(c.Context, r, o)
		},
	}
}

func runShow(ctx context.Context, r *run, o showOptions) error {
	name := o.profile
	f, err := o.loadProfiles()
	if err != nil {
		return err
	}
	conn, err := f.Resolve(name, r.Paths.Home)
	if err != nil {
		return err
	}
	tw := tabwriter.NewWriter(&r.out, 0, 4, 2, ' ', 0)
	fmt.Fprintf(tw, "profile %s (%s)\n", name, termSafe(f.Path))
	for _, s := range conn.Settings {
		src := s.Source
		if s.Line > 0 {
			src = fmt.Sprintf("%s, line %d", src, s.Line)
		}
		fmt.Fprintf(tw, "  %s\t%s\t%s\n", s.Field, dash(s.Value), src)
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	fmt.Fprintf(&r.out, "dsqlenv proxy %s without flags (its proxy: block)\n", termSafe(name))
	for _, s := range proxySettingsOf(f, name, r.GOOS) {
		fmt.Fprintf(tw, "  %s\t%s\t%s\n", s.Field, dash(s.Value), s.Source)
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	if conn.Unverified {
		fmt.Fprintf(&r.out, "warning: %s\n", termSafe(conn.UnverifiedWarning()))
	}
	// Which AWS identity signs, and why: the profile's aws_profile:, else the variable the SDK
	// reads, else its default chain.
	conn.NoteEnvironment(r.Getenv)
	switch {
	case conn.AWSProfile != "":
		fmt.Fprintf(&r.out, "note: tokens are signed with AWS profile %s (aws_profile: in the profiles file; AWS_PROFILE does not override it)\n", termSafe(conn.AWSProfile))
	case conn.AWSProfileEnv != "":
		fmt.Fprintf(&r.out, "note: tokens are signed with AWS profile %s (from %s)\n", termSafe(conn.EnvAWSProfile), conn.AWSProfileEnv)
	default:
		fmt.Fprintln(&r.out, "note: tokens are signed with the AWS SDK's default credentials (no aws_profile:, no AWS_PROFILE): environment keys, then the default profile, then instance metadata")
	}
	// A role's or SSO role's credentials: whether the AWS CLI's cache holds them, read
	// without calling STS or SSO. Keys in the environment have nothing cached, and loading the
	// AWS configuration only to find that out costs show a tenth of its start-up (BENCHMARKS.md).
	conn.Now = r.Now
	if conn.SignsWithEnvironmentKeys() {
		// No note: the keys sign every mint as they are.
	} else if sg, err := profiles.NewSigner(ctx, conn); err == nil {
		conn.Origin = sg.Peek()
		sg.Close()
		switch o := conn.Origin; {
		case o.Cached:
			fmt.Fprintf(&r.out, "note: credentials: %s\n", r.credentialOrigin(conn))
		case o.Via != "" && o.CacheFile != "":
			fmt.Fprintf(&r.out, "note: credentials: %s, not cached: the next mint calls it and keeps the answer in %s (dsqlenv login %s does it now)\n", o.Via, termSafe(o.CacheFile), termSafe(name))
		case o.Via != "":
			fmt.Fprintf(&r.out, "note: credentials: %s at every mint: the credential cache is off (credential_cache: false or DSQLENV_CREDENTIAL_CACHE=off)\n", o.Via)
		}
	}
	if conn.SSLRootCert == profiles.RootAmazon {
		fmt.Fprintf(&r.out, "note: sslrootcert amazon is Amazon Root CA 1 to 4, bundled, written to %s when a block needs it\n", termSafe(r.amazonRootPath()))
	}
	// See the sslnegotiation row in libpq.go.
	switch conn.SSLNegotiation {
	case "direct":
		fmt.Fprintln(&r.out, "note: sslnegotiation direct saves a round trip with libpq 17+, but fails elsewhere: libpq before 17 rejects the keyword in service files and URLs (\"syntax error in service file\", \"invalid URI query parameter\"), and lib/pq 1.12.3 and older, which reads PGSSLNEGOTIATION too, sends no ALPN, so PostgreSQL 17+ and DSQL close the connection (lib/pq#1331)")
	case "":
		fmt.Fprintln(&r.out, "note: sslnegotiation is not set, so clients start TLS with an SSLRequest (libpq's default, postgres), while dsqlenv proxy connects with direct TLS (ALPN postgresql, a round trip fewer); sslnegotiation: direct saves clients that round trip with libpq 17+ (see dsqlenv doctor)")
	case "postgres":
		fmt.Fprintln(&r.out, "note: sslnegotiation postgres: clients and dsqlenv proxy both start TLS with an SSLRequest")
	}
	if r.Getenv("PGPASSWORD") != "" {
		fmt.Fprintln(&r.out, "note: PGPASSWORD is set in this environment: libpq uses it before any password file (passfile=, PGPASSFILE)")
	}
	return nil
}

// proxySettingsOf lists what `dsqlenv proxy` does for the profile without flags: each setting
// of the proxy: block from the profile's own block, else the defaults' one, else the proxy's
// built-in default.
func proxySettingsOf(f *profiles.File, name, goos string) []profiles.Setting {
	var own profiles.ProxyFields
	for _, p := range f.Profiles {
		if p.Name == name {
			own = p.Fields.Proxy.Value
		}
	}
	def := f.Defaults.Proxy.Value
	dur := text.FormatDuration
	listenNote := "the Unix socket only"
	if !proxySockets(goos) {
		listenNote = "none: " + noProxySocket(goos)
	}
	return []profiles.Setting{
		proxySetting("listen", own.Listen, def.Listen, func(v string) string { return v }, "", listenNote),
		proxySetting("warm", own.Warm, def.Warm, strconv.Itoa, "0", "none opened ahead"),
		proxySetting("warm_age", own.WarmAge, def.WarmAge, dur, dur(profiles.DefaultWarmAge), ""),
		proxySetting("drain", own.Drain, def.Drain, dur, dur(profiles.DefaultDrain), ""),
	}
}

// proxySetting is one row of proxySettingsOf, its source with the line as show prints one.
func proxySetting[T any](field string, own, def profiles.Field[T], format func(T) string, builtin, note string) profiles.Setting {
	s := profiles.Setting{Field: field, Value: builtin, Source: profiles.FromBuiltin}
	switch {
	case own.Set:
		s.Value, s.Source = format(own.Value), fmt.Sprintf("%s, line %d", profiles.FromProfile, own.Line)
	case def.Set:
		s.Value, s.Source = format(def.Value), fmt.Sprintf("%s, line %d", profiles.FromDefaults, def.Line)
	case note != "":
		s.Source += " (" + note + ")"
	}
	return s
}
