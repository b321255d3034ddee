package profiles

import (
	"reflect"
	"strings"
	"testing"
)

// A comment at column 0 between a profile's fields is no end of the profile: the fields
// after it are still its own (yaml.v3 reads them so), and stay its own when another profile
// is added or it is replaced.
func TestAddProfileKeepsFieldsAfterAColumn0Comment(t *testing.T) {
	const file = "profiles:\n" +
		"  prod:\n" +
		"    endpoint: aaaaaaaaaaaaaaaaaaaaaaaaa1.dsql.us-east-1.on.aws\n" +
		"# staging settings follow\n" +
		"    aws_profile: prod-admin\n" +
		"    options: -c amzn-cluster-id=aaaaaaaaaaaaaaaaaaaaaaaaa1\n" +
		"    user: app_rw\n"
	newEntry := "  new1:\n    endpoint: bbbbbbbbbbbbbbbbbbbbbbbbb1.dsql.us-east-1.on.aws\n"
	for _, tc := range []struct {
		name, file, want string
	}{
		{"the last profile", file, file + newEntry},
		{"after another profile", "profiles:\n  other:\n    endpoint: ccccccccccccccccccccccccc1.dsql.us-east-2.on.aws\n" + file[len("profiles:\n"):],
			"profiles:\n  other:\n    endpoint: ccccccccccccccccccccccccc1.dsql.us-east-2.on.aws\n" + file[len("profiles:\n"):] + newEntry},
		{"before defaults", file + "\n# defaults follow\ndefaults:\n  user: admin\n", file + newEntry + "\n# defaults follow\ndefaults:\n  user: admin\n"},
		{"with a deeper comment at its end", file + "    # database: orders (not yet)\n\n# end\n", file + "    # database: orders (not yet)\n" + newEntry + "\n# end\n"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := AddProfile([]byte(tc.file), "new1", []Entry{{"endpoint", "bbbbbbbbbbbbbbbbbbbbbbbbb1.dsql.us-east-1.on.aws"}}, false)
			if err != nil || string(got) != tc.want {
				t.Fatalf("error %v, file:\n%s\nwant:\n%s", err, got, tc.want)
			}
			f, err := Parse("p.yaml", got)
			if err != nil {
				t.Fatal(err)
			}
			if p, err := f.Lookup("prod"); err != nil || p.Fields.AWSProfile.Value != "prod-admin" || p.Fields.User.Value != "app_rw" || !p.Fields.Options.Set {
				t.Errorf("prod lost its fields: %+v %v", p, err)
			}
		})
	}
	// Replaced: every field of the old profile goes, the one after the comment included (an
	// old amzn-cluster-id next to the new endpoint would send the token to the wrong cluster).
	got, err := AddProfile([]byte(file+"  other:\n    endpoint: ccccccccccccccccccccccccc1.dsql.us-east-2.on.aws\n"), "prod",
		[]Entry{{"endpoint", "bbbbbbbbbbbbbbbbbbbbbbbbb1.dsql.us-east-1.on.aws"}}, true)
	want := "profiles:\n  prod:\n    endpoint: bbbbbbbbbbbbbbbbbbbbbbbbb1.dsql.us-east-1.on.aws\n  other:\n    endpoint: ccccccccccccccccccccccccc1.dsql.us-east-2.on.aws\n"
	if err != nil || string(got) != want {
		t.Errorf("--force: error %v, file:\n%s\nwant:\n%s", err, got, want)
	}
}

// Where the lines of a profile cannot be told from its nodes' starts (a kept block scalar's
// trailing blank lines are its value), the edit would change another profile: it is refused
// and nothing is returned.
func TestAddProfileRefusesToChangeAnotherProfile(t *testing.T) {
	file := "profiles:\n  prod:\n    endpoint: aaaaaaaaaaaaaaaaaaaaaaaaa1.dsql.us-east-1.on.aws\n    application_name: |+\n      app\n\n"
	got, err := AddProfile([]byte(file), "new1", []Entry{{"endpoint", "bbbbbbbbbbbbbbbbbbbbbbbbb1.dsql.us-east-1.on.aws"}}, false)
	want := "cannot add profile new1 without changing the rest of the file (application_name: of profile prod would change): nothing was written; add it by hand"
	if err == nil || err.Error() != want || got != nil {
		t.Errorf("error %v, file:\n%s\nwant error %s", err, got, want)
	}
}

