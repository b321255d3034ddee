package cli

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"testing"

	"github.com/dsqlenv/dsqlenv/internal/testkit"
	"github.com/dsqlenv/dsqlenv/profiles"
)

// fakeDSQL is the DSQL control plane as the SDK's restJson1 serializers and deserializers
// expect it: GET /cluster (ListClusters, paged with next-token and max-results) and GET
// /cluster/{identifier} (GetCluster). It answers for the region of the request's SigV4
// credential scope, which must name the service dsql and AWS's example access key.
type fakeDSQL struct {
	t        *testing.T
	clusters map[string][]fakeCluster // region → clusters, in list order
	pageSize int                      // clusters per ListClusters page; 0: all
	deny     map[string]bool          // operation → AccessDeniedException
	huge     bool                     // ListClusters answers with a body that never ends
	endless  bool                     // ListClusters answers empty pages that always have a next one

	mu    sync.Mutex
	calls []string // "REGION OP [next-token]"
}

type fakeCluster struct {
	id, name, status string
	endpoint         string   // GetCluster's endpoint, when not the cluster's own
	broken           bool     // GetCluster answers with a body that does not decode
	set              []string // multi-Region: the ARNs of every cluster of the set
	witness          string
}

func fakeARN(region, id string) string {
	return "arn:aws:dsql:" + region + ":123456789012:cluster/" + id
}

var scopeRE = regexp.MustCompile(`^AWS4-HMAC-SHA256 Credential=([A-Z0-9]+)/\d{8}/([a-z0-9-]+)/([a-z0-9-]+)/aws4_request, SignedHeaders=[a-z0-9;-]+, Signature=[0-9a-f]{64}$`)

func startFakeDSQL(t *testing.T, f *fakeDSQL) *httptest.Server {
	f.t = t
	srv := httptest.NewServer(f)
	t.Cleanup(srv.Close)
	return srv
}

func (f *fakeDSQL) fail(w http.ResponseWriter, status int, code, msg string) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("X-Amzn-ErrorType", code)
	w.WriteHeader(status)
	json.NewEncoder(w).Encode(map[string]string{"message": msg})
}

func (f *fakeDSQL) ServeHTTP(w http.ResponseWriter, req *http.Request) {
	m := scopeRE.FindStringSubmatch(req.Header.Get("Authorization"))
	if m == nil || m[1] != "AKIAIOSFODNN7EXAMPLE" || m[3] != "dsql" {
		f.t.Errorf("fake DSQL: request not signed for dsql with the example key: %q", req.Header.Get("Authorization"))
		f.fail(w, 403, "UnrecognizedClientException", "bad signature")
		return
	}
	region := m[2]
	if req.Method != http.MethodGet {
		f.fail(w, 405, "ValidationException", "method")
		return
	}
	w.Header().Set("Content-Type", "application/json")
	switch id, isGet := strings.CutPrefix(req.URL.Path, "/cluster/"); {
	case req.URL.Path == "/cluster":
		tok := req.URL.Query().Get("next-token")
		f.record(region + " ListClusters " + tok)
		if f.denied("ListClusters") {
			f.fail(w, 403, "AccessDeniedException", "User: arn:aws:iam::123456789012:user/dev is not authorized to perform: dsql:ListClusters on resource: * because no identity-based policy allows the dsql:ListClusters action")
			return
		}
		start, _ := strconv.Atoi(tok)
		switch {
		case f.huge:
			// Streamed: the test allocates one small buffer however much the client reads,
			// and stops when the client hangs up (or at 256 MiB, far over the cap).
			entry := []byte(strings.Repeat(`{"identifier":"`+idNew+`","arn":"`+fakeARN(region, idNew)+`"},`, 64))
			w.Write([]byte(`{"clusters":[`))
			for n := 0; n < 256<<20; n += len(entry) {
				if _, err := w.Write(entry); err != nil {
					return
				}
			}
			return
		case f.endless:
			json.NewEncoder(w).Encode(map[string]any{"clusters": []any{}, "nextToken": strconv.Itoa(start + 1)})
			return
		}
		cs := f.clusters[region]
		end := len(cs)
		if f.pageSize > 0 && start+f.pageSize < end {
			end = start + f.pageSize
		}
		var items []map[string]string
		for _, c := range cs[start:end] {
			items = append(items, map[string]string{"identifier": c.id, "arn": fakeARN(region, c.id)})
		}
		out := map[string]any{"clusters": items}
		if items == nil {
			out["clusters"] = []any{}
		}
		if end < len(cs) {
			out["nextToken"] = strconv.Itoa(end)
		}
		json.NewEncoder(w).Encode(out)
	case isGet:
		f.record(region + " GetCluster " + id)
		if f.denied("GetCluster") {
			f.fail(w, 403, "AccessDeniedException", "not authorized to perform: dsql:GetCluster")
			return
		}
		for _, c := range f.clusters[region] {
			if c.id != id {
				continue
			}
			out := map[string]any{"identifier": c.id, "arn": fakeARN(region, c.id), "status": c.status,
				"creationTime": 1.7647236e9, "deletionProtectionEnabled": true, "tags": map[string]string{}}
			if c.name != "" {
				out["tags"] = map[string]string{"Name": c.name, "team": "orders"}
			}
			if c.status != "CREATING" { // the endpoint comes with the cluster
				out["endpoint"] = c.id + ".dsql." + region + ".on.aws"
			}
			if c.endpoint != "" {
				out["endpoint"] = c.endpoint
			}
			if c.broken {
				out["endpoint"] = 42
			}
			if c.set != nil {
				out["multiRegionProperties"] = map[string]any{"witnessRegion": c.witness, "clusters": c.set}
			}
			json.NewEncoder(w).Encode(out)
			return
		}
		f.fail(w, 404, "ResourceNotFoundException", "Cluster not found: "+id)
	default:
		f.fail(w, 404, "UnknownOperationException", req.URL.Path)
	}
}

