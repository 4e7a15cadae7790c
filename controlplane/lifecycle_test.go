package controlplane

import (
	"context"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"connectrpc.com/connect"

	sluicev1 "github.com/sluicehq/sluice/api/gen/sluice/v1"
	client "github.com/sluicehq/sluice/clients/go"
	"github.com/sluicehq/sluice/internal/testenv"
)

func apply(t *testing.T, c *client.Client, name string, cfg map[string]string) {
	t.Helper()
	if _, err := c.Connectors.ApplyConnector(context.Background(), connect.NewRequest(&sluicev1.ApplyConnectorRequest{Name: name, Config: cfg})); err != nil {
		t.Fatal(err)
	}
}

func status(t *testing.T, c *client.Client, name string) *sluicev1.ConnectorStatus {
	t.Helper()
	res, err := c.Connectors.GetConnectorStatus(context.Background(), connect.NewRequest(&sluicev1.GetConnectorStatusRequest{Name: name}))
	if err != nil {
		t.Fatal(err)
	}
	return res.Msg.GetStatus()
}

func report(a *fakeAgent, as *sluicev1.Assignment, state sluicev1.State, trace string) {
	a.send(&sluicev1.SessionRequest{Msg: &sluicev1.SessionRequest_TaskState{TaskState: &sluicev1.TaskStateReport{
		Task: as.GetTask(), Epoch: as.GetEpoch(), State: state, Trace: trace}}})
}

func TestPlacementSelector(t *testing.T) {
	t.Parallel()
	cp, c := start(t, 0)
	ctx := context.Background()
	_, err := c.Connectors.ApplyConnector(ctx, connect.NewRequest(&sluicev1.ApplyConnectorRequest{Name: "bad",
		Config: map[string]string{"connector.class": "test-source", "topic": "t", "placement.selector": "region in a,b"}}))
	if connect.CodeOf(err) != connect.CodeInvalidArgument || !strings.Contains(err.Error(), "placement.selector") {
		t.Fatalf("bad selector: %v", err)
	}

	apply(t, c, "pinned", map[string]string{"connector.class": "test-source", "topic": "t", "tasks.max": "2",
		"placement.selector": "region=b,zone!=c"})
	a := connectAgentWith(t, cp, &sluicev1.Register{Name: "agent-a", Labels: map[string]string{"region": "a"}})
	bc := connectAgentWith(t, cp, &sluicev1.Register{Name: "agent-bc", Labels: map[string]string{"region": "b", "zone": "c"}})
	waitFor(t, "the reason in the status", func() bool {
		ts := status(t, c, "pinned").GetTasks()
		return ts[0].GetState() == sluicev1.State_STATE_UNASSIGNED &&
			strings.Contains(ts[0].GetMessage(), `no live agent matches placement.selector "region=b,zone!=c"`) &&
			strings.Contains(ts[0].GetMessage(), "agent-a {region=a}")
	})
	b := connectAgentWith(t, cp, &sluicev1.Register{Name: "agent-b", Labels: map[string]string{"region": "b", "zone": "a"}})
	b.assignments(2)
	for _, ts := range status(t, c, "pinned").GetTasks() {
		if ts.GetWorkerId() != "agent-b" {
			t.Fatalf("task %d on %q, want agent-b", ts.GetId(), ts.GetWorkerId())
		}
	}
	// Nothing went to the agents that do not match.
	for _, x := range []*fakeAgent{a, bc} {
		for len(x.msgs) > 0 {
			if as := x.next().GetAssignments(); as != nil && len(as.GetTasks()) > 0 {
				t.Fatalf("an agent that does not match got %v", as.GetTasks())
			}
		}
	}
}

func TestCapacity(t *testing.T) {
	t.Parallel()
	cp, c := start(t, 0)
	apply(t, c, "many", map[string]string{"connector.class": "test-source", "topic": "t", "tasks.max": "3"})
	a := connectAgentWith(t, cp, &sluicev1.Register{Name: "small", Capacity: 2})
	a.assignments(2)
	waitFor(t, "the capacity reason", func() bool {
		for _, ts := range status(t, c, "many").GetTasks() {
			if strings.Contains(ts.GetMessage(), "at capacity (small)") {
				return true
			}
		}
		return false
	})
}

