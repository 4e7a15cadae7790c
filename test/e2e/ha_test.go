package e2e

import (
	"context"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"connectrpc.com/connect"

	sluicev1 "github.com/sluicehq/sluice/api/gen/sluice/v1"
	client "github.com/sluicehq/sluice/clients/go"
	"github.com/sluicehq/sluice/internal/testenv"
)

// TestLeaderKilled runs two control plane replicas on one etcd and an agent
// that knows both, SIGKILLs the leader, and checks that the other replica
// leads within the session TTL, that the agent moves its session to it, and
// that no task stopped or restarted: same epochs, data still moving.
func TestLeaderKilled(t *testing.T) {
	c := newCluster(t) // replica cp-test, the first to campaign, leads
	addr2 := testenv.FreeAddr(t)
	start(t, "controlplane-2", "controlplane", "--listen", addr2, "--etcd", strings.Join(c.etcd, ","),
		"--etcd-prefix", c.prefix, "--name", "cp-2", "--session-ttl", "4s", "--reassign-delay", "10s")
	api2, err := client.New("http://" + addr2)
	if err != nil {
		t.Fatal(err)
	}
	status := func(api *client.Client) *sluicev1.GetClusterStatusResponse {
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		defer cancel()
		res, err := api.Cluster.GetClusterStatus(ctx, connect.NewRequest(&sluicev1.GetClusterStatusRequest{}))
		if err != nil {
			return nil
		}
		return res.Msg
	}
	testenv.WaitFor(t, 30*time.Second, "two replicas, cp-test leading", func() bool {
		st := status(api2)
		return st != nil && len(st.GetReplicas()) == 2 && st.GetLeader() == "cp-test"
	})

	start(t, "agent-ha", "agent", "--server", "http://"+c.addr+",http://"+addr2, "--kafka", strings.Join(c.kafka, ","), "--name", "agent-ha")
	dir := t.TempDir()
	in, out := filepath.Join(dir, "in.txt"), filepath.Join(dir, "out.txt")
	writeLines(t, in, 0, 1000)
	topic := testenv.NewTopic(t, c.kafka, 1)
	src, sink := fileCopyConfigs(in, out, topic, "string")
	c.apply("ha-source", src)
	c.apply("ha-sink", sink)
	before := c.waitRunning("ha-source")
	sinkBefore := c.waitRunning("ha-sink")
	testenv.WaitFor(t, time.Minute, "the first lines copied", func() bool { return countLines(out) >= 1000 })

	killed := time.Now()
	c.cp.kill()
	testenv.WaitFor(t, 30*time.Second, "cp-2 leading", func() bool {
		st := status(api2)
		return st != nil && st.GetLeader() == "cp-2"
	})
	t.Logf("cp-2 leads %s after the SIGKILL (session TTL 4s)", time.Since(killed).Round(time.Millisecond))
	testenv.WaitFor(t, 30*time.Second, "the agent's session on cp-2", func() bool {
		st := status(api2)
		if st == nil {
			return false
		}
		for _, a := range st.GetAgents() {
			if a.GetName() == "agent-ha" && a.GetReplica() == "cp-2" {
				return true
			}
		}
		return false
	})
	writeLines(t, in, 1000, 2000)
	testenv.WaitFor(t, time.Minute, "lines copied after the leader died", func() bool { return countLines(out) >= 2000 })

	c.api = api2
	after := c.waitRunning("ha-source")
	sinkAfter := c.waitRunning("ha-sink")
	for _, p := range []struct {
		name          string
		before, after *sluicev1.ConnectorStatus
	}{{"ha-source", before, after}, {"ha-sink", sinkBefore, sinkAfter}} {
		b, a := p.before.GetTasks()[0], p.after.GetTasks()[0]
		if b.GetEpoch() != a.GetEpoch() || a.GetWorkerId() != "agent-ha" {
			t.Errorf("%s task moved or restarted: epoch %d on %s -> %d on %s", p.name, b.GetEpoch(), b.GetWorkerId(), a.GetEpoch(), a.GetWorkerId())
		}
	}

}