func (f *fakeDSQL) denied(op string) bool {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.deny[op]
}

func (f *fakeDSQL) setDeny(ops ...string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.deny = map[string]bool{}
	for _, op := range ops {
		f.deny[op] = true
	}
}

func (f *fakeDSQL) record(call string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.calls = append(f.calls, strings.TrimSpace(call))
}

func (f *fakeDSQL) called(call string) bool {
	f.mu.Lock()
	defer f.mu.Unlock()
	for _, c := range f.calls {
		if c == call {
			return true
		}
	}
	return false
}

// Cluster IDs of the fakes: 26 lower-case letters and digits.
const (
	idOrdersEast1 = "aaaaaaaaaaaaaaaaaaaaaaaaa1"
	idOrdersEast2 = "aaaaaaaaaaaaaaaaaaaaaaaaa2"
	idNew         = "bbbbbbbbbbbbbbbbbbbbbbbbb1"
	idReports     = "ccccccccccccccccccccccccc1"
)

// twoRegions is a multi-Region pair (us-east-1, us-east-2, witness us-west-2) named orders, a
// cluster still CREATING with no Name tag, and a single-Region cluster in us-east-2.
func twoRegions() *fakeDSQL {
	set := []string{fakeARN("us-east-1", idOrdersEast1), fakeARN("us-east-2", idOrdersEast2)}
	return &fakeDSQL{clusters: map[string][]fakeCluster{
		"us-east-1": {
			{id: idOrdersEast1, name: "Orders DB", status: "ACTIVE", set: set, witness: "us-west-2"},
			{id: idNew, status: "CREATING"},
		},
		"us-east-2": {
			{id: idOrdersEast2, name: "Orders DB", status: "ACTIVE", set: set, witness: "us-west-2"},
			{id: idReports, name: "reports", status: "IDLE"},
		},
	}, pageSize: 1}
}

// dsqlEnv is awsEnv with the fake as the DSQL endpoint and an AWS profile work in
// us-east-1 holding the example keys (and none in the environment).
func dsqlEnv(t *testing.T, srv *httptest.Server, extra ...string) []string {
	env := awsEnv(t, false, append([]string{"AWS_ENDPOINT_URL_DSQL=" + srv.URL}, extra...)...)
	write := func(name, text string) {
		for _, kv := range env {
			if p, ok := strings.CutPrefix(kv, name+"="); ok {
				if err := os.WriteFile(p, []byte(text), 0o600); err != nil {
					t.Fatal(err)
				}
			}
		}
	}
	write("AWS_CONFIG_FILE", "[profile work]\nregion = us-east-1\n\n[profile east2]\nregion = us-east-2\n")
	write("AWS_SHARED_CREDENTIALS_FILE", "[work]\naws_access_key_id = AKIAIOSFODNN7EXAMPLE\naws_secret_access_key = wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY\n\n"+
		"[east2]\naws_access_key_id = AKIAIOSFODNN7EXAMPLE\naws_secret_access_key = wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY\n")
	return env
}