// TestRebalanceOnJoin: a new agent receives work gradually, one task at a
// time; each moved task is released by its agent first (after its final
// offsets); the tasks that stay keep their epochs.
func TestRebalanceOnJoin(t *testing.T) {
	t.Parallel()
	cp, c := start(t, 0)
	apply(t, c, "bal", map[string]string{"connector.class": "test-source", "topic": "t", "tasks.max": "4"})
	a := connectAgent(t, cp, "agent-1")
	first := map[int32]int64{}
	for _, as := range a.assignments(4) {
		first[as.GetTask().GetTask()] = as.GetEpoch()
		report(a, as, sluicev1.State_STATE_RUNNING, "")
	}
	b := connectAgent(t, cp, "agent-2")
	kept := a.assignments(3)
	var moved int32 = -1
	have := map[int32]bool{}
	for _, as := range kept {
		have[as.GetTask().GetTask()] = true
		if as.GetEpoch() != first[as.GetTask().GetTask()] {
			t.Fatalf("task %d stayed but its epoch changed: %d -> %d", as.GetTask().GetTask(), first[as.GetTask().GetTask()], as.GetEpoch())
		}
	}
	for id := range first {
		if !have[id] {
			moved = id
		}
	}
	waitFor(t, "the move in the status", func() bool {
		return strings.Contains(status(t, c, "bal").GetTasks()[moved].GetMessage(), "moving off agent agent-1 (rebalance)")
	})
	// agent-1 commits the task's last offsets and releases it.
	ref := &sluicev1.TaskRef{Connector: "bal", Task: moved}
	a.send(&sluicev1.SessionRequest{Msg: &sluicev1.SessionRequest_Offsets{Offsets: &sluicev1.OffsetCommit{
		Task: ref, Epoch: first[moved], Offsets: []*sluicev1.SourceOffset{{Partition: `{"p":1}`, Offset: `{"o":7}`}}}}})
	a.send(&sluicev1.SessionRequest{Msg: &sluicev1.SessionRequest_TaskState{TaskState: &sluicev1.TaskStateReport{
		Task: ref, Epoch: first[moved], State: sluicev1.State_STATE_UNASSIGNED}}})
	got := b.assignments(1)[0]
	if got.GetTask().GetTask() != moved || got.GetEpoch() <= first[moved] {
		t.Fatalf("agent-2 got %v, want task %d under a new epoch", got, moved)
	}
	if len(got.GetOffsets()) != 1 || got.GetOffsets()[0].GetOffset() != `{"o":7}` {
		t.Fatalf("the released task's final offsets did not follow it: %v", got.GetOffsets())
	}
	// Then the next one: 4 tasks end 2 and 2.
	kept = a.assignments(2)
	for _, as := range kept {
		if as.GetEpoch() != first[as.GetTask().GetTask()] {
			t.Fatalf("task %d stayed but its epoch changed", as.GetTask().GetTask())
		}
	}
}

func TestRestart(t *testing.T) {
	t.Parallel()
	cp, c := start(t, 0)
	ctx := context.Background()
	apply(t, c, "r", map[string]string{"connector.class": "test-source", "topic": "t", "tasks.max": "2"})
	a := connectAgent(t, cp, "agent-r")
	as := a.assignments(2)
	report(a, as[0], sluicev1.State_STATE_FAILED, "boom")
	report(a, as[1], sluicev1.State_STATE_RUNNING, "")
	waitFor(t, "task 0 FAILED", func() bool { return status(t, c, "r").GetTasks()[0].GetState() == sluicev1.State_STATE_FAILED })

	res, err := c.Connectors.RestartConnector(ctx, connect.NewRequest(&sluicev1.RestartConnectorRequest{Name: "r", IncludeTasks: true, OnlyFailed: true}))
	if err != nil {
		t.Fatal(err)
	}
	st := res.Msg.GetStatus()
	if st.GetConnector().GetState() != sluicev1.State_STATE_RUNNING || st.GetTasks()[0].GetState() != sluicev1.State_STATE_RESTARTING ||
		st.GetTasks()[1].GetState() != sluicev1.State_STATE_RUNNING {
		t.Fatalf("restart only_failed answered %v", st)
	}
	after := a.assignments(2)
	if after[0].GetRestart() != 1 || after[0].GetEpoch() <= as[0].GetEpoch() {
		t.Fatalf("failed task: restart %d epoch %d, want 1 and above %d", after[0].GetRestart(), after[0].GetEpoch(), as[0].GetEpoch())
	}
	if after[1].GetRestart() != 0 || after[1].GetEpoch() != as[1].GetEpoch() {
		t.Fatalf("running task was restarted: %v", after[1])
	}

	tr, err := c.Connectors.RestartTask(ctx, connect.NewRequest(&sluicev1.RestartTaskRequest{Name: "r", Task: 1}))
	if err != nil || tr.Msg.GetTask().GetState() != sluicev1.State_STATE_RESTARTING {
		t.Fatalf("restart task: %v %v", tr, err)
	}
	if again := a.assignments(2); again[1].GetRestart() != 1 {
		t.Fatalf("task 1 restart = %d, want 1", again[1].GetRestart())
	}
	_, err = c.Connectors.RestartTask(ctx, connect.NewRequest(&sluicev1.RestartTaskRequest{Name: "r", Task: 7}))
	if connect.CodeOf(err) != connect.CodeNotFound {
		t.Fatalf("restart task 7: %v", err)
	}

	// Restarts counted by the agent show in the status.
	report(a, &sluicev1.Assignment{Task: after[0].GetTask(), Epoch: after[0].GetEpoch()}, sluicev1.State_STATE_RUNNING, "")
	a.send(&sluicev1.SessionRequest{Msg: &sluicev1.SessionRequest_TaskState{TaskState: &sluicev1.TaskStateReport{
		Task: after[0].GetTask(), Epoch: after[0].GetEpoch(), State: sluicev1.State_STATE_RUNNING, Restarts: 3}}})
	waitFor(t, "restarts in the status", func() bool { return status(t, c, "r").GetTasks()[0].GetRestarts() == 3 })
}

