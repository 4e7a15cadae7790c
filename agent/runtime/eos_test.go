package runtime_test

import (
	"context"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"

	"github.com/sluicehq/sluice/agent/runtime"
	"github.com/sluicehq/sluice/connectors"
	"github.com/sluicehq/sluice/connectors/verifiable"
	"github.com/sluicehq/sluice/internal/testenv"
)

// committedSeqnos reads a topic read committed: verifiable-source's values.
func committedSeqnos(t *testing.T, brokers []string, topic string) []int64 {
	t.Helper()
	var out []int64
	for _, r := range testenv.ReadCommitted(t, brokers, topic) {
		var v struct{ Payload int64 }
		if err := json.Unmarshal(r.Value, &v); err != nil {
			t.Fatalf("value %q: %v", r.Value, err)
		}
		out = append(out, v.Payload)
	}
	return out
}

// TestExactlyOnceSourceFencesItsZombie: an exactly-once source task runs
// on one runtime, then the same task starts on another (as after a
// reassignment while the first still runs): the first is fenced by Kafka
// and stops, saying so; the second resumes from the offsets committed in
// Kafka; stopped and started again from Kafka's offsets alone, it goes on.
// A read-committed consumer sees every sequence number exactly once.
func TestExactlyOnceSourceFencesItsZombie(t *testing.T) {
	t.Parallel()
	brokers := testenv.Kafka(t)
	topic := testenv.NewTopic(t, brokers, 1)
	offsets := topic + "-offsets"
	t.Cleanup(func() { _, _ = kadm.NewClient(mustClient(t, brokers)).DeleteTopics(context.Background(), offsets) })
	reg := connectors.NewRegistry()
	if err := reg.Register(*verifiable.SourcePlugin()); err != nil {
		t.Fatal(err)
	}
	name := "eos-" + topic
	cfg := taskConfig(t, reg, map[string]string{"name": name, "connector.class": "verifiable-source", "topic": topic,
		"throughput": "2000", "exactly.once.support": "required", "offsets.storage.topic": offsets}, 0)
	ref := runtime.TaskRef{Connector: name, Task: 0}
	count := func() int { return len(committedSeqnos(t, brokers, topic)) }

	rtA, repA := startRuntime(t, reg, brokers)
	rtA.Apply([]runtime.Assignment{{Task: ref, Epoch: 1, Config: cfg}})
	testenv.WaitFor(t, 30*time.Second, "records from the first instance", func() bool { return count() > 500 })

	// The same task on another agent: the first instance is fenced.
	rtB, repB := startRuntime(t, reg, brokers)
	rtB.Apply([]runtime.Assignment{{Task: ref, Epoch: 2, Config: cfg}})
	testenv.WaitFor(t, 30*time.Second, "the first instance fenced", func() bool { return repA.last(ref) == runtime.StateFailed })
	repA.mu.Lock()
	trace := repA.traces[ref]
	repA.mu.Unlock()
	if !strings.Contains(trace, "fenced") {
		t.Fatalf("the zombie's trace %q does not say it was fenced", trace)
	}
	n := count()
	testenv.WaitFor(t, 30*time.Second, "records from the second instance", func() bool { return count() > n+500 })
	rtB.Apply(nil)
	testenv.WaitFor(t, 30*time.Second, "the second instance stopped", func() bool { return repB.last(ref) == runtime.StateStopped })

	// A third start, knowing only what Kafka holds.
	rtC, repC := startRuntime(t, reg, brokers)
	rtC.Apply([]runtime.Assignment{{Task: ref, Epoch: 3, Config: cfg}})
	n = count()
	testenv.WaitFor(t, 30*time.Second, "records from the third instance", func() bool { return count() > n+500 })
	rtC.Apply(nil)
	testenv.WaitFor(t, 30*time.Second, "the third instance stopped", func() bool { return repC.last(ref) == runtime.StateStopped })
	rtA.Apply(nil)

	seqnos := committedSeqnos(t, brokers, topic)
	rep := verifiable.Check(func(yield func(int32, int64)) {
		for _, s := range seqnos {
			yield(0, s)
		}
	})[0]
	if rep == nil || len(rep.Missing) > 0 || rep.Duplicate > 0 {
		t.Fatalf("read committed: %d records, max %d, %d missing, %d duplicated", len(seqnos), rep.Max, len(rep.Missing), rep.Duplicate)
	}
	t.Logf("read committed: %d records, sequence numbers 0..%d each exactly once", len(seqnos), rep.Max)
}
