package e2e

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"connectrpc.com/connect"
	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/sluicehq/sluice/agent/runtime"
	sluicev1 "github.com/sluicehq/sluice/api/gen/sluice/v1"
	"github.com/sluicehq/sluice/connectors/verifiable"
	"github.com/sluicehq/sluice/internal/testenv"
)

// More chaos scenarios, each a row of RELIABILITY.md's table: a million
// records through repeated agent SIGKILLs (at least once and exactly
// once), a file copied to Kafka while its agent dies, pause and stop
// across a restart of every process, failed tasks restarted, poison
// records to the dead letter topic, and a slow sink's memory.

func etcdEndpoints(t *testing.T) string { return strings.Join(testenv.Etcd(t), ",") }

// sourceOffsets returns a connector's committed source offsets, by source
// partition (as JSON).
func sourceOffsets(c *cluster, name string) map[string]map[string]any {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	res, err := c.api.Connectors.GetConnectorOffsets(ctx, connect.NewRequest(&sluicev1.GetConnectorOffsetsRequest{Name: name}))
	if err != nil {
		return nil
	}
	out := map[string]map[string]any{}
	for _, o := range res.Msg.GetOffsets() {
		var off map[string]any
		if json.Unmarshal([]byte(o.GetOffset()), &off) == nil {
			out[o.GetPartition()] = off
		}
	}
	return out
}

// sourceOffset returns the number under key in the committed offset of
// the source partition whose field field is value (-1 if none).
func sourceOffset(c *cluster, name, field string, value any, key string) int64 {
	for p, off := range sourceOffsets(c, name) {
		var part map[string]any
		if json.Unmarshal([]byte(p), &part) != nil || fmt.Sprint(part[field]) != fmt.Sprint(value) {
			continue
		}
		if n, ok := off[key].(float64); ok {
			return int64(n)
		}
	}
	return -1
}

// sourceDone reports whether every task of a verifiable-source has
// committed the sequence number last.
func sourceDone(c *cluster, name string, tasks int, last int64) bool {
	for task := range tasks {
		if sourceOffset(c, name, "id", task, "seqno") < last {
			return false
		}
	}
	return true
}

// endOffsets returns the sum of the end offsets of each topic's partitions.
func endOffsets(t *testing.T, brokers []string, topics ...string) map[string]int64 {
	t.Helper()
	cl, err := kgo.NewClient(kgo.SeedBrokers(brokers...))
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	ends, err := kadm.NewClient(cl).ListEndOffsets(ctx, topics...)
	if err != nil {
		t.Fatalf("end offsets of %v: %v", topics, err)
	}
	out := map[string]int64{}
	ends.Each(func(o kadm.ListedOffset) { out[o.Topic] += o.Offset })
	return out
}

// waitTasks waits until every task of name satisfies ok, within timeout.
func (c *cluster) waitTasks(name, what string, timeout time.Duration, ok func(*sluicev1.TaskStatus) bool) *sluicev1.ConnectorStatus {
	c.t.Helper()
	var st *sluicev1.ConnectorStatus
	testenv.WaitFor(c.t, timeout, name+": "+what, func() bool {
		st = c.status(name)
		if st == nil || len(st.GetTasks()) == 0 {
			return false
		}
		for _, ts := range st.GetTasks() {
			if !ok(ts) {
				return false
			}
		}
		return true
	})
	return st
}

func inState(s sluicev1.State) func(*sluicev1.TaskStatus) bool {
	return func(ts *sluicev1.TaskStatus) bool { return ts.GetState() == s }
}

// heldTasks counts the tasks of connector assigned to an agent.
func (c *cluster) heldTasks(connector string) int {
	c.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	res, err := c.api.Cluster.ListAgents(ctx, connect.NewRequest(&sluicev1.ListAgentsRequest{}))
	if err != nil {
		return -1
	}
	n := 0
	for _, a := range res.Msg.GetAgents() {
		for _, tr := range a.GetTasks() {
			if tr.GetConnector() == connector {
				n++
			}
		}
	}
	return n
}

// busiest returns the agent that runs most tasks of connector ("" if
// none); among equals, the first in name order starting at agent number
// from (so that successive calls can take turns).
func (e *chaosEnv) busiest(connector string, from int) string {
	count := map[string]int{}
	for _, ts := range e.c.status(connector).GetTasks() {
		if w := ts.GetWorkerId(); w != "" {
			count[w]++
		}
	}
	names := e.agentNames()
	best := ""
	for i := range names {
		if a := names[(from+i)%len(names)]; count[a] > count[best] {
			best = a
		}
	}
	return best
}

// bounceUntil SIGKILLs the agent that runs most source tasks, waits until
// every task runs again without it and starts it again, over and over, at
// least min times and until done holds; it returns the kills and the worst
// recovery.
func (e *chaosEnv) bounceUntil(least int, done func() bool) (kills int, worst time.Duration) {
	for kills < least || !done() {
		a := e.busiest(e.src, kills)
		if a == "" {
			a = e.agentNames()[kills%len(e.agents)]
		}
		stopped := time.Now()
		e.agents[a].kill()
		e.waitRunningWithout(a)
		worst = max(worst, time.Since(stopped))
		e.agents[a].start()
		kills++
		e.t.Logf("kill %d: %s, every task running again after %s", kills, a, time.Since(stopped).Round(100*time.Millisecond))
		time.Sleep(2 * time.Second)
	}
	return kills, worst
}

