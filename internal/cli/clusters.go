package cli

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sort"
	"strings"
	"sync"
	"text/tabwriter"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dsql"
	"github.com/aws/aws-sdk-go-v2/service/dsql/types"
	"github.com/urfave/cli/v2"

	"github.com/dsqlenv/dsqlenv/profiles"
)

// clustersOptions are what `dsqlenv clusters` is told on its command line.
type clustersOptions struct {
	global
	regions    []string
	awsProfile string
	json       bool
	add        bool
	init       bool // dsqlenv init --from-aws: a new file, with at least one profile
}

func newClustersCommand(r *run) *cli.Command {
	var o clustersOptions
	var regions cli.StringSlice
	return &cli.Command{
		Name:     "clusters",
		Category: "Commands",
		Usage:    "list the Aurora DSQL clusters an AWS profile can see, and add them as profiles",
		Description: `Asks the DSQL control plane (dsql:ListClusters, then dsql:GetCluster for each)
in each --region, default the AWS profile's region, with the credentials every
other command uses: --aws-profile, else AWS_PROFILE, else the default chain.

On a terminal: a table of name (the cluster's Name tag), ID, region, status,
endpoint and multi-Region peers. Piped: one line per cluster, the same columns
separated by tabs, "-" for none. --json: one JSON array.

--add writes one profile per cluster into the profiles file (--config), named by
the cluster's Name tag (lower-cased, other characters turned into '-') or its ID,
with its endpoint and --aws-profile; a name already in the file is skipped with a
note (dsqlenv add --force replaces one), and so are clusters being deleted.
Comments and layout of the file stay as they were.

Examples:
   dsqlenv clusters
   dsqlenv clusters --aws-profile work --region us-east-1 --region us-east-2
   dsqlenv clusters --json | jq -r '.[].endpoint'
   dsqlenv clusters --aws-profile work --add && dsqlenv list`,
		Flags: []cli.Flag{
			&cli.StringSliceFlag{Name: "region", Destination: &regions, Usage: "list the clusters in `REGION` (repeat it, or separate with commas; default: the AWS profile's region)"},
			&cli.StringFlag{Name: "aws-profile", Destination: &o.awsProfile, Usage: "use the credentials of AWS profile `NAME` (default: AWS_PROFILE, else the default chain)"},
			&cli.BoolFlag{Name: "json", Destination: &o.json, Usage: "print a JSON array"},
			&cli.BoolFlag{Name: "add", Destination: &o.add, Usage: "also add a profile for each cluster to the profiles file"},
		},
		Action: func(c *cli.Context) error {
			if err := noArgs(c); err != nil {
				return err
			}
			var err error
			if o.global, err = r.globals(); err != nil {
				return err
			}
			if o.regions, err = regionList(regions.Value(), "clusters"); err != nil {
				return err
			}
			return runClusters(c.Context, r, o)
		},
	}
}

// regionList checks the --region values and drops repeats.
func regionList(values []string, cmd string) ([]string, error) {
	var out []string
	seen := map[string]bool{}
	for _, reg := range values {
		reg = strings.TrimSpace(reg)
		if !profiles.IsRegion(reg) {
			return nil, usagef("%s: --region %q is not a region name such as us-east-1", cmd, reg)
		}
		if !seen[reg] {
			seen[reg] = true
			out = append(out, reg)
		}
	}
	return out, nil
}

// cluster is one DSQL cluster as the control plane describes it.
type cluster struct {
	Profile            string            `json:"profile"` // the profile name --add gives it
	Name               string            `json:"name,omitempty"`
	ID                 string            `json:"identifier"`
	ARN                string            `json:"arn"`
	Region             string            `json:"region"`
	Status             string            `json:"status"`
	Endpoint           string            `json:"endpoint"`
	Created            string            `json:"creation_time,omitempty"`
	DeletionProtection bool              `json:"deletion_protection"`
	Tags               map[string]string `json:"tags,omitempty"`
	MultiRegion        *multiRegion      `json:"multi_region,omitempty"`
}

