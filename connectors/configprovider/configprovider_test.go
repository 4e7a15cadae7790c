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
	got, err := Resolve(map[string]string{
		"a": "${env:SLUICE_TEST_PW}", "b": "${file:" + props + ":password}", "c": "user=${file:" + props + ":user};tok=${directory:" + dir + ":token}",
		"d": "plain",
	}, Default)
	if err != nil {
		t.Fatal(err)
	}
	if got["a"] != "pw" || got["b"] != "s3cret" || got["c"] != "user=sluice;tok=tok" || got["d"] != "plain" {
		t.Fatalf("resolved %v", got)
	}
	_, err = Resolve(map[string]string{"database.password": "${env:SLUICE_NOT_SET_ANYWHERE}"}, Default)
	if err == nil || !strings.Contains(err.Error(), "database.password") || !strings.Contains(err.Error(), "not set") {
		t.Fatalf("missing variable: %v", err)
	}
	_, err = Resolve(map[string]string{"x": "${file:" + props + ":password}"}, []string{"env"})
	if err == nil || strings.Contains(err.Error(), "s3cret") || !strings.Contains(err.Error(), "does not enable") {
		t.Fatalf("disabled provider: %v", err)
	}
	if !Has("${env:X}") || Has("$5 {env}") {
		t.Fatal("Has")
	}
}
