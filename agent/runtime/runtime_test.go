package runtime_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/sluicehq/sluice/agent/runtime"
	"github.com/sluicehq/sluice/connectors"
	"github.com/sluicehq/sluice/connectors/builtin"
	"github.com/sluicehq/sluice/internal/testenv"
)

// reporter records what the runtime reports.
type reporter struct {
	mu      sync.Mutex
	states  map[runtime.TaskRef][]runtime.State
	traces  map[runtime.TaskRef]string
	offsets map[runtime.TaskRef][]connectors.Offset
}

func newReporter() *reporter {
	return &reporter{states: map[runtime.TaskRef][]runtime.State{}, traces: map[runtime.TaskRef]string{},
		offsets: map[runtime.TaskRef][]connectors.Offset{}}
}

func (r *reporter) TaskState(t runtime.TaskRef, st runtime.Status) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.states[t] = append(r.states[t], st.State)
	if st.Trace != "" {
		r.traces[t] = st.Trace
	}
}

func (r *reporter) Offsets(t runtime.TaskRef, _ int64, o []connectors.Offset) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.offsets[t] = o
}

func (r *reporter) last(t runtime.TaskRef) runtime.State {
	r.mu.Lock()
	defer r.mu.Unlock()
	if s := r.states[t]; len(s) > 0 {
		return s[len(s)-1]
	}
	return 0
}

func (r *reporter) offset(t runtime.TaskRef, key string) any {
	r.mu.Lock()
	defer r.mu.Unlock()
	for _, o := range r.offsets[t] {
		return o.Offset[key]
	}
	return nil
}

func startRuntime(t *testing.T, reg *connectors.Registry, brokers []string) (*runtime.Runtime, *reporter) {
	t.Helper()
	rep := newReporter()
	rt, err := runtime.New(runtime.Config{Registry: reg, Brokers: brokers, Reporter: rep,
		OffsetFlushInterval: 100 * time.Millisecond, AgentName: "test"})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		_ = rt.Run(ctx)
	}()
	t.Cleanup(func() {
		cancel()
		<-done
	})
	return rt, rep
}

func taskConfig(t *testing.T, reg *connectors.Registry, cfg map[string]string, task int) map[string]string {
	t.Helper()
	_, tcs, err := reg.TaskConfigs(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return tcs[task]
}

func TestSourceReportsOffsetsOnceKafkaHasTheRecords(t *testing.T) {
	t.Parallel()
	brokers := testenv.Kafka(t)
	topic := testenv.NewTopic(t, brokers, 3)
	reg := builtin.Registry()
	rt, rep := startRuntime(t, reg, brokers)
	cfg := map[string]string{"name": "gen", "connector.class": "datagen", "topic": topic, "records.total": "5000",
		"key.mode": "sequence", "value.converter": "string", "key.converter": "string"}
	ref := runtime.TaskRef{Connector: "gen", Task: 0}
	rt.Apply([]runtime.Assignment{{Task: ref, Epoch: 1, Config: taskConfig(t, reg, cfg, 0)}})
	testenv.WaitFor(t, 30*time.Second, "offset seq 5000 reported", func() bool {
		return fmt.Sprint(rep.offset(ref, "seq")) == "5000"
	})
	// Every record before the reported offset is in Kafka, once, with the
	// keyed records spread over partitions as Kafka's partitioner does.
	recs := testenv.Consume(t, brokers, topic, 5000, 30*time.Second)
	seen := map[string]bool{}
	parts := map[int32]bool{}
	for _, r := range recs {
		if seen[string(r.Key)] {
			t.Fatalf("key %s twice", r.Key)
		}
		seen[string(r.Key)] = true
		parts[r.Partition] = true
		if !strings.HasPrefix(string(r.Value), string(r.Key)) {
			t.Fatalf("value %q does not start with its sequence %s", r.Value, r.Key)
		}
	}
	if len(parts) != 3 {
		t.Errorf("records in %d partitions, want 3", len(parts))
	}
	if s := rep.last(ref); s != runtime.StateRunning {
		t.Errorf("state %v, want running", s)
	}
}

// countingSink counts records and remembers how many were flushed.
type countingSink struct {
	mu      *sync.Mutex
	put     *int
	flushed *int
}

func (s countingSink) Open(context.Context, connectors.SinkContext) error { return nil }
func (s countingSink) Put(_ context.Context, recs []connectors.Record) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	*s.put += len(recs)
	return nil
}
func (s countingSink) Flush(context.Context) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	*s.flushed = *s.put
	return nil
}
func (s countingSink) Close() error { return nil }

