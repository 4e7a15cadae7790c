package controlplane

import (
	"context"
	"net/http"
	"strings"
	"testing"
	"time"

	"connectrpc.com/connect"

	sluicev1 "github.com/sluicehq/sluice/api/gen/sluice/v1"
	"github.com/sluicehq/sluice/api/gen/sluice/v1/sluicev1connect"
	client "github.com/sluicehq/sluice/clients/go"
	"github.com/sluicehq/sluice/connectors"
)

type nopSource struct{}

func (nopSource) Open(context.Context, connectors.SourceContext) error { return nil }
func (nopSource) Poll(ctx context.Context) ([]connectors.Record, error) {
	<-ctx.Done()
	return nil, nil
}
func (nopSource) Close() error { return nil }

func testRegistry(t *testing.T) *connectors.Registry {
	r := connectors.NewRegistry()
	err := r.Register(connectors.Plugin{
		Name: "test-source", Class: "com.example.TestSource", Type: connectors.SourceType,
		Spec:      connectors.Spec{Fields: []connectors.Field{{Name: "topic", Type: connectors.TypeString, Required: true}}},
		NewSource: func() connectors.Source { return nopSource{} },
	})
	if err != nil {
		t.Fatal(err)
	}
	err = r.Register(connectors.Plugin{
		Name: "test-sink", Class: "com.example.TestSink", Type: connectors.SinkType,
		Spec: connectors.Spec{Fields: []connectors.Field{{Name: "secret", Type: connectors.TypePassword,
			Doc: "A password, hidden when shown."}}},
		NewSink: func() connectors.Sink { return nil },
	})
	if err != nil {
		t.Fatal(err)
	}
	return r
}

// start runs a replica with an embedded etcd in a temporary directory.
func start(t *testing.T, reassign time.Duration, opts ...func(*Config)) (*ControlPlane, *client.Client) {
	t.Helper()
	cfg := Config{
		Listen: "127.0.0.1:0", Name: "cp-test", DataDir: t.TempDir(), EtcdListen: "auto",
		SessionTTL: 3 * time.Second, ReassignDelay: reassign, Registry: testRegistry(t),
	}
	for _, o := range opts {
		o(&cfg)
	}
	cp, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- cp.Run(ctx) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("control plane: %v", err)
		}
	})
	select {
	case <-cp.Ready():
	case err := <-done:
		t.Fatalf("control plane did not start: %v", err)
	case <-time.After(60 * time.Second):
		t.Fatal("control plane not ready after 60s")
	}
	c, err := client.New("http://" + cp.Addr())
	if err != nil {
		t.Fatal(err)
	}
	waitFor(t, "a leader", func() bool {
		res, err := c.Cluster.GetClusterStatus(context.Background(), connect.NewRequest(&sluicev1.GetClusterStatusRequest{}))
		return err == nil && res.Msg.GetLeader() == cfg.Name
	})
	return cp, c
}

func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func TestApplyValidates(t *testing.T) {
	t.Parallel()
	_, c := start(t, 0)
	ctx := context.Background()
	_, err := c.Connectors.ApplyConnector(ctx, connect.NewRequest(&sluicev1.ApplyConnectorRequest{
		Name: "bad", Config: map[string]string{"connector.class": "test-source", "tasks.max": "zero"}}))
	if connect.CodeOf(err) != connect.CodeInvalidArgument {
		t.Fatalf("apply invalid config: got %v, want InvalidArgument", err)
	}
	for _, want := range []string{"topic", "tasks.max"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q does not name field %s", err, want)
		}
	}
	_, err = c.Connectors.ApplyConnector(ctx, connect.NewRequest(&sluicev1.ApplyConnectorRequest{
		Name: "bad", Config: map[string]string{"connector.class": "no-such-thing"}}))
	if err == nil || !strings.Contains(err.Error(), "test-source") {
		t.Fatalf("unknown class: got %v, want an error listing the known connectors", err)
	}
}

