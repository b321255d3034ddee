package profiles

import (
	"context"
	"crypto/sha1"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"
	"unicode/utf16"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/credentials/ssocreds"
	"github.com/aws/aws-sdk-go-v2/credentials/stscreds"

	"github.com/dsqlenv/dsqlenv/internal/safefile"
	"github.com/dsqlenv/dsqlenv/pgfile"
)

// The AWS CLI keeps the answers of STS AssumeRole and SSO GetRoleCredentials in
// ~/.aws/cli/cache/<key>.json (awscli/customizations/assumerole.py, CACHE_DIR; the SSO
// credentials go to the same directory, awscli/customizations/sso), whatever AWS_CONFIG_FILE
// says. dsqlenv reads and writes the same files the same way, so one MFA code or one SSO
// call serves both tools for the whole role session. The secrets on disk are what the AWS
// CLI already stores there; `credential_cache: false` or DSQLENV_CREDENTIAL_CACHE=off keep
// dsqlenv out of it.

// CredentialCacheDir is the AWS CLI's credential cache under home.
func CredentialCacheDir(home string) string { return filepath.Join(home, ".aws", "cli", "cache") }

// cacheExpiryWindow: cached credentials with less than this left are not used, and are
// fetched anew (botocore's CachedCredentialFetcher.DEFAULT_EXPIRY_WINDOW_SECONDS).
const cacheExpiryWindow = 15 * time.Minute

// maxCacheFile caps what is read from a cache file; the CLI's are well under 4 KiB.
const maxCacheFile = 64 << 10

// Where credentials come from, for CredentialOrigin.Via.
const (
	ViaAssumeRole    = "STS AssumeRole"
	ViaAssumeRoleMFA = "STS AssumeRole, MFA"
	ViaSSO           = "SSO GetRoleCredentials"
)

// CredentialOrigin says where the credentials of the last mint came from, for login, show
// and doctor.
type CredentialOrigin struct {
	Via       string    // ViaAssumeRole, ViaAssumeRoleMFA, ViaSSO; "" for any other source
	Cached    bool      // read from the AWS CLI's cache, no call made
	CacheFile string    // the cache file read or written, "" when the cache is off
	CacheErr  error     // why the credentials could not be written to CacheFile
	Expires   time.Time // zero for credentials that do not expire
}

// cacheFile is the AWS CLI's cache entry: the service's answer, of which botocore reads only
// Credentials (CachedCredentialFetcher._get_cached_credentials). The SSO entry carries
// ProviderType "sso" (SSOCredentialFetcher._get_credentials).
type cacheFile struct {
	ProviderType string `json:"ProviderType,omitempty"`
	Credentials  struct {
		AccessKeyId     string
		SecretAccessKey string
		SessionToken    string
		Expiration      string
		AccountId       string `json:"AccountId,omitempty"`
	}
}

// roleCacheKey is botocore's key for an assumed role (BaseAssumeRoleCredentialFetcher.
// _create_cache_key): the SHA-1 of json.dumps(args, sort_keys=True) over the AssumeRole
// arguments the profile sets (RoleArn; RoleSessionName, ExternalId, SerialNumber and
// DurationSeconds when given), with Python's default separators. The profile cannot set a
// Policy, and the token code is not part of the key.
func roleCacheKey(sc *config.SharedConfig) string {
	args := map[string]string{"RoleArn": pyString(sc.RoleARN)}
	if sc.RoleSessionName != "" {
		args["RoleSessionName"] = pyString(sc.RoleSessionName)
	}
	if sc.ExternalID != "" {
		args["ExternalId"] = pyString(sc.ExternalID)
	}
	if sc.MFASerial != "" {
		args["SerialNumber"] = pyString(sc.MFASerial)
	}
	if sc.RoleDurationSeconds != nil {
		args["DurationSeconds"] = strconv.FormatInt(int64(*sc.RoleDurationSeconds/time.Second), 10)
	}
	return pyKey(args, ", ", ": ")
}

// ssoCacheKey is botocore's key for SSO role credentials (SSOCredentialFetcher.
// _create_cache_key): accountId, roleName and either sessionName (an sso-session profile) or
// startUrl, with compact separators.
func ssoCacheKey(sc *config.SharedConfig) string {
	args := map[string]string{"accountId": pyString(sc.SSOAccountID), "roleName": pyString(sc.SSORoleName)}
	if sc.SSOSessionName != "" {
		args["sessionName"] = pyString(sc.SSOSessionName)
	} else {
		args["startUrl"] = pyString(sc.SSOStartURL)
	}
	return pyKey(args, ",", ":")
}