func TestValidateConfig(t *testing.T) {
	t.Parallel()
	_, c := start(t, 0)
	ctx := context.Background()
	res, err := c.Connectors.ValidateConnectorConfig(ctx, connect.NewRequest(&sluicev1.ValidateConnectorConfigRequest{
		Config: map[string]string{"connector.class": "com.example.TestSink", "tasks.max": "0", "secret": "s3cr3t"}}))
	if err != nil {
		t.Fatal(err)
	}
	v := res.Msg
	if v.GetName() != "TestSink" || v.GetErrorCount() != 3 {
		t.Fatalf("name %q errors %d, want TestSink and 3 (name, tasks.max, topics)", v.GetName(), v.GetErrorCount())
	}
	byName := map[string]*sluicev1.ConfigInfo{}
	for _, ci := range v.GetConfigs() {
		byName[ci.GetDefinition().GetName()] = ci
	}
	if e := byName["tasks.max"].GetValue().GetErrors(); len(e) != 1 || !strings.Contains(e[0], "at least 1") {
		t.Fatalf("tasks.max errors %v", e)
	}
	if e := byName["topics"].GetValue().GetErrors(); len(e) != 1 || !strings.Contains(e[0], "topics.regex") {
		t.Fatalf("topics errors %v", e)
	}
	if byName["secret"].GetValue().GetValue() != "[hidden]" || byName["topics"].GetDefinition().GetDocumentation() == "" {
		t.Fatalf("secret %v, topics docs %q", byName["secret"].GetValue(), byName["topics"].GetDefinition().GetDocumentation())
	}
	res, err = c.Connectors.ValidateConnectorConfig(ctx, connect.NewRequest(&sluicev1.ValidateConnectorConfigRequest{
		Config: map[string]string{"connector.class": "test-source", "name": "ok", "topic": "t"}}))
	if err != nil || res.Msg.GetErrorCount() != 0 {
		t.Fatalf("valid config: %v %v", res, err)
	}
	// Transforms are checked too, at validate and at apply.
	bad := map[string]string{"connector.class": "test-source", "name": "tx", "topic": "t",
		"transforms": "route", "transforms.route.type": "org.apache.kafka.connect.transforms.RegexRouter"}
	res, err = c.Connectors.ValidateConnectorConfig(ctx, connect.NewRequest(&sluicev1.ValidateConnectorConfigRequest{Config: bad}))
	if err != nil || res.Msg.GetErrorCount() == 0 {
		t.Fatalf("a RegexRouter without regex validated: %v %v", res, err)
	}
	found := false
	for _, ci := range res.Msg.GetConfigs() {
		if strings.HasPrefix(ci.GetDefinition().GetName(), "transforms.route.") && len(ci.GetValue().GetErrors()) > 0 {
			found = true
		}
	}
	if !found {
		t.Fatalf("no transforms.route.* field carries the error: %v", res.Msg.GetConfigs())
	}
	_, err = c.Connectors.ApplyConnector(ctx, connect.NewRequest(&sluicev1.ApplyConnectorRequest{Name: "tx", Config: bad}))
	if connect.CodeOf(err) != connect.CodeInvalidArgument || !strings.Contains(err.Error(), "transforms.route.") {
		t.Fatalf("apply with a bad transform: %v", err)
	}
	plugins, err := c.Connectors.ListPlugins(ctx, connect.NewRequest(&sluicev1.ListPluginsRequest{}))
	if err != nil {
		t.Fatal(err)
	}
	kinds := map[string]sluicev1.PluginType{}
	for _, p := range plugins.Msg.GetPlugins() {
		kinds[p.GetName()] = p.GetType()
	}
	if kinds["RegexRouter"] != sluicev1.PluginType_PLUGIN_TYPE_TRANSFORMATION || kinds["test-sink"] != sluicev1.PluginType_PLUGIN_TYPE_SINK {
		t.Fatalf("plugins %v", kinds)
	}
}

