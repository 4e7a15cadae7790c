package controlplane

import (
	"context"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"connectrpc.com/connect"
	"google.golang.org/protobuf/types/known/timestamppb"

	sluicev1 "github.com/sluicehq/sluice/api/gen/sluice/v1"
	"github.com/sluicehq/sluice/internal/testenv"
)

// scrape reads cp's /metrics: "name{labels}" -> value.
func scrape(t *testing.T, cp *ControlPlane) map[string]float64 {
	t.Helper()
	m, err := testenv.Scrape("http://" + cp.Addr() + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	return m
}

// TestMetricsCountTasksAndAgents: the leader's /metrics counts a
// connector's tasks by the state their agent reported (UNASSIGNED when none
// did), its agents, an agent gone with its tasks, and the agent lost once its
// grace period ended; a refused report, a heartbeat and the election are
// counted.
func TestMetricsCountTasksAndAgents(t *testing.T) {
	t.Parallel()
	var skew atomic.Int64 // the control plane's clock runs ahead by this
	// Metrics are the process's: a name of its own per run keeps this
	// run's apart (go test -count).
	name := "cp-metrics-" + strconv.FormatInt(time.Now().UnixNano(), 36)
	cp, c := start(t, time.Minute, func(cfg *Config) {
		cfg.Name = name
		cfg.Now = func() time.Time { return time.Now().Add(time.Duration(skew.Load())) }
	})
	ctx := context.Background()
	_, err := c.Connectors.ApplyConnector(ctx, connect.NewRequest(&sluicev1.ApplyConnectorRequest{Name: "mt",
		Config: map[string]string{"connector.class": "test-source", "topic": "t", "tasks.max": "3"}}))
	if err != nil {
		t.Fatal(err)
	}
	a := connectAgent(t, cp, "agent-mt")
	tasks := a.assignments(3)
	// The agent keeps its session with heartbeats, as a real one does.
	var sendMu sync.Mutex
	send := func(m *sluicev1.SessionRequest) {
		sendMu.Lock()
		defer sendMu.Unlock()
		_ = a.stream.Send(m)
	}
	stopBeats, beatsDone := make(chan struct{}), make(chan struct{})
	go func() {
		defer close(beatsDone)
		tick := time.NewTicker(300 * time.Millisecond)
		defer tick.Stop()
		for {
			send(&sluicev1.SessionRequest{Msg: &sluicev1.SessionRequest_Heartbeat{Heartbeat: &sluicev1.Heartbeat{SendTime: timestamppb.Now()}}})
			select {
			case <-stopBeats:
				return
			case <-tick.C:
			}
		}
	}()
	report := func(as *sluicev1.Assignment, epoch int64, st sluicev1.State) {
		send(&sluicev1.SessionRequest{Msg: &sluicev1.SessionRequest_TaskState{TaskState: &sluicev1.TaskStateReport{
			Task: as.GetTask(), Epoch: epoch, State: st}}})
	}
	report(tasks[0], tasks[0].GetEpoch(), sluicev1.State_STATE_RUNNING)
	report(tasks[1], tasks[1].GetEpoch(), sluicev1.State_STATE_FAILED)
	report(tasks[2], tasks[2].GetEpoch()-1, sluicev1.State_STATE_RUNNING) // stale: refused

	tasksIn := func(state string) string {
		return `sluice_connector_tasks{connector="mt",replica="` + name + `",state="` + state + `"}`
	}
	agents := func(state string) string { return `sluice_agents{replica="` + name + `",state="` + state + `"}` }
	want := func(what string, w map[string]float64) {
		t.Helper()
		var m map[string]float64
		deadline := time.Now().Add(30 * time.Second)
		for {
			m = scrape(t, cp)
			ok := true
			for k, v := range w {
				if got, found := m[k]; !found || got != v {
					ok = false
				}
			}
			if ok {
				return
			}
			if time.Now().After(deadline) {
				for k, v := range w {
					t.Errorf("%s: %s = %v, want %v", what, k, m[k], v)
				}
				t.FailNow()
			}
			time.Sleep(50 * time.Millisecond)
		}
	}
	want("tasks reported", map[string]float64{
		tasksIn("RUNNING"): 1, tasksIn("FAILED"): 1, tasksIn("UNASSIGNED"): 1, tasksIn("PAUSED"): 0, tasksIn("STOPPED"): 0,
		agents("live"): 1, agents("draining"): 0, agents("lost"): 0,
		`sluice_connector_status{class="test-source",connector="mt",replica="` + name + `",state="RUNNING",type="source"}`: 1,
		`sluice_controlplane_sessions{replica="` + name + `"}`:                                                             1,
		`sluice_controlplane_leader{replica="` + name + `"}`:                                                               1,
		`sluice_controlplane_assignments{replica="` + name + `"}`:                                                          3,
		`sluice_controlplane_leader_elected_total{replica="` + name + `"}`:                                                 1,
		`sluice_controlplane_reports_refused_total{replica="` + name + `"}`:                                                1,
	})

	if scrape(t, cp)[`sluice_controlplane_heartbeat_delay_seconds_count`] < 1 {
		t.Error("no heartbeat delay observed")
	}

	// The agent vanishes with its tasks (no drain): they wait a minute
	// for it, UNASSIGNED, and the agent shows lost; it is counted lost
	// only once the minute is over and its tasks move.
	close(stopBeats)
	<-beatsDone
	a.stream.CloseRequest()
	a.stream.CloseResponse()
	lostTotal := `sluice_controlplane_agents_lost_total{replica="` + name + `"}`
	want("agent gone", map[string]float64{
		tasksIn("RUNNING"): 0, tasksIn("FAILED"): 0, tasksIn("UNASSIGNED"): 3,
		agents("live"): 0, agents("lost"): 1,
	})
	if n := scrape(t, cp)[lostTotal]; n != 0 {
		t.Fatalf("%s = %v within the grace period, want 0", lostTotal, n)
	}
	skew.Store(int64(2 * time.Minute))
	connectAgent(t, cp, "agent-mt2") // a change: the scheduler runs, the grace period is over
	want("agent lost", map[string]float64{lostTotal: 1})

	if _, err := c.Connectors.StopConnector(ctx, connect.NewRequest(&sluicev1.StopConnectorRequest{Name: "mt"})); err != nil {
		t.Fatal(err)
	}
	want("connector stopped", map[string]float64{tasksIn("STOPPED"): 3, tasksIn("UNASSIGNED"): 0,
		`sluice_connector_status{class="test-source",connector="mt",replica="` + name + `",state="STOPPED",type="source"}`: 1})
	if _, ok := scrape(t, cp)[`sluice_connector_status{class="test-source",connector="mt",replica="`+name+`",state="RUNNING",type="source"}`]; ok {
		t.Error("a stopped connector is still reported RUNNING")
	}
}
