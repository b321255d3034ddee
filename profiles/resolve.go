package profiles

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/dsqlenv/dsqlenv/internal/text"
)

// Where a resolved setting came from, for `dsqlenv show`.
const (
	FromProfile  = "profile"
	FromDefaults = "defaults"
	FromEndpoint = "inferred from the endpoint"
	FromBuiltin  = "built-in default"
	FromSDK      = "AWS SDK (AWS_REGION or the AWS profile's region), read when minting"
	// FromClusterID is the source of an endpoint given as a bare cluster ID.
	FromClusterID = "expanded from the cluster ID and region"
	// FromARN is the source of an endpoint given as the cluster's ARN.
	FromARN = "read from the cluster ARN (cluster ID and region)"
	// FromPrivateLink is the source of the endpoint of a profile with vpc_endpoint:.
	FromPrivateLink = "the cluster's PrivateLink name, for vpc_endpoint:"
	// FromUnverified is the source of what privatelink: unverified sets: the endpoint (the VPC
	// endpoint itself), sslmode and options.
	FromUnverified = "privatelink: unverified"
)

// Root certificate keywords a profile may use instead of a file path.
const (
	RootSystem = "system" // the OS trust store; libpq 16+ only
	// RootAmazon, the default, is dsqlenv's bundled Amazon Root CA 1 to 4, written to a file
	// on demand and passed as its path, which every libpq reads (system needs libpq 16).
	RootAmazon = "amazon"
)

// Connection is a profile resolved into what libpq and the token signer need.
type Connection struct {
	Profile string
	Host    string
	// VPCEndpoint is vpc_endpoint: as written (a name or an address), "" for none; HostAddr
	// is the address it resolved to, filled by the command that writes the connection out
	// (ResolveVPCEndpoint), since Resolve does no network I/O. With one, Host is the
	// cluster's PrivateLink name: the token, the SNI and verify-full are for it, and clients
	// connect to HostAddr.
	VPCEndpoint, HostAddr string
	// Unverified is privatelink: unverified (see unverifiedPrivateLink): Host is the VPC
	// endpoint itself, TokenHost the cluster's public name, and nothing checks that the
	// certificate is the cluster's.
	Unverified bool
	// TokenHost is the name the token is signed for when it is not Host, "" otherwise
	// (SigningHost).
	TokenHost      string
	Port           int
	Database       string
	User           string
	SSLMode        string
	SSLRootCert    string // a file path, RootSystem or RootAmazon
	SSLNegotiation string // "direct", "postgres", or "" for libpq's default (postgres)
	Region         string // empty: ask the AWS SDK when minting
	ExpiresIn      time.Duration
	AWSProfile     string // empty: the SDK's default chain
	// Command, set instead of Profile by a command that talks to AWS with no profile (dsqlenv
	// clusters): credential messages name it, and AWSProfile as its --aws-profile.
	Command string
	// AWSProfileFrom, for messages: where AWSProfile was chosen, when not aws_profile: in the
	// profile (nor --aws-profile, with Command).
	AWSProfileFrom  string
	ApplicationName string
	ConnectTimeout  int // 0: not set
	Options         string
	DatabaseURL     string // the variable that gets the postgresql:// URL, "" for none
	// AWSProfileEnv and EnvAWSProfile: the environment variable that chooses the default
	// chain's AWS profile (AWS_PROFILE, else AWS_DEFAULT_PROFILE) and its value, set by
	// NoteEnvironment. Only messages use them: the SDK reads the variable itself.
	AWSProfileEnv, EnvAWSProfile string
	// AWSConfigFile is AWS_CONFIG_FILE as NoteEnvironment saw it, "" for the SDK's default
	// (~/.aws/config): messages name the file the profile is in.
	AWSConfigFile string
	// Settings lists every resolved setting with its source, in the documented order.
	Settings []Setting
	// Proxy is what `dsqlenv proxy` does for the profile unless its flags say otherwise: the
	// profile's proxy: block, each setting else from the defaults' one.
	Proxy ProxyFields

	// CredentialCache is the AWS CLI's credential cache directory, read and written for a
	// role or an SSO role; "" keeps dsqlenv out of it (credential_cache: false,
	// DSQLENV_CREDENTIAL_CACHE=off).
	CredentialCache string
	// RefreshCredentials fetches new credentials even when the cache holds fresh ones
	// (dsqlenv login).
	RefreshCredentials bool
	// Now is the clock the cache's expiry is judged by (nil: time.Now); Debugf, when set,
	// gets --debug lines about the cache.
	Now    func() time.Time
	Debugf func(format string, args ...any)
	// OnPrompt, when set, runs before an MFA code is asked for on the terminal.
	OnPrompt func()
	// Origin says where the credentials of the last MintWithSDK came from.
	Origin CredentialOrigin

	envKeys bool // both access keys are in the environment, as NoteEnvironment saw it
}

