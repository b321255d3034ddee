package profiles

import (
	"context"
	"fmt"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sts"
)

// Identifier asks AWS who a profile's credentials are. CallerIdentity is the real one; tests
// pass their own or none.
type Identifier func(ctx context.Context, c *Connection) (arn, account string, err error)

// CallerIdentity loads the profile's credentials as MintWithSDK does and asks STS
// GetCallerIdentity, which needs no permission: the ARN and account that tokens are signed as
// (doctor says so).
func CallerIdentity(ctx context.Context, c *Connection) (arn, account string, err error) {
	s, err := NewSigner(ctx, c)
	if err != nil {
		return "", "", err
	}
	defer s.Close()
	if err := s.Retrieve(ctx); err != nil {
		return "", "", err
	}
	out, err := sts.NewFromConfig(s.AWSConfig()).GetCallerIdentity(ctx, &sts.GetCallerIdentityInput{})
	if err != nil {
		return "", "", fmt.Errorf("STS GetCallerIdentity: %s", oneLine(err.Error()))
	}
	return aws.ToString(out.Arn), aws.ToString(out.Account), nil
}
