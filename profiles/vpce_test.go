package profiles

import (
	"context"
	"errors"
	"strings"
	"testing"
)

const (
	testID     = "abcdefghijklmnopqrstuvwx12"
	testPublic = testID + ".dsql.us-east-1.on.aws"
	testPL     = testID + ".dsql-fnh4.us-east-1.on.aws" // the cluster's PrivateLink name
	testVPCE   = "vpce-0123456789abcdef0-abcdefgh.dsql-fnh4.us-east-1.vpce.amazonaws.com"
)

// With vpc_endpoint:, the host (the token's, the SNI and the certificate's name) is the
// cluster's PrivateLink name, whatever form the endpoint takes; the service label comes from
// the endpoint when it has one, else from the VPC endpoint's name; sslmode stays verify-full.
func TestVPCEndpointMakesThePrivateLinkName(t *testing.T) {
	for _, c := range []struct{ name, fields string }{
		{"public name and vpce name", "endpoint: " + testPublic + "\n    vpc_endpoint: " + testVPCE},
		{"ARN and vpce name", "endpoint: arn:aws:dsql:us-east-1:123456789012:cluster/" + testID + "\n    vpc_endpoint: " + testVPCE},
		{"cluster ID, region and vpce name", "endpoint: " + testID + "\n    region: us-east-1\n    vpc_endpoint: " + testVPCE},
		{"PrivateLink name and an address", "endpoint: " + testPL + "\n    vpc_endpoint: 10.0.1.23"},
		{"PrivateLink name and vpce name", "endpoint: " + testPL + "\n    vpc_endpoint: " + testVPCE},
		{"PrivateLink name and another name", "endpoint: " + testPL + "\n    vpc_endpoint: dsql.internal.example"},
	} {
		t.Run(c.name, func(t *testing.T) {
			f, err := Parse("p.yaml", []byte("profiles:\n  p:\n    "+c.fields+"\n"))
			if err != nil {
				t.Fatal(err)
			}
			conn, err := f.Resolve("p", "/home/u")
			if err != nil {
				t.Fatal(err)
			}
			if conn.Host != testPL || conn.Region != "us-east-1" || conn.SSLMode != "verify-full" || conn.VPCEndpoint == "" || conn.HostAddr != "" {
				t.Errorf("got host %s region %s sslmode %s vpc_endpoint %q hostaddr %q", conn.Host, conn.Region, conn.SSLMode, conn.VPCEndpoint, conn.HostAddr)
			}
			if s := conn.setting("vpc_endpoint"); s.Value != conn.VPCEndpoint || s.Source != FromProfile || s.Line == 0 {
				t.Errorf("vpc_endpoint setting %+v", s)
			}
		})
	}
	// Without one, nothing changes.
	f, _ := Parse("p.yaml", []byte("profiles:\n  p:\n    endpoint: "+testPublic+"\n"))
	if conn, err := f.Resolve("p", "/home/u"); err != nil || conn.Host != testPublic || conn.VPCEndpoint != "" {
		t.Errorf("without vpc_endpoint: %v %+v", err, conn)
	}
}

// A vpc_endpoint that cannot make the PrivateLink name is an error at its line, naming the
// profile and the fix.
func TestVPCEndpointRefusals(t *testing.T) {
	for _, c := range []struct{ name, fields, want string }{
		{"public name and an address", "endpoint: " + testPublic + "\n    vpc_endpoint: 10.0.1.23",
			"p.yaml:4: profile p: vpc_endpoint 10.0.1.23 does not name the cluster's endpoint service (dsql-<svc>), and endpoint " + testPublic + " is the public name: give vpc_endpoint as the endpoint's DNS name"},
		{"another region", "endpoint: " + testPublic + "\n    vpc_endpoint: vpce-0a-b.dsql-fnh4.eu-west-1.vpce.amazonaws.com",
			"p.yaml:4: profile p: vpc_endpoint vpce-0a-b.dsql-fnh4.eu-west-1.vpce.amazonaws.com is in eu-west-1, but the cluster " + testPublic + " is in us-east-1"},
		{"another service", "endpoint: " + testPL + "\n    vpc_endpoint: vpce-0a-b.dsql-abcd.us-east-1.vpce.amazonaws.com",
			"p.yaml:4: profile p: vpc_endpoint vpce-0a-b.dsql-abcd.us-east-1.vpce.amazonaws.com is for the service dsql-abcd, but endpoint " + testPL + " is for dsql-fnh4"},
		{"not a DSQL endpoint", "endpoint: db.example.com\n    vpc_endpoint: " + testVPCE,
			"p.yaml:3: profile p: endpoint db.example.com is not a DSQL cluster endpoint, which vpc_endpoint: needs"},
		{"not a host", "endpoint: " + testPublic + "\n    vpc_endpoint: https://vpce-1",
			`p.yaml:4: profile p: vpc_endpoint: "https://vpce-1" is neither an IP address nor a host name`},
	} {
		t.Run(c.name, func(t *testing.T) {
			err := loadErr("profiles:\n  p:\n    "+c.fields+"\n", "p")
			if err == nil || !strings.Contains(err.Error(), c.want) {
				t.Errorf("got %v\nwant %s", err, c.want)
			}
		})
	}
}

// The address is the VPC endpoint's own when it is one, else the first its name resolves to;
// a name that does not resolve is an error naming the file, line, profile and field.
func TestResolveVPCEndpoint(t *testing.T) {
	f, err := Parse("/cfg/p.yaml", []byte("profiles:\n  p:\n    endpoint: "+testPublic+"\n    vpc_endpoint: "+testVPCE+"\n  ip:\n    endpoint: "+testPL+"\n    vpc_endpoint: 10.0.1.23\n"))
	if err != nil {
		t.Fatal(err)
	}
	var asked []string
	lookup := func(_ context.Context, host string) ([]string, error) {
		asked = append(asked, host)
		if host == testVPCE {
			return []string{"10.0.2.7", "10.0.3.9"}, nil
		}
		return nil, errors.New("no such host")
	}
	conn, _ := f.Resolve("p", "/home/u")
	if err := conn.ResolveVPCEndpoint(context.Background(), f.Path, lookup); err != nil || conn.HostAddr != "10.0.2.7" {
		t.Errorf("vpce name: %v, hostaddr %q", err, conn.HostAddr)
	}
	conn, _ = f.Resolve("ip", "/home/u")
	if err := conn.ResolveVPCEndpoint(context.Background(), f.Path, lookup); err != nil || conn.HostAddr != "10.0.1.23" || len(asked) != 1 {
		t.Errorf("address: %v, hostaddr %q, looked up %q", err, conn.HostAddr, asked)
	}
	conn, _ = f.Resolve("p", "/home/u")
	conn.VPCEndpoint = "vpce-gone.dsql-fnh4.us-east-1.vpce.amazonaws.com"
	err = conn.ResolveVPCEndpoint(context.Background(), f.Path, lookup)
	if want := "/cfg/p.yaml:4: profile p: vpc_endpoint vpce-gone.dsql-fnh4.us-east-1.vpce.amazonaws.com does not resolve (no such host): check the name"; err == nil || !strings.Contains(err.Error(), want) || conn.HostAddr != "" {
		t.Errorf("got %v, hostaddr %q\nwant %s", err, conn.HostAddr, want)
	}
}