func envValue(env []string, name string) string {
	v := ""
	for _, kv := range env {
		if p, ok := strings.CutPrefix(kv, name+"="); ok {
			v = p
		}
	}
	return v
}

// The piped lines of twoRegions, in region then list order.
var twoRegionsLines = "Orders DB\t" + idOrdersEast1 + "\tus-east-1\tACTIVE\t" + idOrdersEast1 + ".dsql.us-east-1.on.aws\tus-east-2/" + idOrdersEast2 + ", witness us-west-2\n" +
	"-\t" + idNew + "\tus-east-1\tCREATING\t" + idNew + ".dsql.us-east-1.on.aws\t-\n" +
	"Orders DB\t" + idOrdersEast2 + "\tus-east-2\tACTIVE\t" + idOrdersEast2 + ".dsql.us-east-2.on.aws\tus-east-1/" + idOrdersEast1 + ", witness us-west-2\n" +
	"reports\t" + idReports + "\tus-east-2\tIDLE\t" + idReports + ".dsql.us-east-2.on.aws\t-\n"

func TestClustersSeveralRegionsPagedPiped(t *testing.T) {
	f := twoRegions()
	srv := startFakeDSQL(t, f)
	r := runBin(t, dsqlEnv(t, srv), "clusters", "--aws-profile", "work", "--region", "us-east-1", "--region", "us-east-2")
	if r.code != 0 || r.stderr != "" {
		t.Fatalf("exit %d: %s", r.code, r.stderr)
	}
	if r.stdout != twoRegionsLines {
		t.Errorf("got:\n%s\nwant:\n%s", r.stdout, twoRegionsLines)
	}
	// One cluster per page: the second page of each region was asked for with the token.
	for _, call := range []string{"us-east-1 ListClusters", "us-east-1 ListClusters 1", "us-east-2 ListClusters 1", "us-east-1 GetCluster " + idNew} {
		if !f.called(call) {
			t.Errorf("the fake never saw %q: %q", call, f.calls)
		}
	}
}

func TestClustersJSON(t *testing.T) {
	srv := startFakeDSQL(t, twoRegions())
	r := runBin(t, dsqlEnv(t, srv), "clusters", "--aws-profile", "work", "--region", "us-east-1,us-east-2", "--json")
	if r.code != 0 || r.stderr != "" {
		t.Fatalf("exit %d: %s", r.code, r.stderr)
	}
	var got []cluster
	if err := json.Unmarshal([]byte(r.stdout), &got); err != nil {
		t.Fatalf("%v:\n%s", err, r.stdout)
	}
	if len(got) != 4 {
		t.Fatalf("%d clusters, want 4:\n%s", len(got), r.stdout)
	}
	o := got[0]
	if o.Profile != "orders-db" || o.Name != "Orders DB" || o.ID != idOrdersEast1 || o.Region != "us-east-1" || o.Status != "ACTIVE" ||
		o.Endpoint != idOrdersEast1+".dsql.us-east-1.on.aws" || o.ARN != fakeARN("us-east-1", idOrdersEast1) || o.Created != "2025-12-03T01:00:00Z" ||
		!o.DeletionProtection || o.Tags["team"] != "orders" || o.MultiRegion == nil || o.MultiRegion.WitnessRegion != "us-west-2" || len(o.MultiRegion.Clusters) != 2 {
		t.Errorf("first cluster: %+v", o)
	}
	// The two halves of the pair share a Name tag: the second profile name says its region.
	if got[1].Profile != idNew || got[1].Status != "CREATING" || got[2].Profile != "orders-db-us-east-2" || got[3].Profile != "reports" {
		t.Errorf("profile names and status: %+v", got)
	}
	if !strings.Contains(r.stdout, `"multi_region": {`) {
		t.Errorf("no multi_region object:\n%s", r.stdout)
	}
}

