package emit

import (
	"strings"
	"testing"
)

// benchBlock is what a real block holds: two unsets, eleven variables and a 1,000-character
// token full of the characters the dialects escape.
func benchBlock() Block {
	token := "abcdefghijklmnopqrstuvwxyz.dsql.us-east-1.on.aws?Action=DbConnectAdmin&X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential=AKIAIOSFODNN7EXAMPLE%2F20261129%2Fus-east-1%2Fdsql%2Faws4_request&X-Amz-Security-Token=" +
		strings.Repeat("IQoJb3JpZ2luX2VjE%2F%2F", 30) + "&X-Amz-Signature=0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"
	return Block{
		Unset: []string{"PGSERVICE", "PGHOSTADDR"},
		Set: []Var{
			{"PGHOST", "abcdefghijklmnopqrstuvwxyz.dsql.us-east-1.on.aws"}, {"PGPORT", "5432"}, {"PGDATABASE", "postgres"},
			{"PGUSER", "app_rw"}, {"PGSSLMODE", "verify-full"}, {"PGSSLROOTCERT", "/home/u/.local/share/dsqlenv/AmazonRootCA1.pem"},
			{"PGPASSWORD", token}, {"PGAPPNAME", "app 50%"}, {"PGOPTIONS", "-c search_path=app"},
			{"DSQLENV_PROFILE", "prod"}, {"DSQLENV_EXPIRES_AT", "1795962724"},
		},
	}
}

func BenchmarkRender(b *testing.B) {
	block := benchBlock()
	for _, d := range firstRowPerRenderer() {
		shell := d.Shell
		b.Run(d.Name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if _, err := shell.Render(block); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
