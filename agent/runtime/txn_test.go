package runtime_test

import (
	"context"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"

	"github.com/sluicehq/sluice/agent/runtime"
	"github.com/sluicehq/sluice/connectors"
	"github.com/sluicehq/sluice/connectors/datagen"
	"github.com/sluicehq/sluice/connectors/schema"
	"github.com/sluicehq/sluice/internal/testenv"
)

// txnSource emits five batches of ten records, seq 0..49, and ends its own
// transactions: a commit after the fifth record of each batch, then a
// commit after the batch, except the third batch, whose second half it
// aborts. Records 13 and 27 cannot be converted (an INT32 holding text).
type txnSource struct {
	tc    connectors.TransactionContext
	topic string
	next  int
	recs  []connectors.Record
}

func (s *txnSource) Open(_ context.Context, sc connectors.SourceContext) error {
	s.tc = sc.Transactions
	if s.tc == nil {
		return fmt.Errorf("no transaction context")
	}
	if off := sc.Offsets.Offset(map[string]any{"src": "t"}); off != nil {
		n, _ := connectors.Int64(off["seq"])
		s.next = int(n) + 1
	}
	return nil
}

func (s *txnSource) Poll(ctx context.Context) ([]connectors.Record, error) {
	if s.next >= 50 {
		select {
		case <-ctx.Done():
		case <-time.After(50 * time.Millisecond):
		}
		return nil, nil
	}
	s.recs = s.recs[:0]
	for i := 0; i < 10; i++ {
		n := s.next + i
		var data any = int32(n)
		if n == 13 || n == 27 {
			data = "poison"
		}
		s.recs = append(s.recs, connectors.Record{Topic: s.topic, Partition: -1, ValueSchema: schema.Int32Schema(), ValueData: data,
			SourcePartition: map[string]any{"src": "t"}, SourceOffset: map[string]any{"seq": n}})
	}
	s.tc.CommitTransactionAfter(&s.recs[4])
	if s.next == 20 {
		s.tc.AbortTransaction()
	} else {
		s.tc.CommitTransaction()
	}
	s.next += 10
	return s.recs, nil
}

func (s *txnSource) Close() error { return nil }

// TestConnectorDefinedTransactions: transaction.boundary=connector (KIP-618).
// A read-committed consumer sees what the connector committed and nothing
// it aborted; a dead letter is committed or aborted with the transaction of
// the record it stands for; the offsets committed let a restart go on after
// the last transaction.
func TestConnectorDefinedTransactions(t *testing.T) {
	t.Parallel()
	brokers := testenv.Kafka(t)
	topic := testenv.NewTopic(t, brokers, 1)
	dlq, offsets := topic+"-dlq", topic+"-offsets"
	t.Cleanup(func() { _, _ = kadm.NewClient(mustClient(t, brokers)).DeleteTopics(context.Background(), dlq, offsets) })
	reg := connectors.NewRegistry()
	plugin := connectors.Plugin{Name: "txn-source", Type: connectors.SourceType, DefinesTransactions: true,
		NewSource: func() connectors.Source { return &txnSource{topic: topic} }}
	if err := reg.Register(plugin); err != nil {
		t.Fatal(err)
	}
	cfg := map[string]string{"name": "txn-" + topic, "connector.class": "txn-source", "value.converter": "json",
		"value.converter.schemas.enable": "false", "exactly.once.support": "required", "transaction.boundary": "connector",
		"offsets.storage.topic": offsets, "errors.tolerance": "all", "errors.deadletterqueue.topic.name": dlq,
		"errors.deadletterqueue.topic.replication.factor": "1"}
	rt, rep := startRuntime(t, reg, brokers)
	ref := runtime.TaskRef{Connector: cfg["name"], Task: 0}
	rt.Apply([]runtime.Assignment{{Task: ref, Epoch: 1, Config: taskConfig(t, reg, cfg, 0)}})
	var want []int
	for n := 0; n < 50; n++ {
		if n != 13 && n != 27 && (n < 25 || n >= 30) {
			want = append(want, n)
		}
	}
	var got []int
	testenv.WaitFor(t, 30*time.Second, "the committed records", func() bool {
		got = got[:0]
		for _, r := range testenv.ReadCommitted(t, brokers, topic) {
			n, _ := strconv.Atoi(string(r.Value))
			got = append(got, n)
		}
		return len(got) >= len(want)
	})
	if !slices.Equal(got, want) {
		t.Fatalf("read committed %v\nwant %v", got, want)
	}
	if dl := testenv.ReadCommitted(t, brokers, dlq); len(dl) != 1 {
		t.Fatalf("%d dead letters committed, want 1 (record 13's; record 27's was aborted with its transaction)", len(dl))
	}
	testenv.WaitFor(t, 10*time.Second, "seq 49's offset reported", func() bool { return fmt.Sprint(rep.offset(ref, "seq")) == "49" })

	// Validation: a connector that defines no transactions is refused.
	if _, errs := reg.Validate(map[string]string{"name": "x", "connector.class": "txn-source", "transaction.boundary": "connector"}); len(errs) != 0 {
		t.Fatalf("txn-source refused: %v", errs)
	}
	reg2 := connectors.NewRegistry()
	_ = reg2.Register(connectors.Plugin{Name: "plain", Type: connectors.SourceType, NewSource: func() connectors.Source { return &txnSource{} }})
	if _, errs := reg2.Validate(map[string]string{"name": "x", "connector.class": "plain", "transaction.boundary": "connector"}); len(errs) != 1 || errs[0].Field != "transaction.boundary" {
		t.Fatalf("plain source with transaction.boundary=connector: %v", errs)
	}
}

