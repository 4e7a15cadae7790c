package agent

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/sluicehq/sluice/agent/runtime"
	"github.com/sluicehq/sluice/connectors"
	"github.com/sluicehq/sluice/connectors/builtin"
)

// Offsets the agent could not report before stopping are sent by its next run.
func TestUnsentOffsetsSurviveARestart(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	cfg := Config{Servers: []string{"http://127.0.0.1:1"}, Brokers: []string{"127.0.0.1:1"}, Name: "a",
		Registry: builtin.Registry(), DataDir: dir}
	a, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	task := runtime.TaskRef{Connector: "c", Task: 0}
	a.rep.Offsets(task, 7, []connectors.Offset{{Partition: map[string]any{"filename": "f"}, Offset: map[string]any{"position": 42}}})
	if err := a.saveUnsent(); err != nil {
		t.Fatal(err)
	}
	b, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	msgs := b.rep.take()
	if len(msgs) != 1 {
		t.Fatalf("%d messages queued, want 1", len(msgs))
	}
	oc := msgs[0].GetOffsets()
	if oc.GetEpoch() != 7 || len(oc.GetOffsets()) != 1 || oc.GetOffsets()[0].GetOffset() != `{"position":42}` {
		t.Fatalf("queued %v", oc)
	}
	if _, err := os.Stat(filepath.Join(dir, unsentFile)); !os.IsNotExist(err) {
		t.Fatalf("the file stays after loading: %v", err)
	}
}