// NoteEnvironment records which AWS profile the environment chooses for the default chain, so
// a credentials error can name it and the variable that chose it, and turns the credential
// cache off for DSQLENV_CREDENTIAL_CACHE=off. getenv is the caller's view
// of the environment; nothing in this package reads it directly.
func (c *Connection) NoteEnvironment(getenv func(string) string) {
	c.AWSConfigFile = getenv("AWS_CONFIG_FILE")
	if strings.EqualFold(getenv("DSQLENV_CREDENTIAL_CACHE"), "off") {
		c.CredentialCache = ""
	}
	// The SDK takes each key from the first of its two names that is set (config's envConfig).
	c.envKeys = (getenv("AWS_ACCESS_KEY_ID") != "" || getenv("AWS_ACCESS_KEY") != "") &&
		(getenv("AWS_SECRET_ACCESS_KEY") != "" || getenv("AWS_SECRET_KEY") != "")
	for _, k := range []string{"AWS_PROFILE", "AWS_DEFAULT_PROFILE"} { // the SDK's order
		if v := getenv(k); v != "" {
			c.AWSProfileEnv, c.EnvAWSProfile = k, v
			return
		}
	}
}

// SignsWithEnvironmentKeys says whether the SDK signs with the access keys in the environment
// NoteEnvironment saw: both are set and no aws_profile: names a profile. The SDK's
// resolveCredentialChain (config/resolve_credentials.go) takes a profile given in code first,
// then the environment's keys, before AWS_PROFILE and the rest of the default chain. Such keys
// are never cached, so there is nothing to look up for them.
func (c *Connection) SignsWithEnvironmentKeys() bool { return c.AWSProfile == "" && c.envKeys }

// Setting is one resolved value and where it came from.
type Setting struct {
	Field  string
	Value  string
	Source string
	Line   int
}

// ClusterEndpoint is the public endpoint of cluster id in region.
func ClusterEndpoint(id, region string) string { return id + ".dsql." + region + ".on.aws" }

