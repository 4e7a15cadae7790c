package runtime_test

import (
	"context"
	crand "crypto/rand"
	"fmt"
	"os"
	"path/filepath"
	goruntime "runtime"
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
	"github.com/sluicehq/sluice/connectors/datagen"
	"github.com/sluicehq/sluice/connectors/schema"
	"github.com/sluicehq/sluice/internal/testenv"
)

// keepSink keeps the values it was given.
type keepSink struct {
	mu   *sync.Mutex
	vals *[]string
}

func (s keepSink) Open(context.Context, connectors.SinkContext) error { return nil }
func (s keepSink) Put(_ context.Context, recs []connectors.Record) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, r := range recs {
		*s.vals = append(*s.vals, string(r.Value))
	}
	return nil
}
func (s keepSink) Flush(context.Context) error { return nil }
func (s keepSink) Close() error                { return nil }

func header(r *kgo.Record, key string) string {
	for _, h := range r.Headers {
		if h.Key == key {
			return string(h.Value)
		}
	}
	return ""
}

// poisonTopic holds 20 records, the odd ones not JSON.
func poisonTopic(t *testing.T, brokers []string) string {
	topic := testenv.NewTopic(t, brokers, 1)
	var recs []*kgo.Record
	for i := range 20 {
		v := fmt.Sprintf(`{"n":%d}`, i)
		if i%2 == 1 {
			v = fmt.Sprintf("not json %d {", i)
		}
		recs = append(recs, &kgo.Record{Value: []byte(v)})
	}
	testenv.Produce(t, brokers, topic, recs...)
	return topic
}

// TestSinkPoisonRecordsGoToTheDeadLetterTopic: with errors.tolerance=all,
// every good record reaches the sink, every bad one reaches the dead letter
// topic as it was consumed, with Kafka Connect's context headers, and the
// group's offsets pass them all.
func TestSinkPoisonRecordsGoToTheDeadLetterTopic(t *testing.T) {
	t.Parallel()
	brokers := testenv.Kafka(t)
	topic := poisonTopic(t, brokers)
	dlq := topic + "-dlq"
	t.Cleanup(func() { _, _ = kadm.NewClient(mustClient(t, brokers)).DeleteTopics(context.Background(), dlq) })
	var (
		mu   sync.Mutex
		vals []string
	)
	reg := connectors.NewRegistry()
	if err := reg.Register(connectors.Plugin{Name: "keep-sink", Type: connectors.SinkType,
		NewSink: func() connectors.Sink { return keepSink{&mu, &vals} }}); err != nil {
		t.Fatal(err)
	}
	rt, rep := startRuntime(t, reg, brokers)
	name := "dlq-" + topic
	cfg := map[string]string{"name": name, "connector.class": "keep-sink", "topics": topic,
		"value.converter": "org.apache.kafka.connect.json.JsonConverter", "value.converter.schemas.enable": "false",
		"errors.tolerance": "all", "errors.log.enable": "true", "errors.deadletterqueue.topic.name": dlq,
		"errors.deadletterqueue.topic.replication.factor": "1", "errors.deadletterqueue.context.headers.enable": "true"}
	ref := runtime.TaskRef{Connector: name, Task: 0}
	rt.Apply([]runtime.Assignment{{Task: ref, Epoch: 1, Config: taskConfig(t, reg, cfg, 0)}})
	testenv.WaitFor(t, 30*time.Second, "10 good records in the sink", func() bool {
		mu.Lock()
		defer mu.Unlock()
		return len(vals) == 10
	})
	dead := testenv.Consume(t, brokers, dlq, 10, 30*time.Second)
	for i, r := range dead {
		want := fmt.Sprintf("not json %d {", 2*i+1)
		if string(r.Value) != want {
			t.Fatalf("dead letter %d: value %q, want the original %q", i, r.Value, want)
		}
		for k, v := range map[string]string{
			"__connect.errors.topic": topic, "__connect.errors.partition": "0", "__connect.errors.offset": fmt.Sprint(2*i + 1),
			"__connect.errors.connector.name": name, "__connect.errors.task.id": "0", "__connect.errors.stage": "VALUE_CONVERTER",
			"__connect.errors.class.name": "org.apache.kafka.connect.json.JsonConverter",
		} {
			if got := header(r, k); got != v {
				t.Fatalf("dead letter %d: header %s = %q, want %q", i, k, got, v)
			}
		}
		if header(r, "__connect.errors.exception.message") == "" {
			t.Fatalf("dead letter %d has no exception message", i)
		}
	}
	adm := kadm.NewClient(mustClient(t, brokers))
	testenv.WaitFor(t, 30*time.Second, "the group past every record", func() bool {
		offs, err := adm.FetchOffsets(context.Background(), runtime.GroupID(name))
		if err != nil {
			return false
		}
		o, _ := offs.Lookup(topic, 0)
		return o.At == 20
	})
	if rep.last(ref) != runtime.StateRunning {
		t.Fatalf("state %v, want RUNNING", rep.last(ref))
	}
}