func TestClustersTableAndDefaultRegion(t *testing.T) {
	srv := startFakeDSQL(t, twoRegions())
	env := dsqlEnv(t, srv)
	// In process, on a "terminal": the SDK reads this process's environment.
	for _, kv := range env {
		k, v, _ := strings.Cut(kv, "=")
		if strings.HasPrefix(k, "AWS_") {
			t.Setenv(k, v)
		}
	}
	t.Setenv("AWS_ACCESS_KEY_ID", "")
	t.Setenv("AWS_SECRET_ACCESS_KEY", "")
	t.Setenv("AWS_SESSION_TOKEN", "")
	t.Setenv("AWS_PROFILE", "east2") // the default region is this AWS profile's: us-east-2
	e := testEnv(nil)
	e.StdoutIsTerminal = true
	r := runEnv(t, e, "clusters")
	if r.code != 0 || r.stderr != "" {
		t.Fatalf("exit %d: %s", r.code, r.stderr)
	}
	want := "NAME       ID                          REGION     STATUS  ENDPOINT                                          PEERS\n" +
		"Orders DB  " + idOrdersEast2 + "  us-east-2  ACTIVE  " + idOrdersEast2 + ".dsql.us-east-2.on.aws  us-east-1/" + idOrdersEast1 + ", witness us-west-2\n" +
		"reports    " + idReports + "  us-east-2  IDLE    " + idReports + ".dsql.us-east-2.on.aws  -\n"
	if r.stdout != want {
		t.Errorf("got:\n%s\nwant:\n%s", r.stdout, want)
	}
}

func TestClustersAccessDenied(t *testing.T) {
	for _, op := range []string{"ListClusters", "GetCluster"} {
		t.Run(op, func(t *testing.T) {
			f := twoRegions()
			f.deny = map[string]bool{op: true}
			srv := startFakeDSQL(t, f)
			r := runBin(t, dsqlEnv(t, srv), "clusters", "--aws-profile", "work", "--region", "us-east-1")
			want := "dsqlenv: clusters: access denied: AWS profile work (from --aws-profile) may not call dsql:" + op + " in us-east-1"
			if r.code != 1 || r.stdout != "" || !strings.HasPrefix(r.stderr, want) || strings.Count(r.stderr, "\n") != 1 ||
				!strings.Contains(r.stderr, "allow dsql:"+op+" in its IAM policy") {
				t.Errorf("exit %d, stdout %q, stderr %q; want exit 1 and one line starting %q", r.code, r.stdout, r.stderr, want)
			}
		})
	}
}

func TestClustersErrors(t *testing.T) {
	srv := startFakeDSQL(t, twoRegions())
	env := dsqlEnv(t, srv)
	for _, tc := range []struct {
		args []string
		code int
		want string
	}{
		{[]string{"clusters", "--region", "us-east-1"}, 1, "dsqlenv: clusters: no AWS credentials from the default AWS credential chain: "},
		{[]string{"clusters", "--aws-profile", "wrok"}, 1, "dsqlenv: clusters: no AWS profile wrok (from --aws-profile) in "},
		{[]string{"clusters", "--aws-profile", "wrok", "--region", "us-east-1"}, 1, "did you mean work? (change --aws-profile)\n"},
		{[]string{"clusters", "--aws-profile", "nosuch", "--region", "us-east-1"}, 1, "dsqlenv: clusters: no AWS profile nosuch (from --aws-profile)"},
		{[]string{"clusters", "--region", "useast1"}, 2, `dsqlenv: clusters: --region "useast1" is not a region name such as us-east-1`},
		{[]string{"clusters", "prod"}, 2, "dsqlenv: clusters: takes no arguments, got prod"},
	} {
		r := runBin(t, env, tc.args...)
		if r.code != tc.code || r.stdout != "" || !strings.HasPrefix(r.stderr, tc.want) && !strings.HasSuffix(r.stderr, tc.want) || strings.Count(r.stderr, "\n") != 1 {
			t.Errorf("%v: exit %d, stdout %q, stderr %q; want exit %d and %q", tc.args, r.code, r.stdout, r.stderr, tc.code, tc.want)
		}
	}
	// No region anywhere: an AWS profile without one, and no --region.
	cfg := envValue(env, "AWS_CONFIG_FILE")
	os.WriteFile(cfg, []byte("[profile work]\n"), 0o600)
	r := runBin(t, env, "clusters", "--aws-profile", "work")
	if want := "dsqlenv: clusters: no region: the AWS configuration of AWS profile work has none: give --region\n"; r.code != 1 || r.stderr != want {
		t.Errorf("exit %d, stderr %q; want %q", r.code, r.stderr, want)
	}
}

