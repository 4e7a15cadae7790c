package e2e

import (
	"strings"
	"testing"
	"time"

	"github.com/sluicehq/sluice/internal/testenv"
)

// scrape reads a Prometheus endpoint's samples (nil when it does not
// answer).
func scrape(_ *testing.T, url string) map[string]float64 {
	m, _ := testenv.Scrape(url)
	return m
}

// TestMetricsMoveWhileAPipelineRuns: an agent's /metrics (--metrics) shows
// its task counters moving and its tasks running while datagen writes to
// Kafka and file-sink reads it back; the control plane's /metrics, on its
// API port, shows its session, its leadership, the connectors and their
// tasks RUNNING, then the agent lost when it is killed.
func TestMetricsMoveWhileAPipelineRuns(t *testing.T) {
	t.Parallel()
	c := newCluster(t)
	maddr := testenv.FreeAddr(t)
	agent := start(t, "agent-m", "agent", "--server", "http://"+c.addr, "--kafka", strings.Join(c.kafka, ","), "--name", "agent-m",
		"--metrics", maddr)
	topic := testenv.NewTopic(t, c.kafka, 1)
	c.apply("m-gen", map[string]string{"connector.class": "datagen", "topic": topic, "records.per.second": "500", "value.converter": "string"})
	c.apply("m-sink", map[string]string{"connector.class": "file-sink", "topics": topic, "file": t.TempDir() + "/out.txt", "value.converter": "string"})
	c.waitRunning("m-gen")
	c.waitRunning("m-sink")

	agentURL := "http://" + maddr + "/metrics"
	moving := []string{
		`sluice_source_record_poll_total{connector="m-gen",task="0"}`,
		`sluice_source_record_write_total{connector="m-gen",task="0"}`,
		`sluice_poll_batch_seconds_count{connector="m-gen",task="0"}`,
		`sluice_sink_record_read_total{connector="m-sink",task="0"}`,
		`sluice_sink_record_send_total{connector="m-sink",task="0"}`,
		`sluice_put_batch_seconds_count{connector="m-sink",task="0"}`,
		`sluice_batch_size_count{connector="m-sink",direction="sink",task="0"}`,
	}
	var first map[string]float64
	testenv.WaitFor(t, 30*time.Second, "the agent's task counters", func() bool {
		first = scrape(t, agentURL)
		for _, k := range moving {
			if first[k] <= 0 {
				return false
			}
		}
		return true
	})
	testenv.WaitFor(t, 30*time.Second, "the counters moving", func() bool {
		m := scrape(t, agentURL)
		for _, k := range moving {
			if m[k] <= first[k] {
				return false
			}
		}
		return true
	})
	m := scrape(t, agentURL)
	if _, ok := m[`sluice_sink_record_lag_max{connector="m-sink",task="0"}`]; !ok {
		t.Error("no sink lag reported for m-sink")
	}
	for _, want := range []string{
		`sluice_worker_connector_tasks{agent="agent-m",connector="m-gen",state="RUNNING"}`,
		`sluice_worker_connector_tasks{agent="agent-m",connector="m-sink",state="RUNNING"}`,
		`sluice_agent_lease_valid{agent="agent-m"}`,
	} {
		if m[want] != 1 {
			t.Errorf("%s = %v, want 1", want, m[want])
		}
	}
	testenv.WaitFor(t, 10*time.Second, "a sink offset commit counted", func() bool {
		return scrape(t, agentURL)[`sluice_offset_commit_total{connector="m-sink",result="success",task="0"}`] >= 1
	})

	var cp map[string]float64
	testenv.WaitFor(t, 10*time.Second, "a heartbeat's delay observed", func() bool {
		cp = scrape(t, "http://"+c.addr+"/metrics")
		return cp[`sluice_controlplane_heartbeat_delay_seconds_count`] >= 1
	})
	for want, v := range map[string]float64{
		`sluice_controlplane_sessions{replica="cp-test"}`:                              1,
		`sluice_controlplane_leader{replica="cp-test"}`:                                1,
		`sluice_connectors{replica="cp-test",state="RUNNING"}`:                         2,
		`sluice_controlplane_assignments{replica="cp-test"}`:                           2,
		`sluice_controlplane_leader_elected_total{replica="cp-test"}`:                  1,
		`sluice_connector_tasks{connector="m-gen",replica="cp-test",state="RUNNING"}`:  1,
		`sluice_connector_tasks{connector="m-sink",replica="cp-test",state="RUNNING"}`: 1,
		`sluice_connector_tasks{connector="m-sink",replica="cp-test",state="FAILED"}`:  0,
		`sluice_agents{replica="cp-test",state="live"}`:                                1,
	} {
		if got, ok := cp[want]; !ok || got != v {
			t.Errorf("control plane %s = %v, want %v", want, cp[want], v)
		}
	}

	// The agent is killed: its tasks show UNASSIGNED (no other agent can
	// take them), and the leader counts it lost once --reassign-delay
	// (10s here) is over.
	agent.kill()
	testenv.WaitFor(t, 30*time.Second, "the agent counted lost", func() bool {
		cp = scrape(t, "http://"+c.addr+"/metrics")
		return cp[`sluice_controlplane_agents_lost_total{replica="cp-test"}`] == 1 &&
			cp[`sluice_connector_tasks{connector="m-gen",replica="cp-test",state="UNASSIGNED"}`] == 1 &&
			cp[`sluice_connector_tasks{connector="m-sink",replica="cp-test",state="UNASSIGNED"}`] == 1 &&
			cp[`sluice_agents{replica="cp-test",state="live"}`] == 0
	})
}