// TestSinkPoisonRecordFailsTheTask: with errors.tolerance=none (the
// default), the first bad record fails the task, and no record after it is
// committed.
func TestSinkPoisonRecordFailsTheTask(t *testing.T) {
	t.Parallel()
	brokers := testenv.Kafka(t)
	topic := poisonTopic(t, brokers)
	var (
		mu   sync.Mutex
		vals []string
	)
	reg := connectors.NewRegistry()
	if err := reg.Register(connectors.Plugin{Name: "keep-sink", Type: connectors.SinkType,
		NewSink: func() connectors.Sink { return keepSink{&mu, &vals} }}); err != nil {
		t.Fatal(err)
	}
	rt, rep := startRuntime(t, reg, brokers)
	name := "strict-" + topic
	cfg := map[string]string{"name": name, "connector.class": "keep-sink", "topics": topic,
		"value.converter": "json", "value.converter.schemas.enable": "false"}
	ref := runtime.TaskRef{Connector: name, Task: 0}
	rt.Apply([]runtime.Assignment{{Task: ref, Epoch: 1, Config: taskConfig(t, reg, cfg, 0)}})
	testenv.WaitFor(t, 30*time.Second, "the task FAILED", func() bool { return rep.last(ref) == runtime.StateFailed })
	rep.mu.Lock()
	trace := rep.traces[ref]
	rep.mu.Unlock()
	if !strings.Contains(trace, "@1") || !strings.Contains(trace, "errors.tolerance=none") {
		t.Fatalf("trace %q does not name the record and the setting", trace)
	}
	offs, err := kadm.NewClient(mustClient(t, brokers)).FetchOffsets(context.Background(), runtime.GroupID(name))
	if err == nil {
		if o, ok := offs.Lookup(topic, 0); ok && o.At > 1 {
			t.Fatalf("committed offset %d: records after the bad one were committed", o.At)
		}
	}
}

// poisonSource emits n records with a required int32 value; every third
// has none, which JsonConverter refuses.
type poisonSource struct {
	n    int
	done bool
}

func (s *poisonSource) Open(context.Context, connectors.SourceContext) error { return nil }
func (s *poisonSource) Poll(ctx context.Context) ([]connectors.Record, error) {
	if s.done {
		<-ctx.Done()
		return nil, nil
	}
	s.done = true
	var out []connectors.Record
	for i := range s.n {
		r := connectors.Record{Topic: "", ValueSchema: schema.Int32Schema(),
			SourcePartition: map[string]any{"p": 0}, SourceOffset: map[string]any{"i": i}}
		if i%3 != 2 {
			r.ValueData = int32(i)
		}
		out = append(out, r)
	}
	return out, nil
}
func (s *poisonSource) Close() error { return nil }