func TestClustersNone(t *testing.T) {
	srv := startFakeDSQL(t, &fakeDSQL{})
	r := runBin(t, dsqlEnv(t, srv), "clusters", "--aws-profile", "work", "--json")
	if r.code != 0 || r.stdout != "[]\n" || r.stderr != "dsqlenv: no DSQL clusters in us-east-1 for AWS profile work (from --aws-profile)\n" {
		t.Errorf("exit %d, stdout %q, stderr %q", r.code, r.stdout, r.stderr)
	}
}

func TestClustersAdd(t *testing.T) {
	srv := startFakeDSQL(t, twoRegions())
	env := dsqlEnv(t, srv)
	file := filepath.Join(envValue(env, "HOME"), "profiles.yaml")
	original := "# mine\nprofiles:\n  reports:   # hand-made\n    endpoint: zzzzzzzzzzzzzzzzzzzzzzzzzz.dsql.us-east-2.on.aws\n" +
		"  east2:\n    endpoint: " + idOrdersEast2 + "\n    region: us-east-2\n"
	if err := os.WriteFile(file, []byte(original), 0o600); err != nil {
		t.Fatal(err)
	}
	r := runBin(t, env, "clusters", "--config", file, "--aws-profile", "work", "--region", "us-east-1", "--region", "us-east-2", "--add")
	if r.code != 0 || r.stdout != twoRegionsLines {
		t.Fatalf("exit %d, stdout %q, stderr %s", r.code, r.stdout, r.stderr)
	}
	wantErr := "dsqlenv: note: cluster " + idNew + " (profile " + idNew + ") is CREATING, not ACTIVE yet\n" +
		"dsqlenv: skipped cluster " + idOrdersEast2 + " in us-east-2: profile east2 has it already\n" +
		"dsqlenv: skipped cluster " + idReports + " in us-east-2: profile reports already exists (dsqlenv add reports --cluster " + fakeARN("us-east-2", idReports) + " --force replaces it)\n" +
		"dsqlenv: added profiles orders-db, " + idNew + " to " + file + "\n"
	if r.stderr != wantErr {
		t.Errorf("stderr:\n%s\nwant:\n%s", r.stderr, wantErr)
	}
	got, _ := os.ReadFile(file)
	want := original +
		"  orders-db:\n    endpoint: " + idOrdersEast1 + ".dsql.us-east-1.on.aws\n    aws_profile: work\n" +
		"  " + idNew + ":\n    endpoint: " + idNew + ".dsql.us-east-1.on.aws\n    aws_profile: work\n"
	if string(got) != want {
		t.Errorf("file:\n%s\nwant:\n%s", got, want)
	}
	// The profiles work.
	r = runBin(t, env, "--config", file, "show", "orders-db")
	if r.code != 0 || !strings.Contains(r.stdout, idOrdersEast1) {
		t.Errorf("show: exit %d: %s%s", r.code, r.stdout, r.stderr)
	}
	// Again: everything is there, so nothing is written.
	before, _ := os.Stat(file)
	r = runBin(t, env, "clusters", "--config", file, "--aws-profile", "work", "--region", "us-east-1", "--add")
	after, _ := os.Stat(file)
	if r.code != 0 || !strings.Contains(r.stderr, "no profile added") || !after.ModTime().Equal(before.ModTime()) {
		t.Errorf("second --add: exit %d, stderr %s", r.code, r.stderr)
	}
}