// Resolve merges a profile with the defaults and the built-in values and checks the result.
// home expands ~ in sslrootcert. It reads no AWS configuration.
func (f *File) Resolve(name, home string) (*Connection, error) {
	p, err := f.Lookup(name)
	if err != nil {
		return nil, err
	}
	c := &Connection{Profile: name}
	fail := func(line int, format string, args ...any) error {
		return &FileError{Path: f.Path, Line: line, Msg: fmt.Sprintf("profile %s: ", name) + fmt.Sprintf(format, args...)}
	}
	d := &f.Defaults
	pf := &p.Fields
	str := func(field string, own, def Field[string], builtin string, dst *string) {
		switch {
		case own.Set:
			*dst = own.Value
			c.Settings = append(c.Settings, Setting{field, own.Value, FromProfile, own.Line})
		case def.Set:
			*dst = def.Value
			c.Settings = append(c.Settings, Setting{field, def.Value, FromDefaults, def.Line})
		case builtin != "":
			*dst = builtin
			c.Settings = append(c.Settings, Setting{field, builtin, FromBuiltin, 0})
		}
	}
	num := func(field string, own, def Field[int], builtin int, dst *int) {
		switch {
		case own.Set:
			*dst = own.Value
			c.Settings = append(c.Settings, Setting{field, strconv.Itoa(own.Value), FromProfile, own.Line})
		case def.Set:
			*dst = def.Value
			c.Settings = append(c.Settings, Setting{field, strconv.Itoa(def.Value), FromDefaults, def.Line})
		case builtin != 0:
			*dst = builtin
			c.Settings = append(c.Settings, Setting{field, strconv.Itoa(builtin), FromBuiltin, 0})
		}
	}

	if !pf.Endpoint.Set {
		return nil, fail(p.Line, "endpoint is missing: add endpoint: <cluster id>.dsql.<region>.on.aws, or the bare cluster ID with region:")
	}
	str("endpoint", pf.Endpoint, Field[string]{}, "", &c.Host)

	inferred := RegionFromEndpoint(c.Host)
	arnID, arnRegion, isARN := ParseClusterARN(c.Host)
	if isARN {
		inferred = arnRegion
	}
	switch {
	case pf.Region.Set || d.Region.Set:
		str("region", pf.Region, d.Region, "", &c.Region)
		if inferred != "" && inferred != c.Region {
			line := pf.Region.Line
			if !pf.Region.Set {
				line = d.Region.Line
			}
			return nil, fail(line, "region %s contradicts the endpoint, which is in %s: a token signed for %s would never verify; remove region: or fix it", c.Region, inferred, c.Region)
		}
	case inferred != "":
		c.Region = inferred
		c.Settings = append(c.Settings, Setting{"region", inferred, FromEndpoint, pf.Endpoint.Line})
	default:
		c.Settings = append(c.Settings, Setting{"region", "", FromSDK, 0})
	}
	if isARN {
		c.Host = ClusterEndpoint(arnID, arnRegion)
		for i := range c.Settings {
			if c.Settings[i].Field == "endpoint" {
				c.Settings[i] = Setting{"endpoint", c.Host, FromARN, pf.Endpoint.Line}
			}
		}
	}
	if IsClusterID(c.Host) {
		// The SDK's region is known only when minting, too late for the host name.
		if c.Region == "" {
			return nil, fail(pf.Endpoint.Line, "endpoint %s is a bare cluster ID: add region: (such as us-east-1) to the profile or the defaults, or give the whole endpoint %s.dsql.<region>.on.aws", c.Host, c.Host)
		}
		c.Host = ClusterEndpoint(c.Host, c.Region)
		for i := range c.Settings {
			if c.Settings[i].Field == "endpoint" {
				c.Settings[i] = Setting{"endpoint", c.Host, FromClusterID, pf.Endpoint.Line}
			}
		}
	}

	str("vpc_endpoint", pf.VPCEndpoint, d.VPCEndpoint, "", &c.VPCEndpoint)
	if c.VPCEndpoint == "" && pf.PrivateLink.Set {
		return nil, fail(pf.PrivateLink.Line, "privatelink: %s needs vpc_endpoint: (the VPC endpoint's DNS name): add it, or remove privatelink:", pf.PrivateLink.Value)
	}
	if c.VPCEndpoint != "" {
		var mode string
		str("privatelink", pf.PrivateLink, d.PrivateLink, "", &mode)
		c.Unverified = mode == PrivateLinkUnverified
		if !c.Unverified {
			if err := c.privateLink(pf.Endpoint.Line, c.setting("vpc_endpoint").Line, fail); err != nil {
				return nil, err
			}
		}
	}

	str("user", pf.User, d.User, "admin", &c.User)
	str("database", pf.Database, d.Database, "postgres", &c.Database)
	num("port", pf.Port, d.Port, 5432, &c.Port)
	str("sslmode", pf.SSLMode, d.SSLMode, "verify-full", &c.SSLMode)
	str("sslrootcert", pf.SSLRootCert, d.SSLRootCert, RootAmazon, &c.SSLRootCert)
	// No built-in value: libpq's own default (postgres, an SSLRequest first) is what every
	// driver reads alike. direct, when the file asks for it, saves a round trip, but libpq
	// before 17 rejects the keyword, and lib/pq (1.12.3 and older) obeys PGSSLNEGOTIATION
	// without sending ALPN, which PostgreSQL 17+ and DSQL refuse (lib/pq#1331).
	str("sslnegotiation", pf.SSLNegotiation, d.SSLNegotiation, "", &c.SSLNegotiation)

	switch {
	case pf.ExpiresIn.Set:
		c.ExpiresIn = pf.ExpiresIn.Value
		c.Settings = append(c.Settings, Setting{"expires_in", text.FormatDuration(c.ExpiresIn), FromProfile, pf.ExpiresIn.Line})
	case d.ExpiresIn.Set:
		c.ExpiresIn = d.ExpiresIn.Value
		c.Settings = append(c.Settings, Setting{"expires_in", text.FormatDuration(c.ExpiresIn), FromDefaults, d.ExpiresIn.Line})
	default:
		c.ExpiresIn = 15 * time.Minute
		c.Settings = append(c.Settings, Setting{"expires_in", text.FormatDuration(c.ExpiresIn), FromBuiltin, 0})
	}

	str("aws_profile", pf.AWSProfile, d.AWSProfile, "", &c.AWSProfile)
	str("application_name", pf.ApplicationName, d.ApplicationName, "", &c.ApplicationName)
	num("connect_timeout", pf.ConnectTimeout, d.ConnectTimeout, 0, &c.ConnectTimeout)
	str("options", pf.Options, d.Options, "", &c.Options)
	str("database_url", pf.DatabaseURL, d.DatabaseURL, "", &c.DatabaseURL)
	if c.Unverified {
		if err := c.unverifiedPrivateLink(pf.Endpoint.Line, fail); err != nil {
			return nil, err
		}
	}
	cache := true
	switch {
	case pf.CredentialCache.Set:
		cache = pf.CredentialCache.Value
		c.Settings = append(c.Settings, Setting{"credential_cache", strconv.FormatBool(cache), FromProfile, pf.CredentialCache.Line})
	case d.CredentialCache.Set:
		cache = d.CredentialCache.Value
		c.Settings = append(c.Settings, Setting{"credential_cache", strconv.FormatBool(cache), FromDefaults, d.CredentialCache.Line})
	}
	if cache {
		c.CredentialCache = CredentialCacheDir(home)
	}
	c.Proxy = resolveProxy(pf.Proxy.Value, d.Proxy.Value)

	rootLine := c.setting("sslrootcert").Line
	switch c.SSLRootCert {
	case RootSystem:
		// libpq 16+ refuses sslrootcert=system with a weaker sslmode
		// ("weak sslmode ... may not be used with sslrootcert=system").
		if c.SSLMode != "verify-full" {
			return nil, fail(c.setting("sslmode").Line, "sslmode %s cannot be used with sslrootcert: system (libpq 16+ refuses the pair): use sslmode: verify-full, or give sslrootcert a CA file", c.SSLMode)
		}
	case RootAmazon:
	default:
		// A relative path is taken relative to the profiles file, never to the directory
		// psql happens to run in later, and written out absolute everywhere.
		c.SSLRootCert = ExpandHome(c.SSLRootCert, home)
		if !filepath.IsAbs(c.SSLRootCert) {
			dir, err := filepath.Abs(filepath.Dir(f.Path))
			if err != nil {
				return nil, fail(rootLine, "sslrootcert %s: %v", c.SSLRootCert, err)
			}
			c.SSLRootCert = filepath.Join(dir, c.SSLRootCert)
		}
		st, err := os.Stat(c.SSLRootCert)
		switch {
		case err != nil:
			return nil, fail(rootLine, "sslrootcert %s does not exist: give the path of a PEM file, or leave sslrootcert out for the bundled Amazon roots (amazon)", c.SSLRootCert)
		case st.IsDir():
			return nil, fail(rootLine, "sslrootcert %s is a directory: give the path of a PEM file", c.SSLRootCert)
		}
		for i := range c.Settings {
			if c.Settings[i].Field == "sslrootcert" {
				c.Settings[i].Value = c.SSLRootCert
			}
		}
	}
	return c, nil
}