func TestApplyGetListDelete(t *testing.T) {
	t.Parallel()
	_, c := start(t, 0)
	ctx := context.Background()
	cfg := map[string]string{"connector.class": "com.example.TestSource", "topic": "t", "tasks.max": "3"}
	res, err := c.Connectors.ApplyConnector(ctx, connect.NewRequest(&sluicev1.ApplyConnectorRequest{Name: "c1", Config: cfg}))
	if err != nil {
		t.Fatal(err)
	}
	if !res.Msg.GetCreated() || len(res.Msg.GetConnector().GetTasks()) != 3 || res.Msg.GetConnector().GetGeneration() != 1 {
		t.Fatalf("created = %v, tasks = %d, generation %d; want true, 3, 1", res.Msg.GetCreated(),
			len(res.Msg.GetConnector().GetTasks()), res.Msg.GetConnector().GetGeneration())
	}
	// The same config again changes nothing.
	res, err = c.Connectors.ApplyConnector(ctx, connect.NewRequest(&sluicev1.ApplyConnectorRequest{Name: "c1", Config: cfg}))
	if err != nil || res.Msg.GetCreated() || res.Msg.GetConnector().GetGeneration() != 1 {
		t.Fatalf("re-apply: %v, created %v, generation %d", err, res.Msg.GetCreated(), res.Msg.GetConnector().GetGeneration())
	}
	cfg["tasks.max"] = "1"
	res, err = c.Connectors.ApplyConnector(ctx, connect.NewRequest(&sluicev1.ApplyConnectorRequest{Name: "c1", Config: cfg}))
	if err != nil || res.Msg.GetConnector().GetGeneration() != 2 || len(res.Msg.GetConnector().GetTasks()) != 1 {
		t.Fatalf("update: %v %v", err, res.Msg)
	}
	got, err := c.Connectors.GetConnector(ctx, connect.NewRequest(&sluicev1.GetConnectorRequest{Name: "c1"}))
	if err != nil {
		t.Fatal(err)
	}
	if len(got.Msg.GetConnector().GetTasks()) != 1 || got.Msg.GetConnector().GetTasks()[0].GetConfig()["task.id"] != "0" {
		t.Fatalf("get: tasks %v", got.Msg.GetConnector().GetTasks())
	}
	list, err := c.Connectors.ListConnectors(ctx, connect.NewRequest(&sluicev1.ListConnectorsRequest{}))
	if err != nil || len(list.Msg.GetConnectors()) != 1 {
		t.Fatalf("list: %v %v", err, list)
	}
	if _, err := c.Connectors.DeleteConnector(ctx, connect.NewRequest(&sluicev1.DeleteConnectorRequest{Name: "c1"})); err != nil {
		t.Fatal(err)
	}
	_, err = c.Connectors.GetConnector(ctx, connect.NewRequest(&sluicev1.GetConnectorRequest{Name: "c1"}))
	if connect.CodeOf(err) != connect.CodeNotFound {
		t.Fatalf("get after delete: %v, want NotFound", err)
	}
	_, err = c.Connectors.DeleteConnector(ctx, connect.NewRequest(&sluicev1.DeleteConnectorRequest{Name: "c1"}))
	if connect.CodeOf(err) != connect.CodeNotFound {
		t.Fatalf("delete twice: %v, want NotFound", err)
	}
}

// fakeAgent is a session stream driven by the test.
type fakeAgent struct {
	t      *testing.T
	stream *connect.BidiStreamForClient[sluicev1.SessionRequest, sluicev1.SessionResponse]
	msgs   chan *sluicev1.SessionResponse
}

func connectAgent(t *testing.T, cp *ControlPlane, name string) *fakeAgent {
	t.Helper()
	return connectAgentWith(t, cp, &sluicev1.Register{Name: name})
}

func connectAgentWith(t *testing.T, cp *ControlPlane, reg *sluicev1.Register) *fakeAgent {
	t.Helper()
	ac := sluicev1connect.NewAgentServiceClient(client.NewHTTPClient(), "http://"+cp.Addr(), connect.WithGRPC())
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	stream := ac.Session(ctx)
	if err := stream.Send(&sluicev1.SessionRequest{Msg: &sluicev1.SessionRequest_Register{Register: reg}}); err != nil {
		t.Fatal(err)
	}
	a := &fakeAgent{t: t, stream: stream, msgs: make(chan *sluicev1.SessionResponse, 100)}
	go func() {
		for {
			m, err := stream.Receive()
			if err != nil {
				close(a.msgs)
				return
			}
			a.msgs <- m
		}
	}()
	if m := a.next(); m.GetRegistered() == nil {
		t.Fatalf("first message %v, want registered", m)
	}
	return a
}

