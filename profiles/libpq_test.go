package profiles

import (
	"slices"
	"strings"
	"testing"

	"github.com/dsqlenv/dsqlenv/internal/libpq"
)

// notLibpq are the profile fields that reach no PostgreSQL client: they choose how the token
// is signed (privatelink: through which fields' values, endpoint, sslmode and options), or how
// `dsqlenv proxy` serves the profile.
var notLibpq = []string{"region", "expires_in", "aws_profile", "credential_cache", "privatelink", "proxy"}

// A profile field is a libpq setting with a row in the libpq table, or one of notLibpq; a row
// with a field names one a profile may hold. A field added here without a row would never
// reach a client, and a row without a field would never get a value.
func TestEveryLibpqFieldHasARow(t *testing.T) {
	for _, name := range FieldNames {
		if fieldDecoders[name] == nil {
			t.Errorf("field %s has no decoder in fieldDecoders", name)
		}
		if row := libpq.ByField(name); (row == nil) != slices.Contains(notLibpq, name) {
			t.Errorf("field %s: row %v: give it a row in internal/libpq's Settings (variable, keyword, URL and JDBC names), or list it in notLibpq", name, row)
		}
	}
	for _, s := range libpq.Settings {
		if s.Field != "" && !slices.Contains(FieldNames, s.Field) {
			t.Errorf("%s comes from the field %s, which no profile may hold: add it to FieldNames and fieldDecoders", s.Env, s.Field)
		}
	}
	if len(FieldNames) != len(fieldDecoders) {
		t.Errorf("%d field names, %d decoders", len(FieldNames), len(fieldDecoders))
	}
}

// A row's Optional says whether Resolve gives the field a built-in value: a profile with just
// an endpoint has a value for every field but the optional ones.
func TestOptionalRowsHaveNoBuiltinValue(t *testing.T) {
	f, err := Parse("p.yaml", []byte("profiles:\n  p:\n    endpoint: abcdefghijklmnopqrstuvwxyz.dsql.us-east-1.on.aws\n"))
	if err != nil {
		t.Fatal(err)
	}
	c, err := f.Resolve("p", "/home/u")
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range libpq.Settings {
		if s.Field == "" {
			continue
		}
		if got := c.setting(s.Field).Value; (got == "") != s.Optional {
			t.Errorf("field %s resolves to %q with no value in the file, but its row says optional=%v", s.Field, got, s.Optional)
		}
	}
}

// The profiles file checks each libpq field with its row's Check: a value the row refuses
// fails to load, with the row's message at its line.
func TestLibpqFieldsAreCheckedByTheirRow(t *testing.T) {
	checked := 0
	for _, s := range libpq.Settings {
		if s.Check == nil || s.Field == "" {
			continue
		}
		bad := ""
		for _, v := range []string{"-1", "bogus"} {
			if s.Check(v) != "" {
				bad = v
				break
			}
		}
		if bad == "" {
			t.Fatalf("%s: found no value its check refuses", s.Field)
		}
		checked++
		doc := "profiles:\n  p:\n    endpoint: abcdefghijklmnopqrstuvwxyz.dsql.us-east-1.on.aws\n    " + s.Field + ": " + bad + "\n"
		f, err := Parse("p.yaml", []byte(doc))
		if err == nil {
			_, err = f.Lookup("p")
		}
		if want := "p.yaml:4: profile p: " + s.Field + ": " + s.Check(bad); err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%s: %s: got %v, want an error with %q", s.Field, bad, err, want)
		}
	}
	if checked < 5 {
		t.Errorf("only %d rows have a check: port, sslmode, sslnegotiation, connect_timeout and database_url do", checked)
	}
}
