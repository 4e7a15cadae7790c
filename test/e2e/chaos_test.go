package e2e

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"connectrpc.com/connect"

	sluicev1 "github.com/sluicehq/sluice/api/gen/sluice/v1"
	client "github.com/sluicehq/sluice/clients/go"
	"github.com/sluicehq/sluice/connectors/verifiable"
	"github.com/sluicehq/sluice/internal/testenv"
)

// The chaos suite: real processes (etcd, control plane replicas, agents,
// the Kafka broker of `make test`), faults on a schedule, and an independent
// check of what arrived, per producer task and sequence number, with
// verifiable-source and verifiable-sink. A short run is part of `make test`;
// `make chaos` (SLUICE_CHAOS=full) runs more rounds for longer.

func chaosFull() bool { return os.Getenv("SLUICE_CHAOS") == "full" }

type chaosRow struct {
	scenario, side string
	sent, lost     int64
	dup            int64
	recover        time.Duration
	allowDup       bool
}

var (
	chaosMu   sync.Mutex
	chaosRows []chaosRow
)

func recordChaos(r chaosRow) {
	chaosMu.Lock()
	defer chaosMu.Unlock()
	chaosRows = append(chaosRows, r)
}

// printChaosTable prints what the chaos scenarios found (and writes it to
// $SLUICE_CHAOS_OUT when set).
func printChaosTable() {
	chaosMu.Lock()
	defer chaosMu.Unlock()
	if len(chaosRows) == 0 {
		return
	}
	var b strings.Builder
	b.WriteString("\n| scenario | side | records | lost | duplicated | recovery (worst) |\n|---|---|---:|---:|---:|---:|\n")
	for _, r := range chaosRows {
		dup := fmt.Sprint(r.dup)
		if !r.allowDup {
			dup += " (must be 0)"
		}
		rec := "-"
		switch {
		case r.recover > 0 && r.recover < 100*time.Millisecond:
			rec = "< 0.1s"
		case r.recover > 0:
			rec = r.recover.Round(100 * time.Millisecond).String()
		}
		fmt.Fprintf(&b, "| %s | %s | %d | %d | %s | %s |\n", r.scenario, r.side, r.sent, r.lost, dup, rec)
	}
	fmt.Print(b.String())
	if out := os.Getenv("SLUICE_CHAOS_OUT"); out != "" {
		_ = os.WriteFile(out, []byte("# Chaos results\n"+b.String()), 0o644)
	}
}

// chaosEnv is a cluster of processes running a verifiable source and sink.
type chaosEnv struct {
	t        *testing.T
	c        *cluster
	kafka    []string
	etcd     string
	prefix   string
	cps      map[string]*proc
	cpAddrs  map[string]string
	agents   map[string]*proc
	servers  string
	topic    string
	sinkFile string
	src, snk string
}

const (
	chaosTasks = 3
	chaosTTL   = 4 * time.Second
)

func newChaosEnv(t *testing.T, name string, srcExtra ...string) *chaosEnv {
	return newChaosEnvOn(t, name, strings.Join(testenv.Etcd(t), ","), srcExtra...)
}

// newChaosEnvOn is newChaosEnv on the given etcd endpoints.
func newChaosEnvOn(t *testing.T, name, etcd string, srcExtra ...string) *chaosEnv {
	e := newChaosCluster(t, etcd)
	e.topic = testenv.NewTopic(t, e.kafka, chaosTasks)
	e.sinkFile = filepath.Join(t.TempDir(), "sink.jsonl")
	e.src, e.snk = name+"-src-"+e.topic, name+"-sink-"+e.topic
	throughput := "200"
	if chaosFull() {
		throughput = "1000"
	}
	srcCfg := map[string]string{"connector.class": "verifiable-source", "topic": e.topic,
		"tasks.max": fmt.Sprint(chaosTasks), "throughput": throughput}
	for i := 0; i+1 < len(srcExtra); i += 2 {
		srcCfg[srcExtra[i]] = srcExtra[i+1]
	}
	e.c.apply(e.src, srcCfg)
	e.c.apply(e.snk, map[string]string{"connector.class": "verifiable-sink", "topics": e.topic,
		"tasks.max": fmt.Sprint(chaosTasks), "file": e.sinkFile})
	e.running()
	return e
}