func (a *fakeAgent) next() *sluicev1.SessionResponse {
	a.t.Helper()
	select {
	case m, ok := <-a.msgs:
		if !ok {
			a.t.Fatal("session closed")
		}
		return m
	case <-time.After(30 * time.Second):
		a.t.Fatal("no message from the control plane in 30s")
	}
	return nil
}

// assignments waits for an assignment set with n tasks.
func (a *fakeAgent) assignments(n int) []*sluicev1.Assignment {
	a.t.Helper()
	for {
		m := a.next()
		if as := m.GetAssignments(); as != nil && len(as.GetTasks()) == n {
			return as.GetTasks()
		}
	}
}

func (a *fakeAgent) send(m *sluicev1.SessionRequest) {
	a.t.Helper()
	if err := a.stream.Send(m); err != nil {
		a.t.Fatal(err)
	}
}

func TestSessionAssignsAndFencesReports(t *testing.T) {
	t.Parallel()
	cp, c := start(t, 0)
	ctx := context.Background()
	_, err := c.Connectors.ApplyConnector(ctx, connect.NewRequest(&sluicev1.ApplyConnectorRequest{Name: "src",
		Config: map[string]string{"connector.class": "test-source", "topic": "t", "tasks.max": "2"}}))
	if err != nil {
		t.Fatal(err)
	}
	a := connectAgent(t, cp, "agent-1")
	tasks := a.assignments(2)
	t0 := tasks[0]
	if t0.GetEpoch() <= 0 || t0.GetConfig()["topic"] != "t" {
		t.Fatalf("assignment %v", t0)
	}
	a.send(&sluicev1.SessionRequest{Msg: &sluicev1.SessionRequest_TaskState{TaskState: &sluicev1.TaskStateReport{
		Task: t0.GetTask(), Epoch: t0.GetEpoch(), State: sluicev1.State_STATE_RUNNING}}})
	a.send(&sluicev1.SessionRequest{Msg: &sluicev1.SessionRequest_Offsets{Offsets: &sluicev1.OffsetCommit{
		Task: t0.GetTask(), Epoch: t0.GetEpoch(),
		Offsets: []*sluicev1.SourceOffset{{Partition: `{"file":"a"}`, Offset: `{"position":42}`}}}}})
	waitFor(t, "task 0 RUNNING", func() bool {
		res, err := c.Connectors.GetConnectorStatus(ctx, connect.NewRequest(&sluicev1.GetConnectorStatusRequest{Name: "src"}))
		if err != nil {
			return false
		}
		ts := res.Msg.GetStatus().GetTasks()
		return len(ts) == 2 && ts[t0.GetTask().GetTask()].GetState() == sluicev1.State_STATE_RUNNING &&
			ts[t0.GetTask().GetTask()].GetWorkerId() == "agent-1"
	})

	// A report under a stale epoch is refused and not stored.
	a.send(&sluicev1.SessionRequest{Msg: &sluicev1.SessionRequest_TaskState{TaskState: &sluicev1.TaskStateReport{
		Task: t0.GetTask(), Epoch: t0.GetEpoch() - 1, State: sluicev1.State_STATE_FAILED, Trace: "zombie"}}})
	for {
		m := a.next()
		if r := m.GetRefused(); r != nil {
			if r.GetEpoch() != t0.GetEpoch()-1 || !strings.Contains(r.GetReason(), "stale epoch") {
				t.Fatalf("refused %v", r)
			}
			break
		}
	}
	res, err := c.Connectors.GetConnectorStatus(ctx, connect.NewRequest(&sluicev1.GetConnectorStatusRequest{Name: "src"}))
	if err != nil {
		t.Fatal(err)
	}
	if st := res.Msg.GetStatus().GetTasks()[t0.GetTask().GetTask()]; st.GetState() != sluicev1.State_STATE_RUNNING {
		t.Fatalf("stale report changed the status: %v", st)
	}

	// A second agent, and the first goes: the tasks move to the second
	// with new epochs and the committed offsets.
	b := connectAgent(t, cp, "agent-2")
	a.stream.CloseRequest()
	a.stream.CloseResponse()
	moved := b.assignments(2)
	for _, m := range moved {
		if m.GetEpoch() <= t0.GetEpoch() {
			t.Fatalf("moved task has epoch %d, not above %d", m.GetEpoch(), t0.GetEpoch())
		}
		if len(m.GetOffsets()) != 1 || m.GetOffsets()[0].GetOffset() != `{"position":42}` {
			t.Fatalf("moved task offsets %v", m.GetOffsets())
		}
	}
}

