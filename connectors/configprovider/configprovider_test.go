package configprovider

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestResolve(t *testing.T) {
	dir := t.TempDir()
	props := filepath.Join(dir, "db.properties")
	if err := os.WriteFile(props, []byte("# creds\nuser=sluice\npassword: s3cret\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "token"), []byte("tok"), 0o600); err != nil {
		t.Fatal(err)
	}
	t.Setenv("SLUICE_TEST_PW", "pw")
	got, err := Providers{}.Resolve(map[string]string{
		"a": "${env:SLUICE_TEST_PW}", "b": "${file:" + props + ":password}", "c": "user=${file:" + props + ":user};tok=${directory:" + dir + ":token}",
		"d": "plain", "e": "${dir:" + dir + ":token}",
	})
	if err != nil {
		t.Fatal(err)
	}
	if got["a"] != "pw" || got["b"] != "s3cret" || got["c"] != "user=sluice;tok=tok" || got["d"] != "plain" || got["e"] != "tok" {
		t.Fatalf("resolved %v", got)
	}
	_, err = Providers{}.Resolve(map[string]string{"database.password": "${env:SLUICE_NOT_SET_ANYWHERE}"})
	if err == nil || !strings.Contains(err.Error(), "database.password") || !strings.Contains(err.Error(), "not set") {
		t.Fatalf("missing variable: %v", err)
	}
	_, err = Providers{Enabled: []string{"env"}}.Resolve(map[string]string{"x": "${file:" + props + ":password}"})
	if err == nil || strings.Contains(err.Error(), "s3cret") || !strings.Contains(err.Error(), "does not enable") {
		t.Fatalf("disabled provider: %v", err)
	}
	if !Has("${env:X}") || Has("$5 {env}") {
		t.Fatal("Has")
	}
}

// TestAllowlists: as Kafka's allowed.paths and allowlist.pattern, an agent
// reads only the files under its allowed paths (no way out by ".." or a
// symbolic link) and only the environment variables its pattern matches.
func TestAllowlists(t *testing.T) {
	root := t.TempDir()
	secrets, other := filepath.Join(root, "secrets"), filepath.Join(root, "other")
	for _, d := range []string{secrets, other} {
		if err := os.Mkdir(d, 0o700); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(d, "db.properties"), []byte("password=in-"+filepath.Base(d)+"\n"), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.Symlink(other, filepath.Join(secrets, "link")); err != nil {
		t.Fatal(err)
	}
	t.Setenv("APP_DB_PASSWORD", "pw")
	t.Setenv("HOME_SECRET", "no")
	p, err := NewProviders(nil, []string{secrets + "/"}, "APP_.*")
	if err != nil {
		t.Fatal(err)
	}
	got, err := p.Resolve(map[string]string{"a": "${file:" + secrets + "/db.properties:password}", "b": "${env:APP_DB_PASSWORD}",
		"c": "${directory:" + secrets + ":db.properties}"})
	if err != nil || got["a"] != "in-secrets" || got["b"] != "pw" || got["c"] != "password=in-secrets\n" {
		t.Fatalf("allowed: %v %v", got, err)
	}
	for _, c := range []struct{ value, want string }{
		{"${file:" + other + "/db.properties:password}", "outside the paths this agent allows"},
		{"${file:" + secrets + "/../other/db.properties:password}", "outside"},
		{"${file:" + secrets + "/link/db.properties:password}", "outside"},
		{"${dir:" + other + ":db.properties}", "outside"},
		{"${file:db.properties:password}", "not absolute"},
		{"${env:HOME_SECRET}", "not in this agent's allowlist"},
		{"${env:XAPP_DB_PASSWORD}", "not in this agent's allowlist"},
	} {
		_, err := p.Resolve(map[string]string{"database.password": c.value})
		if err == nil || !strings.Contains(err.Error(), c.want) || !strings.Contains(err.Error(), "database.password") ||
			strings.Contains(err.Error(), "in-other") {
			t.Errorf("%s: %v, want %q", c.value, err, c.want)
		}
	}
	if _, err := NewProviders(nil, []string{"relative/dir"}, ""); err == nil {
		t.Error("a relative allowed path was accepted")
	}
	if _, err := NewProviders(nil, nil, "("); err == nil {
		t.Error("a bad pattern was accepted")
	}
}