// TestDatagenDefinesItsTransactions: datagen with transaction.records cuts
// its transactions across its batches; stopped mid-way and started again, a
// read-committed consumer sees every record exactly once.
func TestDatagenDefinesItsTransactions(t *testing.T) {
	t.Parallel()
	brokers := testenv.Kafka(t)
	topic := testenv.NewTopic(t, brokers, 1)
	offsets := topic + "-offsets"
	t.Cleanup(func() { _, _ = kadm.NewClient(mustClient(t, brokers)).DeleteTopics(context.Background(), offsets) })
	reg := connectors.NewRegistry()
	if err := reg.Register(*datagen.Plugin()); err != nil {
		t.Fatal(err)
	}
	cfg := map[string]string{"name": "dg-" + topic, "connector.class": "datagen", "topic": topic, "records.total": "3000",
		"records.per.second": "3000", "batch.size": "100", "transaction.records": "37", "value.converter": "string",
		"exactly.once.support": "required", "transaction.boundary": "connector", "offsets.storage.topic": offsets}
	ref := runtime.TaskRef{Connector: cfg["name"], Task: 0}
	count := func() int { return len(testenv.ReadCommitted(t, brokers, topic)) }
	rt, _ := startRuntime(t, reg, brokers)
	rt.Apply([]runtime.Assignment{{Task: ref, Epoch: 1, Config: taskConfig(t, reg, cfg, 0)}})
	testenv.WaitFor(t, 30*time.Second, "some records", func() bool { return count() > 500 })
	rt.Apply(nil)
	rt2, _ := startRuntime(t, reg, brokers)
	rt2.Apply([]runtime.Assignment{{Task: ref, Epoch: 2, Config: taskConfig(t, reg, cfg, 0)}})
	testenv.WaitFor(t, 30*time.Second, "all 3000 records", func() bool { return count() >= 3000 })
	time.Sleep(500 * time.Millisecond)
	seen := map[string]int{}
	for _, r := range testenv.ReadCommitted(t, brokers, topic) {
		seq, _, _ := strings.Cut(string(r.Value), " ")
		seen[seq]++
	}
	dup := 0
	for _, n := range seen {
		dup += n - 1
	}
	if len(seen) != 3000 || dup != 0 {
		t.Fatalf("%d distinct records, %d duplicates; want 3000 and 0", len(seen), dup)
	}
}