// newChaosCluster starts the processes of a scenario, two control plane
// replicas on etcd and three agents, with no connector yet.
func newChaosCluster(t *testing.T, etcd string) *chaosEnv {
	e := &chaosEnv{t: t, kafka: testenv.Kafka(t), prefix: testenv.EtcdPrefix(t),
		cps: map[string]*proc{}, cpAddrs: map[string]string{}, agents: map[string]*proc{}}
	e.etcd = etcd
	var urls []string
	for _, cp := range []string{"cp-1", "cp-2"} {
		addr := testenv.FreeAddr(t)
		e.cpAddrs[cp] = addr
		urls = append(urls, "http://"+addr)
		e.cps[cp] = start(t, cp, "controlplane", "--listen", addr, "--etcd", e.etcd, "--etcd-prefix", e.prefix,
			"--name", cp, "--session-ttl", chaosTTL.String(), "--reassign-delay", "2s")
	}
	e.servers = strings.Join(urls, ",")
	api, err := client.New(urls[0])
	if err != nil {
		t.Fatal(err)
	}
	e.c = &cluster{t: t, api: api, kafka: e.kafka, addr: e.cpAddrs["cp-1"]}
	e.c.waitHealthy()
	dataRoot := t.TempDir()
	for i := 1; i <= 3; i++ {
		a := fmt.Sprintf("agent-%d", i)
		e.agents[a] = start(t, a, "agent", "--server", e.servers, "--kafka", strings.Join(e.kafka, ","),
			"--name", a, "--data-dir", filepath.Join(dataRoot, a))
	}
	return e
}

// running waits until both connectors run every task, and returns how long
// that took.
func (e *chaosEnv) running() time.Duration {
	start := time.Now()
	e.c.waitRunning(e.src)
	e.c.waitRunning(e.snk)
	return time.Since(start)
}

// api returns a client of a replica that is alive.
func (e *chaosEnv) use(cp string) {
	api, err := client.New("http://" + e.cpAddrs[cp])
	if err != nil {
		e.t.Fatal(err)
	}
	e.c.api = api
}

// finish stops the source, waits until the sink has everything the topic
// holds, and checks both sides.
func (e *chaosEnv) finish(scenario string, recover time.Duration, allowDup bool) {
	e.finishSides(scenario, recover, allowDup, allowDup)
}

// finishSides is finish with a duplicates rule per side; it returns the
// rows it recorded, source side first.
func (e *chaosEnv) finishSides(scenario string, recover time.Duration, srcDup, sinkDup bool) []chaosRow {
	t := e.t
	ctx := context.Background()
	if _, err := e.c.api.Connectors.StopConnector(ctx, connect.NewRequest(&sluicev1.StopConnectorRequest{Name: e.src})); err != nil {
		t.Fatal(err)
	}
	testenv.WaitFor(t, 30*time.Second, "the source stopped", func() bool {
		st := e.c.status(e.src)
		return st != nil && st.GetTasks()[0].GetState() == sluicev1.State_STATE_STOPPED
	})
	time.Sleep(time.Second)
	topic := e.readTopic()
	want := map[[2]int64]bool{}
	for _, r := range topic {
		want[r] = true
	}
	var sunk [][2]int64
	testenv.WaitFor(t, 60*time.Second, "the sink to hold every record of the topic", func() bool {
		sunk = sunk[:0]
		_ = verifiable.ReadLines(e.sinkFile, func(l verifiable.Line) { sunk = append(sunk, [2]int64{int64(l.Task), l.Seqno}) })
		have := map[[2]int64]bool{}
		for _, r := range sunk {
			have[r] = true
		}
		for r := range want {
			if !have[r] {
				return false
			}
		}
		return true
	})
	return []chaosRow{
		checkSeqnos(t, chaosRow{scenario: scenario, side: "source → Kafka", recover: recover, allowDup: srcDup}, topic, chaosTasks, -1),
		checkSeqnos(t, chaosRow{scenario: scenario, side: "Kafka → sink", recover: recover, allowDup: sinkDup}, sunk, chaosTasks, -1),
	}
}

