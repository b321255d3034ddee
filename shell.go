package main

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/urfave/cli/v2"

	"github.com/dsqlenv/dsqlenv/emit"
	"github.com/dsqlenv/dsqlenv/profiles"
)

// clearVars are removed before anything is set: a service file's values override the
// environment (so a stale PGSERVICE would redirect psql), and PGHOSTADDR bypasses the host
// name that verify-full checks (libpq documentation, "Environment Variables").
var clearVars = []string{"PGSERVICE", "PGHOSTADDR"}

// varField maps each variable to the profile field it comes from, for error messages.
var varField = map[string]string{
	"PGHOST": "endpoint", "PGPORT": "port", "PGDATABASE": "database", "PGUSER": "user",
	"PGSSLMODE": "sslmode", "PGSSLROOTCERT": "sslrootcert", "PGPASSWORD": "the token",
	"PGAPPNAME": "application_name", "PGCONNECT_TIMEOUT": "connect_timeout", "PGOPTIONS": "options",
	"DSQLENV_PROFILE": "the profile name", "DSQLENV_EXPIRES_AT": "the token's expiry",
}

// minted is a connection with its freshly signed token.
type minted struct {
	conn  *profiles.Connection
	token string
	info  profiles.TokenInfo
}

// connVars is the ordered list of variables a block sets.
func connVars(m *minted, rootCert string) []emit.Var {
	c := m.conn
	vars := []emit.Var{
		{Name: "PGHOST", Value: c.Host},
		{Name: "PGPORT", Value: strconv.Itoa(c.Port)},
		{Name: "PGDATABASE", Value: c.Database},
		{Name: "PGUSER", Value: c.User},
		{Name: "PGSSLMODE", Value: c.SSLMode},
		{Name: "PGSSLROOTCERT", Value: rootCert},
		{Name: "PGPASSWORD", Value: m.token},
	}
	if c.ApplicationName != "" {
		vars = append(vars, emit.Var{Name: "PGAPPNAME", Value: c.ApplicationName})
	}
	if c.ConnectTimeout != 0 {
		vars = append(vars, emit.Var{Name: "PGCONNECT_TIMEOUT", Value: strconv.Itoa(c.ConnectTimeout)})
	}
	if c.Options != "" {
		vars = append(vars, emit.Var{Name: "PGOPTIONS", Value: c.Options})
	}
	return append(vars,
		emit.Var{Name: "DSQLENV_PROFILE", Value: c.Profile},
		emit.Var{Name: "DSQLENV_EXPIRES_AT", Value: strconv.FormatInt(m.info.ExpiresAt.Unix(), 10)},
	)
}

// resolveAndMint loads the profile and signs its token, warning on stderr when the
// credentials cut the token's life short.
func resolveAndMint(s settings, e *Env, name string) (*minted, error) {
	f, err := s.loadProfiles(e)
	if err != nil {
		return nil, err
	}
	conn, err := f.Resolve(name, homeDir())
	if err != nil {
		return nil, err
	}
	return mint(s, e, conn)
}

func mint(s settings, e *Env, conn *profiles.Connection) (*minted, error) {
	if s.err != nil {
		return nil, s.err
	}
	timeout := s.timeout
	ctx, cancel := context.WithTimeout(s.ctx, timeout)
	defer cancel()
	s.debugf(e, "profile %s: signing for %s in %s as %s, asking %s", conn.Profile, conn.Host, orSDK(conn.Region), conn.User, profiles.FormatDuration(conn.ExpiresIn))
	tok, err := e.Mint(ctx, conn)
	if err != nil {
		if errors.Is(err, context.DeadlineExceeded) {
			return nil, fmt.Errorf("profile %s: getting AWS credentials took longer than %s: check credential_process or SSO settings of the aws profile, or raise --timeout", conn.Profile, profiles.FormatDuration(timeout))
		}
		return nil, err
	}
	info, err := profiles.ParseToken(tok)
	if err != nil {
		return nil, fmt.Errorf("profile %s: the signer returned an unreadable token: %v", conn.Profile, err)
	}
	s.debugf(e, "token %s", profiles.Redact(tok))
	if info.Lifetime+time.Second < conn.ExpiresIn {
		who := "the default credential chain"
		if conn.AWSProfile != "" {
			who = "profile " + conn.AWSProfile
		}
		left := info.ExpiresAt.Sub(e.Now()).Round(time.Second)
		fmt.Fprintf(e.Stderr, "dsqlenv: token expires in %s, not %s: the AWS session for %s ends first\n",
			profiles.FormatDuration(left), profiles.FormatDuration(conn.ExpiresIn), who)
	}
	return &minted{conn: conn, token: tok, info: info}, nil
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
			profile, varField[ve.Var], ve.Var, ve.Reason, dialect)
	}
	return err
}

func shellCommands(e *Env) []*cli.Command {
	var cmds []*cli.Command
	for _, name := range emit.Names() {
		cmds = append(cmds, shellCommand(e, name))
	}
	return cmds
}