// millionCopy runs a verifiable-source of a million records (three tasks of
// 333,334) into a verifiable-sink while SIGKILLing agents again and again,
// then checks both sides.
func millionCopy(t *testing.T, name, mode string, srcDup bool, extra ...string) {
	if !chaosFull() {
		t.Skip("a million records: make chaos runs it (make test runs the hard bounces on fewer)")
	}
	t.Parallel()
	const perTask = 333_334
	e := newChaosEnv(t, name, append([]string{"throughput", "15000", "max.messages", fmt.Sprint(perTask)}, extra...)...)
	began := time.Now()
	kills, worst := e.bounceUntil(3, func() bool { return sourceDone(e.c, e.src, chaosTasks, perTask-1) })
	t.Logf("the source committed all %d records after %s and %d agent SIGKILLs", chaosTasks*perTask, time.Since(began).Round(time.Second), kills)
	rows := e.finishSides(fmt.Sprintf("%d records, %s, agent SIGKILLed %d times", chaosTasks*perTask, mode, kills), worst, srcDup, true)
	for _, r := range rows {
		if r.sent != chaosTasks*perTask {
			t.Errorf("%s: %d records, want %d", r.side, r.sent, chaosTasks*perTask)
		}
	}
}

// TestChaosMillionExactlyOnce (make chaos): a million records from an
// exactly-once source while agents are SIGKILLed one after the other: a
// read-committed consumer sees every sequence number exactly once.
func TestChaosMillionExactlyOnce(t *testing.T) {
	millionCopy(t, "eos1m", "exactly-once source", false,
		"exactly.once.support", "required", "offsets.storage.topic", "sluice-chaos-offsets")
}

// TestChaosMillionAtLeastOnce (make chaos): the same at least once: every
// sequence number arrives.
func TestChaosMillionAtLeastOnce(t *testing.T) {
	millionCopy(t, "alo1m", "at least once", true)
}

// numbered is line i of the file-source scenario: unique, and with line's
// varied content after the number.
func numbered(i int) string { return fmt.Sprintf("%07d %s", i, line(i)) }

// checkLines checks a topic a file-source filled with numbered lines 0 to
// n-1: every line there, in the file's order (a replay after a crash starts
// again at an earlier line and goes on in order), and no line twice unless
// row.allowDup. It fills in row's counts and records it.
func checkLines(t *testing.T, row chaosRow, recs []*kgo.Record, n int) {
	t.Helper()
	seen := make([]bool, n)
	prev, jumps, bad := -1, 0, 0
	for _, r := range recs {
		v := string(r.Value)
		k, err := strconv.Atoi(v[:max(0, strings.IndexByte(v, ' '))])
		if err != nil || k < 0 || k >= n || v != numbered(k) {
			if bad++; bad <= 3 {
				t.Errorf("%s: offset %d holds %q, not a line of the file", row.side, r.Offset, v)
			}
			continue
		}
		if k > prev+1 {
			if jumps++; jumps <= 3 {
				t.Errorf("%s: line %d follows line %d at offset %d: out of the file's order", row.side, k, prev, r.Offset)
			}
		}
		if seen[k] {
			row.dup++
		}
		seen[k] = true
		prev = k
	}
	for k := range n {
		if !seen[k] {
			if row.lost++; row.lost <= 3 {
				t.Errorf("%s: line %d missing", row.side, k)
			}
		}
	}
	row.sent = int64(n)
	if !row.allowDup && row.dup > 0 {
		t.Errorf("%s: %d lines twice where none may be", row.side, row.dup)
	}
	recordChaos(row)
	t.Logf("%s: %d lines, %d lost, %d duplicated, %d out of order", row.side, n, row.lost, row.dup, jumps)
}