// checkSeqnos checks (task, seqno) pairs of tasks 0 to tasks-1: no sequence
// number missing below the highest seen (below want per task, when want is
// not -1), and none repeated unless row.allowDup. It fills in row's counts,
// records it and returns it.
func checkSeqnos(t *testing.T, row chaosRow, recs [][2]int64, tasks int, want int64) chaosRow {
	t.Helper()
	rep := verifiable.Check(func(yield func(int32, int64)) {
		for _, r := range recs {
			yield(int32(r[0]), r[1])
		}
	})
	for task := range int32(tasks) {
		r := rep[task]
		if r == nil {
			r = &verifiable.Report{Task: task, Max: -1}
		}
		end := r.Max + 1
		if want >= 0 {
			if end > want {
				t.Errorf("%s, task %d: sequence numbers up to %d, past the %d it should end at", row.side, task, r.Max, want)
			}
			if end < want {
				for seq := end; seq < want; seq++ {
					r.Missing = append(r.Missing, seq)
				}
			}
			end = want
		} else if r.Max < 0 {
			t.Errorf("%s: nothing from task %d", row.side, task)
		}
		row.sent += end
		row.lost += int64(len(r.Missing))
		row.dup += r.Duplicate
		if len(r.Missing) > 0 {
			t.Errorf("%s, task %d: %d sequence numbers missing, first %v", row.side, task, len(r.Missing), r.Missing[:min(5, len(r.Missing))])
		}
	}
	if !row.allowDup && row.dup > 0 {
		t.Errorf("%s: %d duplicates where none is allowed", row.side, row.dup)
	}
	recordChaos(row)
	t.Logf("%s: %d records, %d lost, %d duplicated", row.side, row.sent, row.lost, row.dup)
	return row
}

// readTopic reads the whole topic (read committed): (task, seqno) pairs.
func (e *chaosEnv) readTopic() [][2]int64 {
	var out [][2]int64
	for _, r := range testenv.ReadCommitted(e.t, e.kafka, e.topic) {
		var k, v struct{ Payload int64 }
		if json.Unmarshal(r.Key, &k) != nil || json.Unmarshal(r.Value, &v) != nil {
			e.t.Errorf("record %s[%d]@%d is not verifiable-source's: %q %q", r.Topic, r.Partition, r.Offset, r.Key, r.Value)
			continue
		}
		out = append(out, [2]int64{k.Payload, v.Payload})
	}
	return out
}

func (e *chaosEnv) rounds() int {
	if chaosFull() {
		return 6
	}
	return 3
}

func (e *chaosEnv) agentNames() []string {
	names := make([]string, 0, len(e.agents))
	for n := range e.agents {
		names = append(names, n)
	}
	slices.Sort(names)
	return names
}

// waitRunningWithout waits until every task of both connectors runs on an
// agent other than a.
func (e *chaosEnv) waitRunningWithout(a string) {
	e.t.Helper()
	testenv.WaitFor(e.t, 60*time.Second, "every task running without "+a, func() bool {
		for _, name := range []string{e.src, e.snk} {
			st := e.c.status(name)
			if st == nil {
				return false
			}
			for _, ts := range st.GetTasks() {
				if ts.GetState() != sluicev1.State_STATE_RUNNING || ts.GetWorkerId() == a {
					return false
				}
			}
		}
		return true
	})
}

// bounce stops agents one after the other with sig, waits until every task
// runs again, and starts the agent again; it returns the worst recovery.
func (e *chaosEnv) bounce(sig syscall.Signal) time.Duration {
	var worst time.Duration
	names := e.agentNames()
	for round := range e.rounds() {
		a := names[round%len(names)]
		time.Sleep(time.Second)
		stopped := time.Now()
		e.agents[a].signal(sig)
		// Every task back on a live agent.
		e.waitRunningWithout(a)
		worst = max(worst, time.Since(stopped))
		e.agents[a].start()
	}
	e.running()
	time.Sleep(2 * time.Second)
	return worst
}

// TestChaosCleanBounce: SIGTERM agents in turn; a drained agent commits and
// releases its tasks, so nothing is lost and nothing repeats.
func TestChaosCleanBounce(t *testing.T) {
	t.Parallel()
	e := newChaosEnv(t, "clean")
	worst := e.bounce(syscall.SIGTERM)
	e.finish("clean rolling bounce (SIGTERM)", worst, false)
}

