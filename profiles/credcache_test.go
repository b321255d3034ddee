//go:build unix

package profiles

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/config"
	"golang.org/x/sys/unix"

	"github.com/dsqlenv/dsqlenv/internal/testkit"
)

// botocoreKey computes the AWS CLI's cache key with Python itself, the oracle independent of
// the code under test: json.dumps(args, sort_keys=True) with the separators botocore uses
// (the defaults for assume-role, compact for SSO), then SHA-1 (botocore/credentials.py,
// BaseAssumeRoleCredentialFetcher._create_cache_key and SSOCredentialFetcher._create_cache_key).
func botocoreKey(t *testing.T, args map[string]any, compact bool) string {
	t.Helper()
	py := testkit.RequireTool(t, "python3")
	in, err := json.Marshal(args)
	if err != nil {
		t.Fatal(err)
	}
	sep := "None"
	if compact {
		sep = "(',', ':')"
	}
	out, err := exec.Command(py, "-c", "import sys, json, hashlib\n"+
		"a = json.loads(sys.argv[1])\n"+
		"print(hashlib.sha1(json.dumps(a, sort_keys=True, separators="+sep+").encode('utf-8')).hexdigest())", string(in)).Output()
	if err != nil {
		t.Fatalf("python3: %v", err)
	}
	return strings.TrimSpace(string(out))
}

func TestCacheKeysAreBotocores(t *testing.T) {
	hour := time.Hour
	for _, tc := range []struct {
		name string
		sc   config.SharedConfig
		args map[string]any
		sso  bool
	}{
		{"role only", config.SharedConfig{RoleARN: "arn:aws:iam::123456789012:role/dev"},
			map[string]any{"RoleArn": "arn:aws:iam::123456789012:role/dev"}, false},
		{"MFA and duration", config.SharedConfig{RoleARN: "arn:aws:iam::123456789012:role/dev", MFASerial: "arn:aws:iam::123456789012:mfa/me", RoleDurationSeconds: &hour},
			map[string]any{"RoleArn": "arn:aws:iam::123456789012:role/dev", "SerialNumber": "arn:aws:iam::123456789012:mfa/me", "DurationSeconds": 3600}, false},
		{"session name and an external ID Go would escape", config.SharedConfig{RoleARN: "arn:aws:iam::123456789012:role/dev", RoleSessionName: "me", ExternalID: "<a&b> é \"q\" \\ \x7f \U0001F600"},
			map[string]any{"RoleArn": "arn:aws:iam::123456789012:role/dev", "RoleSessionName": "me", "ExternalId": "<a&b> é \"q\" \\ \x7f \U0001F600"}, false},
		{"SSO, legacy start URL", config.SharedConfig{SSOAccountID: "123456789012", SSORoleName: "Admin", SSOStartURL: "https://example.awsapps.com/start"},
			map[string]any{"accountId": "123456789012", "roleName": "Admin", "startUrl": "https://example.awsapps.com/start"}, true},
		{"SSO, sso-session", config.SharedConfig{SSOAccountID: "123456789012", SSORoleName: "Admin", SSOSessionName: "corp", SSOStartURL: "https://corp.awsapps.com/start"},
			map[string]any{"accountId": "123456789012", "roleName": "Admin", "sessionName": "corp"}, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := roleCacheKey(&tc.sc)
			if tc.sso {
				got = ssoCacheKey(&tc.sc)
			}
			if want := botocoreKey(t, tc.args, tc.sso); got != want {
				t.Errorf("key %s, botocore's %s", got, want)
			}
		})
	}
}

// roleSetup is an AWS config with an assumed role from example keys, STS at the stand-in, and
// a connection that reads and writes the cache in a fresh home.
func roleSetup(t *testing.T, extra string) (*testkit.AWSStandIn, *Connection, string) {
	t.Helper()
	isolateAWS(t, false)
	sts := testkit.StartAWSStandIn(t)
	t.Setenv("AWS_ENDPOINT_URL_STS", sts.URL)
	writeAWSConfig(t, "[profile role]\nregion = us-east-1\nrole_arn = arn:aws:iam::123456789012:role/dev\nsource_profile = keys\n"+extra+"\n"+
		"[profile keys]\naws_access_key_id = "+exampleKeyID+"\naws_secret_access_key = "+exampleSecret+"\n")
	home := t.TempDir()
	c := &Connection{Profile: "p", Host: "h.dsql.us-east-1.on.aws", Region: "us-east-1", User: "admin", ExpiresIn: 15 * time.Minute,
		AWSProfile: "role", CredentialCache: CredentialCacheDir(home)}
	return sts, c, home
}