// TestChaosFileSourceOwnerKilled: two file-sources, one at least once and
// one exactly once, follow files being written; mid-copy the agents that
// run them are SIGKILLed and the tasks move. Each topic holds every line in
// the file's order, once in the exactly-once topic read committed.
func TestChaosFileSourceOwnerKilled(t *testing.T) {
	t.Parallel()
	n := 100_000
	if chaosFull() {
		n = 1_000_000
	}
	e := newChaosCluster(t, etcdEndpoints(t))
	dir := t.TempDir()
	type job struct {
		mode, name, in, topic string
		eos                   bool
	}
	jobs := []*job{{mode: "at least once"}, {mode: "exactly once, read committed", eos: true}}
	for i, j := range jobs {
		j.in = filepath.Join(dir, fmt.Sprintf("in-%d.txt", i))
		j.topic = testenv.NewTopic(t, e.kafka, 1)
		j.name = "file-" + j.topic
		cfg := map[string]string{"connector.class": "FileStreamSource", "file": j.in, "topic": j.topic,
			"value.converter": "org.apache.kafka.connect.storage.StringConverter"}
		if j.eos {
			cfg["exactly.once.support"], cfg["offsets.storage.topic"] = "required", "sluice-chaos-offsets"
		}
		e.c.apply(j.name, cfg)
	}
	for _, j := range jobs {
		e.c.waitRunning(j.name)
	}
	// The files grow while the tasks copy them: n lines in 40 appends.
	const steps = 40
	var wg sync.WaitGroup
	written := make(chan int, steps)
	wg.Add(1)
	go func() {
		defer wg.Done()
		defer close(written)
		for s := range steps {
			for _, j := range jobs {
				writeNumbered(t, j.in, s*n/steps, (s+1)*n/steps)
			}
			written <- s + 1
			time.Sleep(100 * time.Millisecond)
		}
	}()
	for s := range written {
		if s == steps*2/5 {
			break
		}
	}
	testenv.WaitFor(t, 30*time.Second, "the copies under way", func() bool {
		ends := endOffsets(t, e.kafka, jobs[0].topic, jobs[1].topic)
		return ends[jobs[0].topic] > 0 && ends[jobs[1].topic] > 0
	})
	var owners []string
	for _, j := range jobs {
		if w := e.c.status(j.name).GetTasks()[0].GetWorkerId(); !slices.Contains(owners, w) {
			owners = append(owners, w)
		}
	}
	killed := time.Now()
	for _, a := range owners {
		e.agents[a].kill()
	}
	for _, j := range jobs {
		e.c.waitTasks(j.name, "RUNNING on another agent", 60*time.Second, func(ts *sluicev1.TaskStatus) bool {
			return ts.GetState() == sluicev1.State_STATE_RUNNING && !slices.Contains(owners, ts.GetWorkerId())
		})
	}
	recover := time.Since(killed)
	for _, a := range owners {
		e.agents[a].start()
	}
	for range written {
	}
	wg.Wait()
	if t.Failed() {
		t.FailNow()
	}
	st, err := os.Stat(jobs[0].in)
	if err != nil {
		t.Fatal(err)
	}
	for _, j := range jobs {
		testenv.WaitFor(t, 3*time.Minute, j.name+" to commit the end of its file", func() bool {
			return sourceOffset(e.c, j.name, "filename", j.in, "position") == st.Size()
		})
	}
	scenario := fmt.Sprintf("file → Kafka, %d lines, the owning agents SIGKILLed mid-copy", n)
	for _, j := range jobs {
		checkLines(t, chaosRow{scenario: scenario, side: "source → Kafka (" + j.mode + ")", recover: recover, allowDup: !j.eos},
			testenv.ReadCommitted(t, e.kafka, j.topic), n)
	}
}

// writeNumbered appends numbered lines [from, to) to path.
func writeNumbered(t *testing.T, path string, from, to int) {
	var b strings.Builder
	for i := from; i < to; i++ {
		b.WriteString(numbered(i))
		b.WriteByte('\n')
	}
	f, err := os.OpenFile(path, os.O_CREATE|os.O_APPEND|os.O_WRONLY, 0o644)
	if err == nil {
		_, err = f.WriteString(b.String())
		if cerr := f.Close(); err == nil {
			err = cerr
		}
	}
	if err != nil {
		t.Error(err)
	}
}