type multiRegion struct {
	WitnessRegion string   `json:"witness_region,omitempty"`
	Clusters      []string `json:"clusters"` // the ARNs of every cluster of the set, this one included
}

// peers are the other clusters of a multi-Region set, as REGION/ID.
func (c *cluster) peers() []string {
	if c.MultiRegion == nil {
		return nil
	}
	var out []string
	for _, arn := range c.MultiRegion.Clusters {
		if arn == c.ARN {
			continue
		}
		if id, region, ok := profiles.ParseClusterARN(arn); ok {
			out = append(out, region+"/"+id)
		} else {
			out = append(out, arn)
		}
	}
	return out
}

func (c *cluster) peerText() string {
	p := c.peers()
	if c.MultiRegion != nil && c.MultiRegion.WitnessRegion != "" {
		p = append(p, "witness "+c.MultiRegion.WitnessRegion)
	}
	return strings.Join(p, ", ")
}

func runClusters(ctx context.Context, r *run, o clustersOptions) error {
	ctx, cancel := context.WithTimeout(ctx, o.timeout)
	defer cancel()
	region := ""
	if len(o.regions) > 0 {
		region = o.regions[0]
	}
	cmd := "clusters"
	if o.init {
		cmd = "init"
	}
	api, err := r.dsqlAPI(ctx, o.global, cmd, o.awsProfile, region)
	if err != nil {
		return err
	}
	defer api.close()
	regions := o.regions
	if len(regions) == 0 {
		regions = []string{api.cfg.Region}
	}
	var all []cluster
	for _, reg := range regions {
		cs, err := api.list(ctx, reg)
		if err != nil {
			return err
		}
		if len(cs) == 0 {
			r.note("none "+reg, fmt.Sprintf("no DSQL clusters in %s for %s", reg, api.who()))
		}
		all = append(all, cs...)
	}
	taken := map[string]bool{}
	for i := range all {
		all[i].Profile = uniqueName(profileNameFor(all[i].Name, all[i].ID), all[i].Region, taken)
	}
	if o.add {
		added, err := r.addClusters(o, all)
		switch {
		case err != nil:
			return err
		case added == 0 && o.init:
			return fmt.Errorf("init --from-aws: no DSQL cluster to add in %s for %s: name other regions with --region or another --aws-profile, or run dsqlenv init for the commented example", strings.Join(regions, ", "), api.who())
		}
	}
	switch {
	case o.json:
		if all == nil {
			all = []cluster{}
		}
		b, err := json.MarshalIndent(all, "", "  ")
		if err != nil {
			return err
		}
		r.out.Write(append(b, '\n'))
	case r.StdoutIsTerminal:
		if len(all) == 0 {
			return nil
		}
		tw := tabwriter.NewWriter(&r.out, 0, 4, 2, ' ', 0)
		fmt.Fprintln(tw, "NAME\tID\tREGION\tSTATUS\tENDPOINT\tPEERS")
		for _, c := range all {
			fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\n", dash(oneField(c.Name)), dash(c.ID), dash(c.Region), dash(c.Status), dash(c.Endpoint), dash(c.peerText()))
		}
		return tw.Flush()
	default:
		for _, c := range all {
			fmt.Fprintf(&r.out, "%s\t%s\t%s\t%s\t%s\t%s\n", dash(oneField(c.Name)), dash(c.ID), dash(c.Region), dash(c.Status), dash(c.Endpoint), dash(c.peerText()))
		}
	}
	return nil
}

// oneField keeps a tag's value on one line and in one tab-separated field.
func oneField(s string) string { return strings.Join(strings.Fields(s), " ") }