func TestRoleCredentialsAreCachedTheAWSCLIWay(t *testing.T) {
	sts, c, _ := roleSetup(t, "duration_seconds = 3600\n")
	for range 3 {
		tok, err := MintWithSDK(context.Background(), c)
		if err != nil {
			t.Fatal(err)
		}
		verifySigV4(t, tok, exampleSecret)
	}
	calls := sts.AssumeRoleCalls()
	if len(calls) != 1 {
		t.Fatalf("%d AssumeRole calls for 3 mints, want 1", len(calls))
	}
	if d := calls[0].Get("DurationSeconds"); d != "3600" {
		t.Errorf("DurationSeconds %s, want duration_seconds' 3600", d)
	}
	if !c.Origin.Cached || c.Origin.Via != ViaAssumeRole {
		t.Errorf("origin of the last mint %+v, want cached, %s", c.Origin, ViaAssumeRole)
	}
	// The file is the one the AWS CLI reads: botocore's key, its JSON, 0600 in a 0700 directory.
	key := botocoreKey(t, map[string]any{"RoleArn": "arn:aws:iam::123456789012:role/dev", "DurationSeconds": 3600}, false)
	path := filepath.Join(c.CredentialCache, key+".json")
	checkCacheFile(t, path, "UTC")
	if st, err := os.Stat(c.CredentialCache); err != nil || st.Mode().Perm() != 0o700 {
		t.Errorf("cache directory: %v %v, want 0700", st.Mode(), err)
	}
}

// checkCacheFile holds a cache file to what botocore reads: 0600, Credentials with the
// example keys and an Expiration written as the AWS CLI writes it, ending in suffix (UTC for a
// role, Z for SSO).
func checkCacheFile(t *testing.T, path, suffix string) {
	t.Helper()
	st, err := os.Lstat(path)
	if err != nil {
		t.Fatalf("no cache file where the AWS CLI looks: %v", err)
	}
	if st.Mode().Perm() != 0o600 || !st.Mode().IsRegular() {
		t.Errorf("%s is %v, want a 0600 regular file", path, st.Mode())
	}
	data, _ := os.ReadFile(path)
	var f struct{ Credentials map[string]string }
	if err := json.Unmarshal(data, &f); err != nil {
		t.Fatalf("%s: %v", data, err)
	}
	cr := f.Credentials
	if cr["AccessKeyId"] != exampleKeyID || cr["SecretAccessKey"] != exampleSecret || cr["SessionToken"] != testkit.ExampleSessionToken || !strings.HasSuffix(cr["Expiration"], suffix) {
		t.Errorf("cache file %s", data)
	}
	exp, err := time.Parse(time.RFC3339, strings.Replace(cr["Expiration"], "UTC", "Z", 1))
	if err != nil || time.Until(exp) < 50*time.Minute {
		t.Errorf("Expiration %q: %v, want about an hour ahead", cr["Expiration"], err)
	}
}