// TestChaosPauseStopAcrossFullRestart: one connector paused, another
// stopped, then every control plane replica and every agent SIGKILLed and
// started again. Afterwards the paused connector is still PAUSED and
// writes nothing, the stopped one has no task on any agent, every
// transition asked twice answers the same, and once resumed both move data
// again with nothing lost.
func TestChaosPauseStopAcrossFullRestart(t *testing.T) {
	t.Parallel()
	e := newChaosCluster(t, etcdEndpoints(t))
	paused, stopped := testenv.NewTopic(t, e.kafka, chaosTasks), testenv.NewTopic(t, e.kafka, chaosTasks)
	pausedName, stoppedName := "paused-"+paused, "stopped-"+stopped
	for name, topic := range map[string]string{pausedName: paused, stoppedName: stopped} {
		e.c.apply(name, map[string]string{"connector.class": "verifiable-source", "topic": topic,
			"tasks.max": fmt.Sprint(chaosTasks), "throughput": "200"})
	}
	e.c.waitRunning(pausedName)
	e.c.waitRunning(stoppedName)
	time.Sleep(time.Second)
	ctx := context.Background()
	// Each transition twice: the second is a no-op, not an error.
	transition := func(what string, call func() error) {
		t.Helper()
		for i := range 2 {
			if err := call(); err != nil {
				t.Fatalf("%s (call %d): %v", what, i+1, err)
			}
		}
	}
	pause := func() error {
		_, err := e.c.api.Connectors.PauseConnector(ctx, connect.NewRequest(&sluicev1.PauseConnectorRequest{Name: pausedName}))
		return err
	}
	stop := func() error {
		_, err := e.c.api.Connectors.StopConnector(ctx, connect.NewRequest(&sluicev1.StopConnectorRequest{Name: stoppedName}))
		return err
	}
	transition("pause", pause)
	transition("stop", stop)
	e.c.waitTasks(pausedName, "PAUSED", 30*time.Second, inState(sluicev1.State_STATE_PAUSED))
	noTasks := func(ts *sluicev1.TaskStatus) bool {
		return ts.GetState() == sluicev1.State_STATE_STOPPED && ts.GetWorkerId() == ""
	}
	e.c.waitTasks(stoppedName, "STOPPED", 30*time.Second, noTasks)
	testenv.WaitFor(t, 30*time.Second, stoppedName+" on no agent", func() bool { return e.c.heldTasks(stoppedName) == 0 })
	time.Sleep(time.Second)
	frozen := endOffsets(t, e.kafka, paused, stopped)

	// Every process dies at once and starts again.
	for _, a := range e.agentNames() {
		e.agents[a].kill()
	}
	for _, cp := range e.cps {
		cp.kill()
	}
	restarted := time.Now()
	for _, cp := range e.cps {
		cp.start()
	}
	for _, a := range e.agentNames() {
		e.agents[a].start()
	}
	e.c.waitHealthy()
	testenv.WaitFor(t, 30*time.Second, "three agents back", func() bool {
		res, err := e.c.api.Cluster.ListAgents(ctx, connect.NewRequest(&sluicev1.ListAgentsRequest{}))
		return err == nil && len(res.Msg.GetAgents()) == 3
	})
	// PAUSED as reported by the agents started again, not as stored
	// before the kill.
	e.c.waitTasks(pausedName, "PAUSED after the restart", 60*time.Second, func(ts *sluicev1.TaskStatus) bool {
		return ts.GetState() == sluicev1.State_STATE_PAUSED && ts.GetUpdateTime().AsTime().After(restarted)
	})
	recover := time.Since(restarted)
	hold := 3 * time.Second
	if chaosFull() {
		hold = 10 * time.Second
	}
	for end := time.Now().Add(hold); time.Now().Before(end); time.Sleep(500 * time.Millisecond) {
		if got := endOffsets(t, e.kafka, paused, stopped); got[paused] != frozen[paused] || got[stopped] != frozen[stopped] {
			t.Fatalf("records written while paused or stopped: end offsets %v, %v before the restart", got, frozen)
		}
		if st := e.c.status(pausedName); st.GetTargetState() != sluicev1.TargetState_TARGET_STATE_PAUSED {
			t.Fatalf("%s: target state %v after the restart", pausedName, st.GetTargetState())
		}
		st := e.c.status(stoppedName)
		if st.GetConnector().GetState() != sluicev1.State_STATE_STOPPED || slices.ContainsFunc(st.GetTasks(), func(ts *sluicev1.TaskStatus) bool { return !noTasks(ts) }) {
			t.Fatalf("%s after the restart: %v", stoppedName, st)
		}
		if n := e.c.heldTasks(stoppedName); n != 0 {
			t.Fatalf("%s is STOPPED, yet agents hold %d of its tasks", stoppedName, n)
		}
	}
	// Asked again after the restart: still no-ops.
	transition("pause after the restart", pause)
	transition("stop after the restart", stop)

	for _, name := range []string{pausedName, stoppedName} {
		transition("resume "+name, func() error {
			_, err := e.c.api.Connectors.ResumeConnector(ctx, connect.NewRequest(&sluicev1.ResumeConnectorRequest{Name: name}))
			return err
		})
	}
	e.c.waitRunning(pausedName)
	e.c.waitRunning(stoppedName)
	testenv.WaitFor(t, 30*time.Second, "both writing again", func() bool {
		got := endOffsets(t, e.kafka, paused, stopped)
		return got[paused] > frozen[paused]+100 && got[stopped] > frozen[stopped]+100
	})
	scenario := fmt.Sprintf("paused and stopped connectors across a SIGKILL of every process (frozen %s after)", hold)
	for _, c := range []struct{ name, topic, side string }{
		{pausedName, paused, "paused source → Kafka"}, {stoppedName, stopped, "stopped source → Kafka"}} {
		if _, err := e.c.api.Connectors.StopConnector(ctx, connect.NewRequest(&sluicev1.StopConnectorRequest{Name: c.name})); err != nil {
			t.Fatal(err)
		}
		e.c.waitTasks(c.name, "STOPPED", 30*time.Second, noTasks)
		time.Sleep(time.Second)
		// The kill came after the connectors had stopped writing and
		// committed their final offsets: nothing may repeat.
		checkSeqnos(t, chaosRow{scenario: scenario, side: c.side, recover: recover},
			topicSeqnos(t, e.kafka, c.topic), chaosTasks, -1)
	}
}

// TestChaosStopResumeRepeatsNothing: a connector stopped and resumed,
// without any fault, repeats nothing: its tasks commit their final offsets
// when they stop, as Kafka Connect's do.
func TestChaosStopResumeRepeatsNothing(t *testing.T) {
	t.Parallel()
	e := newChaosCluster(t, etcdEndpoints(t))
	topic := testenv.NewTopic(t, e.kafka, chaosTasks)
	name := "stop-resume-" + topic
	e.c.apply(name, map[string]string{"connector.class": "verifiable-source", "topic": topic,
		"tasks.max": fmt.Sprint(chaosTasks), "throughput": "1000"})
	e.c.waitRunning(name)
	ctx := context.Background()
	for range 3 {
		time.Sleep(1500 * time.Millisecond)
		if _, err := e.c.api.Connectors.StopConnector(ctx, connect.NewRequest(&sluicev1.StopConnectorRequest{Name: name})); err != nil {
			t.Fatal(err)
		}
		testenv.WaitFor(t, 30*time.Second, name+" on no agent", func() bool { return e.c.heldTasks(name) == 0 })
		if _, err := e.c.api.Connectors.ResumeConnector(ctx, connect.NewRequest(&sluicev1.ResumeConnectorRequest{Name: name})); err != nil {
			t.Fatal(err)
		}
		e.c.waitRunning(name)
	}
	time.Sleep(time.Second)
	if _, err := e.c.api.Connectors.StopConnector(ctx, connect.NewRequest(&sluicev1.StopConnectorRequest{Name: name})); err != nil {
		t.Fatal(err)
	}
	testenv.WaitFor(t, 30*time.Second, name+" on no agent", func() bool { return e.c.heldTasks(name) == 0 })
	time.Sleep(time.Second)
	checkSeqnos(t, chaosRow{scenario: "connector stopped and resumed 3 times, no fault", side: "source → Kafka"},
		topicSeqnos(t, e.kafka, topic), chaosTasks, -1)
}