// pyKey is the SHA-1 in hex of the object whose keys and encoded values args holds, written
// as Python's json.dumps(sort_keys=True) writes it with these separators.
func pyKey(args map[string]string, item, kv string) string {
	keys := make([]string, 0, len(args))
	for k := range args {
		keys = append(keys, k)
	}
	sort.Strings(keys) // ASCII keys: Python's order is the byte order
	var b strings.Builder
	b.WriteByte('{')
	for i, k := range keys {
		if i > 0 {
			b.WriteString(item)
		}
		b.WriteString(pyString(k) + kv + args[k])
	}
	b.WriteByte('}')
	sum := sha1.Sum([]byte(b.String()))
	return hex.EncodeToString(sum[:]) // hex has no ':' or '/' for _make_file_safe to replace
}

// pyString is s as Python's json.dumps writes a string with ensure_ascii (the default): the
// two-character escapes, \u00XX for other control characters, and \uXXXX (surrogate pairs
// above U+FFFF) for everything past ASCII. Unlike Go's encoder it leaves < > & alone.
func pyString(s string) string {
	var b strings.Builder
	b.WriteByte('"')
	for _, r := range s {
		switch {
		case r == '"':
			b.WriteString(`\"`)
		case r == '\\':
			b.WriteString(`\\`)
		case r == '\n':
			b.WriteString(`\n`)
		case r == '\r':
			b.WriteString(`\r`)
		case r == '\t':
			b.WriteString(`\t`)
		case r == '\b':
			b.WriteString(`\b`)
		case r == '\f':
			b.WriteString(`\f`)
		case r < 0x20 || r >= 0x7f && r < 0x10000: // Python escapes all but ' ' to '~'
			fmt.Fprintf(&b, `\u%04x`, r)
		case r >= 0x10000:
			r1, r2 := utf16.EncodeRune(r)
			fmt.Fprintf(&b, `\u%04x\u%04x`, r1, r2)
		default:
			b.WriteRune(r)
		}
	}
	b.WriteByte('"')
	return b.String()
}

// cachedCredentials puts the AWS CLI's cache in front of the provider the SDK chose for a
// role or an SSO role: a fresh entry is used as it is, otherwise the SDK's provider asks
// (with the MFA prompt) and its answer is written for the next process, and for the CLI.
type cachedCredentials struct {
	inner   aws.CredentialsProvider
	path    string // "" when the cache is off
	via     string
	sso     bool
	now     func() time.Time
	debugf  func(format string, args ...any)
	refresh bool // dsqlenv login: never use the cached entry
	origin  *originBox
}

// originBox holds a signer's CredentialOrigin; the proxy mints from many sessions at once.
type originBox struct {
	mu sync.Mutex
	o  CredentialOrigin
}

func (b *originBox) get() CredentialOrigin {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.o
}

func (b *originBox) set(o CredentialOrigin) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.o = o
}

func (c *cachedCredentials) Retrieve(ctx context.Context) (aws.Credentials, error) {
	if c.path != "" && !c.refresh {
		if creds, ok := c.read(); ok {
			c.origin.set(CredentialOrigin{Via: c.via, CacheFile: c.path, Cached: true, Expires: creds.Expires})
			return creds, nil
		}
	}
	// The SDK's own cache in front of its provider would hand back what it got before.
	if cc, ok := c.inner.(*aws.CredentialsCache); ok {
		cc.Invalidate()
	}
	creds, err := c.inner.Retrieve(ctx)
	if err != nil {
		return creds, err
	}
	o := CredentialOrigin{Via: c.via, CacheFile: c.path, Expires: creds.Expires}
	if c.path != "" && creds.CanExpire {
		if o.CacheErr = c.write(creds); o.CacheErr != nil {
			c.debugf("AWS CLI credential cache: %v (the credentials are used, not kept)", o.CacheErr)
		}
	}
	c.origin.set(o)
	return creds, nil
}

// read returns the entry at path when it is the user's own regular file, holds credentials,
// and has at least cacheExpiryWindow left. Anything else is ignored, with a debug line.
func (c *cachedCredentials) read() (aws.Credentials, bool) {
	data, err := safefile.ReadOwned(c.path, maxCacheFile)
	if errors.Is(err, fs.ErrNotExist) {
		c.debugf("AWS CLI credential cache: no entry %s", c.path)
		return aws.Credentials{}, false
	}
	if err != nil {
		c.debugf("AWS CLI credential cache: ignoring %s: %v", c.path, err)
		return aws.Credentials{}, false
	}
	var f cacheFile
	if err := json.Unmarshal(data, &f); err != nil {
		c.debugf("AWS CLI credential cache: ignoring %s: not the AWS CLI's JSON: %v", c.path, err)
		return aws.Credentials{}, false
	}
	cr := f.Credentials
	exp, err := parseExpiration(cr.Expiration)
	if cr.AccessKeyId == "" || cr.SecretAccessKey == "" || cr.SessionToken == "" || err != nil {
		c.debugf("AWS CLI credential cache: ignoring %s: no credentials with an expiration in it", c.path)
		return aws.Credentials{}, false
	}
	if left := exp.Sub(c.now()); left < cacheExpiryWindow {
		c.debugf("AWS CLI credential cache: %s expires at %s, less than 15m from now: fetching anew", c.path, exp.Format(time.RFC3339))
		return aws.Credentials{}, false
	}
	c.debugf("AWS CLI credential cache: using %s, valid until %s", c.path, exp.Format(time.RFC3339))
	return aws.Credentials{AccessKeyID: cr.AccessKeyId, SecretAccessKey: cr.SecretAccessKey, SessionToken: cr.SessionToken,
		CanExpire: true, Expires: exp, AccountID: cr.AccountId, Source: "AWS CLI cache"}, true
}