func TestSinkCommitsOnlyWhatWasFlushed(t *testing.T) {
	t.Parallel()
	brokers := testenv.Kafka(t)
	topic := testenv.NewTopic(t, brokers, 2)
	var (
		mu           sync.Mutex
		put, flushed int
	)
	reg := connectors.NewRegistry()
	if err := reg.Register(connectors.Plugin{Name: "count-sink", Type: connectors.SinkType,
		NewSink: func() connectors.Sink { return countingSink{&mu, &put, &flushed} }}); err != nil {
		t.Fatal(err)
	}
	var recs []*kgo.Record
	for i := range 1000 {
		recs = append(recs, &kgo.Record{Value: []byte(fmt.Sprint(i)), Partition: int32(i % 2)})
	}
	testenv.Produce(t, brokers, topic, recs...)
	rt, rep := startRuntime(t, reg, brokers)
	name := "sink-" + topic
	cfg := map[string]string{"name": name, "connector.class": "count-sink", "topics": topic, "value.converter": "bytes"}
	ref := runtime.TaskRef{Connector: name, Task: 0}
	rt.Apply([]runtime.Assignment{{Task: ref, Epoch: 1, Config: taskConfig(t, reg, cfg, 0)}})
	testenv.WaitFor(t, 30*time.Second, "1000 records flushed", func() bool {
		mu.Lock()
		defer mu.Unlock()
		return flushed == 1000
	})
	adm := kadm.NewClient(mustClient(t, brokers))
	testenv.WaitFor(t, 30*time.Second, "offsets committed for the connect-<name> group", func() bool {
		offs, err := adm.FetchOffsets(context.Background(), runtime.GroupID(name))
		if err != nil {
			return false
		}
		total := int64(0)
		offs.Each(func(o kadm.OffsetResponse) { total += o.At })
		return total == 1000
	})
	rt.Apply(nil)
	testenv.WaitFor(t, 30*time.Second, "the task reported stopped", func() bool { return rep.last(ref) == runtime.StateStopped })
}

func mustClient(t *testing.T, brokers []string) *kgo.Client {
	cl, err := kgo.NewClient(kgo.SeedBrokers(brokers...))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(cl.Close)
	return cl
}

type panicSource struct{}

func (panicSource) Open(context.Context, connectors.SourceContext) error { return nil }
func (panicSource) Poll(context.Context) ([]connectors.Record, error)    { panic("connector bug") }
func (panicSource) Close() error                                         { return nil }

func TestPanicFailsOnlyItsTask(t *testing.T) {
	t.Parallel()
	brokers := testenv.Kafka(t)
	topic := testenv.NewTopic(t, brokers, 1)
	reg := builtin.Registry()
	if err := reg.Register(connectors.Plugin{Name: "panic-source", Type: connectors.SourceType,
		NewSource: func() connectors.Source { return panicSource{} }}); err != nil {
		t.Fatal(err)
	}
	rt, rep := startRuntime(t, reg, brokers)
	bad := runtime.TaskRef{Connector: "bad", Task: 0}
	good := runtime.TaskRef{Connector: "good", Task: 0}
	rt.Apply([]runtime.Assignment{
		{Task: bad, Epoch: 1, Config: taskConfig(t, reg, map[string]string{"name": "bad", "connector.class": "panic-source"}, 0)},
		{Task: good, Epoch: 1, Config: taskConfig(t, reg, map[string]string{"name": "good", "connector.class": "datagen",
			"topic": topic, "records.total": "100", "value.converter": "string"}, 0)},
	})
	testenv.WaitFor(t, 30*time.Second, "the panicking task FAILED", func() bool { return rep.last(bad) == runtime.StateFailed })
	rep.mu.Lock()
	trace := rep.traces[bad]
	rep.mu.Unlock()
	if !strings.Contains(trace, "connector bug") {
		t.Errorf("trace %q does not say why", trace)
	}
	testenv.WaitFor(t, 30*time.Second, "the other task to finish its records", func() bool {
		return fmt.Sprint(rep.offset(good, "seq")) == "100"
	})
}

