package runtime_test

import (
	"context"
	"fmt"
	"math/big"
	"sync"
	"testing"
	"time"

	"github.com/sluicehq/sluice/agent/runtime"
	"github.com/sluicehq/sluice/connectors"
	"github.com/sluicehq/sluice/connectors/converter"
	"github.com/sluicehq/sluice/connectors/schema"
	"github.com/sluicehq/sluice/internal/testenv"
)

var orderSchema = schema.NewStructBuilder().Name("shop.Order").
	Field("id", schema.Int64Schema()).
	Field("item", schema.StringSchema()).
	Field("note", schema.OptionalStringSchema()).
	Field("price", schema.DecimalSchema(2)).
	Field("at", schema.TimestampSchema()).
	Build()

// orderSource writes n orders with a struct schema, once.
type orderSource struct {
	n     int
	topic string
	done  bool
}

func (s *orderSource) Open(context.Context, connectors.SourceContext) error { return nil }
func (s *orderSource) Poll(ctx context.Context) ([]connectors.Record, error) {
	if s.done {
		<-ctx.Done()
		return nil, nil
	}
	s.done = true
	recs := make([]connectors.Record, s.n)
	for i := range recs {
		v := schema.NewStruct(orderSchema)
		_ = v.Put("id", int64(i))
		_ = v.Put("item", fmt.Sprintf("item-%d", i))
		if i%2 == 0 {
			_ = v.Put("note", "even")
		}
		_ = v.Put("price", schema.Decimal{Unscaled: big.NewInt(int64(i) * 101), Scale: 2})
		_ = v.Put("at", time.UnixMilli(1700000000000+int64(i)).UTC())
		recs[i] = connectors.Record{Topic: s.topic, Partition: -1, KeySchema: schema.Int64Schema(), KeyData: int64(i),
			ValueSchema: orderSchema, ValueData: v,
			SourcePartition: map[string]any{"orders": 0}, SourceOffset: map[string]any{"i": int64(i)}}
	}
	return recs, nil
}
func (s *orderSource) Close() error { return nil }

// collectSink keeps the structured records it is given.
type collectSink struct {
	mu   *sync.Mutex
	recs *[]connectors.Record
}

func (s collectSink) Open(context.Context, connectors.SinkContext) error { return nil }
func (s collectSink) Put(_ context.Context, recs []connectors.Record) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	*s.recs = append(*s.recs, recs...)
	return nil
}
func (s collectSink) Flush(context.Context) error { return nil }
func (s collectSink) Close() error                { return nil }

// TestAvroThroughKafka: a source writes structs through AvroConverter into
// a real Kafka; a sink with the same converter reads them back, schema and
// values, the schemas coming from the registry.
func TestAvroThroughKafka(t *testing.T) {
	t.Parallel()
	brokers := testenv.Kafka(t)
	registry := testenv.Registry(t)
	topic := testenv.NewTopic(t, brokers, 2)
	const n = 200
	var (
		mu  sync.Mutex
		got []connectors.Record
	)
	reg := connectors.NewRegistry()
	for _, p := range []connectors.Plugin{
		{Name: "orders", Type: connectors.SourceType, NewSource: func() connectors.Source { return &orderSource{n: n, topic: topic} }},
		{Name: "collect", Type: connectors.SinkType, NewSink: func() connectors.Sink { return collectSink{&mu, &got} }},
	} {
		if err := reg.Register(p); err != nil {
			t.Fatal(err)
		}
	}
	conv := map[string]string{
		"key.converter": converter.AvroClass, "key.converter.schema.registry.url": registry,
		"value.converter": converter.AvroClass, "value.converter.schema.registry.url": registry,
	}
	with := func(cfg map[string]string) map[string]string {
		for k, v := range conv {
			cfg[k] = v
		}
		return cfg
	}
	rt, rep := startRuntime(t, reg, brokers)
	src := runtime.TaskRef{Connector: "orders", Task: 0}
	snk := runtime.TaskRef{Connector: "collect", Task: 0}
	rt.Apply([]runtime.Assignment{
		{Task: src, Epoch: 1, Config: taskConfig(t, reg, with(map[string]string{"name": "orders", "connector.class": "orders", "topic": topic}), 0)},
		{Task: snk, Epoch: 1, Config: taskConfig(t, reg, with(map[string]string{"name": "collect", "connector.class": "collect", "topics": topic}), 0)},
	})
	testenv.WaitFor(t, 60*time.Second, "the sink to get every order", func() bool {
		mu.Lock()
		defer mu.Unlock()
		return len(got) >= n
	})
	// In Kafka: Confluent's wire format.
	for _, r := range testenv.Consume(t, brokers, topic, n, 30*time.Second) {
		if len(r.Value) < 5 || r.Value[0] != 0 || len(r.Key) < 5 || r.Key[0] != 0 {
			t.Fatalf("record not in Confluent's wire format: key % x value % x", r.Key, r.Value)
		}
	}
	mu.Lock()
	defer mu.Unlock()
	seen := map[int64]bool{}
	for _, r := range got {
		v, ok := r.ValueData.(*schema.StructValue)
		if !ok || r.ValueSchema == nil || r.ValueSchema.Name != "shop.Order" {
			t.Fatalf("value %T with schema %+v", r.ValueData, r.ValueSchema)
		}
		id := v.Get("id").(int64)
		if r.KeyData != id {
			t.Fatalf("key %v for order %d", r.KeyData, id)
		}
		seen[id] = true
		if v.Get("item") != fmt.Sprintf("item-%d", id) || v.Get("price").(schema.Decimal).Unscaled.Int64() != id*101 ||
			!v.Get("at").(time.Time).Equal(time.UnixMilli(1700000000000+id)) || (id%2 == 0) != (v.Get("note") == "even") {
			t.Fatalf("order %d read back as %v", id, v.Values)
		}
	}
	if len(seen) != n {
		t.Errorf("%d distinct orders, want %d", len(seen), n)
	}
	if s := rep.last(src); s != runtime.StateRunning {
		t.Errorf("source %v, want running", s)
	}
}