// privateLink makes Host the cluster's PrivateLink name <cluster id>.dsql-<svc>.<region>.on.aws,
// for a connection through VPCEndpoint without private DNS: the name DSQL's certificate holds
// and routes by (AWS DSQL user guide, "Managing Aurora DSQL clusters with AWS PrivateLink"),
// so that clients keep verify-full while they connect to the endpoint's address. The
// dsql-<svc> label comes from the endpoint when it is already a PrivateLink name, else from
// the VPC endpoint's own name, vpce-….dsql-<svc>.<region>.vpce.amazonaws.com.
func (c *Connection) privateLink(endpointLine, vpcLine int, fail func(int, string, ...any) error) error {
	id, label, region, ok := dsqlName(c.Host)
	if !ok {
		return fail(endpointLine, "endpoint %s is not a DSQL cluster endpoint, which vpc_endpoint: needs: give <cluster id>.dsql.<region>.on.aws, the cluster's ARN, or its ID with region:", c.Host)
	}
	vLabel, vRegion, named := vpceName(c.VPCEndpoint)
	switch {
	case named && !strings.EqualFold(vRegion, region):
		return fail(vpcLine, "vpc_endpoint %s is in %s, but the cluster %s is in %s: give the VPC endpoint of the cluster's region", c.VPCEndpoint, vRegion, c.Host, region)
	case label == "dsql" && !named:
		return fail(vpcLine, "vpc_endpoint %s does not name the cluster's endpoint service (dsql-<svc>), and endpoint %s is the public name: give vpc_endpoint as the endpoint's DNS name vpce-….dsql-<svc>.<region>.vpce.amazonaws.com, or endpoint as the cluster's PrivateLink name <cluster id>.dsql-<svc>.<region>.on.aws (aws dsql get-vpc-endpoint-service-name --identifier <cluster id> names the service)", c.VPCEndpoint, c.Host)
	case label == "dsql":
		label = vLabel
	case named && !strings.EqualFold(vLabel, label):
		return fail(vpcLine, "vpc_endpoint %s is for the service %s, but endpoint %s is for %s: give the VPC endpoint of the cluster's own service", c.VPCEndpoint, vLabel, c.Host, label)
	}
	host := strings.ToLower(id + "." + label + "." + region + ".on.aws")
	if host != strings.ToLower(c.Host) {
		c.Host = host
		for i := range c.Settings {
			if c.Settings[i].Field == "endpoint" {
				c.Settings[i].Value, c.Settings[i].Source = host, FromPrivateLink
			}
		}
	}
	return nil
}

