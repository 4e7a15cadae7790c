// Package sourcetest runs a source connector in a test as the runtime
// would: offsets kept and committed after each batch, records rendered as
// JSON lines to assert on.
package sourcetest

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/sluicehq/sluice/connectors"
	"github.com/sluicehq/sluice/connectors/converter"
)

// Offsets are committed source offsets, by partition.
type Offsets map[string]map[string]any

// Offset implements connectors.OffsetReader.
func (o Offsets) Offset(p map[string]any) map[string]any { return o[fmt.Sprint(p)] }

// Commit records the newest offset of each partition among recs, as the
// runtime does once Kafka has them.
func (o Offsets) Commit(recs []connectors.Record) {
	for _, r := range recs {
		if r.SourceOffset != nil {
			o[fmt.Sprint(r.SourcePartition)] = r.SourceOffset
		}
	}
}

// Task is an open source task.
type Task[S connectors.Source] struct {
	t       testing.TB
	S       S
	Offsets Offsets
}

// Open opens s with cfg, resuming from off, and closes it when the test
// ends.
func Open[S connectors.Source](t testing.TB, s S, cfg connectors.Config, off Offsets) *Task[S] {
	t.Helper()
	if err := s.Open(context.Background(), connectors.SourceContext{TaskInfo: connectors.TaskInfo{Config: cfg}, Offsets: off}); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return &Task[S]{t: t, S: s, Offsets: off}
}

// Read polls until n records came, committing each batch (and telling a
// SourceCommitter), and returns them as lines "topic key value", key and
// value in JSON with JsonConverter's schemas.enable=false.
func (tk *Task[S]) Read(n int) []string {
	tk.t.Helper()
	conv, _ := converter.New(converter.JSONClass, map[string]string{"schemas.enable": "false"}, false)
	var out []string
	deadline := time.Now().Add(20 * time.Second)
	for len(out) < n {
		if time.Now().After(deadline) {
			tk.t.Fatalf("got %d of %d records: %v", len(out), n, out)
		}
		recs, err := tk.S.Poll(context.Background())
		if err != nil {
			tk.t.Fatal(err)
		}
		for _, r := range recs {
			k, err := conv.FromConnect(r.Topic, r.KeySchema, r.KeyData)
			if err != nil {
				tk.t.Fatalf("key: %v", err)
			}
			v, err := conv.FromConnect(r.Topic, r.ValueSchema, r.ValueData)
			if err != nil {
				tk.t.Fatalf("value of %v: %v", r.ValueData, err)
			}
			out = append(out, r.Topic+" "+string(k)+" "+string(v))
		}
		tk.Offsets.Commit(recs)
		if c, ok := any(tk.S).(connectors.SourceCommitter); ok && len(recs) > 0 {
			last := recs[len(recs)-1]
			_ = c.Commit(context.Background(), []connectors.Offset{{Partition: last.SourcePartition, Offset: last.SourceOffset}})
		}
	}
	return out
}

// Drain polls s until it gave n records (a tombstone counts) and returns
// them as they are, or fails after 20 seconds.
func Drain(t testing.TB, s connectors.Source, n int) []connectors.Record {
	t.Helper()
	var out []connectors.Record
	for deadline := time.Now().Add(20 * time.Second); len(out) < n; {
		if time.Now().After(deadline) {
			t.Fatalf("got %d of %d records", len(out), n)
		}
		recs, err := s.Poll(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, recs...)
	}
	return out
}

// Quiet polls for a while and fails on any record.
func (tk *Task[S]) Quiet() {
	tk.t.Helper()
	for end := time.Now().Add(1500 * time.Millisecond); time.Now().Before(end); {
		recs, err := tk.S.Poll(context.Background())
		if err != nil {
			tk.t.Fatal(err)
		}
		if len(recs) > 0 {
			tk.t.Fatalf("unexpected record: %v", recs[0].ValueData)
		}
	}
}

// Field reads a JSON path like after.qty from the value of a Read line;
// nil for a tombstone or a missing field.
func Field(t testing.TB, line, path string) any {
	t.Helper()
	parts := strings.SplitN(line, " ", 3)
	if parts[2] == "" {
		return nil
	}
	var v any
	if err := json.Unmarshal([]byte(parts[2]), &v); err != nil {
		t.Fatalf("%s: %v", parts[2], err)
	}
	for _, p := range strings.Split(path, ".") {
		m, ok := v.(map[string]any)
		if !ok {
			return nil
		}
		v = m[p]
	}
	return v
}