// profileNameFor is the profile name a cluster gets: its Name tag, lower-cased, with every
// character a profile name cannot hold turned into '-' (runs of them into one), else its ID.
func profileNameFor(name, id string) string {
	var b strings.Builder
	dash := false
	for _, c := range strings.ToLower(name) {
		if c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '.' || c == '_' {
			b.WriteRune(c)
			dash = false
		} else if !dash {
			b.WriteByte('-')
			dash = true
		}
	}
	n := strings.Trim(b.String(), "-._")
	if !profiles.IsProfileName(n) {
		return id
	}
	return n
}

// uniqueName is name, or name-REGION when another cluster listed before took it (the two
// halves of a multi-Region pair often share a Name tag).
func uniqueName(name, region string, taken map[string]bool) string {
	if taken[name] {
		name += "-" + region
	}
	for i := 2; taken[name]; i++ {
		name = fmt.Sprintf("%s-%d", strings.TrimSuffix(name, fmt.Sprintf("-%d", i-1)), i)
	}
	taken[name] = true
	return name
}

// dsqlClient is the DSQL control plane for one AWS identity: the configuration loaded as the
// token signer loads it (credential_process in its own group, the same error messages).
type dsqlClient struct {
	cmd    string
	conn   profiles.Connection
	signer *profiles.Signer
	cfg    aws.Config
	g      global
	r      *run // for debug lines

	mu      sync.Mutex
	clients map[string]*dsql.Client
}

// dsqlAPI loads the AWS configuration of awsProfile ("" for AWS_PROFILE or the default chain)
// and gets its credentials. region, when not "", is the region to use when the configuration
// names none.
func (r *run) dsqlAPI(ctx context.Context, g global, cmd, awsProfile, region string) (*dsqlClient, error) {
	return r.dsqlAPIFrom(ctx, g, cmd, awsProfile, "", region)
}

// dsqlAPIFrom is dsqlAPI with an AWS profile chosen elsewhere than --aws-profile: from says
// where, for messages.
func (r *run) dsqlAPIFrom(ctx context.Context, g global, cmd, awsProfile, from, region string) (*dsqlClient, error) {
	conn := profiles.Connection{Command: cmd, AWSProfile: awsProfile, AWSProfileFrom: from, Region: region}
	conn.NoteEnvironment(r.Getenv)
	g.debugf(r, "%s: loading the AWS configuration for %s", cmd, whoOf(&conn))
	s, err := profiles.NewSigner(ctx, &conn)
	if err != nil {
		return nil, err
	}
	if err := s.Retrieve(ctx); err != nil {
		s.Close()
		return nil, err
	}
	return &dsqlClient{cmd: cmd, conn: conn, signer: s, cfg: s.AWSConfig(), g: g, r: r, clients: map[string]*dsql.Client{}}, nil
}

func (a *dsqlClient) close() { a.signer.Close() }

func whoOf(c *profiles.Connection) string {
	switch {
	case c.AWSProfile != "" && c.AWSProfileFrom != "":
		return "AWS profile " + c.AWSProfile + " (from " + c.AWSProfileFrom + ")"
	case c.AWSProfile != "":
		return "AWS profile " + c.AWSProfile + " (from --aws-profile)"
	case c.EnvAWSProfile != "":
		return "AWS profile " + c.EnvAWSProfile + " (from " + c.AWSProfileEnv + ")"
	}
	return "the default AWS credential chain"
}

func (a *dsqlClient) who() string { return whoOf(&a.conn) }

func (a *dsqlClient) client(region string) *dsql.Client {
	a.mu.Lock()
	defer a.mu.Unlock()
	if c := a.clients[region]; c != nil {
		return c
	}
	c := dsql.NewFromConfig(a.cfg, func(o *dsql.Options) { o.Region = region })
	a.clients[region] = c
	return c
}