func TestClustersAddNewFileFailsWithoutWriting(t *testing.T) {
	f := twoRegions()
	f.deny = map[string]bool{"GetCluster": true}
	srv := startFakeDSQL(t, f)
	env := dsqlEnv(t, srv)
	file := filepath.Join(envValue(env, "HOME"), "new", "profiles.yaml")
	r := runBin(t, env, "clusters", "--config", file, "--aws-profile", "work", "--add")
	if _, err := os.Stat(filepath.Dir(file)); r.code != 1 || err == nil {
		t.Errorf("exit %d (stat %v): a failed --add must write nothing", r.code, err)
	}
	f.setDeny()
	r = runBin(t, env, "clusters", "--config", file, "--aws-profile", "work", "--add")
	got, _ := os.ReadFile(file)
	want := "# dsqlenv profiles (`dsqlenv add` wrote this file; every field: dsqlenv init --path, then the README)\nprofiles:\n" +
		"  orders-db:\n    endpoint: " + idOrdersEast1 + ".dsql.us-east-1.on.aws\n    aws_profile: work\n" +
		"  " + idNew + ":\n    endpoint: " + idNew + ".dsql.us-east-1.on.aws\n    aws_profile: work\n"
	if r.code != 0 || string(got) != want {
		t.Errorf("exit %d, stderr %s, file:\n%s\nwant:\n%s", r.code, r.stderr, got, want)
	}
	if st, err := os.Stat(file); err != nil || st.Mode().Perm() != permHere(0o600) {
		t.Errorf("new file: %v %v", st, err)
	}
}

// Same-named clusters get names that say their own region and no other: orders,
// orders-us-east-1, orders-us-east-1-2, … (orders-us-east-2 is us-east-2's).
func TestClustersNamesSayTheirOwnRegion(t *testing.T) {
	regions := []string{"us-east-1", "us-east-1", "us-east-1", "us-east-1", "us-east-2", "us-east-2", "us-east-2", "us-east-1", "eu-west-1"}
	want := []string{"orders", "orders-us-east-1", "orders-us-east-1-2", "orders-us-east-1-3", "orders-us-east-2", "orders-us-east-2-2", "orders-us-east-2-3", "orders-us-east-1-4", "orders-eu-west-1"}
	taken := map[string]bool{}
	for i, region := range regions {
		got := uniqueName("orders", region, taken)
		if got != want[i] {
			t.Errorf("cluster %d in %s: %s, want %s", i+1, region, got, want[i])
		}
		for _, other := range []string{"us-east-1", "us-east-2", "eu-west-1"} {
			if other != region && strings.Contains(got, other) {
				t.Errorf("cluster %d in %s is named %s, which says %s", i+1, region, got, other)
			}
		}
	}
	// Through the control plane: three same-named clusters in one region, two in another.
	ids := []string{"eeeeeeeeeeeeeeeeeeeeeeeee1", "eeeeeeeeeeeeeeeeeeeeeeeee2", "eeeeeeeeeeeeeeeeeeeeeeeee3", "eeeeeeeeeeeeeeeeeeeeeeeee4", "eeeeeeeeeeeeeeeeeeeeeeeee5"}
	srv := startFakeDSQL(t, &fakeDSQL{clusters: map[string][]fakeCluster{
		"us-east-1": {{id: ids[0], name: "Orders", status: "ACTIVE"}, {id: ids[1], name: "Orders", status: "ACTIVE"}, {id: ids[2], name: "Orders", status: "ACTIVE"}},
		"us-east-2": {{id: ids[3], name: "Orders", status: "ACTIVE"}, {id: ids[4], name: "Orders", status: "ACTIVE"}},
	}})
	r := runBin(t, dsqlEnv(t, srv), "clusters", "--aws-profile", "work", "--region", "us-east-1,us-east-2", "--json")
	var got []cluster
	if err := json.Unmarshal([]byte(r.stdout), &got); r.code != 0 || err != nil {
		t.Fatalf("exit %d, %v: %s", r.code, err, r.stderr)
	}
	var names []string
	for _, c := range got {
		names = append(names, c.Region+":"+c.Profile)
	}
	if w := "us-east-1:orders us-east-1:orders-us-east-1 us-east-1:orders-us-east-1-2 us-east-2:orders-us-east-2 us-east-2:orders-us-east-2-2"; strings.Join(names, " ") != w {
		t.Errorf("profiles %s, want %s", strings.Join(names, " "), w)
	}
}

// A control plane that answers with no end (a hostile or mistaken AWS_ENDPOINT_URL_DSQL) is
// read up to a cap per answer, and the command fails saying so.
func TestClustersAnswerOverTheCap(t *testing.T) {
	srv := startFakeDSQL(t, &fakeDSQL{huge: true})
	r := runBin(t, dsqlEnv(t, srv), "clusters", "--aws-profile", "work", "--add")
	want := "dsqlenv: clusters: dsql:ListClusters in us-east-1: the answer is over the 1 MiB dsqlenv reads: is the endpoint (AWS_ENDPOINT_URL_DSQL=" + srv.URL + ") a DSQL control plane?\n"
	if r.code != 1 || r.stdout != "" || r.stderr != want {
		t.Errorf("exit %d, stdout %q, stderr %q; want exit 1 and %q", r.code, r.stdout, r.stderr, want)
	}
}