// flakySource fails to open its first two times.
type flakySource struct{ opens *atomic.Int32 }

func (s flakySource) Open(context.Context, connectors.SourceContext) error {
	if s.opens.Add(1) <= 2 {
		return errors.New("database not there yet")
	}
	return nil
}
func (s flakySource) Poll(ctx context.Context) ([]connectors.Record, error) {
	<-ctx.Done()
	return nil, nil
}
func (s flakySource) Close() error { return nil }

func TestFailedTaskRestartsByItself(t *testing.T) {
	t.Parallel()
	var opens atomic.Int32
	reg := connectors.NewRegistry()
	if err := reg.Register(connectors.Plugin{Name: "flaky", Type: connectors.SourceType,
		NewSource: func() connectors.Source { return flakySource{&opens} }}); err != nil {
		t.Fatal(err)
	}
	rt, rep := startRuntime(t, reg, []string{"127.0.0.1:1"})
	ref := runtime.TaskRef{Connector: "flaky", Task: 0}
	rt.Apply([]runtime.Assignment{{Task: ref, Epoch: 1, Config: taskConfig(t, reg, map[string]string{"name": "flaky", "connector.class": "flaky"}, 0)}})
	testenv.WaitFor(t, 30*time.Second, "the task running after two failures", func() bool {
		return rep.last(ref) == runtime.StateRunning && opens.Load() == 3
	})
	rep.mu.Lock()
	defer rep.mu.Unlock()
	failed := 0
	for _, s := range rep.states[ref] {
		if s == runtime.StateFailed {
			failed++
		}
	}
	if failed != 2 || !strings.Contains(rep.traces[ref], "database not there yet") {
		t.Fatalf("%d FAILED reports (want 2), trace %q", failed, rep.traces[ref])
	}
}

// TestRestartAndEpochOnlyChanges: a new restart number restarts a running
// task; a new epoch alone (the task given back to the same agent) and the
// same config do not.
func TestRestartAndEpochOnlyChanges(t *testing.T) {
	t.Parallel()
	var opens atomic.Int32
	opens.Store(2) // flakySource opens fine from the third open on
	reg := connectors.NewRegistry()
	if err := reg.Register(connectors.Plugin{Name: "steady", Type: connectors.SourceType,
		NewSource: func() connectors.Source { return flakySource{&opens} }}); err != nil {
		t.Fatal(err)
	}
	rt, rep := startRuntime(t, reg, []string{"127.0.0.1:1"})
	ref := runtime.TaskRef{Connector: "steady", Task: 0}
	cfg := taskConfig(t, reg, map[string]string{"name": "steady", "connector.class": "steady"}, 0)
	rt.Apply([]runtime.Assignment{{Task: ref, Epoch: 1, Config: cfg}})
	testenv.WaitFor(t, 30*time.Second, "the task running", func() bool { return rep.last(ref) == runtime.StateRunning })
	rt.Apply([]runtime.Assignment{{Task: ref, Epoch: 2, Config: cfg}})
	time.Sleep(300 * time.Millisecond)
	if n := opens.Load(); n != 3 {
		t.Fatalf("a new epoch alone reopened the task: %d opens, want 3", n)
	}
	if got := rt.Running(); len(got) != 1 || got[0].Epoch != 2 {
		t.Fatalf("running %v, want the task under epoch 2", got)
	}
	rt.Apply([]runtime.Assignment{{Task: ref, Epoch: 3, Config: cfg, Restart: 1}})
	testenv.WaitFor(t, 30*time.Second, "the task restarted", func() bool { return opens.Load() == 4 && rep.last(ref) == runtime.StateRunning })
}