func TestHealthAndReflection(t *testing.T) {
	t.Parallel()
	cp, _ := start(t, 0)
	// The Connect protocol with JSON answers plain HTTP clients too.
	resp, err := http.Post("http://"+cp.Addr()+"/sluice.v1.ClusterService/GetClusterStatus", "application/json", strings.NewReader("{}"))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != 200 {
		t.Fatalf("Connect JSON call: %s", resp.Status)
	}

}

func TestPauseStopResume(t *testing.T) {
	t.Parallel()
	cp, c := start(t, 0)
	ctx := context.Background()
	_, err := c.Connectors.ApplyConnector(ctx, connect.NewRequest(&sluicev1.ApplyConnectorRequest{Name: "life",
		Config: map[string]string{"connector.class": "test-source", "topic": "t"}}))
	if err != nil {
		t.Fatal(err)
	}
	a := connectAgent(t, cp, "agent-l")
	first := a.assignments(1)[0]

	if _, err := c.Connectors.PauseConnector(ctx, connect.NewRequest(&sluicev1.PauseConnectorRequest{Name: "life"})); err != nil {
		t.Fatal(err)
	}
	for {
		as := a.assignments(1)
		if as[0].GetTargetState() == sluicev1.TargetState_TARGET_STATE_PAUSED {
			if as[0].GetEpoch() != first.GetEpoch() {
				t.Fatalf("pause moved the task: epoch %d -> %d", first.GetEpoch(), as[0].GetEpoch())
			}
			break
		}
	}

	if _, err := c.Connectors.StopConnector(ctx, connect.NewRequest(&sluicev1.StopConnectorRequest{Name: "life"})); err != nil {
		t.Fatal(err)
	}
	a.assignments(0)
	// As a real agent: the stopped task is released.
	a.send(&sluicev1.SessionRequest{Msg: &sluicev1.SessionRequest_TaskState{TaskState: &sluicev1.TaskStateReport{
		Task: first.GetTask(), Epoch: first.GetEpoch(), State: sluicev1.State_STATE_UNASSIGNED}}})
	res, err := c.Connectors.GetConnectorStatus(ctx, connect.NewRequest(&sluicev1.GetConnectorStatusRequest{Name: "life"}))
	if err != nil {
		t.Fatal(err)
	}
	if st := res.Msg.GetStatus(); st.GetConnector().GetState() != sluicev1.State_STATE_STOPPED ||
		st.GetTasks()[0].GetState() != sluicev1.State_STATE_STOPPED {
		t.Fatalf("stopped connector status %v", st)
	}

	if _, err := c.Connectors.ResumeConnector(ctx, connect.NewRequest(&sluicev1.ResumeConnectorRequest{Name: "life"})); err != nil {
		t.Fatal(err)
	}
	// The task comes back: under a new epoch once the stopped task was
	// released (this fake agent never releases it, so the scheduler's
	// removal of the assignment decides), or under the same epoch if the
	// resume came first; the agent starts it again either way.
	back := a.assignments(1)[0]
	if back.GetTargetState() != sluicev1.TargetState_TARGET_STATE_RUNNING || back.GetEpoch() < first.GetEpoch() {
		t.Fatalf("resumed assignment %v", back)
	}
	_, err = c.Connectors.PauseConnector(ctx, connect.NewRequest(&sluicev1.PauseConnectorRequest{Name: "nope"}))
	if connect.CodeOf(err) != connect.CodeNotFound {
		t.Fatalf("pause unknown connector: %v", err)
	}
}
