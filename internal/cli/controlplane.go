package cli

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"sort"
	"strings"
	"sync"
	"text/tabwriter"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dsql"
	"github.com/aws/aws-sdk-go-v2/service/dsql/types"

	"github.com/dsqlenv/dsqlenv/internal/text"
	"github.com/dsqlenv/dsqlenv/pgfile"
	"github.com/dsqlenv/dsqlenv/profiles"
)

// The DSQL control plane, as `dsqlenv clusters`, `add` and `init --from-aws` use it: listing
// and describing clusters with the AWS identity a profile signs with, and adding them as
// profiles.

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
// halves of a multi-Region pair often share a Name tag), then name-REGION-2, -3 and on: a
// number goes after the region, never into it, so that a name says no other region than its
// cluster's.
func uniqueName(name, region string, taken map[string]bool) string {
	if taken[name] {
		name += "-" + region
	}
	base := name
	for i := 2; taken[name]; i++ {
		name = fmt.Sprintf("%s-%d", base, i)
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
	if err := g.waitsForAWS(); err != nil {
		return nil, err
	}
	conn := profiles.Connection{Command: cmd, AWSProfile: awsProfile, AWSProfileFrom: from, Region: region,
		CredentialCache: r.defaultCredentialCache(g)}
	conn.NoteEnvironment(r.Getenv)
	r.credentialHooks(g, &conn)
	g.debugf(r, "%s: loading the AWS configuration for %s", cmd, credentialSource(&conn))
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

func (a *dsqlClient) who() string { return credentialSource(&a.conn) }

func (a *dsqlClient) client(region string) *dsql.Client {
	a.mu.Lock()
	defer a.mu.Unlock()
	if c := a.clients[region]; c != nil {
		return c
	}
	c := dsql.NewFromConfig(a.cfg, func(o *dsql.Options) {
		o.Region = region
		o.HTTPClient = cappedBodies{o.HTTPClient}
	})
	a.clients[region] = c
	return c
}

// maxAnswer bounds each answer of the control plane: a ListClusters page (at most 100
// clusters) or a GetCluster (at most 50 tags) is tens of kilobytes, and an endpoint that is
// no DSQL control plane (AWS_ENDPOINT_URL_DSQL) must not fill memory.
const maxAnswer = 1 << 20

// maxClusters bounds the clusters (and the ListClusters pages) dsqlenv reads in one region.
const maxClusters = 1000

// errAnswerTooLarge is an answer over maxAnswer bytes.
var errAnswerTooLarge = fmt.Errorf("the answer is over the %d MiB dsqlenv reads", maxAnswer>>20)

// cappedBodies is the SDK's HTTP client with every answer read through a cap.
type cappedBodies struct{ next dsql.HTTPClient }

func (c cappedBodies) Do(req *http.Request) (*http.Response, error) {
	resp, err := c.next.Do(req)
	if resp != nil && resp.Body != nil {
		resp.Body = &cappedBody{ReadCloser: resp.Body, left: maxAnswer}
	}
	return resp, err
}

// cappedBody fails with errAnswerTooLarge once it has read more than left bytes.
type cappedBody struct {
	io.ReadCloser
	left int64
}

func (b *cappedBody) Read(p []byte) (int, error) {
	if int64(len(p)) > b.left+1 {
		p = p[:b.left+1] // one byte over the cap tells a longer answer from one of the cap
	}
	n, err := b.ReadCloser.Read(p)
	if b.left -= int64(n); b.left < 0 {
		return 0, errAnswerTooLarge
	}
	return n, err
}

// apiError says what a failed control-plane call means and what to do about it, on one line.
func (a *dsqlClient) apiError(ctx context.Context, op, region string, err error) error {
	var denied *types.AccessDeniedException
	switch {
	case errors.Is(err, errAnswerTooLarge):
		where := ""
		if u := a.r.Getenv("AWS_ENDPOINT_URL_DSQL"); u != "" {
			where = fmt.Sprintf(" (AWS_ENDPOINT_URL_DSQL=%s)", u)
		}
		return fmt.Errorf("%s: dsql:%s in %s: %v: is the endpoint%s a DSQL control plane?", a.cmd, op, region, errAnswerTooLarge, where)
	case errors.As(err, &denied):
		return fmt.Errorf("%s: access denied: %s may not call dsql:%s in %s (%s): allow dsql:%s in its IAM policy, or use another --aws-profile",
			a.cmd, a.who(), op, region, oneField(aws.ToString(denied.Message)), op)
	case errors.Is(ctx.Err(), context.DeadlineExceeded):
		return fmt.Errorf("%s: the DSQL API in %s did not answer dsql:%s within %s: check your network, or raise --timeout", a.cmd, region, op, text.FormatDuration(a.g.timeout))
	}
	return fmt.Errorf("%s: dsql:%s in %s for %s: %s", a.cmd, op, region, a.who(), oneField(err.Error()))
}

// list is every cluster in region, described by GetCluster, in the order ListClusters gives.
func (a *dsqlClient) list(ctx context.Context, region string) ([]cluster, error) {
	cl := a.client(region)
	var ids, notIDs []string
	p := dsql.NewListClustersPaginator(cl, &dsql.ListClustersInput{}, func(o *dsql.ListClustersPaginatorOptions) { o.StopOnDuplicateToken = true })
	capped := false
	for pages := 0; p.HasMorePages(); pages++ {
		if capped = len(ids)+len(notIDs) >= maxClusters || pages >= maxClusters; capped {
			break
		}
		page, err := p.NextPage(ctx)
		if err != nil {
			return nil, a.apiError(ctx, "ListClusters", region, err)
		}
		for _, s := range page.Clusters {
			if id := aws.ToString(s.Identifier); profiles.IsClusterID(id) {
				ids = append(ids, id)
			} else {
				notIDs = append(notIDs, id)
			}
		}
	}
	if capped || len(ids) > maxClusters {
		ids = ids[:min(len(ids), maxClusters)]
		a.r.note("capped "+region, fmt.Sprintf("note: the DSQL API in %s lists more than %d clusters (or pages): dsqlenv took the first %d", region, maxClusters, len(ids)))
	}
	if len(notIDs) > 0 {
		a.r.note("not IDs "+region, fmt.Sprintf("skipped %d %s in %s that ListClusters gave as clusters: no cluster IDs (the first: %q)", len(notIDs), plural(len(notIDs), "identifier"), region, notIDs[0]))
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
	// A cluster the control plane cannot describe is skipped, the others kept; a refusal or
	// the deadline would fail them all, and fails the command.
	var denied *types.AccessDeniedException
	for i, err := range errs {
		switch {
		case err == nil:
		case errors.As(err, &denied) || ctx.Err() != nil:
			return nil, a.apiError(ctx, "GetCluster", region, err)
		default:
			gone[i] = true
			a.r.note("skipped "+region+" "+ids[i], fmt.Sprintf("skipped cluster %s in %s: dsql:GetCluster failed: %s", ids[i], region, oneField(err.Error())))
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

// loadForAdd reads the profiles file to add to: nil for a file that does not exist yet or has
// no profiles yet, an error for one that does not read.
func loadForAdd(g global) (*profiles.File, error) {
	f, err := g.loadProfiles()
	var fe *profiles.FileError
	switch {
	case errors.Is(err, profiles.ErrNotFound):
		return nil, nil
	case errors.As(err, &fe) && (strings.Contains(fe.Msg, "defines no profiles") || strings.Contains(fe.Msg, "is empty") || strings.Contains(fe.Msg, "holds no YAML document")):
		return nil, nil
	case err != nil:
		return nil, fmt.Errorf("add: %v", err)
	}
	return f, nil
}

// addClusters stages one profile per cluster for `clusters --add`: names the file already has
// are skipped with a note, and so are clusters on their way out.
func (r *run) addClusters(g global, cmd, awsProfile string, all []cluster) (added int, err error) {
	f, err := loadForAdd(g)
	if err != nil {
		return 0, err
	}
	have := map[string]bool{}
	hosts := map[string]string{} // endpoint → the profile that has it
	if f != nil {
		for i, p := range f.Profiles {
			have[p.Name] = true
			if h := strings.ToLower(f.Summary(&f.Profiles[i]).Host); hosts[h] == "" {
				hosts[h] = p.Name
			}
		}
	}
	var adds []profiles.NewProfile
	var notes []string
	for _, c := range all {
		switch types.ClusterStatus(c.Status) {
		case types.ClusterStatusDeleting, types.ClusterStatusDeleted, types.ClusterStatusPendingDelete, types.ClusterStatusFailed:
			notes = append(notes, fmt.Sprintf("skipped cluster %s in %s: it is %s", c.ID, c.Region, c.Status))
			continue
		}
		if p := hosts[strings.ToLower(c.Endpoint)]; p != "" {
			notes = append(notes, fmt.Sprintf("skipped cluster %s in %s: profile %s has it already", c.ID, c.Region, p))
			continue
		}
		if have[c.Profile] {
			notes = append(notes, fmt.Sprintf("skipped cluster %s in %s: profile %s already exists (dsqlenv add %s --cluster %s --force replaces it)", c.ID, c.Region, c.Profile, c.Profile, c.ARN))
			continue
		}
		if why := profiles.EndpointProblem(c.Endpoint); why != "" {
			notes = append(notes, fmt.Sprintf("skipped cluster %s in %s: its endpoint %s", c.ID, c.Region, why))
			continue
		}
		fields := []profiles.Entry{{Key: "endpoint", Value: c.Endpoint}}
		if awsProfile != "" {
			fields = append(fields, profiles.Entry{Key: "aws_profile", Value: awsProfile})
		}
		adds = append(adds, profiles.NewProfile{Name: c.Profile, Fields: fields})
		if c.Status != string(types.ClusterStatusActive) && c.Status != string(types.ClusterStatusIdle) {
			notes = append(notes, fmt.Sprintf("note: cluster %s (profile %s) is %s, not ACTIVE yet", c.ID, c.Profile, c.Status))
		}
	}
	if len(adds) == 0 {
		if len(notes) > 0 {
			r.note(cmd, strings.Join(notes, "\n")+"\nno profile added")
		}
		return 0, nil
	}
	path := g.config
	r.stage("add "+path, func() (string, error) {
		written, err := pgfile.Edit(r.lockDir(), path, 0o600, func(data []byte) ([]byte, error) {
			return profiles.AddProfiles(data, adds) // one parse and one check, however many
		})
		if err != nil {
			return "", fmt.Errorf("%s: %v", cmd, err)
		}
		var names []string
		for _, a := range adds[:min(len(adds), 10)] {
			names = append(names, a.Name)
		}
		if more := len(adds) - len(names); more > 0 {
			names[len(names)-1] += fmt.Sprintf(" and %d more", more)
		}
		return strings.Join(append(notes, fmt.Sprintf("added %s to %s", plural(len(adds), "profile")+" "+strings.Join(names, ", "), written)), "\n"), nil
	})
	return len(adds), nil
}

// discovery is what discover found: the clusters, each with the profile name it would get, the
// regions it looked in, and whose credentials it used.
type discovery struct {
	clusters []cluster
	regions  []string
	who      string
}

// discover lists and describes the clusters that awsProfile ("" for AWS_PROFILE or the
// default chain) sees in regions (none: the AWS profile's region). cmd names the command in
// messages.
func (r *run) discover(ctx context.Context, g global, cmd, awsProfile string, regions []string) (discovery, error) {
	ctx, cancel := profiles.WithTimeoutExceptTyping(ctx, g.timeout)
	defer cancel()
	region := ""
	if len(regions) > 0 {
		region = regions[0]
	}
	api, err := r.dsqlAPI(ctx, g, cmd, awsProfile, region)
	if err != nil {
		return discovery{}, err
	}
	defer api.close()
	if len(regions) == 0 {
		regions = []string{api.cfg.Region}
	}
	d := discovery{regions: regions, who: api.who()}
	for _, reg := range regions {
		cs, err := api.list(ctx, reg)
		if err != nil {
			return discovery{}, err
		}
		if len(cs) == 0 {
			r.note("none "+reg, fmt.Sprintf("no DSQL clusters in %s for %s", reg, api.who()))
		}
		d.clusters = append(d.clusters, cs...)
	}
	taken := map[string]bool{}
	for i := range d.clusters {
		c := &d.clusters[i]
		c.Profile = uniqueName(profileNameFor(c.Name, c.ID), c.Region, taken)
	}
	return d, nil
}

// printClusters prints the clusters: JSON, a table on a terminal, else one tab-separated line
// each.
func (r *run) printClusters(all []cluster, asJSON bool) error {
	switch {
	case asJSON:
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