// TestChaosHardBounce: SIGKILL agents in turn; nothing acknowledged is
// lost (at least once: records after the last committed offset repeat).
func TestChaosHardBounce(t *testing.T) {
	t.Parallel()
	e := newChaosEnv(t, "hard")
	worst := e.bounce(syscall.SIGKILL)
	e.finish("hard rolling bounce (SIGKILL)", worst, true)
}

// TestChaosHardBounceExactlyOnce: SIGKILL agents in turn under an
// exactly-once source: a read-committed consumer sees every sequence number
// exactly once (the sink stays at least once).
func TestChaosHardBounceExactlyOnce(t *testing.T) {
	t.Parallel()
	e := newChaosEnv(t, "eos", "exactly.once.support", "required", "offsets.storage.topic", "sluice-chaos-offsets")
	worst := e.bounce(syscall.SIGKILL)
	e.finishSides("hard rolling bounce (SIGKILL), exactly-once source", worst, false, true)
}

// TestChaosLeaderKill: SIGKILL the leading replica mid-copy: no task stops,
// nothing is lost or repeated.
func TestChaosLeaderKill(t *testing.T) {
	t.Parallel()
	e := newChaosEnv(t, "leader")
	time.Sleep(2 * time.Second)
	leader := e.c.status(e.src).GetConnector().GetWorkerId()
	other := "cp-1"
	if leader == "cp-1" {
		other = "cp-2"
	}
	e.use(other)
	killed := time.Now()
	e.cps[leader].kill()
	testenv.WaitFor(t, 30*time.Second, "a new leader", func() bool {
		st := e.c.status(e.src)
		return st != nil && st.GetConnector().GetWorkerId() == other
	})
	recover := time.Since(killed)
	time.Sleep(2 * time.Second)
	e.finish("control plane leader SIGKILL", recover, false)
}

// TestChaosPausedZombie: SIGSTOP an agent past its lease, let its tasks
// move, then SIGCONT it: it fences itself, its stale reports are refused,
// and nothing is lost.
func TestChaosPausedZombie(t *testing.T) {
	t.Parallel()
	e := newChaosEnv(t, "zombie")
	time.Sleep(time.Second)
	a := "agent-1"
	paused := time.Now()
	_ = e.agents[a].cmd.Process.Signal(syscall.SIGSTOP)
	e.waitRunningWithout(a)
	recover := time.Since(paused)
	time.Sleep(time.Second)
	_ = e.agents[a].cmd.Process.Signal(syscall.SIGCONT)
	time.Sleep(3 * time.Second)
	e.finish("paused zombie agent (SIGSTOP past the lease, SIGCONT)", recover, true)
	if !strings.Contains(e.agents[a].log.String(), "cut off from the control plane") &&
		!strings.Contains(e.agents[a].log.String(), "report refused") {
		t.Logf("zombie log:\n%s", tail(e.agents[a].log.String(), 30))
	}
}

