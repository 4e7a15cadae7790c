package datagen

import (
	"context"
	"encoding/json"
	"strconv"
	"strings"
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

// Remainders go to the low tasks; every task's records are its own.
func TestSplitShares(t *testing.T) {
	t.Parallel()
	cfgs := tasks(t, map[string]string{"topic": "t", "records.total": "1001", "key.mode": "sequence"}, 3)
	for task, want := range []int{334, 334, 333} {
		recs := drain(t, open(t, cfgs[task], nil))
		if len(recs) != want {
			t.Fatalf("task %d: %d records, want %d", task, len(recs), want)
		}
		for i, r := range recs {
			if string(r.Key) != strconv.Itoa(task+3*i) {
				t.Fatalf("task %d record %d: key %s", task, i, r.Key)
			}
			if r.SourcePartition["datagen.task"] != int64(task) {
				t.Fatalf("partition %v", r.SourcePartition)
			}
		}
	}
	// Fewer records than tasks: no idle task.
	if cfgs := tasks(t, map[string]string{"topic": "t", "records.total": "2"}, 5); len(cfgs) != 2 || cfgs[1]["datagen.task.count"] != "2" {
		t.Fatalf("task configs %v", cfgs)
	}
}

func TestTaskConfigsThroughRegistry(t *testing.T) {
	t.Parallel()
	r := connectors.NewRegistry()
	if err := r.Register(*Plugin()); err != nil {
		t.Fatal(err)
	}
	_, cfgs, err := r.TaskConfigs(map[string]string{"name": "g", "connector.class": "DatagenConnector", "tasks.max": "3", "topic": "t"})
	if err != nil {
		t.Fatal(err)
	}
	if len(cfgs) != 3 {
		t.Fatalf("%d tasks", len(cfgs))
	}
	for i, c := range cfgs {
		if c["datagen.task"] != strconv.Itoa(i) || c[connectors.KeyTaskID] != strconv.Itoa(i) || c["datagen.task.count"] != "3" {
			t.Fatalf("task %d config %v", i, c)
		}
	}
	_, errs := r.Validate(map[string]string{"name": "g", "connector.class": "datagen", "key.mode": "bogus"})
	var fields []string
	for _, e := range errs {
		fields = append(fields, e.Field)
	}
	if strings.Join(fields, ",") != "topic,key.mode" {
		t.Fatalf("errors %v", errs)
	}
}

// Without datagen.task (a config not made by TaskConfigs), the task number
// is the runtime's task.id.
func TestTaskIDFallback(t *testing.T) {
	t.Parallel()
	s := open(t, map[string]string{"topic": "t", "datagen.task.count": "4", "task.id": "2", "key.mode": "sequence"}, nil)
	recs, _ := s.Poll(context.Background())
	if string(recs[0].Key) != "2" || string(recs[1].Key) != "6" {
		t.Fatalf("keys %s %s", recs[0].Key, recs[1].Key)
	}
}

// A stored offset off this task's sequence (tasks.max changed) moves to
// the task's next own number.
func TestResumeAligns(t *testing.T) {
	t.Parallel()
	cfg := tasks(t, map[string]string{"topic": "t", "key.mode": "sequence", "records.total": "20"}, 3)[1]
	key, _ := json.Marshal(map[string]any{"datagen.task": 1})
	s := open(t, cfg, offsets{string(key): {"seq": float64(5)}})
	recs, _ := s.Poll(context.Background())
	if string(recs[0].Key) != "7" {
		t.Fatalf("resumed at %s, want 7", recs[0].Key)
	}
	if got := recs[len(recs)-1].SourceOffset["seq"]; got != int64(22) {
		t.Fatalf("offset %v, want 22", got)
	}
}

func TestDeterministicForSeed(t *testing.T) {
	t.Parallel()
	gen := func(seed string) []connectors.Record {
		cfg := tasks(t, map[string]string{"topic": "t", "records.total": "50", "key.mode": "random", "seed": seed, "record.bytes": "64"}, 1)[0]
		return drain(t, open(t, cfg, nil))
	}
	a, b, c := gen("7"), gen("7"), gen("8")
	same, differ := true, false
	for i := range a {
		same = same && string(a[i].Key) == string(b[i].Key) && string(a[i].Value) == string(b[i].Value)
		differ = differ || string(a[i].Value) != string(c[i].Value) || string(a[i].Key) != string(c[i].Key)
	}
	if !same || !differ {
		t.Fatalf("same seed same output: %v; other seed other output: %v", same, differ)
	}
	// Random keys survive a resume.
	cfg := tasks(t, map[string]string{"topic": "t", "records.total": "50", "key.mode": "random", "seed": "7", "record.bytes": "64"}, 1)[0]
	key, _ := json.Marshal(map[string]any{"datagen.task": 0})
	rest := drain(t, open(t, cfg, offsets{string(key): {"seq": int64(30)}}))
	if string(rest[0].Key) != string(a[30].Key) || string(rest[0].Value) != string(a[30].Value) {
		t.Fatalf("resumed record differs: %s %q vs %s %q", rest[0].Key, rest[0].Value, a[30].Key, a[30].Value)
	}
}

func TestTextValues(t *testing.T) {
	t.Parallel()
	for _, size := range []string{"1", "3", "100", "5000"} {
		cfg := tasks(t, map[string]string{"topic": "t", "records.total": "200", "record.bytes": size}, 1)[0]
		n, _ := strconv.Atoi(size)
		for _, r := range drain(t, open(t, cfg, nil)) {
			if len(r.Value) != n {
				t.Fatalf("record.bytes %s: value of %d bytes", size, len(r.Value))
			}
			for _, c := range r.Value {
				if c < 0x20 || c > 0x7e {
					t.Fatalf("not printable ASCII: %q", r.Value)
				}
			}
			if r.ValueSchema == nil || r.ValueSchema.Type != "string" || r.Key != nil {
				t.Fatalf("record %+v", r)
			}
		}
	}
	cfg := tasks(t, map[string]string{"topic": "t", "records.total": "200"}, 1)[0]
	recs := drain(t, open(t, cfg, nil))
	if !strings.HasPrefix(string(recs[123].Value), "123 ") {
		t.Fatalf("value %q does not start with its sequence number", recs[123].Value)
	}
}

func TestJSONValues(t *testing.T) {
	t.Parallel()
	cfgs := tasks(t, map[string]string{"topic": "t", "records.total": "100", "value.mode": "JSON", "record.bytes": "200"}, 2)
	for task, cfg := range cfgs {
		for i, r := range drain(t, open(t, cfg, nil)) {
			var v struct {
				Seq     int64  `json:"seq"`
				Task    int    `json:"task"`
				Payload string `json:"payload"`
			}
			if err := json.Unmarshal(r.Value, &v); err != nil {
				t.Fatalf("value %q: %v", r.Value, err)
			}
			if v.Seq != int64(task+2*i) || v.Task != task || len(r.Value) != 200 {
				t.Fatalf("value %q (%d bytes)", r.Value, len(r.Value))
			}
		}
	}
	// Smaller than the fields: still valid JSON.
	cfg := tasks(t, map[string]string{"topic": "t", "records.total": "3", "value.mode": "json", "record.bytes": "5"}, 1)[0]
	for _, r := range drain(t, open(t, cfg, nil)) {
		if !json.Valid(r.Value) {
			t.Fatalf("invalid JSON %q", r.Value)
		}
	}
}

// A finished task returns empty batches, promptly when stopped.
func TestDoneIdlesUntilStopped(t *testing.T) {
	t.Parallel()
	cfg := tasks(t, map[string]string{"topic": "t", "records.total": "1"}, 1)[0]
	s := open(t, cfg, nil)
	if recs, _ := s.Poll(context.Background()); len(recs) != 1 {
		t.Fatalf("%d records", len(recs))
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	start := time.Now()
	if recs, err := s.Poll(ctx); len(recs) != 0 || err != nil {
		t.Fatalf("%d records, %v", len(recs), err)
	}
	if time.Since(start) > 500*time.Millisecond {
		t.Fatal("Poll did not return when stopped")
	}
}

func BenchmarkPoll(b *testing.B) {
	p := Plugin()
	cfg, _ := p.TaskConfigs(connectors.NewConfig(p.Spec, map[string]string{"topic": "t"}), 1)
	s := p.NewSource()
	s.Open(context.Background(), connectors.SourceContext{TaskInfo: connectors.TaskInfo{Config: connectors.NewConfig(p.Spec, cfg[0])}})
	b.ReportAllocs()
	for b.Loop() {
		s.Poll(context.Background())
	}
}