// TestSourcePoisonRecordsGoToTheDeadLetterTopic: Sluice has a dead letter
// topic for sources too; the batch's offsets commit once the dead letters
// are durable.
func TestSourcePoisonRecordsGoToTheDeadLetterTopic(t *testing.T) {
	t.Parallel()
	brokers := testenv.Kafka(t)
	topic := testenv.NewTopic(t, brokers, 1)
	dlq := topic + "-dlq"
	t.Cleanup(func() { _, _ = kadm.NewClient(mustClient(t, brokers)).DeleteTopics(context.Background(), dlq) })
	reg := connectors.NewRegistry()
	if err := reg.Register(connectors.Plugin{Name: "poison-source", Type: connectors.SourceType,
		Spec:      connectors.Spec{Fields: []connectors.Field{{Name: "topic", Type: connectors.TypeString}}},
		NewSource: func() connectors.Source { return &poisonSource{n: 30} }}); err != nil {
		t.Fatal(err)
	}
	rt, rep := startRuntime(t, reg, brokers)
	name := "psrc-" + topic
	cfg := map[string]string{"name": name, "connector.class": "poison-source", "topic": topic,
		"transforms": "route", "transforms.route.type": "org.apache.kafka.connect.transforms.RegexRouter",
		"transforms.route.regex": ".*", "transforms.route.replacement": topic,
		"value.converter": "json", "errors.tolerance": "all", "errors.deadletterqueue.topic.name": dlq,
		"errors.deadletterqueue.topic.replication.factor": "1", "errors.deadletterqueue.context.headers.enable": "true"}
	ref := runtime.TaskRef{Connector: name, Task: 0}
	rt.Apply([]runtime.Assignment{{Task: ref, Epoch: 1, Config: taskConfig(t, reg, cfg, 0)}})
	good := testenv.Consume(t, brokers, topic, 20, 30*time.Second)
	dead := testenv.Consume(t, brokers, dlq, 10, 30*time.Second)
	if len(good) != 20 || len(dead) != 10 {
		t.Fatalf("%d good records and %d dead letters, want 20 and 10", len(good), len(dead))
	}
	if got := header(dead[0], "__connect.errors.stage"); got != "VALUE_CONVERTER" {
		t.Fatalf("stage %q", got)
	}
	if got := header(dead[0], "__connect.errors.source.offset"); got != `{"i":2}` {
		t.Fatalf("source offset header %q, want {\"i\":2}", got)
	}
	testenv.WaitFor(t, 10*time.Second, "the batch's offset committed", func() bool {
		return fmt.Sprint(rep.offset(ref, "i")) == "29"
	})
}

// TestSourceMemoryIsBoundedWhileKafkaIsDown runs a datagen task as fast as
// it goes against a broker that is not there: once its buffer
// (producer.override.buffer.memory) is full it stops polling, and the heap
// stops growing. Not parallel: it measures the process's heap.
func TestSourceMemoryIsBoundedWhileKafkaIsDown(t *testing.T) {
	reg := connectors.NewRegistry()
	if err := reg.Register(*datagen.Plugin()); err != nil {
		t.Fatal(err)
	}
	rt, rep := startRuntime(t, reg, []string{"127.0.0.1:1"})
	cfg := map[string]string{"name": "bounded", "connector.class": "datagen", "topic": "t", "record.bytes": "1000",
		"value.converter": "string", "producer.override.buffer.memory": fmt.Sprint(8 << 20)}
	ref := runtime.TaskRef{Connector: "bounded", Task: 0}
	heap := func() uint64 {
		goruntime.GC()
		var ms goruntime.MemStats
		goruntime.ReadMemStats(&ms)
		return ms.HeapAlloc
	}
	base := heap()
	rt.Apply([]runtime.Assignment{{Task: ref, Epoch: 1, Config: taskConfig(t, reg, cfg, 0)}})
	testenv.WaitFor(t, 30*time.Second, "the task running", func() bool { return rep.last(ref) == runtime.StateRunning })
	time.Sleep(2 * time.Second)
	full := heap()
	time.Sleep(3 * time.Second)
	later := heap()
	t.Logf("heap: %d MB before, %d MB with the buffer full, %d MB 3 s later", base>>20, full>>20, later>>20)
	if later > full+(2<<20) {
		t.Fatalf("the heap kept growing while Kafka was down: %d MB -> %d MB", full>>20, later>>20)
	}
	if full > base+(24<<20) {
		t.Fatalf("the heap grew by %d MB with an 8 MB buffer", (full-base)>>20)
	}
}