// The clusters and the pages of one region are capped, and the note says so; the clusters
// under the cap are all added, in one edit of the file.
func TestClustersCountOverTheCap(t *testing.T) {
	f := &fakeDSQL{clusters: map[string][]fakeCluster{}, pageSize: 100}
	for i := range maxClusters + 5 {
		f.clusters["us-east-1"] = append(f.clusters["us-east-1"], fakeCluster{id: fmt.Sprintf("%026d", i), status: "ACTIVE"})
	}
	srv := startFakeDSQL(t, f)
	env := dsqlEnv(t, srv)
	file := filepath.Join(envValue(env, "HOME"), "profiles.yaml")
	r := runBin(t, env, "clusters", "--config", file, "--aws-profile", "work", "--add")
	note := fmt.Sprintf("dsqlenv: note: the DSQL API in us-east-1 lists more than %d clusters (or pages): dsqlenv took the first %d\n", maxClusters, maxClusters)
	if r.code != 0 || !strings.Contains(r.stderr, note) || !strings.Contains(r.stderr, "dsqlenv: added profiles 00000000000000000000000000, 00000000000000000000000001, ") || !strings.Contains(r.stderr, ", 00000000000000000000000009 and 990 more to "+file+"\n") || strings.Count(r.stdout, "\n") != maxClusters {
		t.Fatalf("exit %d, %d lines, stderr %.300q", r.code, strings.Count(r.stdout, "\n"), r.stderr)
	}
	pf, err := profiles.Load(file)
	if err != nil || len(pf.Profiles) != maxClusters || pf.Profiles[maxClusters-1].Name != fmt.Sprintf("%026d", maxClusters-1) {
		t.Errorf("the file: %v", err)
	}
	f.mu.Lock()
	gets := 0
	for _, c := range f.calls {
		if strings.Contains(c, " GetCluster ") {
			gets++
		}
	}
	f.mu.Unlock()
	if gets != maxClusters {
		t.Errorf("%d GetCluster calls, want %d", gets, maxClusters)
	}
	// All on one page.
	srv = startFakeDSQL(t, &fakeDSQL{clusters: f.clusters})
	r = runBin(t, dsqlEnv(t, srv), "clusters", "--aws-profile", "work")
	if r.code != 0 || r.stderr != note || strings.Count(r.stdout, "\n") != maxClusters {
		t.Errorf("one page: exit %d, %d lines, stderr %q", r.code, strings.Count(r.stdout, "\n"), r.stderr)
	}
	// Pages that never end, with no clusters on them.
	srv = startFakeDSQL(t, &fakeDSQL{endless: true})
	r = runBin(t, dsqlEnv(t, srv), "clusters", "--aws-profile", "work")
	note = fmt.Sprintf("dsqlenv: note: the DSQL API in us-east-1 lists more than %d clusters (or pages): dsqlenv took the first 0\n", maxClusters)
	if r.code != 0 || r.stderr != note+"dsqlenv: no DSQL clusters in us-east-1 for AWS profile work (from --aws-profile)\n" {
		t.Errorf("endless pages: exit %d, stderr %q", r.code, r.stderr)
	}
}

