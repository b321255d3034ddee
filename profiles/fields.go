package profiles

import (
	"fmt"
	"math"
	"net"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"time"

	"gopkg.in/yaml.v3"

	"github.com/dsqlenv/dsqlenv/internal/libpq"
	"github.com/dsqlenv/dsqlenv/internal/text"
)

// MaxExpiresIn is the longest token life DSQL accepts: one week (AWS DSQL user guide,
// "Generating an authentication token").
const MaxExpiresIn = 604800 * time.Second

// Fields holds one profile's settings, or the defaults, as written in the file. Each field
// remembers its line so errors and `dsqlenv show` can point at it.
type Fields struct {
	Endpoint        Field[string]
	VPCEndpoint     Field[string]
	PrivateLink     Field[string]
	Region          Field[string]
	User            Field[string]
	Database        Field[string]
	Port            Field[int]
	SSLMode         Field[string]
	SSLRootCert     Field[string]
	SSLNegotiation  Field[string]
	ExpiresIn       Field[time.Duration]
	AWSProfile      Field[string]
	ApplicationName Field[string]
	ConnectTimeout  Field[int]
	Options         Field[string]
	DatabaseURL     Field[string]
	CredentialCache Field[bool]
	Proxy           Field[ProxyFields]
}

// Field is one setting: its value, whether the file set it, and on which line.
type Field[T any] struct {
	Value T
	Set   bool
	Line  int
}

// fieldDecoders maps each YAML key to the function that checks and stores its value. The
// order of FieldNames follows the documentation of the file format. A libpq setting's value
// is checked by its row in the libpq table (libpq.Setting.Check), which UnmarshalYAML hands
// the decoder (rowCheck); endpoint's by checkEndpoint instead, which knows DSQL's cluster
// IDs and ARNs, and vpc_endpoint's by checkVPCEndpoint, which knows host names.
var fieldDecoders = map[string]func(f *Fields, n *yaml.Node, c check) error{
	"endpoint":         func(f *Fields, n *yaml.Node, _ check) error { return decodeString(&f.Endpoint, n, checkEndpoint) },
	"vpc_endpoint":     func(f *Fields, n *yaml.Node, _ check) error { return decodeString(&f.VPCEndpoint, n, checkVPCEndpoint) },
	"privatelink":      func(f *Fields, n *yaml.Node, _ check) error { return decodeString(&f.PrivateLink, n, checkPrivateLink) },
	"region":           func(f *Fields, n *yaml.Node, _ check) error { return decodeString(&f.Region, n, checkRegion) },
	"user":             func(f *Fields, n *yaml.Node, c check) error { return decodeString(&f.User, n, c) },
	"database":         func(f *Fields, n *yaml.Node, c check) error { return decodeString(&f.Database, n, c) },
	"port":             func(f *Fields, n *yaml.Node, c check) error { return decodeInt(&f.Port, n, c) },
	"sslmode":          func(f *Fields, n *yaml.Node, c check) error { return decodeString(&f.SSLMode, n, c) },
	"sslrootcert":      func(f *Fields, n *yaml.Node, c check) error { return decodeString(&f.SSLRootCert, n, c) },
	"sslnegotiation":   func(f *Fields, n *yaml.Node, c check) error { return decodeString(&f.SSLNegotiation, n, c) },
	"expires_in":       func(f *Fields, n *yaml.Node, _ check) error { return decodeExpiresIn(&f.ExpiresIn, n) },
	"aws_profile":      func(f *Fields, n *yaml.Node, _ check) error { return decodeString(&f.AWSProfile, n, nil) },
	"application_name": func(f *Fields, n *yaml.Node, c check) error { return decodeString(&f.ApplicationName, n, c) },
	"connect_timeout":  func(f *Fields, n *yaml.Node, c check) error { return decodeInt(&f.ConnectTimeout, n, c) },
	"options":          func(f *Fields, n *yaml.Node, c check) error { return decodeString(&f.Options, n, c) },
	"database_url":     func(f *Fields, n *yaml.Node, c check) error { return decodeString(&f.DatabaseURL, n, c) },
	"credential_cache": func(f *Fields, n *yaml.Node, _ check) error { return decodeBool(&f.CredentialCache, n) },
	"proxy":            func(f *Fields, n *yaml.Node, _ check) error { return decodeProxy(&f.Proxy, n) },
}

// check says why a value cannot be used, or returns "". nil takes any value.
type check = func(value string) string

// rowCheck is the check of field's row in the libpq table, nil when it has none or no row.
// TestEveryLibpqFieldHasARow holds the fields to the table's rows, both ways.
func rowCheck(field string) check {
	if row := libpq.ByField(field); row != nil {
		return row.Check
	}
	return nil
}