// slowSink takes a second per batch and keeps nothing.
type slowSink struct{ puts *atomic.Int64 }

func (s slowSink) Open(context.Context, connectors.SinkContext) error { return nil }
func (s slowSink) Put(ctx context.Context, recs []connectors.Record) error {
	s.puts.Add(int64(len(recs)))
	select {
	case <-ctx.Done():
	case <-time.After(time.Second):
	}
	return nil
}
func (s slowSink) Flush(context.Context) error { return nil }
func (s slowSink) Close() error                { return nil }

// TestSlowSinkMemoryIsBounded: a sink far slower than the topic it reads
// holds what it fetched, not the topic: the heap stays well under the
// topic's size. Not parallel: it measures the process's heap.
func TestSlowSinkMemoryIsBounded(t *testing.T) {
	brokers := testenv.Kafka(t)
	topic := testenv.NewTopic(t, brokers, 4)
	const n, size = 60000, 1000
	// Incompressible values: fetch sizes bound compressed bytes.
	recs := make([]*kgo.Record, n)
	for i := range recs {
		val := make([]byte, size)
		_, _ = crand.Read(val)
		recs[i] = &kgo.Record{Value: val, Partition: int32(i % 4)}
	}
	testenv.Produce(t, brokers, topic, recs...)
	recs = nil
	var puts atomic.Int64
	reg := connectors.NewRegistry()
	if err := reg.Register(connectors.Plugin{Name: "slow-sink", Type: connectors.SinkType,
		NewSink: func() connectors.Sink { return slowSink{&puts} }}); err != nil {
		t.Fatal(err)
	}
	heap := func() uint64 {
		goruntime.GC()
		var ms goruntime.MemStats
		goruntime.ReadMemStats(&ms)
		return ms.HeapAlloc
	}
	base := heap()
	rt, _ := startRuntime(t, reg, brokers)
	name := "slow-" + topic
	cfg := map[string]string{"name": name, "connector.class": "slow-sink", "topics": topic, "value.converter": "bytes",
		"consumer.override.fetch.max.bytes": fmt.Sprint(4 << 20)}
	rt.Apply([]runtime.Assignment{{Task: runtime.TaskRef{Connector: name, Task: 0}, Epoch: 1, Config: taskConfig(t, reg, cfg, 0)}})
	testenv.WaitFor(t, 30*time.Second, "the sink reading", func() bool { return puts.Load() > 0 })
	var peak uint64
	for range 4 {
		time.Sleep(time.Second)
		h := heap()
		t.Logf("heap %d MB after %d records", h>>20, puts.Load())
		peak = max(peak, h)
	}
	t.Logf("topic %d MB; heap %d MB before, at most %d MB while the sink took %d records", n*size>>20, base>>20, peak>>20, puts.Load())
	if puts.Load() >= n {
		t.Fatalf("the sink was not slow: it took all %d records", n)
	}
	if peak > base+(30<<20) {
		t.Fatalf("heap grew by %d MB reading a %d MB topic through a slow sink", (peak-base)>>20, n*size>>20)
	}
}