// writeCLICache writes an entry as the AWS CLI does (json.dumps of the AssumeRole answer,
// the Expiration datetime through strftime('%Y-%m-%dT%H:%M:%S%Z'), which for UTC ends in
// "UTC"), under botocore's key for the role of roleSetup.
func writeCLICache(t *testing.T, dir string, expires time.Time, accessKey string) string {
	t.Helper()
	key := botocoreKey(t, map[string]any{"RoleArn": "arn:aws:iam::123456789012:role/dev"}, false)
	if err := os.MkdirAll(dir, 0o700); err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(dir, key+".json")
	body := fmt.Sprintf(`{"Credentials": {"AccessKeyId": %q, "SecretAccessKey": %q, "SessionToken": "cli-token", "Expiration": %q, "AccountId": "123456789012"}, "AssumedRoleUser": {"AssumedRoleId": "AROAEXAMPLE:botocore-session-1", "Arn": "arn:aws:sts::123456789012:assumed-role/dev/botocore-session-1"}, "ResponseMetadata": {"RequestId": "r", "HTTPStatusCode": 200, "RetryAttempts": 0}}`,
		accessKey, exampleSecret, pyStrftimeUTC(t, expires))
	if err := os.WriteFile(path, []byte(body), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

func TestTheAWSCLIsCacheIsUsed(t *testing.T) {
	sts, c, _ := roleSetup(t, "")
	writeCLICache(t, c.CredentialCache, time.Now().Add(40*time.Minute), "ASIACLIEXAMPLE")
	tok, err := MintWithSDK(context.Background(), c)
	if err != nil {
		t.Fatal(err)
	}
	if n := len(sts.AssumeRoleCalls()); n != 0 {
		t.Errorf("%d AssumeRole calls with a fresh entry from the AWS CLI, want 0", n)
	}
	q := verifySigV4(t, tok, exampleSecret)
	if cred := q.Get("X-Amz-Credential"); !strings.HasPrefix(cred, "ASIACLIEXAMPLE/") || q.Get("X-Amz-Security-Token") != "cli-token" {
		t.Errorf("token signed with %s, not the cached credentials", cred)
	}
}

func TestCacheEntriesThatAreNotTrusted(t *testing.T) {
	for _, tc := range []struct {
		name  string
		plant func(t *testing.T, path string)
		debug string
	}{
		{"less than 15 minutes left", func(t *testing.T, path string) {}, "less than 15m from now"},
		{"not JSON", func(t *testing.T, path string) { os.WriteFile(path, []byte("{\"Credentials\": "), 0o600) }, "not the AWS CLI's JSON"},
		{"no credentials", func(t *testing.T, path string) { os.WriteFile(path, []byte(`{"Credentials": {}}`), 0o600) }, "no credentials with an expiration"},
		{"a link to a fresh entry", func(t *testing.T, path string) {
			other := writeCLICache(t, filepath.Join(t.TempDir(), "elsewhere"), time.Now().Add(time.Hour), "ASIALINKEXAMPLE")
			os.Remove(path)
			if err := os.Symlink(other, path); err != nil {
				t.Fatal(err)
			}
		}, "a symbolic link"},
		{"a FIFO", func(t *testing.T, path string) {
			os.Remove(path)
			if err := unix.Mkfifo(path, 0o600); err != nil {
				t.Fatal(err)
			}
		}, "a FIFO"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			sts, c, _ := roleSetup(t, "")
			path := writeCLICache(t, c.CredentialCache, time.Now().Add(10*time.Minute), "ASIACLIEXAMPLE")
			tc.plant(t, path)
			var debug []string
			c.Debugf = func(f string, a ...any) { debug = append(debug, fmt.Sprintf(f, a...)) }
			tok, err := MintWithSDK(context.Background(), c)
			if err != nil {
				t.Fatal(err)
			}
			if n := len(sts.AssumeRoleCalls()); n != 1 {
				t.Errorf("%d AssumeRole calls, want 1: the entry must not be used", n)
			}
			if q := verifySigV4(t, tok, exampleSecret); !strings.HasPrefix(q.Get("X-Amz-Credential"), exampleKeyID+"/") {
				t.Errorf("token signed with %s", q.Get("X-Amz-Credential"))
			}
			if !strings.Contains(strings.Join(debug, "\n"), tc.debug) {
				t.Errorf("debug lines %q, want one saying %q", debug, tc.debug)
			}
			checkCacheFile(t, path, "UTC") // replaced by a fresh entry, never written through a link
		})
	}
}

func TestCredentialCacheOff(t *testing.T) {
	sts, c, home := roleSetup(t, "")
	c.NoteEnvironment(func(k string) string {
		if k == "DSQLENV_CREDENTIAL_CACHE" {
			return "off"
		}
		return ""
	})
	for range 2 {
		if _, err := MintWithSDK(context.Background(), c); err != nil {
			t.Fatal(err)
		}
	}
	if n := len(sts.AssumeRoleCalls()); n != 2 {
		t.Errorf("%d AssumeRole calls for 2 mints with the cache off, want 2", n)
	}
	if _, err := os.Stat(filepath.Join(home, ".aws", "cli")); !os.IsNotExist(err) {
		t.Errorf("the cache off wrote %s: %v", filepath.Join(home, ".aws", "cli"), err)
	}
}

func TestSSORoleCredentialsAreCached(t *testing.T) {
	isolateAWS(t, false)
	sso := testkit.StartAWSStandIn(t)
	t.Setenv("AWS_ENDPOINT_URL_SSO", sso.URL)
	home := t.TempDir()
	t.Setenv("HOME", home) // the SDK reads the SSO token from ~/.aws/sso/cache
	writeAWSConfig(t, credMsgConfig)
	writeSSOCache(t, home, "https://example.awsapps.com/start", time.Now().Add(time.Hour))
	c := &Connection{Profile: "p", Host: "h.dsql.us-east-1.on.aws", Region: "us-east-1", User: "admin", ExpiresIn: 15 * time.Minute,
		AWSProfile: "work", CredentialCache: CredentialCacheDir(home)}
	for range 3 {
		tok, err := MintWithSDK(context.Background(), c)
		if err != nil {
			t.Fatal(err)
		}
		verifySigV4(t, tok, exampleSecret)
	}
	calls := sso.SSOCalls()
	if len(calls) != 1 || calls[0].Get("token") != "cached-token" || calls[0].Get("account_id") != "123456789012" {
		t.Fatalf("GetRoleCredentials calls %v, want 1 with the planted SSO token", calls)
	}
	key := botocoreKey(t, map[string]any{"accountId": "123456789012", "roleName": "Admin", "startUrl": "https://example.awsapps.com/start"}, true)
	checkCacheFile(t, filepath.Join(c.CredentialCache, key+".json"), "Z")
	if data, _ := os.ReadFile(filepath.Join(c.CredentialCache, key+".json")); !strings.Contains(string(data), `"ProviderType":"sso"`) {
		t.Errorf("SSO entry without ProviderType sso: %s", data)
	}
}

// mfaSetup is roleSetup with mfa_serial, the terminal at tty.
func mfaSetup(t *testing.T, tty string) (*testkit.AWSStandIn, *Connection) {
	t.Helper()
	sts, c, _ := roleSetup(t, "mfa_serial = arn:aws:iam::123456789012:mfa/me\n")
	oldIn, oldOut := ttyIn, ttyOut
	ttyIn, ttyOut = tty, tty
	t.Cleanup(func() { ttyIn, ttyOut = oldIn, oldOut })
	return sts, c
}

func TestMFAWithoutATerminal(t *testing.T) {
	for _, tc := range []struct {
		name string
		set  func(c *Connection)
		fix  string
	}{
		{"a profile", func(c *Connection) {}, ": run `dsqlenv login p` in a terminal, or any `aws … --profile role` command there; either fills the AWS CLI's credential cache, which this reads"},
		{"the cache off", func(c *Connection) { c.CredentialCache = "" }, ": run it in a terminal (the credential cache is off here, credential_cache: false or DSQLENV_CREDENTIAL_CACHE=off, so a code typed elsewhere is not seen)"},
		{"a command", func(c *Connection) { c.Profile, c.Command = "", "clusters" }, ": run it in a terminal, or any `aws … --profile role` command there, which fills the AWS CLI's credential cache this reads"},
		{"a command, the cache off", func(c *Connection) { c.Profile, c.Command, c.CredentialCache = "", "clusters", "" }, ": run it in a terminal"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			tty := filepath.Join(t.TempDir(), "tty")
			sts, c := mfaSetup(t, tty)
			tc.set(c)
			_, err := MintWithSDK(context.Background(), c)
			subject := "profile p"
			if c.Command != "" {
				subject = c.Command
			}
			want := subject + ": AWS profile role (from " + map[bool]string{true: "--aws-profile", false: "aws_profile:"}[c.Command != ""] +
				") needs an MFA code for arn:aws:iam::123456789012:mfa/me, and there is no terminal to ask on (" + tty + ": no such file or directory)" + tc.fix
			if err == nil || err.Error() != want {
				t.Errorf("got  %v\nwant %s", err, want)
			}
			if n := len(sts.AssumeRoleCalls()); n != 0 {
				t.Errorf("%d AssumeRole calls without a code", n)
			}
		})
	}
}

