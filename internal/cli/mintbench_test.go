//go:build linux

package cli

import (
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/dsqlenv/dsqlenv/internal/testkit"
)

// BenchmarkCredentialCache measures what the AWS CLI's credential cache saves a mint, against
// a local stand-in for STS and the SSO portal (testkit.AWSStandIn, through
// AWS_ENDPOINT_URL_STS and AWS_ENDPOINT_URL_SSO) that counts the calls:
//
//   - 20 consecutive `dsqlenv bash` runs of a profile whose AWS profile assumes a role, then
//     20 of one with an SSO role: the calls each made (target: 1 each; 20 each with
//     DSQLENV_CREDENTIAL_CACHE=off, measured too, as it was before the cache);
//   - wall time per mint (`dsqlenv bash`) of the role profile with its credentials cached
//     against a profile with static keys, with hyperfine, BENCH_CREDS_ROUNDS rounds (5) of
//     BENCH_CREDS_RUNS runs (20) each whose order alternates, judged on the median of the
//     per-round ratios of the medians (target: at most 1.2).
//
// The stand-in answers on loopback in well under a millisecond, where STS takes 100–500 ms:
// the uncached times are a floor, not what a user pays. It runs once whatever b.N is (bench/
// creds passes -benchtime 1x), prints lines starting "credbench: " and fails when a call
// count misses its target; the ratio is reported, met or missed.
func BenchmarkCredentialCache(b *testing.B) {
	hyperfine := testkit.RequireTool(b, "hyperfine")
	rounds := envInt(b, "BENCH_CREDS_ROUNDS", 5)
	runs := envInt(b, "BENCH_CREDS_RUNS", 20)
	aws := testkit.StartAWSStandIn(b)
	dir := b.TempDir()
	config := filepath.Join(dir, "aws-config")
	const keys = "aws_access_key_id = AKIAIOSFODNN7EXAMPLE\naws_secret_access_key = wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY\n"
	if err := os.WriteFile(config, []byte("[profile role]\nregion = us-east-1\nrole_arn = arn:aws:iam::123456789012:role/dev\nsource_profile = keys\n\n"+
		"[profile keys]\nregion = us-east-1\n"+keys+"\n"+
		"[profile sso]\nregion = us-east-1\nsso_start_url = https://example.awsapps.com/start\nsso_region = us-east-1\nsso_account_id = 123456789012\nsso_role_name = Admin\n"), 0o600); err != nil {
		b.Fatal(err)
	}
	profilesFile := filepath.Join(dir, "profiles.yaml")
	var yaml strings.Builder
	yaml.WriteString("profiles:\n")
	for _, p := range []string{"role", "keys", "sso"} {
		fmt.Fprintf(&yaml, "  %s:\n    endpoint: abcdefghijklmnopqrstuvwxyz.dsql.us-east-1.on.aws\n    aws_profile: %s\n", p, p)
	}
	if err := os.WriteFile(profilesFile, []byte(yaml.String()), 0o600); err != nil {
		b.Fatal(err)
	}
	env := benchEnv(b, "AWS_CONFIG_FILE="+config, "AWS_ENDPOINT_URL_STS="+aws.URL, "AWS_ENDPOINT_URL_SSO="+aws.URL, "DSQLENV_CONFIG="+profilesFile)
	// No keys in the environment: each profile's own credentials.
	env = slices.DeleteFunc(env, func(kv string) bool {
		return strings.HasPrefix(kv, "AWS_ACCESS_KEY_ID=") || strings.HasPrefix(kv, "AWS_SECRET_ACCESS_KEY=")
	})
	home := envValue(env, "HOME")
	testkit.WriteSSOToken(b, home, "https://example.awsapps.com/start", time.Now().Add(12*time.Hour))
	bash := func(env []string, profile string) {
		cmd := exec.Command(binPath, "bash", profile)
		runOK(b, cmd, env)
	}
	calls := func() (sts, sso int) { return len(aws.AssumeRoleCalls()), len(aws.SSOCalls()) }

	// The counts: without the cache first (as before it), then with it, from an empty cache.
	off := append(slices.Clone(env), "DSQLENV_CREDENTIAL_CACHE=off")
	failed := false
	for _, c := range []struct {
		what string
		env  []string
		want int
	}{{"cache off", off, 20}, {"cache on", env, 1}} {
		s0, o0 := calls()
		for range 20 {
			bash(c.env, "role")
		}
		s1, _ := calls()
		for range 20 {
			bash(c.env, "sso")
		}
		_, o1 := calls()
		for _, n := range []struct {
			what string
			got  int
		}{{"STS AssumeRole calls for 20 runs of dsqlenv bash with an assume-role profile", s1 - s0}, {"SSO GetRoleCredentials calls for 20 runs with an SSO profile", o1 - o0}} {
			verdict := "target " + fmt.Sprint(c.want)
			if c.want == 1 {
				verdict = map[bool]string{true: "target 1, met", false: "target 1, MISSED"}[n.got == 1]
				failed = failed || n.got != 1
			}
			fmt.Printf("credbench: %s, %s: %d (%s)\n", c.what, n.what, n.got, verdict)
		}
	}

	// Wall time: the role's credentials are cached now; the keys need none.
	var ratios []float64
	var roleMs, keysMs []float64
	out := filepath.Join(dir, "hf.json")
	for r := range rounds {
		cmds := [][2]string{{"role (cached)", binPath + " bash role"}, {"static keys", binPath + " bash keys"}}
		if r%2 == 1 {
			cmds[0], cmds[1] = cmds[1], cmds[0]
		}
		args := []string{"-N", "--style", "none", "--warmup", "3", "--runs", fmt.Sprint(runs), "--export-json", out}
		for _, c := range cmds {
			args = append(args, "-n", c[0], c[1])
		}
		runOK(b, exec.Command(hyperfine, args...), env)
		data, err := os.ReadFile(out)
		if err != nil {
			b.Fatal(err)
		}
		var res struct {
			Results []struct {
				Command string
				Median  float64
			}
		}
		if err := json.Unmarshal(data, &res); err != nil {
			b.Fatal(err)
		}
		med := map[string]float64{}
		for _, x := range res.Results {
			med[x.Command] = x.Median * 1000
		}
		roleMs, keysMs = append(roleMs, med["role (cached)"]), append(keysMs, med["static keys"])
		ratios = append(ratios, med["role (cached)"]/med["static keys"])
		fmt.Printf("credbench: round %d: role (cached) %.2f ms, static keys %.2f ms, ratio %.3f\n", r+1, med["role (cached)"], med["static keys"], ratios[r])
	}
	if s, o := calls(); s != 21 || o != 21 {
		b.Errorf("the timed runs called STS %d and SSO %d times in all, want 21 each: the cached runs must call neither", s, o)
	}
	ratio := median(ratios)
	verdict := map[bool]string{true: "target 1.2x, met", false: "target 1.2x, MISSED"}[ratio <= 1.2]
	fmt.Printf("credbench: wall time per mint (dsqlenv bash), median of %d rounds × %d runs: role (cached) %.2f ms, static keys %.2f ms: %.3fx (%s)\n",
		rounds, runs, median(roleMs), median(keysMs), ratio, verdict)
	b.ReportMetric(ratio, "role/keys")
	if failed {
		b.Error("a call count missed its target")
	}
}