// fieldAliases are the names other tools (libpq, psql, the AWS CLI, connection URLs) give a
// field, which spelling distance would map to the wrong one (host is two edits from port).
var fieldAliases = map[string]string{
	"host":     "endpoint",
	"hostname": "endpoint",
	"username": "user",
	"dbname":   "database",
	"profile":  "aws_profile",
}

// FieldNames lists the keys a profile may hold, in the documented order.
var FieldNames = []string{"endpoint", "vpc_endpoint", "privatelink", "region", "user", "database", "port", "sslmode", "sslrootcert", "sslnegotiation",
	"expires_in", "aws_profile", "application_name", "connect_timeout", "options", "database_url", "credential_cache", "proxy"}

// lineError is an error at a line of the profiles file; Load adds the file name.
type lineError struct {
	Line int
	Msg  string
}

func (e *lineError) Error() string { return fmt.Sprintf("line %d: %s", e.Line, e.Msg) }

func errAt(n *yaml.Node, format string, args ...any) error {
	return &lineError{n.Line, fmt.Sprintf(format, args...)}
}

// UnmarshalYAML decodes a profile strictly: every key must be a known field, given once, with
// a value of the right type and range.
func (f *Fields) UnmarshalYAML(n *yaml.Node) error {
	if n.Kind != yaml.MappingNode {
		return errAt(n, "expected a mapping of settings (endpoint: …, region: …), found %s", describe(n))
	}
	// Every field is decoded even after a bad one, so that `dsqlenv list` can still show what
	// the profile holds; the first error is returned.
	var first error
	fail := func(err error) {
		if first == nil {
			first = err
		}
	}
	seen := map[string]int{}
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, v := n.Content[i], n.Content[i+1]
		dec, ok := fieldDecoders[k.Value]
		if !ok {
			hint := suggest(k.Value, FieldNames)
			if alias, ok := fieldAliases[strings.ToLower(k.Value)]; ok {
				hint = fmt.Sprintf("; did you mean %q?", alias)
			}
			fail(errAt(k, "unknown field %q%s (fields: %s)", k.Value, hint, strings.Join(FieldNames, ", ")))
			continue
		}
		if prev, dup := seen[k.Value]; dup {
			fail(errAt(k, "field %q is given twice (first on line %d)", k.Value, prev))
			continue
		}
		seen[k.Value] = k.Line
		if v.Kind == yaml.ScalarNode && v.Tag == "!!null" {
			fail(errAt(v, "field %q has no value: give one or remove the line", k.Value))
			continue
		}
		if err := dec(f, v, rowCheck(k.Value)); err != nil {
			if le, ok := err.(*lineError); ok {
				le.Msg = k.Value + ": " + le.Msg
			}
			fail(err)
		}
	}
	return first
}

func describe(n *yaml.Node) string {
	switch n.Kind {
	case yaml.MappingNode:
		return "a mapping"
	case yaml.SequenceNode:
		return "a list"
	case yaml.AliasNode:
		return "an alias"
	}
	if n.Tag == "!!null" {
		return "nothing"
	}
	return fmt.Sprintf("%q", n.Value)
}

func decodeString(f *Field[string], n *yaml.Node, chk check) error {
	if n.Kind != yaml.ScalarNode {
		return errAt(n, "expected a string, found %s", describe(n))
	}
	if n.Value == "" {
		return errAt(n, "is empty: give a value or remove the line")
	}
	if chk != nil {
		if msg := chk(n.Value); msg != "" {
			return errAt(n, "%s", msg)
		}
	}
	*f = Field[string]{Value: n.Value, Set: true, Line: n.Line}
	return nil
}

// decodeInt takes a whole number that chk (libpq.Range) accepts.
func decodeInt(f *Field[int], n *yaml.Node, chk check) error {
	// A quoted number ("5432") is taken as the number: it can only mean one thing.
	quoted := n.Kind == yaml.ScalarNode && n.Tag == "!!str" && n.Value != "" && strings.Trim(n.Value, "0123456789") == ""
	if n.Kind != yaml.ScalarNode || n.Tag != "!!int" && !quoted {
		return errAt(n, "expected a whole number, found %s", describe(n))
	}
	if chk != nil {
		if msg := chk(n.Value); msg != "" {
			return errAt(n, "%s", msg)
		}
	}
	v, err := strconv.Atoi(n.Value)
	if err != nil {
		return errAt(n, "%s is not a whole number", n.Value)
	}
	*f = Field[int]{Value: v, Set: true, Line: n.Line}
	return nil
}

// ParseDuration reads a duration the way expires_in and --timeout take it: a Go duration
// ("15m", "1h30m", "1.5s") or a whole number of seconds ("900").
func ParseDuration(s string) (time.Duration, error) {
	if digits := strings.TrimPrefix(s, "+"); digits == "" || strings.Trim(digits, "0123456789") != "" {
		return time.ParseDuration(s)
	}
	n, err := strconv.ParseInt(s, 10, 64)
	if err != nil || n > math.MaxInt64/int64(time.Second) {
		return 0, fmt.Errorf("%s seconds is longer than a duration can be", s)
	}
	return time.Duration(n) * time.Second, nil
}