func offsetsOf(t *testing.T, c *client.Client, name string) map[string]string {
	t.Helper()
	res, err := c.Connectors.GetConnectorOffsets(context.Background(), connect.NewRequest(&sluicev1.GetConnectorOffsetsRequest{Name: name}))
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]string{}
	for _, o := range res.Msg.GetOffsets() {
		out[o.GetPartition()] = o.GetOffset()
	}
	return out
}

func TestSourceOffsets(t *testing.T) {
	t.Parallel()
	cp, c := start(t, 0)
	ctx := context.Background()
	apply(t, c, "off", map[string]string{"connector.class": "test-source", "topic": "t"})
	a := connectAgent(t, cp, "agent-o")
	as := a.assignments(1)[0]
	a.send(&sluicev1.SessionRequest{Msg: &sluicev1.SessionRequest_Offsets{Offsets: &sluicev1.OffsetCommit{
		Task: as.GetTask(), Epoch: as.GetEpoch(), Offsets: []*sluicev1.SourceOffset{
			{Partition: `{"filename":"a.txt"}`, Offset: `{"position":10}`},
			{Partition: `{"filename":"b.txt"}`, Offset: `{"position":20}`}}}}})
	waitFor(t, "offsets stored", func() bool { return len(offsetsOf(t, c, "off")) == 2 })

	alter := &sluicev1.AlterConnectorOffsetsRequest{Name: "off", Offsets: []*sluicev1.SourceOffset{
		{Partition: `{ "filename": "a.txt" }`, Offset: `{"position": 12345678901234567}`},
		{Partition: `{"filename":"b.txt"}`, Offset: "null"},
		{Partition: `{"filename":"c.txt"}`, Offset: `{"position":3}`}}}
	_, err := c.Connectors.AlterConnectorOffsets(ctx, connect.NewRequest(alter))
	if connect.CodeOf(err) != connect.CodeFailedPrecondition || !strings.Contains(err.Error(), "only while it is STOPPED") {
		t.Fatalf("alter a running connector: %v", err)
	}
	if _, err := c.Connectors.StopConnector(ctx, connect.NewRequest(&sluicev1.StopConnectorRequest{Name: "off"})); err != nil {
		t.Fatal(err)
	}
	a.assignments(0)
	// The stopping task's final offsets are accepted (its assignment
	// still fences them), and offsets change only once it is released.
	a.send(&sluicev1.SessionRequest{Msg: &sluicev1.SessionRequest_Offsets{Offsets: &sluicev1.OffsetCommit{
		Task: as.GetTask(), Epoch: as.GetEpoch(), Offsets: []*sluicev1.SourceOffset{{Partition: `{"filename":"a.txt"}`, Offset: `{"position":11}`}}}}})
	waitFor(t, "the final offset stored", func() bool { return offsetsOf(t, c, "off")[`{"filename":"a.txt"}`] == `{"position":11}` })
	if _, err := c.Connectors.AlterConnectorOffsets(ctx, connect.NewRequest(alter)); connect.CodeOf(err) != connect.CodeFailedPrecondition {
		t.Fatalf("alter while the stopping task is not released yet: %v", err)
	}
	report(a, as, sluicev1.State_STATE_UNASSIGNED, "")
	waitFor(t, "the task freed", func() bool {
		_, err := c.Connectors.AlterConnectorOffsets(ctx, connect.NewRequest(alter))
		return err == nil
	})
	want := map[string]string{`{"filename":"a.txt"}`: `{"position":12345678901234567}`, `{"filename":"c.txt"}`: `{"position":3}`}
	if got := offsetsOf(t, c, "off"); !equalJSONMaps(got, want) {
		t.Fatalf("offsets after alter %v, want %v", got, want)
	}
	_, err = c.Connectors.AlterConnectorOffsets(ctx, connect.NewRequest(&sluicev1.AlterConnectorOffsetsRequest{Name: "off",
		Offsets: []*sluicev1.SourceOffset{{Partition: `"x"`, Offset: `{}`}}}))
	if connect.CodeOf(err) != connect.CodeInvalidArgument || !strings.Contains(err.Error(), "offsets[0].partition") {
		t.Fatalf("bad partition: %v", err)
	}
	if _, err := c.Connectors.ResumeConnector(ctx, connect.NewRequest(&sluicev1.ResumeConnectorRequest{Name: "off"})); err != nil {
		t.Fatal(err)
	}
	back := a.assignments(1)[0]
	if len(back.GetOffsets()) != 2 {
		t.Fatalf("resumed with offsets %v, want the altered ones", back.GetOffsets())
	}
	if _, err := c.Connectors.StopConnector(ctx, connect.NewRequest(&sluicev1.StopConnectorRequest{Name: "off"})); err != nil {
		t.Fatal(err)
	}
	a.assignments(0)
	report(a, back, sluicev1.State_STATE_UNASSIGNED, "")
	waitFor(t, "reset", func() bool {
		_, err := c.Connectors.ResetConnectorOffsets(ctx, connect.NewRequest(&sluicev1.ResetConnectorOffsetsRequest{Name: "off"}))
		return err == nil
	})
	if got := offsetsOf(t, c, "off"); len(got) != 0 {
		t.Fatalf("offsets after reset: %v", got)
	}
}