func shellCommand(e *Env, name string) *cli.Command {
	shell, _ := emit.ForShell(name)
	fail := func(err error) error {
		if err != nil {
			fmt.Fprint(e.Stdout, shell.Failure())
		}
		return err
	}
	return &cli.Command{
		Name:        name,
		Usage:       "print " + shellTitle[name] + " code that sets the libpq variables for PROFILE",
		ArgsUsage:   "PROFILE",
		Category:    "Shells",
		Description: shellHelp(name),
		Flags: withTokenFlags(&cli.BoolFlag{Name: "unset",
			Usage: "print code that removes every variable a block sets; takes no PROFILE and reads no file"}),
		OnUsageError: func(_ *cli.Context, err error, _ bool) error {
			return fail(usagef("%s: %s (see dsqlenv %s --help)", name, err, name))
		},
		Action: func(c *cli.Context) error { return fail(shellAction(c, e, name, shell)) },
	}
}

// blockVars is every variable a block may set, in the order blocks set them.
var blockVars = []string{"PGHOST", "PGPORT", "PGDATABASE", "PGUSER", "PGSSLMODE", "PGSSLROOTCERT", "PGPASSWORD",
	"PGAPPNAME", "PGCONNECT_TIMEOUT", "PGOPTIONS", "DSQLENV_PROFILE", "DSQLENV_EXPIRES_AT"}

func runUnset(e *Env, dialect string, shell emit.Shell) error {
	if dialect == "env" || dialect == "json" {
		return usagef("%s --unset: %s output only sets variables; nothing can be removed with it", dialect, shellTitle[dialect])
	}
	out, err := shell.Render(emit.Block{Unset: blockVars})
	if err != nil {
		return err
	}
	_, err = e.Stdout.Write(out)
	return err
}

func shellAction(c *cli.Context, e *Env, dialect string, shell emit.Shell) error {
	if c.Bool("unset") {
		if c.NArg() > 0 {
			return usagef("%s --unset takes no PROFILE, got %s", dialect, strings.Join(c.Args().Slice(), " "))
		}
		return runUnset(e, dialect, shell)
	}
	name, err := oneArg(c, "PROFILE")
	if err != nil {
		return err
	}
	return runShell(settingsOf(c, e), e, dialect, shell, name)
}

func runShell(s settings, e *Env, dialect string, shell emit.Shell, name string) error {
	m, err := resolveAndMint(s, e, name)
	if err != nil {
		return err
	}
	root, err := rootCertFor(m.conn, emit.IsWindows(dialect))
	if err != nil {
		return err
	}
	out, err := shell.Render(emit.Block{Unset: clearVars, Set: connVars(m, root.path)})
	if err != nil {
		return renderError(name, dialect, err)
	}
	if err := root.ensure(); err != nil {
		return err
	}
	if _, err = e.Stdout.Write(out); err != nil {
		return err
	}
	fmt.Fprint(e.Stderr, root.note)
	return nil
}

var shellTitle = map[string]string{
	"bash": "bash", "zsh": "zsh", "sh": "POSIX sh", "fish": "fish", "powershell": "PowerShell",
	"pwsh": "PowerShell", "cmd": "cmd.exe", "bat": "batch file", "env": "env-file", "json": "JSON",
}

// shellUse is the example line of each dialect's help.
func shellUse(name string) string {
	switch name {
	case "fish":
		return `dsqlenv fish prod | source; and psql`
	case "powershell", "pwsh":
		return `dsqlenv ` + name + ` prod | iex; psql`
	case "cmd":
		return `for /f "delims=" %i in ('dsqlenv cmd prod') do @%i` + "\n   (in a batch file write %%i)"
	case "bat":
		return "dsqlenv bat prod > env.bat\n   call env.bat"
	case "env":
		return "dsqlenv env prod > prod.env\n   docker run --env-file prod.env postgres psql"
	case "json":
		return "dsqlenv json prod | jq -r .PGPASSWORD"
	}
	return `eval "$(dsqlenv ` + name + ` prod)" && psql`
}

func shellHelp(name string) string {
	use := shellUse(name)
	text := `Mints a fresh IAM auth token for PROFILE and prints ` + shellTitle[name] + ` code that sets
PGHOST, PGPORT, PGDATABASE, PGUSER, PGSSLMODE, PGSSLROOTCERT and PGPASSWORD (plus
PGAPPNAME, PGCONNECT_TIMEOUT and PGOPTIONS when the profile sets them),
DSQLENV_PROFILE and DSQLENV_EXPIRES_AT (Unix seconds).`
	switch name {
	case "env", "json":
		text += "\nIt sets variables only and clears nothing."
	default:
		text += "\nIt first removes PGSERVICE and PGHOSTADDR, which would redirect the connection."
	}
	switch name {
	case "bash", "zsh", "sh", "fish":
		text += "\nOn failure it prints only \"false\", so the eval fails too."
	}
	if name == "bash" || name == "zsh" || name == "sh" {
		text += "\nKeep the double quotes around $(...): unquoted, the ? in a token is a glob."
	}
	if name != "env" && name != "json" {
		text += "\nWith --unset it prints code that removes all of them again (no PROFILE)."
	}
	return text + "\n\nExamples:\n   " + use
}