// decodeBool takes true or false (YAML's booleans).
func decodeBool(f *Field[bool], n *yaml.Node) error {
	var v bool
	if n.Kind != yaml.ScalarNode || n.Tag != "!!bool" || n.Decode(&v) != nil {
		return errAt(n, "expected a boolean (true or false), found %s", describe(n))
	}
	*f = Field[bool]{Value: v, Set: true, Line: n.Line}
	return nil
}

// decodeExpiresIn takes a Go duration ("15m", "1h30m") or whole seconds (900).
func decodeExpiresIn(f *Field[time.Duration], n *yaml.Node) error {
	if n.Kind != yaml.ScalarNode {
		return errAt(n, "expected a duration such as 15m or a number of seconds, found %s", describe(n))
	}
	d, err := ParseDuration(n.Value)
	switch {
	case err != nil && n.Tag == "!!int": // -5, 0x10, or too many seconds for a Duration
		return errAt(n, "%s is out of range: use 1s to 168h (604800 seconds, DSQL's maximum)", n.Value)
	case err != nil:
		return errAt(n, "%q is not a duration: write it like 15m, 1h or 900", n.Value)
	}
	if d%time.Second != 0 {
		return errAt(n, "%s is not a whole number of seconds", n.Value)
	}
	if d < time.Second || d > MaxExpiresIn {
		return errAt(n, "%s is out of range: use 1s to 168h (604800 seconds, DSQL's maximum)", n.Value)
	}
	*f = Field[time.Duration]{Value: d, Set: true, Line: n.Line}
	return nil
}

// ExampleEndpoint is the placeholder `dsqlenv init` writes: a valid host name, so the file
// loads, that no command accepts until it is edited.
const ExampleEndpoint = "your-cluster-id.dsql.us-east-1.on.aws"

func checkEndpoint(s string) string {
	switch {
	case strings.EqualFold(strings.SplitN(s, ".", 2)[0], "your-cluster-id"):
		return "edit the example endpoint from dsqlenv init: put in your cluster's endpoint (<cluster id>.dsql.<region>.on.aws, shown in the DSQL console), its ARN, or its cluster ID with region:"
	case strings.HasPrefix(s, "arn:"):
		if _, _, ok := ParseClusterARN(s); !ok {
			return fmt.Sprintf("%q is not a DSQL cluster ARN (arn:aws:dsql:<region>:<account>:cluster/<cluster id>): give the ARN as the console shows it, or the endpoint", s)
		}
	case strings.Contains(s, "://"):
		return fmt.Sprintf("%q has a scheme: give the bare host name, such as abc….dsql.us-east-1.on.aws", s)
	case strings.ContainsAny(s, ":/"):
		return fmt.Sprintf("%q is not a bare host name: put the port in port: and drop any path", s)
	case !isHostname(s):
		return fmt.Sprintf("%q is not a valid host name", s)
	}
	return ""
}

// PrivateLinkUnverified is privatelink: unverified, AWS's own route through a VPC endpoint
// without private DNS; PrivateLinkVerified, the default, keeps verify-full through hostaddr.
const (
	PrivateLinkVerified   = "verified"
	PrivateLinkUnverified = "unverified"
)

func checkPrivateLink(s string) string {
	if s != PrivateLinkVerified && s != PrivateLinkUnverified {
		return fmt.Sprintf("%q is not allowed: use verified (the default: verify-full through the VPC endpoint's address) or unverified (AWS's route: sslmode require, the certificate's name not checked)", s)
	}
	return ""
}

// checkVPCEndpoint takes an IP address or a host name (the VPC endpoint's DNS name).
func checkVPCEndpoint(s string) string {
	if net.ParseIP(s) == nil && !isHostname(s) {
		return fmt.Sprintf("%q is neither an IP address nor a host name: give the VPC endpoint's DNS name (vpce-….dsql-<svc>.<region>.vpce.amazonaws.com, in the VPC console) or its IP address", s)
	}
	return ""
}

func checkRegion(s string) string {
	if !isRegion(s) {
		return fmt.Sprintf("%q is not an AWS region name such as us-east-1", s)
	}
	return ""
}

// suggest returns `; did you mean "x"?` for the closest of names, or "" when none is close.
func suggest(s string, names []string) string {
	close := text.Closest(s, names)
	if len(close) == 0 {
		return ""
	}
	return fmt.Sprintf("; did you mean %q?", close[0])
}

// lazyRE compiles a regular expression on first use rather than at start-up, which every
// dsqlenv command pays, including those that never read a profiles file.
func lazyRE(expr string) func() *regexp.Regexp {
	return sync.OnceValue(func() *regexp.Regexp { return regexp.MustCompile(expr) })
}