func equalJSONMaps(a, b map[string]string) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		var x, y any
		if json.Unmarshal([]byte(v), &x) != nil || json.Unmarshal([]byte(b[k]), &y) != nil {
			return false
		}
		if mustJSON(x) != mustJSON(y) || v != b[k] {
			return false
		}
	}
	return true
}

// TestSinkOffsets uses the real Kafka: a sink connector's offsets are its
// consumer group's.
func TestSinkOffsets(t *testing.T) {
	t.Parallel()
	brokers := testenv.Kafka(t)
	topic := testenv.NewTopic(t, brokers, 2)
	_, c := start(t, 0, func(cfg *Config) { cfg.Kafka = brokers })
	ctx := context.Background()
	name := "sink-" + topic
	_, err := c.Connectors.ApplyConnector(ctx, connect.NewRequest(&sluicev1.ApplyConnectorRequest{Name: name,
		Config: map[string]string{"connector.class": "test-sink", "topics": topic}, InitialState: sluicev1.TargetState_TARGET_STATE_STOPPED}))
	if err != nil {
		t.Fatal(err)
	}
	if got := offsetsOf(t, c, name); len(got) != 0 {
		t.Fatalf("a new sink has offsets %v", got)
	}
	// Kafka Connect's field order.
	p0 := `{"kafka_topic":"` + topic + `","kafka_partition":0}`
	p1 := `{"kafka_topic":"` + topic + `","kafka_partition":1}`
	_, err = c.Connectors.AlterConnectorOffsets(ctx, connect.NewRequest(&sluicev1.AlterConnectorOffsetsRequest{Name: name,
		Offsets: []*sluicev1.SourceOffset{{Partition: p0, Offset: `{"kafka_offset":5}`}, {Partition: p1, Offset: `{"kafka_offset":0}`}}}))
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]string{p0: `{"kafka_offset":5}`, p1: `{"kafka_offset":0}`}
	if got := offsetsOf(t, c, name); !equalJSONMaps(got, want) {
		t.Fatalf("sink offsets %v, want %v", got, want)
	}
	_, err = c.Connectors.AlterConnectorOffsets(ctx, connect.NewRequest(&sluicev1.AlterConnectorOffsetsRequest{Name: name,
		Offsets: []*sluicev1.SourceOffset{{Partition: p1, Offset: "null"}}}))
	if err != nil {
		t.Fatal(err)
	}
	if got := offsetsOf(t, c, name); len(got) != 1 || got[p0] != `{"kafka_offset":5}` {
		t.Fatalf("after removing partition 1: %v", got)
	}
	if _, err := c.Connectors.ResetConnectorOffsets(ctx, connect.NewRequest(&sluicev1.ResetConnectorOffsetsRequest{Name: name})); err != nil {
		t.Fatal(err)
	}
	testenv.WaitFor(t, 10*time.Second, "the group gone", func() bool { return len(offsetsOf(t, c, name)) == 0 })
}