// unverifiedPrivateLink is AWS's own route through a VPC endpoint without private DNS (AWS DSQL
// user guide, "Managing Aurora DSQL clusters with AWS PrivateLink"), reached only with
// privatelink: unverified: clients connect to the VPC endpoint by its own name, the token is
// signed for the cluster's public name, options carry -c amzn-cluster-id=<cluster id> (how
// DSQL tells the cluster), and sslmode is require, since the endpoint's name is not in the
// cluster's certificate (AWS: verify-full "is not supported" there). libpq then still checks
// the chain against sslrootcert when it names a file (require with a root file acts as
// verify-ca), but never the name.
func (c *Connection) unverifiedPrivateLink(endpointLine int, fail func(int, string, ...any) error) error {
	id, _, region, ok := dsqlName(c.Host)
	if !ok {
		return fail(endpointLine, "endpoint %s is not a DSQL cluster endpoint, which vpc_endpoint: needs: give <cluster id>.dsql.<region>.on.aws, the cluster's ARN, or its ID with region:", c.Host)
	}
	vpcLine := c.setting("vpc_endpoint").Line
	if _, vRegion, named := vpceName(c.VPCEndpoint); named && !strings.EqualFold(vRegion, region) {
		return fail(vpcLine, "vpc_endpoint %s is in %s, but the cluster %s is in %s: give the VPC endpoint of the cluster's region", c.VPCEndpoint, vRegion, c.Host, region)
	}
	if sm := c.setting("sslmode"); sm.Source != FromBuiltin && sm.Value != "require" {
		return fail(sm.Line, "sslmode %s cannot hold with privatelink: unverified: the VPC endpoint's name %s is not in the cluster's certificate: remove sslmode: (unverified uses require), or remove privatelink: unverified to keep verify-full through the endpoint's address", sm.Value, c.VPCEndpoint)
	}
	c.TokenHost = ClusterEndpoint(strings.ToLower(id), strings.ToLower(region))
	c.Host, c.SSLMode = c.VPCEndpoint, "require"
	c.Options = strings.TrimSpace("-c amzn-cluster-id=" + strings.ToLower(id) + " " + c.Options)
	c.override("endpoint", c.Host, endpointLine)
	if sm := c.setting("sslmode"); sm.Source == FromBuiltin {
		c.override("sslmode", c.SSLMode, c.setting("privatelink").Line)
	}
	c.override("options", c.Options, c.setting("privatelink").Line)
	return nil
}

// override sets field's resolved value to value, from privatelink: unverified.
func (c *Connection) override(field, value string, line int) {
	for i := range c.Settings {
		if c.Settings[i].Field == field {
			c.Settings[i] = Setting{field, value, FromUnverified, line}
			return
		}
	}
	c.Settings = append(c.Settings, Setting{field, value, FromUnverified, line})
}

// UnverifiedWarning is what every command that writes out a privatelink: unverified
// connection says, and show and doctor too.
func (c *Connection) UnverifiedWarning() string {
	return fmt.Sprintf("profile %s: privatelink: unverified: clients connect to %s with sslmode require, and nothing checks that the server is the cluster %s (AWS's route through a VPC endpoint without private DNS; the certificate's name is not checked): remove privatelink: to keep verify-full through the endpoint's address",
		c.Profile, c.Host, c.TokenHost)
}

// SigningHost is the name tokens are signed for: TokenHost, else Host.
func (c *Connection) SigningHost() string { return cmp.Or(c.TokenHost, c.Host) }