// firedDeadline is a context whose deadline passes when its done channel is closed: the
// test decides when, after the prompt is shown, whatever the machine's load.
type firedDeadline struct {
	context.Context
	done chan struct{}
}

func (d *firedDeadline) Deadline() (time.Time, bool) { return time.Now().Add(time.Hour), true }
func (d *firedDeadline) Done() <-chan struct{}       { return d.done }
func (d *firedDeadline) Err() error {
	select {
	case <-d.done:
		return context.DeadlineExceeded
	default:
		return nil
	}
}

// TestMFACodeNotTyped: a deadline that passes while the prompt waits says so, not that STS
// did not answer.
func TestMFACodeNotTyped(t *testing.T) {
	tty := filepath.Join(t.TempDir(), "tty")
	if err := unix.Mkfifo(tty, 0o600); err != nil {
		t.Fatal(err)
	}
	sts, c := mfaSetup(t, tty) // opened read-write, the FIFO has no line until the test writes one
	// The prompt goes elsewhere: written into the FIFO, it would be read back as the code, and
	// the read going on after the test would call STS with it (the next test's stand-in, by
	// then) and write a cache file into a directory being removed.
	ttyOut = os.DevNull
	ctx := &firedDeadline{context.Background(), make(chan struct{})}
	c.OnPrompt = func() { close(ctx.done) }
	_, err := MintWithSDK(ctx, c)
	if err == nil || !strings.Contains(err.Error(), "no MFA code was typed within") {
		t.Errorf("got %v, want the code not typed", err)
	}
	if n := len(sts.AssumeRoleCalls()); n != 0 {
		t.Errorf("%d AssumeRole calls without a code", n)
	}
	// The prompt still reads the FIFO: a line ends it.
	if f, err := os.OpenFile(tty, os.O_WRONLY, 0); err == nil {
		f.WriteString("\n")
		f.Close()
	}
}