// A cluster the control plane describes badly is skipped with a line that names it; the
// others are added.
func TestClustersAddSkipsABadCluster(t *testing.T) {
	bad1, bad2 := "fffffffffffffffffffffffff1", "fffffffffffffffffffffffff2"
	srv := startFakeDSQL(t, &fakeDSQL{clusters: map[string][]fakeCluster{"us-east-1": {
		{id: bad1, name: "evil", status: "ACTIVE", endpoint: "x.dsql.us-east-1.on.aws/\n  other:"},
		{id: idOrdersEast1, name: "orders", status: "ACTIVE"},
		{id: bad2, name: "broken", status: "ACTIVE", broken: true},
		{id: "../../../etc", status: "ACTIVE"},
	}}})
	env := dsqlEnv(t, srv)
	file := filepath.Join(envValue(env, "HOME"), "profiles.yaml")
	r := runBin(t, env, "clusters", "--config", file, "--aws-profile", "work", "--add")
	got, _ := os.ReadFile(file)
	want := "# dsqlenv profiles (`dsqlenv add` wrote this file; every field: dsqlenv init --path, then the README)\nprofiles:\n" +
		"  orders:\n    endpoint: " + idOrdersEast1 + ".dsql.us-east-1.on.aws\n    aws_profile: work\n"
	if r.code != 0 || string(got) != want {
		t.Fatalf("exit %d, stderr %s, file:\n%s", r.code, r.stderr, got)
	}
	for _, line := range []string{
		"dsqlenv: skipped 1 identifier in us-east-1 that ListClusters gave as clusters: no cluster IDs (the first: \"../../../etc\")\n",
		"dsqlenv: skipped cluster " + bad2 + " in us-east-1: dsql:GetCluster failed: ",
		"dsqlenv: skipped cluster " + bad1 + " in us-east-1: its endpoint \"x.dsql.us-east-1.on.aws/\\n  other:\" is not a bare host name",
		"dsqlenv: added profile orders to " + file + "\n",
	} {
		if !strings.Contains(r.stderr, line) {
			t.Errorf("stderr lacks %q:\n%s", line, r.stderr)
		}
	}
}

// TestClustersAndAddUseTheCredentialCache: clusters and add get an assumed role's credentials
// the way a mint does: the first run asks STS and keeps the answer in the AWS CLI's cache, and
// the next clusters, add and a token for the profile add wrote find it there: one AssumeRole
// call in all. defaults: credential_cache: false in the profiles file, or
// DSQLENV_CREDENTIAL_CACHE=off, keep them out of it.
func TestClustersAndAddUseTheCredentialCache(t *testing.T) {
	sts := testkit.StartAWSStandIn(t)
	srv := startFakeDSQL(t, twoRegions())
	env := dsqlEnv(t, srv, "AWS_ENDPOINT_URL_STS="+sts.URL)
	home := envValue(env, "HOME")
	if err := os.WriteFile(envValue(env, "AWS_CONFIG_FILE"), []byte("[profile role]\nregion = us-east-1\nrole_arn = arn:aws:iam::123456789012:role/dev\nsource_profile = work\n\n"+
		"[profile work]\nregion = us-east-1\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	file := filepath.Join(home, "profiles.yaml")
	steps := [][]string{
		{"clusters", "--aws-profile", "role"},
		{"clusters", "--aws-profile", "role"},
		{"add", "--config", file, "orders", "--cluster", idOrdersEast1, "--aws-profile", "role"},
		{"--config", file, "token", "orders"},
	}
	for i, args := range steps {
		if r := runBin(t, env, args...); r.code != 0 {
			t.Fatalf("%v: exit %d: %s", args, r.code, r.stderr)
		}
		if n := len(sts.AssumeRoleCalls()); n != 1 {
			t.Fatalf("after %v (step %d): %d AssumeRole calls, want 1", args, i+1, n)
		}
	}
	if entries, _ := os.ReadDir(profiles.CredentialCacheDir(home)); len(entries) != 1 {
		t.Errorf("the AWS CLI's cache holds %v, want one entry", entries)
	}

	// Off: each run asks STS.
	os.RemoveAll(profiles.CredentialCacheDir(home))
	if r := runBin(t, append(env, "DSQLENV_CREDENTIAL_CACHE=off"), "clusters", "--aws-profile", "role"); r.code != 0 {
		t.Fatalf("clusters with the cache off: %s", r.stderr)
	}
	if err := os.WriteFile(file, []byte("defaults:\n  credential_cache: false\nprofiles:\n  orders:\n    endpoint: "+idOrdersEast1+"\n    region: us-east-1\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if r := runBin(t, env, "clusters", "--config", file, "--aws-profile", "role"); r.code != 0 {
		t.Fatalf("clusters with credential_cache: false: %s", r.stderr)
	}
	if n := len(sts.AssumeRoleCalls()); n != 3 {
		t.Errorf("%d AssumeRole calls, want 3: the runs with the cache off ask each time", n)
	}
	if _, err := os.Stat(profiles.CredentialCacheDir(home)); !os.IsNotExist(err) {
		t.Errorf("the cache off wrote %s: %v", profiles.CredentialCacheDir(home), err)
	}
}
