package e2e

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	sluicev1 "github.com/sluicehq/sluice/api/gen/sluice/v1"
	client "github.com/sluicehq/sluice/clients/go"
	"github.com/sluicehq/sluice/internal/testenv"
)

// TestLifecycle drives a cluster of separate processes (a three-node etcd,
// two control plane replicas, an agent that reaches them through a TCP
// proxy) through the CLI: a failed task restarted with --only-failed, pause
// and resume, a config update, and a network cut between the agent and every
// replica, after which the agent stops its tasks before its lease may expire
// and gets them back, same epochs, once the network heals.
func TestLifecycle(t *testing.T) {
	etcd := strings.Join(testenv.Endpoints(testenv.EtcdCluster(t, 3)), ",")
	kafka := testenv.Kafka(t)
	prefix := testenv.EtcdPrefix(t)
	var addrs []string
	for _, name := range []string{"cp-1", "cp-2"} {
		addr := testenv.FreeAddr(t)
		addrs = append(addrs, addr)
		start(t, name, "controlplane", "--listen", addr, "--etcd", etcd, "--etcd-prefix", prefix,
			"--name", name, "--session-ttl", "4s", "--reassign-delay", "20s")
	}
	api, err := client.New("http://" + addrs[0])
	if err != nil {
		t.Fatal(err)
	}
	c := &cluster{t: t, api: api, kafka: kafka, addr: addrs[0]}
	c.waitHealthy()
	p1, p2 := testenv.NewProxy(t, addrs[0]), testenv.NewProxy(t, addrs[1])
	start(t, "agent-1", "agent", "--server", "http://"+p1.Addr+",http://"+p2.Addr, "--kafka", strings.Join(kafka, ","), "--name", "agent-1")

	cli := func(args ...string) string {
		t.Helper()
		out, err := exec.Command(sluiceBin, append(args, "--server", "http://"+addrs[0])...).CombinedOutput()
		if err != nil {
			t.Fatalf("sluice %s: %v\n%s", strings.Join(args, " "), err, out)
		}
		return string(out)
	}

	// A sink that fails: its file is a directory.
	dir := t.TempDir()
	out := filepath.Join(dir, "out.txt")
	if err := os.Mkdir(out, 0o755); err != nil {
		t.Fatal(err)
	}
	topic := testenv.NewTopic(t, kafka, 1)
	// The sink's consumer group is connect-NAME: a name of this run's own
	// keeps members of earlier runs out of it.
	sinkName := "sink-" + topic
	c.apply("gen", map[string]string{"connector.class": "datagen", "topic": topic, "tasks.max": "2",
		"records.per.second": "100", "value.converter": "string"})
	c.apply(sinkName, map[string]string{"connector.class": "FileStreamSink", "topics": topic, "file": out,
		"value.converter": "string"})
	var failed *sluicev1.ConnectorStatus
	testenv.WaitFor(t, 60*time.Second, "the sink task FAILED", func() bool {
		failed = c.status(sinkName)
		return failed != nil && failed.GetTasks()[0].GetState() == sluicev1.State_STATE_FAILED
	})
	if !strings.Contains(failed.GetTasks()[0].GetTrace(), "is a directory") {
		t.Fatalf("trace %q does not say why", failed.GetTasks()[0].GetTrace())
	}
	if err := os.Remove(out); err != nil {
		t.Fatal(err)
	}
	if got := cli("connector", "restart", sinkName, "--include-tasks", "--only-failed", "-o", "json"); !strings.Contains(got, `"RESTARTING"`) {
		t.Fatalf("restart answered %s", got)
	}
	c.waitRunning(sinkName)
	testenv.WaitFor(t, 30*time.Second, "lines in the sink's file", func() bool { return countLines(out) > 10 })

	// Pause and resume keep the tasks where they are.
	before := c.waitRunning("gen")
	cli("connector", "pause", "gen")
	testenv.WaitFor(t, 30*time.Second, "gen PAUSED", func() bool {
		st := c.status("gen")
		return st != nil && st.GetTasks()[0].GetState() == sluicev1.State_STATE_PAUSED && st.GetTasks()[1].GetState() == sluicev1.State_STATE_PAUSED
	})
	cli("connector", "resume", "gen")
	resumed := c.waitRunning("gen")
	for i, ts := range resumed.GetTasks() {
		if ts.GetEpoch() != before.GetTasks()[i].GetEpoch() {
			t.Fatalf("pause/resume moved task %d: epoch %d -> %d", i, before.GetTasks()[i].GetEpoch(), ts.GetEpoch())
		}
	}

	// A config update: a new generation, the tasks run it.
	c.apply("gen", map[string]string{"connector.class": "datagen", "topic": topic, "tasks.max": "2",
		"records.per.second": "200", "value.converter": "string"})
	testenv.WaitFor(t, 30*time.Second, "generation 2 running", func() bool {
		st := c.status("gen")
		return st != nil && st.GetGeneration() == 2 && st.GetTasks()[0].GetState() == sluicev1.State_STATE_RUNNING
	})

	// Cut the agent off from both replicas: it stops its tasks before its
	// lease (4 s) may expire; healed within the reassign delay, it gets
	// them back under the same epochs.
	lines := countLines(out)
	cut := time.Now()
	p1.Cut()
	p2.Cut()
	testenv.WaitFor(t, 10*time.Second, "the sink to stop writing", func() bool {
		n := countLines(out)
		time.Sleep(500 * time.Millisecond)
		return countLines(out) == n
	})
	took := time.Since(cut)
	if took > 8*time.Second {
		t.Fatalf("the cut-off agent kept writing for %s", took)
	}
	stopped := countLines(out)
	t.Logf("the cut-off agent stopped writing %s after the cut (%d lines at the cut, %d when it stopped)", took.Round(time.Millisecond), lines, stopped)
	p1.Heal()
	p2.Heal()
	after := c.waitRunning("gen")
	for i, ts := range after.GetTasks() {
		if ts.GetEpoch() != resumed.GetTasks()[i].GetEpoch() || ts.GetWorkerId() != "agent-1" {
			t.Fatalf("task %d after the cut: epoch %d on %s, want %d on agent-1", i, ts.GetEpoch(), ts.GetWorkerId(), resumed.GetTasks()[i].GetEpoch())
		}
	}
	c.waitRunning(sinkName)
	testenv.WaitFor(t, 30*time.Second, "the sink writing again", func() bool { return countLines(out) > stopped+10 })
}
