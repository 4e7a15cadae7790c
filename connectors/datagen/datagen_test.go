package datagen

import (
	"context"
	"encoding/json"
	"testing"
	"time"

	"github.com/sluicehq/sluice/connectors"
)

type offsets map[string]map[string]any

func (o offsets) Offset(p map[string]any) map[string]any {
	b, _ := json.Marshal(p)
	return o[string(b)]
}

func tasks(t *testing.T, cfg map[string]string, n int) []map[string]string {
	t.Helper()
	p := Plugin()
	if errs := p.Spec.Validate(cfg); len(errs) > 0 {
		t.Fatal(errs)
	}
	out, err := p.TaskConfigs(connectors.NewConfig(p.Spec, cfg), n)
	if err != nil {
		t.Fatal(err)
	}
	return out
}

func open(t *testing.T, cfg map[string]string, off offsets) *source {
	t.Helper()
	p := Plugin()
	s := p.NewSource().(*source)
	err := s.Open(context.Background(), connectors.SourceContext{
		TaskInfo: connectors.TaskInfo{Config: connectors.NewConfig(p.Spec, cfg)}, Offsets: off})
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// drain polls until the task has generated everything.
func drain(t *testing.T, s *source) []connectors.Record {
	var all []connectors.Record
	for {
		ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
		recs, err := s.Poll(ctx)
		cancel()
		if err != nil {
			t.Fatal(err)
		}
		if len(recs) == 0 {
			return all
		}
		all = append(all, recs...)
	}
}

func TestSplitCoversTotalOnce(t *testing.T) {
	t.Parallel()
	cfgs := tasks(t, map[string]string{"topic": "t", "records.total": "1001", "batch.size": "64", "record.bytes": "20", "key.mode": "sequence"}, 3)
	seen := map[string]bool{}
	for _, cfg := range cfgs {
		for _, r := range drain(t, open(t, cfg, nil)) {
			if len(r.Value) != 20 {
				t.Fatalf("value %q is %d bytes, want 20", r.Value, len(r.Value))
			}
			if seen[string(r.Key)] {
				t.Fatalf("sequence %s generated twice", r.Key)
			}
			seen[string(r.Key)] = true
		}
	}
	if len(seen) != 1001 {
		t.Fatalf("%d records, want 1001", len(seen))
	}
}

func TestResumeAndDeterminism(t *testing.T) {
	t.Parallel()
	cfg := tasks(t, map[string]string{"topic": "t", "records.total": "10", "batch.size": "4"}, 1)[0]
	a := open(t, cfg, nil)
	first, _ := a.Poll(context.Background())
	off := first[len(first)-1].SourceOffset
	if off["seq"] != int64(4) {
		t.Fatalf("offset %v, want seq 4", off)
	}
	key, _ := json.Marshal(first[0].SourcePartition)
	b := open(t, cfg, offsets{string(key): {"seq": json.Number("4")}})
	rest := drain(t, b)
	if len(rest) != 6 {
		t.Fatalf("resumed with %d records, want 6", len(rest))
	}
	all := drain(t, open(t, cfg, nil))
	if string(all[4].Value) != string(rest[0].Value) {
		t.Fatalf("not deterministic: %q vs %q", all[4].Value, rest[0].Value)
	}
}

func TestRateLimit(t *testing.T) {
	t.Parallel()
	cfg := tasks(t, map[string]string{"topic": "t", "records.per.second": "200"}, 1)[0]
	s := open(t, cfg, nil)
	ctx, cancel := context.WithTimeout(context.Background(), 500*time.Millisecond)
	defer cancel()
	n := 0
	for ctx.Err() == nil {
		recs, _ := s.Poll(ctx)
		n += len(recs)
	}
	if n < 50 || n > 200 {
		t.Fatalf("%d records in 0.5s at 200/s", n)
	}
}