// TestFileSourceWithKafkaConnectTransforms runs the shared Kafka Connect
// config file-source-hoist-insert-json (FileStreamSource, HoistField$Value,
// InsertField$Value, JsonConverter with schemas) on real Kafka and checks
// the bytes of the value Kafka gets.
func TestFileSourceWithKafkaConnectTransforms(t *testing.T) {
	t.Parallel()
	brokers := testenv.Kafka(t)
	topic := testenv.NewTopic(t, brokers, 1)
	path := filepath.Join(t.TempDir(), "app.log")
	if err := os.WriteFile(path, []byte("hello\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	reg := connectors.NewRegistry()
	if err := builtin.Register(reg); err != nil {
		t.Fatal(err)
	}
	rt, _ := startRuntime(t, reg, brokers)
	cfg := map[string]string{"name": "app-log-source", "connector.class": "org.apache.kafka.connect.file.FileStreamSourceConnector",
		"tasks.max": "1", "file": path, "topic": topic, "batch.size": "2000",
		"key.converter":   "org.apache.kafka.connect.storage.StringConverter",
		"value.converter": "org.apache.kafka.connect.json.JsonConverter", "value.converter.schemas.enable": "true",
		"transforms": "hoist,origin", "transforms.hoist.type": "org.apache.kafka.connect.transforms.HoistField$Value",
		"transforms.hoist.field": "line", "transforms.origin.type": "org.apache.kafka.connect.transforms.InsertField$Value",
		"transforms.origin.static.field": "source_host", "transforms.origin.static.value": "web-01",
		"transforms.origin.topic.field": "kafka_topic"}
	rt.Apply([]runtime.Assignment{{Task: runtime.TaskRef{Connector: "app-log-source", Task: 0}, Epoch: 1, Config: taskConfig(t, reg, cfg, 0)}})
	got := testenv.Consume(t, brokers, topic, 1, 30*time.Second)
	want := `{"schema":{"type":"struct","fields":[{"type":"string","optional":false,"field":"line"},` +
		`{"type":"string","optional":true,"field":"kafka_topic"},{"type":"string","optional":true,"field":"source_host"}],"optional":false},` +
		`"payload":{"line":"hello","kafka_topic":"` + topic + `","source_host":"web-01"}}`
	if string(got[0].Value) != want {
		t.Fatalf("value\n got %s\nwant %s", got[0].Value, want)
	}
}

// TestConfigProvidersResolveOnTheAgent: ${env:...} in a connector config is
// resolved when the task starts; a missing variable fails the task with a
// message naming the key, not a value.
func TestConfigProvidersResolveOnTheAgent(t *testing.T) {
	brokers := testenv.Kafka(t)
	topic := testenv.NewTopic(t, brokers, 1)
	t.Setenv("SLUICE_TEST_PROVIDER_TOPIC", topic)
	reg := connectors.NewRegistry()
	if err := reg.Register(*datagen.Plugin()); err != nil {
		t.Fatal(err)
	}
	rt, rep := startRuntime(t, reg, brokers)
	cfg := map[string]string{"name": "prov", "connector.class": "datagen", "topic": "${env:SLUICE_TEST_PROVIDER_TOPIC}",
		"records.total": "3", "value.converter": "string"}
	_, tcs, err := reg.TaskConfigs(cfg)
	if err != nil {
		t.Fatal(err)
	}
	if tcs[0]["topic"] != "${env:SLUICE_TEST_PROVIDER_TOPIC}" {
		t.Fatalf("the task config holds %q: placeholders must stay unresolved until the agent", tcs[0]["topic"])
	}
	rt.Apply([]runtime.Assignment{{Task: runtime.TaskRef{Connector: "prov", Task: 0}, Epoch: 1, Config: tcs[0]}})
	if got := testenv.Consume(t, brokers, topic, 3, 30*time.Second); len(got) != 3 {
		t.Fatalf("%d records in the resolved topic", len(got))
	}
	bad := runtime.TaskRef{Connector: "prov-bad", Task: 0}
	badCfg := map[string]string{"name": "prov-bad", "connector.class": "datagen", "topic": "${env:SLUICE_TEST_NOT_SET_AT_ALL}"}
	_, tcs, err = reg.TaskConfigs(badCfg)
	if err != nil {
		t.Fatal(err)
	}
	rt.Apply([]runtime.Assignment{{Task: runtime.TaskRef{Connector: "prov", Task: 0}, Epoch: 1, Config: taskConfig(t, reg, cfg, 0)}, {Task: bad, Epoch: 1, Config: tcs[0]}})
	testenv.WaitFor(t, 30*time.Second, "the task with a missing variable FAILED", func() bool { return rep.last(bad) == runtime.StateFailed })
	rep.mu.Lock()
	trace := rep.traces[bad]
	rep.mu.Unlock()
	if !strings.Contains(trace, "topic:") || !strings.Contains(trace, "SLUICE_TEST_NOT_SET_AT_ALL") {
		t.Fatalf("trace %q", trace)
	}
}