// cliExpiration is how the AWS CLI writes an assumed role's expiry: the STS answer's
// datetime (UTC) through JSONFileCache._serialize_if_needed, strftime('%Y-%m-%dT%H:%M:%S%Z').
const cliExpiration = "2006-01-02T15:04:05UTC"

// parseExpiration reads the times botocore writes: cliExpiration for an assumed role, the
// SSO entry's "Z" form, and the other RFC 3339 forms dateutil also accepts.
func parseExpiration(s string) (time.Time, error) {
	if t, err := time.Parse(cliExpiration, s); err == nil {
		return t, nil
	}
	return time.Parse(time.RFC3339Nano, s)
}

// write stores creds the way the AWS CLI does: the assume-role entry's Expiration as
// cliExpiration, the SSO entry's with "Z" (SSOCredentialFetcher._UTC_DATE_FORMAT) and
// ProviderType "sso". The file
// is 0600, written atomically, never through a link, in a directory of the user's own
// (created 0700).
func (c *cachedCredentials) write(creds aws.Credentials) error {
	var f cacheFile
	exp := creds.Expires.UTC().Truncate(time.Second)
	if c.sso {
		f.ProviderType = "sso"
		f.Credentials.Expiration = exp.Format("2006-01-02T15:04:05Z")
	} else {
		f.Credentials.Expiration = exp.Format(cliExpiration)
	}
	f.Credentials.AccessKeyId, f.Credentials.SecretAccessKey, f.Credentials.SessionToken = creds.AccessKeyID, creds.SecretAccessKey, creds.SessionToken
	f.Credentials.AccountId = creds.AccountID
	data, err := json.Marshal(f)
	if err != nil {
		return err
	}
	_, err = pgfile.Replace(c.path, data, 0o600, nil)
	return err
}

// cacheCredentials puts the AWS CLI's cache in front of cfg's credentials when the profile
// the SDK resolved is a role or an SSO role, and the SDK chose that provider (keys in the
// environment win over the default chain's profile, and are left alone). dir "" keeps the
// cache off and still records the origin. It returns the cache, nil when it put none.
func cacheCredentials(cfg *aws.Config, sc *config.SharedConfig, dir string, refresh bool, now func() time.Time, debugf func(string, ...any), origin *originBox) *cachedCredentials {
	if sc == nil {
		return nil
	}
	c := &cachedCredentials{inner: cfg.Credentials, now: now, debugf: debugf, refresh: refresh, origin: origin}
	var key string
	switch {
	case sc.RoleARN != "" && sc.WebIdentityTokenFile == "" && aws.IsCredentialsProvider(cfg.Credentials, (*stscreds.AssumeRoleProvider)(nil)):
		key, c.via = roleCacheKey(sc), ViaAssumeRole
		if sc.MFASerial != "" {
			c.via = ViaAssumeRoleMFA
		}
	case sc.RoleARN == "" && sc.SSOAccountID != "" && sc.SSORoleName != "" && aws.IsCredentialsProvider(cfg.Credentials, (*ssocreds.Provider)(nil)):
		key, c.via, c.sso = ssoCacheKey(sc), ViaSSO, true
	default:
		return nil
	}
	if dir != "" {
		c.path = filepath.Join(dir, key+".json")
	}
	cfg.Credentials = aws.NewCredentialsCache(c)
	return c
}

// sourceRole is the source credentials of an assumed role that are themselves an assumed role
// (a source_profile with its own role_arn). botocore caches every role of such a chain, so an
// MFA code typed for the first role serves every role assumed from it; so does this.
type sourceRole struct {
	w     *sourceWatch
	outer string // the role_arn assumed with these credentials
	inner aws.CredentialsProvider
}

func (s *sourceRole) Retrieve(ctx context.Context) (aws.Credentials, error) {
	w := s.w
	for sc := w.shared; sc != nil && w.cacheDir != ""; sc = sc.Source {
		if sc.RoleARN == s.outer && sc.Source != nil && sc.Source.RoleARN != "" {
			c := &cachedCredentials{inner: s.inner, path: filepath.Join(w.cacheDir, roleCacheKey(sc.Source)+".json"),
				via: ViaAssumeRole, now: w.now, debugf: w.debugf, origin: &originBox{}}
			return c.Retrieve(ctx)
		}
	}
	return s.inner.Retrieve(ctx)
}
