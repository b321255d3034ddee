// Command sdkbaseline is the floor for any Go tool that mints an Aurora DSQL token with the
// AWS SDK: load the default configuration, sign an admin token, print it. `make bench`
// compares dsqlenv with it.
package main

import (
	"context"
	"fmt"
	"os"

	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/feature/dsql/auth"
)

func main() {
	if len(os.Args) != 3 {
		fmt.Fprintln(os.Stderr, "usage: sdkbaseline ENDPOINT REGION")
		os.Exit(2)
	}
	ctx := context.Background()
	cfg, err := config.LoadDefaultConfig(ctx)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	tok, err := auth.GenerateDBConnectAdminAuthToken(ctx, os.Args[1], os.Args[2], cfg.Credentials)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	fmt.Println(tok)
}