// TestCredentialCacheField: credential_cache: false in defaults: or a profile keeps the cache
// off for that profile; a profile's own value wins; the cache is on without the field.
func TestCredentialCacheField(t *testing.T) {
	f, err := Parse("p.yaml", []byte(`defaults:
  credential_cache: false
profiles:
  off:
    endpoint: abcdefghijklmnopqrstuvwxyz.dsql.us-east-1.on.aws
  on:
    endpoint: abcdefghijklmnopqrstuvwxyz.dsql.us-east-1.on.aws
    credential_cache: true
`))
	if err != nil {
		t.Fatal(err)
	}
	for name, want := range map[string]string{"off": "", "on": filepath.Join("/home/u", ".aws", "cli", "cache")} {
		c, err := f.Resolve(name, "/home/u")
		if err != nil {
			t.Fatal(err)
		}
		if c.CredentialCache != want {
			t.Errorf("profile %s: cache %q, want %q", name, c.CredentialCache, want)
		}
	}
	f, err = Parse("p.yaml", []byte("profiles:\n  p:\n    endpoint: abcdefghijklmnopqrstuvwxyz.dsql.us-east-1.on.aws\n"))
	if err != nil {
		t.Fatal(err)
	}
	c, err := f.Resolve("p", "/home/u")
	if err != nil {
		t.Fatal(err)
	}
	if c.CredentialCache != filepath.Join("/home/u", ".aws", "cli", "cache") {
		t.Errorf("without the field: %q, want the AWS CLI's cache", c.CredentialCache)
	}
}

// pyStrftimeUTC is Python's own rendering of t as the AWS CLI writes an expiry.
func pyStrftimeUTC(t *testing.T, at time.Time) string {
	t.Helper()
	out, err := exec.Command(testkit.RequireTool(t, "python3"), "-c", "import sys, datetime\n"+
		"print(datetime.datetime.fromtimestamp(int(sys.argv[1]), datetime.timezone.utc).strftime('%Y-%m-%dT%H:%M:%S%Z'))",
		fmt.Sprint(at.Unix())).Output()
	if err != nil {
		t.Fatalf("python3: %v", err)
	}
	return strings.TrimSpace(string(out))
}