// TestChaosFileSinkExactlyOnce: an exactly-once source feeding the
// file-sink, whose agent is SIGKILLed again and again mid-copy: the file
// ends with every record's line exactly once (the sink cuts what it wrote
// after its last commit and resumes from the offsets kept beside the file).
func TestChaosFileSinkExactlyOnce(t *testing.T) {
	t.Parallel()
	c := newCluster(t)
	dir := t.TempDir()
	agent := func() *proc {
		return start(t, "agent-x", "agent", "--server", "http://"+c.addr, "--kafka", strings.Join(c.kafka, ","),
			"--name", "agent-x", "--data-dir", filepath.Join(dir, "agent"))
	}
	a := agent()
	topic := testenv.NewTopic(t, c.kafka, 3)
	out := filepath.Join(dir, "out.txt")
	const total = 30000
	c.apply("eos-gen-"+topic, map[string]string{"connector.class": "datagen", "topic": topic, "tasks.max": "2",
		"records.total": fmt.Sprint(total), "records.per.second": "6000", "record.bytes": "40", "value.converter": "string",
		"exactly.once.support": "required", "offsets.storage.topic": "sluice-chaos-offsets"})
	c.apply("eos-file-"+topic, map[string]string{"connector.class": "file-sink", "topics": topic, "file": out,
		"value.converter": "string"})
	c.waitRunning("eos-file-" + topic)
	kills := 3
	if chaosFull() {
		kills = 8
	}
	for range kills {
		time.Sleep(time.Second)
		a.kill()
		a = agent()
	}
	testenv.WaitFor(t, 90*time.Second, "every record in the file", func() bool { return countLines(out) >= total })
	time.Sleep(2 * time.Second)
	b, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	seen := map[string]int{}
	var dup int64
	for _, l := range strings.Split(strings.TrimSuffix(string(b), "\n"), "\n") {
		if seen[l]++; seen[l] == 2 {
			dup++
		}
	}
	lost := int64(total - len(seen))
	recordChaos(chaosRow{scenario: fmt.Sprintf("file-sink exactly once, agent SIGKILLed %d times", kills), side: "source → Kafka → file",
		sent: total, lost: lost, dup: dup})
	if lost != 0 || dup != 0 {
		// Say which side repeated: the topic (read committed) or the file.
		inTopic := map[string]int{}
		topicDup := 0
		for _, r := range testenv.ReadCommitted(t, c.kafka, topic) {
			if inTopic[string(r.Value)]++; inTopic[string(r.Value)] == 2 {
				topicDup++
			}
		}
		t.Fatalf("%d distinct lines of %d (%d lost), %d duplicated in the file; the topic holds %d records, %d duplicated",
			len(seen), total, lost, dup, len(inTopic), topicDup)
	}
}

// TestChaosEtcdOutage: two of three etcd members die (no quorum) mid-copy:
// the API answers Unavailable within its deadline instead of hanging, the
// agents keep moving data while their leases may still hold and then fence
// themselves, keeping their offsets; when etcd is back everything resumes
// and nothing is lost.
func TestChaosEtcdOutage(t *testing.T) {
	t.Parallel()
	nodes := testenv.EtcdCluster(t, 3)
	e := newChaosEnvOn(t, "etcd", strings.Join(testenv.Endpoints(nodes), ","))
	time.Sleep(2 * time.Second)
	outage := 8 * time.Second
	if chaosFull() {
		outage = 30 * time.Second
	}
	// One try: the client's own retries of Unavailable (four by default)
	// would add up four of the server's deadlines.
	once, err := client.New("http://"+e.cpAddrs["cp-1"], client.WithRetry(1, 0))
	if err != nil {
		t.Fatal(err)
	}
	nodes[1].Kill()
	nodes[2].Kill()
	began := time.Now()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	_, err = once.Connectors.ListConnectors(ctx, connect.NewRequest(&sluicev1.ListConnectorsRequest{}))
	cancel()
	if connect.CodeOf(err) != connect.CodeUnavailable || time.Since(began) > 10*time.Second {
		t.Errorf("without etcd quorum the API answered %v after %s; want Unavailable within its 5 s deadline", err, time.Since(began).Round(time.Millisecond))
	}
	time.Sleep(outage - time.Since(began))
	nodes[1].Start()
	nodes[2].Start()
	back := time.Now()
	e.running()
	recover := time.Since(back)
	time.Sleep(2 * time.Second)
	e.finish(fmt.Sprintf("etcd without quorum for %s", outage), recover, true)
}

// TestChaosBrokerRestart (make chaos only: it restarts the shared test
// broker, so it runs alone, before the parallel scenarios): the Kafka broker
// stops and starts again mid-copy; nothing is lost.
func TestChaosBrokerRestart(t *testing.T) {
	if !chaosFull() {
		t.Skip("restarts the shared Kafka broker: make chaos runs it")
	}
	e := newChaosEnv(t, "broker")
	time.Sleep(2 * time.Second)
	script := filepath.Join("..", "..", "deploy", "local", "kafka.sh")
	if out, err := exec.Command(script, "stop").CombinedOutput(); err != nil {
		t.Fatalf("stop the broker: %v\n%s", err, out)
	}
	time.Sleep(5 * time.Second)
	if out, err := exec.Command(script, "start").CombinedOutput(); err != nil {
		t.Fatalf("start the broker: %v\n%s", err, out)
	}
	back := time.Now()
	e.running()
	recover := time.Since(back)
	time.Sleep(3 * time.Second)
	e.finish("Kafka broker stopped 5 s and restarted", recover, true)
}