// topicSeqnos reads a verifiable-source's topic, read committed.
func topicSeqnos(t *testing.T, brokers []string, topic string) [][2]int64 {
	e := &chaosEnv{t: t, kafka: brokers, topic: topic}
	return e.readTopic()
}

// fence takes over a transactional id, as a second instance of its task
// would: Kafka bumps the id's epoch and aborts what the first had open.
func fence(t *testing.T, brokers []string, txnID string) {
	t.Helper()
	cl, err := kgo.NewClient(kgo.SeedBrokers(brokers...))
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	testenv.WaitFor(t, 30*time.Second, "the transactional id "+txnID+" taken over", func() bool {
		req := kmsg.NewPtrInitProducerIDRequest()
		req.TransactionalID = &txnID
		req.TransactionTimeoutMillis = 60_000
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		resp, err := req.RequestWith(ctx, cl)
		if err == nil {
			err = kerr.ErrorForCode(resp.ErrorCode)
		}
		if err != nil && !errors.Is(err, kerr.ConcurrentTransactions) {
			t.Logf("fence %s: %v", txnID, err)
		}
		return err == nil
	})
}

// TestChaosFailedTaskRestart: a sink whose file cannot be opened and one
// task of an exactly-once source fenced by a second instance of itself
// show FAILED with the reason within 20 s; once the cause is gone, a
// restart of the failed tasks only (onlyFailed) runs them again within
// 10 s, without touching the tasks that did not fail; nothing is lost or
// repeated.
func TestChaosFailedTaskRestart(t *testing.T) {
	t.Parallel()
	e := newChaosCluster(t, etcdEndpoints(t))
	e.topic = testenv.NewTopic(t, e.kafka, chaosTasks)
	e.sinkFile = filepath.Join(t.TempDir(), "sink.jsonl")
	e.src, e.snk = "failing-src-"+e.topic, "failing-sink-"+e.topic
	// The sink's file is a directory: its tasks fail opening it.
	if err := os.Mkdir(e.sinkFile, 0o755); err != nil {
		t.Fatal(err)
	}
	e.c.apply(e.src, map[string]string{"connector.class": "verifiable-source", "topic": e.topic,
		"tasks.max": fmt.Sprint(chaosTasks), "throughput": "200",
		"exactly.once.support": "required", "offsets.storage.topic": "sluice-chaos-offsets"})
	before := e.c.waitRunning(e.src)
	applied := time.Now()
	e.c.apply(e.snk, map[string]string{"connector.class": "verifiable-sink", "topics": e.topic,
		"tasks.max": fmt.Sprint(chaosTasks), "file": e.sinkFile})
	e.c.waitTasks(e.snk, "FAILED with a trace", 20*time.Second, func(ts *sluicev1.TaskStatus) bool {
		return ts.GetState() == sluicev1.State_STATE_FAILED && strings.Contains(ts.GetTrace(), "is a directory")
	})
	t.Logf("sink tasks FAILED %s after the connector was created", time.Since(applied).Round(100*time.Millisecond))

	fenced := time.Now()
	fence(t, e.kafka, runtime.TransactionalID(e.src, 1))
	st := e.c.waitTasks(e.src, "task 1 FAILED, fenced; 0 and 2 RUNNING", 20*time.Second, func(ts *sluicev1.TaskStatus) bool {
		if ts.GetId() == 1 {
			return ts.GetState() == sluicev1.State_STATE_FAILED && strings.Contains(ts.GetTrace(), "fenced")
		}
		return ts.GetState() == sluicev1.State_STATE_RUNNING
	})
	t.Logf("task 1 FAILED %s after the fence: %s", time.Since(fenced).Round(100*time.Millisecond), firstLine(st.GetTasks()[1].GetTrace()))

	var worst time.Duration
	restart := func(name string) *sluicev1.ConnectorStatus {
		t.Helper()
		res, err := e.c.api.Connectors.RestartConnector(context.Background(), connect.NewRequest(&sluicev1.RestartConnectorRequest{
			Name: name, IncludeTasks: true, OnlyFailed: true}))
		if err != nil {
			t.Fatalf("restart %s: %v", name, err)
		}
		began := time.Now()
		e.c.waitTasks(name, "RUNNING within 10 s of the restart", 10*time.Second, inState(sluicev1.State_STATE_RUNNING))
		worst = max(worst, time.Since(began))
		return res.Msg.GetStatus()
	}
	answered := restart(e.src)
	for _, ts := range answered.GetTasks() {
		if restarting := ts.GetState() == sluicev1.State_STATE_RESTARTING; restarting != (ts.GetId() == 1) {
			t.Errorf("restart with onlyFailed: task %d answered %v", ts.GetId(), ts.GetState())
		}
	}
	after := e.c.status(e.src)
	for i, ts := range after.GetTasks() {
		if changed := ts.GetEpoch() != before.GetTasks()[i].GetEpoch(); changed != (i == 1) {
			t.Errorf("task %d: epoch %d -> %d; only the failed task 1 restarts", i, before.GetTasks()[i].GetEpoch(), ts.GetEpoch())
		}
	}

	if err := os.Remove(e.sinkFile); err != nil {
		t.Fatal(err)
	}
	restart(e.snk)
	time.Sleep(2 * time.Second)
	e.finishSides("failed tasks (a fenced exactly-once source task, a sink that cannot open its file) restarted with onlyFailed",
		worst, false, true)
}

