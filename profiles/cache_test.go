package profiles

import (
	"bytes"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"gopkg.in/yaml.v3"
)

func cacheFiles(t *testing.T, dir string) []string {
	m, err := filepath.Glob(filepath.Join(dir, "profiles-*.cache"))
	if err != nil {
		t.Fatal(err)
	}
	return m
}

func TestLoadCachedMatchesParse(t *testing.T) {
	dir, cache := t.TempDir(), t.TempDir()
	path := filepath.Join(dir, "p.yaml")
	// Every field set somewhere, defaults too, and values that need quoting in the cache.
	data := append([]byte("defaults:\n  user: \"o'brien \\\"x\\\"\"\n  expires_in: 1h\n  port: 5433\n  options: '-c a=b\\n'\n"), manyProfiles(1000)[len("defaults:\n  user: admin\n  expires_in: 30m\n"):]...)
	data = append(data, []byte("  full:\n    endpoint: abcdefghijklmnopqrstuvwxyz.dsql.us-east-1.on.aws\n    region: us-east-1\n    user: app\n    database: db\n    port: 6543\n    sslmode: verify-ca\n    sslrootcert: ~/ca.pem\n    expires_in: 90s\n    aws_profile: work\n    application_name: \"😀\\ttab\"\n    connect_timeout: 7\n    options: -c x=y\n")...)
	if err := os.WriteFile(path, data, 0o600); err != nil {
		t.Fatal(err)
	}
	want, err := Parse(path, data)
	if err != nil {
		t.Fatal(err)
	}
	first, err := loadAndSave(path, cache)
	if err != nil || !reflect.DeepEqual(first, want) {
		t.Fatalf("first load differs from Parse: %v", err)
	}
	files := cacheFiles(t, cache)
	if len(files) != 1 {
		t.Fatalf("cache files: %v", files)
	}
	second, err := loadAndSave(path, cache)
	if err != nil || !reflect.DeepEqual(second, want) {
		t.Fatalf("cached load differs from Parse: %v", err)
	}
	// Prove the second load came from the cache: a doctored cache shows through.
	c, _ := os.ReadFile(files[0])
	os.WriteFile(files[0], bytes.Replace(c, []byte(" 5:p0500\n"), []byte(" 8:doctored\n"), 1), 0o600)
	if f, _ := loadAndSave(path, cache); f == nil || f.Profiles[500].Name != "doctored" {
		t.Fatal("the cache was not read")
	}
	// An edit of the same size changes the key: parsed again, and the cache rewritten.
	edited := bytes.Replace(data, []byte("cluster0500"), []byte("cluster9999"), 1)
	os.WriteFile(path, edited, 0o600)
	f, err := loadAndSave(path, cache)
	if err != nil || f.Profiles[500].Name != "p0500" || f.Profiles[500].Fields.Endpoint.Value != "cluster9999.dsql.us-east-1.on.aws" {
		t.Fatalf("edited file not re-parsed: %v", err)
	}
	// A corrupt cache is ignored.
	os.WriteFile(files[0], []byte(cacheMagic+"\ngarbage"), 0o600)
	if f, err := loadAndSave(path, cache); err != nil || len(f.Profiles) != 1001 {
		t.Fatalf("corrupt cache: %v", err)
	}
}

func TestLoadCachedNeverCachesErrors(t *testing.T) {
	dir, cache := t.TempDir(), t.TempDir()
	path := filepath.Join(dir, "p.yaml")
	bad := append(manyProfiles(1000), []byte("  broken:\n    endpoint: a.dsql.us-east-1.on.aws\n    prot: 1\n")...)
	os.WriteFile(path, bad, 0o600)
	for range 2 {
		_, err := loadAndSave(path, cache)
		if err == nil || !strings.Contains(err.Error(), `unknown field "prot"`) {
			t.Fatalf("err %v", err)
		}
	}
	if files := cacheFiles(t, cache); len(files) != 0 {
		t.Errorf("a broken file was cached: %v", files)
	}
}

func TestLoadCachedSmallFileOrUnwritableCache(t *testing.T) {
	dir := t.TempDir()
	small := filepath.Join(dir, "small.yaml")
	os.WriteFile(small, manyProfiles(1), 0o600)
	cache := t.TempDir()
	want, _ := Load(small)
	for range 2 {
		if f, err := loadAndSave(small, cache); err != nil || !reflect.DeepEqual(f, want) || len(cacheFiles(t, cache)) != 1 {
			t.Errorf("small file: %v, cache %v", err, cacheFiles(t, cache))
		}
	}
	big := filepath.Join(dir, "big.yaml")
	os.WriteFile(big, manyProfiles(1000), 0o600)
	notADir := filepath.Join(dir, "small.yaml", "cache") // under a file: cannot be created
	if f, err := loadAndSave(big, notADir); err != nil || len(f.Profiles) != 1000 {
		t.Errorf("unwritable cache: %v", err)
	}
	if _, err := loadAndSave(filepath.Join(dir, "none.yaml"), cache); err == nil || !strings.Contains(err.Error(), "does not exist") {
		t.Errorf("missing file: %v", err)
	}
}

// TestCacheFieldIndexes checks fieldPtr against FieldNames: decoding key i sets field i.
func TestCacheFieldIndexes(t *testing.T) {
	values := map[string]string{"endpoint": "a.dsql.us-east-1.on.aws", "region": "us-east-1", "port": "5432",
		"sslmode": "verify-full", "expires_in": "1h", "connect_timeout": "5"}
	for i, name := range FieldNames {
		v := values[name]
		if v == "" {
			v = "x"
		}
		tag := "!!str"
		if name == "port" || name == "connect_timeout" {
			tag = "!!int"
		}
		var f Fields
		if err := fieldDecoders[name](&f, &yaml.Node{Kind: yaml.ScalarNode, Tag: tag, Value: v, Line: 3}); err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		for j := range FieldNames {
			if _, set, _ := fieldText(&f, j); set != (i == j) {
				t.Errorf("decoding %s set field %d (%s)", name, j, FieldNames[j])
			}
		}
	}
}

// loadAndSave is LoadCached followed by the save a succeeding command runs.
func loadAndSave(path, dir string) (*File, error) {
	f, save, err := LoadCached(path, dir)
	if err == nil {
		save()
	}
	return f, err
}

func TestLoadCachedWritesOnlyWhenSaved(t *testing.T) {
	path := filepath.Join(t.TempDir(), "p.yaml")
	os.WriteFile(path, manyProfiles(2), 0o600)
	cache := t.TempDir()
	if _, _, err := LoadCached(path, cache); err != nil || len(cacheFiles(t, cache)) != 0 {
		t.Fatalf("the cache was written before save: %v %v", err, cacheFiles(t, cache))
	}
	_, save, _ := LoadCached(path, cache)
	save()
	if len(cacheFiles(t, cache)) != 1 {
		t.Fatal("save wrote no cache")
	}
}
