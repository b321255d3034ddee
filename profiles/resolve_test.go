package profiles

import (
	"context"
	"testing"
	"time"
)

// show skips the AWS configuration when SignsWithEnvironmentKeys says the environment's keys
// sign: held here to what the SDK does, on a default profile that is a role (whose credentials
// would be cached) beside the keys.
func TestSignsWithEnvironmentKeysAgreesWithTheSDK(t *testing.T) {
	for _, tc := range []struct {
		name       string
		env        map[string]string
		awsProfile string // aws_profile: in the profiles file
		want       bool
	}{
		{"both keys", map[string]string{"AWS_ACCESS_KEY_ID": exampleKeyID, "AWS_SECRET_ACCESS_KEY": exampleSecret}, "", true},
		{"both keys by their other names", map[string]string{"AWS_ACCESS_KEY": exampleKeyID, "AWS_SECRET_KEY": exampleSecret}, "", true},
		{"keys and AWS_PROFILE", map[string]string{"AWS_ACCESS_KEY_ID": exampleKeyID, "AWS_SECRET_ACCESS_KEY": exampleSecret, "AWS_PROFILE": "role"}, "", true},
		{"keys and aws_profile:", map[string]string{"AWS_ACCESS_KEY_ID": exampleKeyID, "AWS_SECRET_ACCESS_KEY": exampleSecret}, "role", false},
		{"the key ID alone", map[string]string{"AWS_ACCESS_KEY_ID": exampleKeyID}, "", false},
		{"the secret alone", map[string]string{"AWS_SECRET_ACCESS_KEY": exampleSecret}, "", false},
		{"no keys", map[string]string{}, "", false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			isolateAWS(t, false)
			for _, k := range []string{"AWS_ACCESS_KEY", "AWS_SECRET_KEY"} {
				t.Setenv(k, "")
			}
			for k, v := range tc.env {
				t.Setenv(k, v)
			}
			role := "region = us-east-1\nrole_arn = arn:aws:iam::123456789012:role/dev\nsource_profile = keys\n"
			writeAWSConfig(t, "[default]\n"+role+"\n[profile role]\n"+role+"\n[profile keys]\naws_access_key_id = "+exampleKeyID+"\naws_secret_access_key = "+exampleSecret+"\n")
			c := &Connection{Profile: "p", Host: "h.dsql.us-east-1.on.aws", Region: "us-east-1", User: "admin", ExpiresIn: 15 * time.Minute,
				AWSProfile: tc.awsProfile, CredentialCache: CredentialCacheDir(t.TempDir())}
			c.NoteEnvironment(func(k string) string { return tc.env[k] })
			if got := c.SignsWithEnvironmentKeys(); got != tc.want {
				t.Fatalf("SignsWithEnvironmentKeys() = %v, want %v", got, tc.want)
			}
			s, err := NewSigner(context.Background(), c)
			if err != nil {
				t.Fatal(err)
			}
			defer s.Close()
			// The SDK's choice: the role (whose credentials the cache would hold), or the keys.
			if via := s.Peek().Via; (via == "") != tc.want || (!tc.want && via != ViaAssumeRole) {
				t.Errorf("the SDK signs via %q; SignsWithEnvironmentKeys() = %v", via, tc.want)
			}
		})
	}
}
