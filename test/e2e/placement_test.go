package e2e

import (
	"context"
	"encoding/json"
	"os/exec"
	"strings"
	"testing"
	"time"

	"connectrpc.com/connect"
	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"

	sluicev1 "github.com/sluicehq/sluice/api/gen/sluice/v1"
	client "github.com/sluicehq/sluice/clients/go"
	"github.com/sluicehq/sluice/internal/testenv"
)

// TestRegionFailover is the control plane's acceptance scenario: a
// three-node etcd cluster, three control plane replicas and three agents
// labelled region=a, b, b, all separate processes. A datagen connector with
// tasks.max=6 and placement.selector=region=b runs on the two region-b
// agents only. SIGKILL the leading replica, then one region-b agent: all six
// tasks end RUNNING on the remaining region-b agent, and the tasks that never
// moved keep their epochs. Then, through the CLI: stop, offsets get and set
// on the stopped connector, resume from the altered offsets.
func TestRegionFailover(t *testing.T) {
	etcd := strings.Join(testenv.Endpoints(testenv.EtcdCluster(t, 3)), ",")
	kafka := testenv.Kafka(t)
	prefix := testenv.EtcdPrefix(t)
	var addrs, urls []string
	replicas := map[string]*proc{}
	for _, name := range []string{"cp-1", "cp-2", "cp-3"} {
		addr := testenv.FreeAddr(t)
		addrs, urls = append(addrs, addr), append(urls, "http://"+addr)
		replicas[name] = start(t, name, "controlplane", "--listen", addr, "--etcd", etcd, "--etcd-prefix", prefix,
			"--name", name, "--session-ttl", "4s", "--reassign-delay", "3s", "--kafka", strings.Join(kafka, ","))
	}
	apis := map[string]*client.Client{}
	for i, name := range []string{"cp-1", "cp-2", "cp-3"} {
		api, err := client.New(urls[i])
		if err != nil {
			t.Fatal(err)
		}
		apis[name] = api
	}
	clusterStatus := func(api *client.Client) *sluicev1.GetClusterStatusResponse {
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		defer cancel()
		res, err := api.Cluster.GetClusterStatus(ctx, connect.NewRequest(&sluicev1.GetClusterStatusRequest{}))
		if err != nil {
			return nil
		}
		return res.Msg
	}
	var leader string
	testenv.WaitFor(t, 60*time.Second, "three replicas and a leader", func() bool {
		st := clusterStatus(apis["cp-2"])
		if st == nil || len(st.GetReplicas()) != 3 || st.GetLeader() == "" {
			return false
		}
		leader = st.GetLeader()
		return true
	})
	servers := strings.Join(urls, ",")
	agents := map[string]*proc{}
	for name, region := range map[string]string{"agent-a": "a", "agent-b1": "b", "agent-b2": "b"} {
		agents[name] = start(t, name, "agent", "--server", servers, "--kafka", strings.Join(kafka, ","),
			"--name", name, "--labels", "region="+region)
	}
	testenv.WaitFor(t, 30*time.Second, "three agents", func() bool {
		st := clusterStatus(apis["cp-2"])
		return st != nil && len(st.GetAgents()) == 3
	})

	// Talk to a replica that will survive.
	var api *client.Client
	var apiName string
	for name := range apis {
		if name != leader {
			api, apiName = apis[name], name
			break
		}
	}
	c := &cluster{t: t, api: api, kafka: kafka}
	topic := testenv.NewTopic(t, kafka, 3)
	c.apply("regional", map[string]string{"connector.class": "datagen", "topic": topic, "tasks.max": "6",
		"records.per.second": "200", "placement.selector": "region=b", "value.converter": "string"})
	before := c.waitRunning("regional")
	onB := map[string]int{}
	for _, ts := range before.GetTasks() {
		onB[ts.GetWorkerId()]++
	}
	if onB["agent-a"] != 0 || onB["agent-b1"] != 3 || onB["agent-b2"] != 3 {
		t.Fatalf("tasks per agent %v, want 3 on each region-b agent and none on agent-a", onB)
	}

	killed := time.Now()
	replicas[leader].kill()
	testenv.WaitFor(t, 30*time.Second, "a new leader", func() bool {
		st := clusterStatus(api)
		return st != nil && st.GetLeader() != "" && st.GetLeader() != leader
	})
	t.Logf("%s leads %s after %s was killed (session TTL 4s)", clusterStatus(api).GetLeader(), time.Since(killed).Round(time.Millisecond), leader)
	testenv.WaitFor(t, 30*time.Second, "every agent on a live replica", func() bool {
		st := clusterStatus(api)
		if st == nil || len(st.GetAgents()) != 3 {
			return false
		}
		for _, a := range st.GetAgents() {
			if a.GetReplica() == leader {
				return false
			}
		}
		return true
	})
	afterLeader := c.waitRunning("regional")
	for i, ts := range afterLeader.GetTasks() {
		if b := before.GetTasks()[i]; ts.GetEpoch() != b.GetEpoch() || ts.GetWorkerId() != b.GetWorkerId() {
			t.Fatalf("task %d moved or restarted when the leader died: epoch %d on %s -> %d on %s",
				i, b.GetEpoch(), b.GetWorkerId(), ts.GetEpoch(), ts.GetWorkerId())
		}
	}

	agents["agent-b1"].kill()
	var final *sluicev1.ConnectorStatus
	testenv.WaitFor(t, 60*time.Second, "all six tasks RUNNING on agent-b2", func() bool {
		final = c.status("regional")
		if final == nil {
			return false
		}
		for _, ts := range final.GetTasks() {
			if ts.GetState() != sluicev1.State_STATE_RUNNING || ts.GetWorkerId() != "agent-b2" {
				return false
			}
		}
		return true
	})
	for i, ts := range final.GetTasks() {
		b := before.GetTasks()[i]
		if b.GetWorkerId() == "agent-b2" && ts.GetEpoch() != b.GetEpoch() {
			t.Errorf("task %d never moved but its epoch changed: %d -> %d", i, b.GetEpoch(), ts.GetEpoch())
		}
		if b.GetWorkerId() == "agent-b1" && ts.GetEpoch() <= b.GetEpoch() {
			t.Errorf("task %d moved but kept epoch %d", i, b.GetEpoch())
		}
	}
	// Data keeps arriving.
	end := func() int64 {
		cl, err := kgo.NewClient(kgo.SeedBrokers(kafka...))
		if err != nil {
			t.Fatal(err)
		}
		defer cl.Close()
		offs, err := kadm.NewClient(cl).ListEndOffsets(context.Background(), topic)
		if err != nil {
			return -1
		}
		var n int64
		offs.Each(func(o kadm.ListedOffset) { n += o.Offset })
		return n
	}
	n0 := end()
	testenv.WaitFor(t, 30*time.Second, "records still arriving", func() bool { return end() > n0+100 })

	// Offsets through the CLI, on the stopped connector.
	cli := func(args ...string) string {
		t.Helper()
		out, err := exec.Command(sluiceBin, append(args, "--server", "http://"+addrs[indexOf(apiName)])...).CombinedOutput()
		if err != nil {
			t.Fatalf("sluice %s: %v\n%s", strings.Join(args, " "), err, out)
		}
		return string(out)
	}
	cli("connector", "stop", "regional")
	var got struct {
		Offsets []struct {
			Partition map[string]any `json:"partition"`
			Offset    map[string]any `json:"offset"`
		} `json:"offsets"`
	}
	testenv.WaitFor(t, 30*time.Second, "six partitions of offsets", func() bool {
		if err := json.Unmarshal([]byte(cli("offsets", "get", "regional", "-o", "json")), &got); err != nil {
			t.Fatal(err)
		}
		return len(got.Offsets) == 6
	})
	var out []byte
	testenv.WaitFor(t, 30*time.Second, "offsets set on the stopped connector", func() bool {
		c := exec.Command(sluiceBin, "offsets", "set", "regional", "-f", "-", "--server", "http://"+addrs[indexOf(apiName)])
		c.Stdin = strings.NewReader(`{"offsets":[{"partition":{"datagen.task":0},"offset":{"seq":1000000}}]}`)
		var err error
		out, err = c.CombinedOutput()
		return err == nil
	})
	if !strings.Contains(string(out), "altered successfully") {
		t.Fatalf("offsets set said %s", out)
	}
	if err := json.Unmarshal([]byte(cli("offsets", "get", "regional", "-o", "json")), &got); err != nil {
		t.Fatal(err)
	}
	for _, o := range got.Offsets {
		if o.Partition["datagen.task"] == float64(0) && o.Offset["seq"] != float64(1000000) {
			t.Fatalf("task 0's offset after set: %v", o.Offset)
		}
	}
	cli("connector", "resume", "regional")
	resumed := c.waitRunning("regional")

	// agent-b1 comes back: it receives work gradually, and only the tasks
	// that move to it restart.
	agents["agent-b1"].start()
	var balanced *sluicev1.ConnectorStatus
	testenv.WaitFor(t, 60*time.Second, "three tasks on each region-b agent again", func() bool {
		balanced = c.status("regional")
		per := map[string]int{}
		for _, ts := range balanced.GetTasks() {
			if ts.GetState() != sluicev1.State_STATE_RUNNING {
				return false
			}
			per[ts.GetWorkerId()]++
		}
		return per["agent-b1"] == 3 && per["agent-b2"] == 3
	})
	for i, ts := range balanced.GetTasks() {
		if ts.GetWorkerId() == "agent-b2" && ts.GetEpoch() != resumed.GetTasks()[i].GetEpoch() {
			t.Errorf("task %d stayed on agent-b2 but restarted: epoch %d -> %d", i, resumed.GetTasks()[i].GetEpoch(), ts.GetEpoch())
		}
	}
}

func indexOf(name string) int { return int(name[len(name)-1] - '1') }
