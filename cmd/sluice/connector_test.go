package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestReadConnectorFile(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name, body string
		wantName   string
		wantConfig map[string]string
		wantErr    string
	}{
		{
			name:       "yaml with config",
			body:       "name: a\nconfig:\n  connector.class: file-source\n  tasks.max: 1\n  file: /tmp/x\n",
			wantName:   "a",
			wantConfig: map[string]string{"name": "a", "connector.class": "file-source", "tasks.max": "1", "file": "/tmp/x"},
		},
		{
			name:       "json create request",
			body:       `{"name":"b","config":{"connector.class":"FileStreamSink","topics":"t","file":"/tmp/o"}}`,
			wantName:   "b",
			wantConfig: map[string]string{"name": "b", "connector.class": "FileStreamSink", "topics": "t", "file": "/tmp/o"},
		},
		{
			name:       "flat config with name",
			body:       `{"name":"c","connector.class":"datagen","topic":"t"}`,
			wantName:   "c",
			wantConfig: map[string]string{"name": "c", "connector.class": "datagen", "topic": "t"},
		},
		{name: "no name", body: `{"config":{"connector.class":"datagen"}}`, wantErr: "has no name"},
		{name: "names differ", body: `{"name":"a","config":{"name":"b"}}`, wantErr: "differ"},
		{name: "nested value", body: "name: a\nconfig:\n  x:\n    y: 1\n", wantErr: `"x" must be a single value`},
		{name: "not yaml", body: "name: [", wantErr: "not YAML or JSON"},
		{name: "empty", body: "", wantErr: "is empty"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			path := filepath.Join(t.TempDir(), "c.yaml")
			if err := os.WriteFile(path, []byte(tt.body), 0o644); err != nil {
				t.Fatal(err)
			}
			name, config, err := readConnectorFile(path)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("err = %v, want it to contain %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if name != tt.wantName {
				t.Errorf("name = %q, want %q", name, tt.wantName)
			}
			if len(config) != len(tt.wantConfig) {
				t.Errorf("config = %v, want %v", config, tt.wantConfig)
			}
			for k, v := range tt.wantConfig {
				if config[k] != v {
					t.Errorf("config[%q] = %q, want %q", k, config[k], v)
				}
			}
		})
	}
}

// TestEveryAPIVerbTakesServer: every command that calls the control plane
// takes --server and -o.
func TestEveryAPIVerbTakesServer(t *testing.T) {
	t.Parallel()
	root := newRoot()
	for _, group := range []string{"connector", "offsets", "cluster", "plugins"} {
		cmd, _, err := root.Find([]string{group})
		if err != nil {
			t.Fatal(err)
		}
		leaves := cmd.Commands()
		if len(leaves) == 0 {
			leaves = append(leaves, cmd)
		}
		for _, c := range leaves {
			if c.Flags().Lookup("server") == nil || c.Flags().Lookup("output") == nil {
				t.Errorf("sluice %s %s has no --server or -o", group, c.Name())
			}
		}
	}
}