func firstLine(s string) string {
	if i := strings.IndexByte(s, '\n'); i >= 0 {
		return s[:i]
	}
	return s
}

// poisonProducer writes, per partition p of a topic, verifiable records
// (key p, values 0, 1, 2, ... in JsonConverter's form) and poison ones
// ("poison p b" for b = 0, 1, 2, ..., not JSON), and remembers where each
// poison record landed.
type poisonProducer struct {
	t     *testing.T
	cl    *kgo.Client
	topic string
	parts int32
	good  []int64
	bad   [][]int64 // bad[p][b]: the offset of poison record b of partition p
}

func newPoisonProducer(t *testing.T, brokers []string, topic string, parts int32) *poisonProducer {
	cl, err := kgo.NewClient(kgo.SeedBrokers(brokers...), kgo.DefaultProduceTopic(topic),
		kgo.RecordPartitioner(kgo.ManualPartitioner()))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(cl.Close)
	return &poisonProducer{t: t, cl: cl, topic: topic, parts: parts, good: make([]int64, parts), bad: make([][]int64, parts)}
}

// produce writes n records to each partition, every other one poison when
// poison is set; it returns false if Kafka refused them.
func (p *poisonProducer) produce(n int, poison bool) bool {
	var recs []*kgo.Record
	for part := range p.parts {
		key := fmt.Appendf(nil, `{"schema":{"type":"int32","optional":false},"payload":%d}`, part)
		for i := range n {
			r := &kgo.Record{Partition: part, Key: key}
			if poison && i%2 == 1 {
				r.Value = fmt.Appendf(nil, "poison %d %d", part, len(p.bad[part]))
				p.bad[part] = append(p.bad[part], -1)
			} else {
				r.Value = fmt.Appendf(nil, `{"schema":{"type":"int64","optional":false},"payload":%d}`, p.good[part])
				p.good[part]++
			}
			recs = append(recs, r)
		}
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	res := p.cl.ProduceSync(ctx, recs...)
	if err := res.FirstErr(); err != nil {
		p.t.Errorf("produce: %v", err)
		return false
	}
	for _, r := range res {
		var part, b int
		if _, err := fmt.Sscanf(string(r.Record.Value), "poison %d %d", &part, &b); err == nil {
			p.bad[part][b] = r.Record.Offset
		}
	}
	return true
}

// firstBad returns the offset of each partition's first poison record.
func (p *poisonProducer) firstBad() []int64 {
	out := make([]int64, p.parts)
	for part, offs := range p.bad {
		out[part] = offs[0]
	}
	return out
}

func header(r *kgo.Record, key string) string {
	for _, h := range r.Headers {
		if h.Key == key {
			return string(h.Value)
		}
	}
	return ""
}

// TestChaosPoisonRecords: half the records of a topic are not JSON. A
// verifiable-sink with errors.tolerance=all and a dead letter topic
// delivers every good record and puts every bad one in the dead letter
// topic, with Kafka Connect's context headers, through a SIGKILL of an
// agent running its tasks; one with errors.tolerance=none (the default)
// fails each task at its partition's first bad record, and writes and
// commits nothing past it.
func TestChaosPoisonRecords(t *testing.T) {
	t.Parallel()
	e := newChaosCluster(t, etcdEndpoints(t))
	topic := testenv.NewTopic(t, e.kafka, chaosTasks)
	dlq := topic + "-dlq"
	t.Cleanup(func() {
		cl, err := kgo.NewClient(kgo.SeedBrokers(e.kafka...))
		if err == nil {
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			_, _ = kadm.NewClient(cl).DeleteTopics(ctx, dlq)
			cl.Close()
		}
	})
	dir := t.TempDir()
	all, none := "tolerant-"+topic, "strict-"+topic
	allFile, noneFile := filepath.Join(dir, "all.jsonl"), filepath.Join(dir, "none.jsonl")
	e.c.apply(all, map[string]string{"connector.class": "verifiable-sink", "topics": topic, "tasks.max": fmt.Sprint(chaosTasks),
		"file": allFile, "errors.tolerance": "all", "errors.deadletterqueue.topic.name": dlq,
		"errors.deadletterqueue.topic.replication.factor": "1", "errors.deadletterqueue.context.headers.enable": "true"})
	e.c.apply(none, map[string]string{"connector.class": "verifiable-sink", "topics": topic, "tasks.max": fmt.Sprint(chaosTasks),
		"file": noneFile})
	e.c.waitRunning(all)
	e.c.waitRunning(none)

	lines := func(path string) []verifiable.Line {
		var out []verifiable.Line
		_ = verifiable.ReadLines(path, func(l verifiable.Line) { out = append(out, l) })
		return out
	}
	seqnos := func(ls []verifiable.Line) [][2]int64 {
		out := make([][2]int64, len(ls))
		for i, l := range ls {
			out[i] = [2]int64{int64(l.Task), l.Seqno}
		}
		return out
	}
	holdsGood := func(path string, p *poisonProducer) bool {
		have := map[[2]int64]bool{}
		for _, r := range seqnos(lines(path)) {
			have[r] = true
		}
		for part, n := range p.good {
			for s := range n {
				if !have[[2]int64{int64(part), s}] {
					return false
				}
			}
		}
		return true
	}

	// Good records first, delivered and committed by both.
	p := newPoisonProducer(t, e.kafka, topic, chaosTasks)
	p.produce(100, false)
	testenv.WaitFor(t, 30*time.Second, "the good records in both files", func() bool {
		return holdsGood(allFile, p) && holdsGood(noneFile, p)
	})

	// Then half poison, in steps; halfway, the agent that runs most of
	// the tolerant sink's tasks dies.
	steps, per := 20, 100
	if chaosFull() {
		steps, per = 50, 1000
	}
	var recover time.Duration
	for s := range steps {
		if !p.produce(per, true) {
			t.FailNow()
		}
		if s == 0 {
			// errors.tolerance=none: each task FAILED at its
			// partition's first bad record, within 20 s.
			poisoned := time.Now()
			st := e.c.waitTasks(none, "FAILED at the first bad record", 20*time.Second, inState(sluicev1.State_STATE_FAILED))
			t.Logf("%s: every task FAILED %s after the first bad records", none, time.Since(poisoned).Round(100*time.Millisecond))
			checkStrictTraces(t, st, topic, p.firstBad())
		}
		if s == steps/2 {
			a := e.busiest(all, 0)
			killed := time.Now()
			e.agents[a].kill()
			e.c.waitTasks(all, "RUNNING without "+a, 60*time.Second, func(ts *sluicev1.TaskStatus) bool {
				return ts.GetState() == sluicev1.State_STATE_RUNNING && ts.GetWorkerId() != a
			})
			recover = time.Since(killed)
			e.agents[a].start()
		}
		time.Sleep(50 * time.Millisecond)
	}

	// errors.tolerance=none, through its tasks' restarts after the
	// failure and the SIGKILL: nothing past the first bad record written
	// or committed; every good record before the poison delivered.
	first := p.firstBad()
	strict := chaosRow{scenario: "poison records, errors.tolerance=none: every task FAILED at its first bad record, nothing past it written or committed",
		side: "Kafka → sink (good records before the first bad one)", allowDup: true}
	have := map[[2]int64]bool{}
	past := 0
	for _, l := range lines(noneFile) {
		if l.Offset >= first[l.Partition] {
			if past++; past <= 3 {
				t.Errorf("errors.tolerance=none: partition %d offset %d written, past the first bad record at %d", l.Partition, l.Offset, first[l.Partition])
			}
		}
		have[[2]int64{int64(l.Task), l.Seqno}] = true
	}
	for part := range chaosTasks {
		for s := range int64(100) {
			strict.sent++
			if !have[[2]int64{int64(part), s}] {
				strict.lost++
			}
		}
	}
	offs, err := kadm.NewClient(p.cl).FetchOffsets(context.Background(), runtime.GroupID(none))
	if err != nil {
		t.Fatal(err)
	}
	for part, off := range first {
		if o, ok := offs.Lookup(topic, int32(part)); ok && o.At > off {
			t.Errorf("errors.tolerance=none: partition %d committed at %d, past its first bad record at %d", part, o.At, off)
		}
	}
	recordChaos(strict)

	// errors.tolerance=all: every good record in the file, every bad one
	// in the dead letter topic.
	var dead []*kgo.Record
	badCount := 0
	for _, offs := range p.bad {
		badCount += len(offs)
	}
	testenv.WaitFor(t, 60*time.Second, "every good record in the file and every bad one in the dead letter topic", func() bool {
		if !holdsGood(allFile, p) {
			return false
		}
		if ends := endOffsets(t, e.kafka, dlq); ends[dlq] < int64(badCount) {
			return false
		}
		dead = testenv.ReadCommitted(t, e.kafka, dlq)
		return true
	})
	scenario := fmt.Sprintf("poison records (%d of %d not JSON), errors.tolerance=all, agent SIGKILLed mid-run", badCount, badCount+int(sumOf(p.good)))
	checkSeqnos(t, chaosRow{scenario: scenario, side: "Kafka → sink (good records)", recover: recover, allowDup: true},
		seqnos(lines(allFile)), chaosTasks, -1)
	row := chaosRow{scenario: scenario, side: "Kafka → dead letter topic (bad records)", recover: recover, allowDup: true, sent: int64(badCount)}
	got := map[[2]int]int{}
	for _, r := range dead {
		var part, b int
		if _, err := fmt.Sscanf(string(r.Value), "poison %d %d", &part, &b); err != nil || part >= len(p.bad) || b >= len(p.bad[part]) {
			t.Errorf("dead letter %q is not a poison record", r.Value)
			continue
		}
		if got[[2]int{part, b}]++; got[[2]int{part, b}] > 1 {
			row.dup++
		}
		hdrs := map[string]string{
			"__connect.errors.topic":     topic,
			"__connect.errors.partition": fmt.Sprint(part),
			"__connect.errors.offset":    fmt.Sprint(p.bad[part][b]),
			"__connect.errors.stage":     "VALUE_CONVERTER",
		}
		for k, want := range hdrs {
			if h := header(r, k); h != want {
				t.Errorf("dead letter %q: header %s = %q, want %q", r.Value, k, h, want)
			}
		}
		for _, k := range []string{"__connect.errors.exception.class.name", "__connect.errors.exception.message", "__connect.errors.connector.name"} {
			if header(r, k) == "" {
				t.Errorf("dead letter %q: no header %s", r.Value, k)
			}
		}
	}
	for part, offs := range p.bad {
		for b := range offs {
			if got[[2]int{part, b}] == 0 {
				if row.lost++; row.lost <= 3 {
					t.Errorf("poison record %d of partition %d not in the dead letter topic", b, part)
				}
			}
		}
	}
	recordChaos(row)
	t.Logf("%s: %d records, %d lost, %d duplicated", row.side, row.sent, row.lost, row.dup)
}

// checkStrictTraces checks that the failed tasks' traces name the setting
// and, between them, each partition's first bad record.
func checkStrictTraces(t *testing.T, st *sluicev1.ConnectorStatus, topic string, first []int64) {
	t.Helper()
	named := map[string]bool{}
	for _, ts := range st.GetTasks() {
		for part, off := range first {
			if w := fmt.Sprintf("%s[%d]@%d", topic, part, off); strings.Contains(ts.GetTrace(), w) {
				named[w] = true
			}
		}
		if !strings.Contains(ts.GetTrace(), "errors.tolerance=none") {
			t.Errorf("task %d's trace does not name the setting: %s", ts.GetId(), firstLine(ts.GetTrace()))
		}
	}
	if len(named) != len(first) {
		t.Errorf("the traces name %v; want each partition's first bad record %v", slices.Sorted(maps.Keys(named)), first)
	}
}

// rss returns a process's resident set size, from /proc.
func rss(pid int) (int64, error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0, err
	}
	for _, l := range strings.Split(string(b), "\n") {
		if rest, ok := strings.CutPrefix(l, "VmRSS:"); ok {
			kb, err := strconv.ParseInt(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(rest), "kB")), 10, 64)
			return kb << 10, err
		}
	}
	return 0, errors.New("no VmRSS")
}