// TestChainedRolesShareTheMFASession: prod is assumed from jump, which has mfa_serial; both
// answers are cached under botocore's keys, so a new prod session (its entry gone) is assumed
// from the cached jump session, without a code.
func TestChainedRolesShareTheMFASession(t *testing.T) {
	isolateAWS(t, false)
	sts := testkit.StartAWSStandIn(t)
	t.Setenv("AWS_ENDPOINT_URL_STS", sts.URL)
	writeAWSConfig(t, "[profile prod]\nregion = us-east-1\nrole_arn = arn:aws:iam::123456789012:role/prod\nsource_profile = jump\n\n"+
		"[profile jump]\nrole_arn = arn:aws:iam::123456789012:role/jump\nsource_profile = keys\nmfa_serial = arn:aws:iam::123456789012:mfa/me\n\n"+
		"[profile keys]\naws_access_key_id = "+exampleKeyID+"\naws_secret_access_key = "+exampleSecret+"\n")
	tty := filepath.Join(t.TempDir(), "tty") // a file with one line: the code, typed once
	if err := os.WriteFile(tty, []byte("123456\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	oldIn, oldOut := ttyIn, ttyOut
	ttyIn, ttyOut = tty, os.DevNull // the prompt must not overwrite the line
	t.Cleanup(func() { ttyIn, ttyOut = oldIn, oldOut })
	home := t.TempDir()
	c := &Connection{Profile: "p", Host: "h.dsql.us-east-1.on.aws", Region: "us-east-1", User: "admin", ExpiresIn: 15 * time.Minute,
		AWSProfile: "prod", CredentialCache: CredentialCacheDir(home)}
	if _, err := MintWithSDK(context.Background(), c); err != nil {
		t.Fatal(err)
	}
	jumpKey := botocoreKey(t, map[string]any{"RoleArn": "arn:aws:iam::123456789012:role/jump", "SerialNumber": "arn:aws:iam::123456789012:mfa/me"}, false)
	prodKey := botocoreKey(t, map[string]any{"RoleArn": "arn:aws:iam::123456789012:role/prod"}, false)
	for _, k := range []string{jumpKey, prodKey} {
		checkCacheFile(t, filepath.Join(c.CredentialCache, k+".json"), "UTC")
	}
	if err := os.Remove(filepath.Join(c.CredentialCache, prodKey+".json")); err != nil {
		t.Fatal(err)
	}
	if _, err := MintWithSDK(context.Background(), c); err != nil {
		t.Fatalf("a new prod session from the cached jump session: %v", err)
	}
	var arns []string
	for _, call := range sts.AssumeRoleCalls() {
		arns = append(arns, call.Get("RoleArn")+" code="+call.Get("TokenCode"))
	}
	want := "arn:aws:iam::123456789012:role/jump code=123456,arn:aws:iam::123456789012:role/prod code=,arn:aws:iam::123456789012:role/prod code="
	if got := strings.Join(arns, ","); got != want {
		t.Errorf("AssumeRole calls %s\nwant %s", got, want)
	}
}

// TestCacheDirectoryOthersCanWrite: a cache directory others can write is not written into
// (they could swap the file); the credentials are used and the origin says why they were not
// kept.
func TestCacheDirectoryOthersCanWrite(t *testing.T) {
	_, c, _ := roleSetup(t, "")
	if err := os.MkdirAll(c.CredentialCache, 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(c.CredentialCache, 0o777); err != nil {
		t.Fatal(err)
	}
	if _, err := MintWithSDK(context.Background(), c); err != nil {
		t.Fatal(err)
	}
	if c.Origin.CacheErr == nil || !strings.Contains(c.Origin.CacheErr.Error(), "can be written by others") {
		t.Errorf("origin %+v, want why the credentials were not kept", c.Origin)
	}
	if entries, _ := os.ReadDir(c.CredentialCache); len(entries) != 0 {
		t.Errorf("written into a directory others can write: %v", entries)
	}
}
