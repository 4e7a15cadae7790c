package controlplane

import (
	"context"
	"fmt"
	"maps"
	"slices"
	"testing"

	"connectrpc.com/connect"

	sluicev1 "github.com/sluicehq/sluice/api/gen/sluice/v1"
)

// TestHubStateFollowsEtcd: the sessions' in-memory state, fed by watch
// events, ends equal to a full read after creates, updates, pauses, stops,
// deletes, restarts and reassignments.
func TestHubStateFollowsEtcd(t *testing.T) {
	t.Parallel()
	cp, c := start(t, 0)
	ctx := context.Background()
	a := connectAgent(t, cp, "agent-h1")
	for i := range 4 {
		apply(t, c, fmt.Sprintf("h%d", i), map[string]string{"connector.class": "test-source", "topic": "t", "tasks.max": fmt.Sprint(i + 1)})
	}
	a.assignments(10)
	b := connectAgent(t, cp, "agent-h2")
	apply(t, c, "h1", map[string]string{"connector.class": "test-source", "topic": "u", "tasks.max": "3"})
	if _, err := c.Connectors.PauseConnector(ctx, connect.NewRequest(&sluicev1.PauseConnectorRequest{Name: "h2"})); err != nil {
		t.Fatal(err)
	}
	if _, err := c.Connectors.StopConnector(ctx, connect.NewRequest(&sluicev1.StopConnectorRequest{Name: "h3"})); err != nil {
		t.Fatal(err)
	}
	if _, err := c.Connectors.DeleteConnector(ctx, connect.NewRequest(&sluicev1.DeleteConnectorRequest{Name: "h0"})); err != nil {
		t.Fatal(err)
	}
	if _, err := c.Connectors.RestartTask(ctx, connect.NewRequest(&sluicev1.RestartTaskRequest{Name: "h1", Task: 1})); err != nil {
		t.Fatal(err)
	}
	_ = b
	a.stream.CloseRequest() // agent-h1 goes: its tasks move to agent-h2
	a.stream.CloseResponse()

	same := func() (bool, string) {
		want, err := load(ctx, cp.etcd, cp.keys)
		if err != nil {
			return false, err.Error()
		}
		var why string
		cp.hub.read(func(got *snapshot) {
			switch {
			case !slices.Equal(slices.Sorted(maps.Keys(got.connectors)), slices.Sorted(maps.Keys(want.connectors))):
				why = "connectors differ"
			case !maps.EqualFunc(got.tasks, want.tasks, func(x, y map[string]string) bool { return maps.Equal(x, y) }):
				why = "task configs differ"
			case !maps.Equal(got.taskRev, want.taskRev):
				why = "task revisions differ"
			case !maps.Equal(got.assign, want.assign):
				why = fmt.Sprintf("assignments differ: %v vs %v", got.assign, want.assign)
			case !maps.Equal(got.moves, want.moves):
				why = "moves differ"
			}
			for agent, ts := range want.byAgent {
				if !slices.Equal(got.byAgent[agent], ts) {
					why = "byAgent differs for " + agent
				}
			}
			for _, name := range slices.Sorted(maps.Keys(want.connectors)) {
				g, w := got.connectors[name], want.connectors[name]
				if g.TargetState != w.TargetState || g.Tasks != w.Tasks || g.Generation != w.Generation || !maps.Equal(g.Config, w.Config) {
					why = "connector " + name + " differs"
				}
			}
		})
		return why == "", why
	}
	var why string
	defer func() {
		if t.Failed() {
			t.Log("last difference:", why)
		}
	}()
	waitFor(t, "the hub's state equal to etcd's", func() bool {
		ok, w := same()
		why = w
		return ok
	})
}