// TestChaosSlowSinkMemory (make chaos; the runtime's
// TestSlowSinkMemoryIsBounded watches the heap in make test): one agent
// runs a verifiable-source writing about 1 KB records (a 1 KB header
// added by InsertHeader) and a verifiable-sink that takes 2 s per batch,
// so the sink falls further behind every second. The agent process's
// resident memory, read from /proc, stays under a bound far below the
// backlog; sped up again, the sink catches up with nothing lost or
// repeated.
func TestChaosSlowSinkMemory(t *testing.T) {
	if !chaosFull() {
		t.Skip("a long run against a growing backlog: make chaos runs it (make test runs the runtime's heap test)")
	}
	t.Parallel()
	const bound = 200 << 20
	c := newCluster(t)
	agent := start(t, "agent-slow", "agent", "--server", "http://"+c.addr, "--kafka", strings.Join(c.kafka, ","),
		"--name", "agent-slow", "--data-dir", filepath.Join(t.TempDir(), "agent"))
	e := &chaosEnv{t: t, c: c, kafka: c.kafka, agents: map[string]*proc{"agent-slow": agent}}
	e.topic = testenv.NewTopic(t, e.kafka, chaosTasks)
	e.sinkFile = filepath.Join(t.TempDir(), "sink.jsonl")
	e.src, e.snk = "fast-src-"+e.topic, "slow-sink-"+e.topic
	e.c.apply(e.src, map[string]string{"connector.class": "verifiable-source", "topic": e.topic,
		"tasks.max": fmt.Sprint(chaosTasks), "throughput": "5000",
		"transforms": "pad", "transforms.pad.type": "org.apache.kafka.connect.transforms.InsertHeader",
		"transforms.pad.header": "pad", "transforms.pad.value.literal": strings.Repeat("p", 1000)})
	sinkCfg := func(delay string) map[string]string {
		return map[string]string{"connector.class": "verifiable-sink", "topics": e.topic,
			"tasks.max": fmt.Sprint(chaosTasks), "file": e.sinkFile, "put.delay.ms": delay}
	}
	e.c.apply(e.snk, sinkCfg("2000"))
	e.running()
	const run = 40 * time.Second
	var peak int64
	for end := time.Now().Add(run); time.Now().Before(end); time.Sleep(250 * time.Millisecond) {
		n, err := rss(agent.cmd.Process.Pid)
		if err != nil {
			t.Fatal(err)
		}
		peak = max(peak, n)
	}
	produced := endOffsets(t, e.kafka, e.topic)[e.topic]
	sunk := int64(countLines(e.sinkFile))
	backlog := (produced - sunk) * 1100
	t.Logf("after %s: %d records produced, %d in the sink, a backlog of about %d MB; agent RSS peak %d MB", run,
		produced, sunk, backlog>>20, peak>>20)
	if peak > bound {
		t.Errorf("the agent's RSS reached %d MB, over the %d MB bound", peak>>20, bound>>20)
	}
	if backlog < 2*bound {
		t.Errorf("the backlog is only %d MB: the sink did not fall far enough behind to prove a %d MB bound", backlog>>20, bound>>20)
	}
	// Fast again: the sink catches up.
	e.c.apply(e.snk, sinkCfg("0"))
	e.running()
	e.finishSides(fmt.Sprintf("slow sink (2 s per batch), %d MB backlog: agent RSS peak %d MB (bound %d MB)", backlog>>20, peak>>20, bound>>20),
		0, false, false)
}

func sumOf(ns []int64) int64 {
	var s int64
	for _, n := range ns {
		s += n
	}
	return s
}