// apiError says what a failed control-plane call means and what to do about it, on one line.
func (a *dsqlClient) apiError(ctx context.Context, op, region string, err error) error {
	var denied *types.AccessDeniedException
	switch {
	case errors.As(err, &denied):
		return fmt.Errorf("%s: access denied: %s may not call dsql:%s in %s (%s): allow dsql:%s in its IAM policy, or use another --aws-profile",
			a.cmd, a.who(), op, region, oneField(aws.ToString(denied.Message)), op)
	case errors.Is(ctx.Err(), context.DeadlineExceeded):
		return fmt.Errorf("%s: the DSQL API in %s did not answer dsql:%s within %s: check your network, or raise --timeout", a.cmd, region, op, profiles.FormatDuration(a.g.timeout))
	}
	return fmt.Errorf("%s: dsql:%s in %s for %s: %s", a.cmd, op, region, a.who(), oneField(err.Error()))
}

// list is every cluster in region, described by GetCluster, in the order ListClusters gives.
func (a *dsqlClient) list(ctx context.Context, region string) ([]cluster, error) {
	cl := a.client(region)
	var ids []string
	p := dsql.NewListClustersPaginator(cl, &dsql.ListClustersInput{})
	for p.HasMorePages() {
		page, err := p.NextPage(ctx)
		if err != nil {
			return nil, a.apiError(ctx, "ListClusters", region, err)
		}
		for _, s := range page.Clusters {
			ids = append(ids, aws.ToString(s.Identifier))
		}
	}
	a.g.debugf(a.r, "%s: %d clusters in %s", a.cmd, len(ids), region)
	out := make([]cluster, len(ids))
	errs := make([]error, len(ids))
	gone := make([]bool, len(ids))
	sem := make(chan struct{}, 4)
	var wg sync.WaitGroup
	for i, id := range ids {
		wg.Add(1)
		go func() {
			defer wg.Done()
			sem <- struct{}{}
			defer func() { <-sem }()
			c, err := a.get(ctx, region, id)
			var nf *types.ResourceNotFoundException
			switch {
			case errors.As(err, &nf):
				gone[i] = true // deleted since it was listed
			case err != nil:
				errs[i] = err
			default:
				out[i] = c
			}
		}()
	}
	wg.Wait()
	for _, err := range errs {
		if err != nil {
			return nil, a.apiError(ctx, "GetCluster", region, err)
		}
	}
	kept := out[:0]
	for i, c := range out {
		if !gone[i] {
			kept = append(kept, c)
		}
	}
	return kept, nil
}

// get describes one cluster; the error is the SDK's, for apiError.
func (a *dsqlClient) get(ctx context.Context, region, id string) (cluster, error) {
	out, err := a.client(region).GetCluster(ctx, &dsql.GetClusterInput{Identifier: aws.String(id)})
	if err != nil {
		return cluster{}, err
	}
	c := cluster{
		Name:               out.Tags["Name"],
		ID:                 aws.ToString(out.Identifier),
		ARN:                aws.ToString(out.Arn),
		Region:             region,
		Status:             string(out.Status),
		Endpoint:           aws.ToString(out.Endpoint),
		DeletionProtection: aws.ToBool(out.DeletionProtectionEnabled),
		Tags:               out.Tags,
	}
	if c.ID == "" {
		c.ID = id
	}
	if _, arnRegion, ok := profiles.ParseClusterARN(c.ARN); ok {
		c.Region = arnRegion
	}
	if c.Endpoint == "" {
		c.Endpoint = profiles.ClusterEndpoint(c.ID, c.Region)
	}
	if out.CreationTime != nil {
		c.Created = out.CreationTime.UTC().Format(time.RFC3339)
	}
	if m := out.MultiRegionProperties; m != nil && (len(m.Clusters) > 0 || aws.ToString(m.WitnessRegion) != "") {
		c.MultiRegion = &multiRegion{WitnessRegion: aws.ToString(m.WitnessRegion), Clusters: m.Clusters}
		sort.Strings(c.MultiRegion.Clusters)
	}
	return c, nil
}
