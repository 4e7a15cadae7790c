package verifiable

import (
	"context"
	"encoding/json"
	"path/filepath"
	"testing"
	"time"

	"github.com/sluicehq/sluice/connectors"
)

type offsets map[string]map[string]any

func (o offsets) Offset(p map[string]any) map[string]any {
	b, _ := json.Marshal(p)
	return o[string(b)]
}

// A source with max.messages resumes after its committed offset, stops at
// the limit and then idles with empty batches.
func TestSourceStopsAtMaxMessages(t *testing.T) {
	p := SourcePlugin()
	cfg := map[string]string{KeyTopic: "t", KeyThroughput: "100000", KeyMaxMessages: "250"}
	if errs := p.Spec.Validate(cfg); len(errs) > 0 {
		t.Fatal(errs)
	}
	s := p.NewSource()
	err := s.Open(context.Background(), connectors.SourceContext{
		TaskInfo: connectors.TaskInfo{Task: 1, Config: connectors.NewConfig(p.Spec, cfg)},
		Offsets:  offsets{`{"id":1}`: {"seqno": 99}}})
	if err != nil {
		t.Fatal(err)
	}
	var got []int64
	deadline := time.Now().Add(5 * time.Second)
	for len(got) < 150 && time.Now().Before(deadline) {
		recs, err := s.Poll(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		for _, r := range recs {
			got = append(got, r.ValueData.(int64))
		}
	}
	if len(got) != 150 || got[0] != 100 || got[149] != 249 {
		t.Fatalf("emitted %d records, from %v to %v; want 100 to 249", len(got), got[:min(1, len(got))], got[max(0, len(got)-1):])
	}
	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()
	if recs, err := s.Poll(ctx); err != nil || len(recs) != 0 {
		t.Fatalf("past max.messages Poll returned %d records, %v", len(recs), err)
	}
	for _, bad := range []string{"-2", "x"} {
		if errs := p.Spec.Validate(map[string]string{KeyTopic: "t", KeyMaxMessages: bad}); len(errs) == 0 {
			t.Errorf("max.messages=%s accepted", bad)
		}
	}
}

// put.delay.ms makes every Put take that long.
func TestSinkPutDelay(t *testing.T) {
	p := SinkPlugin()
	cfg := map[string]string{KeyFile: filepath.Join(t.TempDir(), "out.jsonl"), KeyPutDelay: "200"}
	s := p.NewSink()
	if err := s.Open(context.Background(), connectors.SinkContext{TaskInfo: connectors.TaskInfo{Config: connectors.NewConfig(p.Spec, cfg)}}); err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	began := time.Now()
	if err := s.Put(context.Background(), []connectors.Record{{KeyData: int32(0), ValueData: int64(0)}}); err != nil {
		t.Fatal(err)
	}
	if took := time.Since(began); took < 200*time.Millisecond {
		t.Fatalf("Put took %s with put.delay.ms=200", took)
	}
	if err := s.Flush(context.Background()); err != nil {
		t.Fatal(err)
	}
	n := 0
	if err := ReadLines(cfg[KeyFile], func(Line) { n++ }); err != nil || n != 1 {
		t.Fatalf("%d lines, %v", n, err)
	}
}