// checkEdit names what an edit changed, field by field: the lines of the other profiles may
// move, their values may not.
func TestCheckEditComparesEveryField(t *testing.T) {
	before, err := Parse("", []byte("defaults:\n  user: u\nprofiles:\n  a:\n    endpoint: a.dsql.us-east-1.on.aws\n    port: 5433\n  b:\n    endpoint: b.dsql.us-east-1.on.aws\n"))
	if err != nil {
		t.Fatal(err)
	}
	add := []NewProfile{{"n", []Entry{{"endpoint", "n.dsql.us-east-1.on.aws"}}}}
	const n = "  n:\n    endpoint: n.dsql.us-east-1.on.aws\n"
	for _, tc := range []struct{ after, want string }{
		{"defaults:\n  user: u\nprofiles:\n\n\n  a:\n    endpoint: a.dsql.us-east-1.on.aws\n    port: 5433\n  b:\n    endpoint: b.dsql.us-east-1.on.aws\n" + n, ""},
		{"defaults:\n  user: v\nprofiles:\n  a:\n    endpoint: a.dsql.us-east-1.on.aws\n    port: 5433\n  b:\n    endpoint: b.dsql.us-east-1.on.aws\n" + n, "user: under defaults: would change"},
		{"defaults:\n  user: u\nprofiles:\n  a:\n    endpoint: a.dsql.us-east-1.on.aws\n  b:\n    endpoint: b.dsql.us-east-1.on.aws\n" + n, "port: of profile a would change"},
		{"defaults:\n  user: u\nprofiles:\n  a:\n    endpoint: a.dsql.us-east-1.on.aws\n    port: 5433\n" + n, "profile b would disappear"},
		{"defaults:\n  user: u\nprofiles:\n  b:\n    endpoint: b.dsql.us-east-1.on.aws\n  a:\n    endpoint: a.dsql.us-east-1.on.aws\n    port: 5433\n" + n, "profile b would appear"},
		{"defaults:\n  user: u\nprofiles:\n  a:\n    endpoint: a.dsql.us-east-1.on.aws\n    port: 5433\n  b:\n    endpoint: b.dsql.us-east-1.on.aws\n" + n + "    user: x\n", "the new profile n reads back with user set, which was not given"},
		{"defaults:\n  user: u\nprofiles:\n  a:\n    endpoint: a.dsql.us-east-1.on.aws\n    port: 5433\n  b:\n    endpoint: b.dsql.us-east-1.on.aws\n", "a new profile does not read back"},
	} {
		err := checkEdit(before, []byte(tc.after), add)
		if got := ""; err != nil {
			got = err.Error()
			if got != tc.want {
				t.Errorf("got %q, want %q, for:\n%s", got, tc.want, tc.after)
			}
		} else if tc.want != "" {
			t.Errorf("no error, want %q, for:\n%s", tc.want, tc.after)
		}
	}
}

// changedField and readsBack walk Fields by index and name the field from FieldNames.
func TestFieldsFollowFieldNames(t *testing.T) {
	typ := reflect.TypeOf(Fields{})
	if typ.NumField() != len(FieldNames) {
		t.Fatalf("Fields has %d fields, FieldNames %d", typ.NumField(), len(FieldNames))
	}
	for i, name := range FieldNames {
		if got := strings.ReplaceAll(strings.ToLower(name), "_", ""); got != strings.ToLower(typ.Field(i).Name) {
			t.Errorf("field %d: %s in Fields, %s in FieldNames", i, typ.Field(i).Name, name)
		}
	}
}