// ResolveVPCEndpoint sets HostAddr to the address of VPCEndpoint, looked up with lookup when
// it is a name (the first address: libpq takes one hostaddr for one host); file names the
// profiles file in the error.
func (c *Connection) ResolveVPCEndpoint(ctx context.Context, file string, lookup func(context.Context, string) ([]string, error)) error {
	if c.Unverified {
		return nil // the VPC endpoint is Host: clients look it up themselves
	}
	if ip := net.ParseIP(c.VPCEndpoint); ip != nil || c.VPCEndpoint == "" {
		c.HostAddr = c.VPCEndpoint
		return nil
	}
	addrs, err := lookup(ctx, c.VPCEndpoint)
	if err == nil && len(addrs) == 0 {
		err = errors.New("no address")
	}
	if err != nil {
		return &FileError{Path: file, Line: c.setting("vpc_endpoint").Line, Msg: fmt.Sprintf(
			"profile %s: vpc_endpoint %s does not resolve (%v): check the name (the VPC endpoint's DNS name, in the VPC console) and that this machine uses a resolver that knows it, or give the endpoint's IP address", c.Profile, c.VPCEndpoint, err)}
	}
	c.HostAddr = addrs[0]
	return nil
}

// dsqlName splits a cluster endpoint, <cluster id>.<label>.<region>.on.aws with a label of
// dsql (public) or dsql-<svc> (PrivateLink), into its parts.
func dsqlName(host string) (id, label, region string, ok bool) {
	parts := strings.Split(strings.TrimSuffix(host, "."), ".")
	if len(parts) != 5 || !strings.EqualFold(parts[3]+"."+parts[4], "on.aws") || !IsClusterID(strings.ToLower(parts[0])) ||
		!strings.EqualFold(parts[1], "dsql") && !strings.HasPrefix(strings.ToLower(parts[1]), "dsql-") {
		return "", "", "", false
	}
	return parts[0], strings.ToLower(parts[1]), strings.ToLower(parts[2]), true
}

// vpceName reads the endpoint service label and region from a VPC endpoint's DNS name,
// vpce-<id>.dsql-<svc>.<region>.vpce.amazonaws.com; ok is false for any other name or an
// address.
func vpceName(name string) (label, region string, ok bool) {
	parts := strings.Split(strings.ToLower(strings.TrimSuffix(name, ".")), ".")
	if len(parts) != 6 || !strings.HasPrefix(parts[0], "vpce-") || !strings.HasPrefix(parts[1], "dsql-") ||
		!isRegion(parts[2]) || parts[3]+"."+parts[4]+"."+parts[5] != "vpce.amazonaws.com" {
		return "", "", false
	}
	return parts[1], parts[2], true
}

// Explicit reports whether the profiles file sets field, in the profile or its defaults, rather
// than leaving it to dsqlenv's built-in value.
func (c *Connection) Explicit(field string) bool {
	src := c.setting(field).Source
	return src == FromProfile || src == FromDefaults
}

func (c *Connection) setting(field string) Setting {
	for _, s := range c.Settings {
		if s.Field == field {
			return s
		}
	}
	return Setting{}
}

// Summary is what `dsqlenv list` shows of a profile; it checks nothing and never fails.
type Summary struct {
	Host, User, Region string
}

// Summary merges a profile's endpoint, user and region with the defaults, without validation.
func (f *File) Summary(p *Profile) Summary {
	s := Summary{Host: p.Fields.Endpoint.Value, User: "admin"}
	if f.Defaults.User.Set {
		s.User = f.Defaults.User.Value
	}
	if p.Fields.User.Set {
		s.User = p.Fields.User.Value
	}
	switch {
	case p.Fields.Region.Set:
		s.Region = p.Fields.Region.Value
	case f.Defaults.Region.Set:
		s.Region = f.Defaults.Region.Value
	default:
		s.Region = RegionFromEndpoint(s.Host)
	}
	if id, region, ok := ParseClusterARN(s.Host); ok {
		s.Host, s.Region = ClusterEndpoint(id, region), region
	}
	if IsClusterID(s.Host) && s.Region != "" {
		s.Host = ClusterEndpoint(s.Host, s.Region)
	}
	return s
}

// configFileName is how messages name the AWS config file: AWS_CONFIG_FILE when it is set
// (file), else the SDK's default.
func configFileName(file string) string {
	if file == "" {
		return "~/.aws/config"
	}
	return file
}
