package controlplane

import (
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"slices"
	"strings"
	"testing"

	sluicev1 "github.com/sluicehq/sluice/api/gen/sluice/v1"
)

// restCall makes one Kafka Connect REST call and checks its status.
func restCall(t *testing.T, cp *ControlPlane, method, path, body string, want int) any {
	t.Helper()
	req, err := http.NewRequest(method, "http://"+cp.Addr()+path, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != want {
		t.Fatalf("%s %s: %d %s, want %d", method, path, resp.StatusCode, b, want)
	}
	var v any
	if len(b) > 0 {
		if err := json.Unmarshal(b, &v); err != nil {
			t.Fatalf("%s %s: not JSON: %q", method, path, b)
		}
	}
	return v
}

func topicsOf(t *testing.T, cp *ControlPlane, name string) []string {
	t.Helper()
	v := restCall(t, cp, "GET", "/connectors/"+name+"/topics", "", 200).(map[string]any)
	var out []string
	for _, x := range v[name].(map[string]any)["topics"].([]any) {
		out = append(out, x.(string))
	}
	return out
}

// TestActiveTopics: Kafka Connect's GET /connectors/{name}/topics and
// PUT .../topics/reset (KIP-558). Tasks report the topics they use, fenced
// by their epoch; a reset empties the set and reaches the tasks in their
// assignments, so that they report again; deleting the connector forgets
// its topics.
func TestActiveTopics(t *testing.T) {
	t.Parallel()
	cp, c := start(t, 0)
	apply(t, c, "tt", map[string]string{"connector.class": "test-source", "topic": "t", "tasks.max": "1"})
	a := connectAgent(t, cp, "agent-1")
	as := a.assignments(1)[0]
	if got := topicsOf(t, cp, "tt"); len(got) != 0 {
		t.Fatalf("topics before any report: %v", got)
	}
	report := func(epoch int64, topics ...string) {
		a.send(&sluicev1.SessionRequest{Msg: &sluicev1.SessionRequest_Topics{Topics: &sluicev1.TopicsReport{
			Task: as.GetTask(), Epoch: epoch, Topics: topics}}})
	}
	report(as.GetEpoch(), "orders", "audit")
	waitFor(t, "two active topics", func() bool { return slices.Equal(topicsOf(t, cp, "tt"), []string{"audit", "orders"}) })

	// A zombie's report is refused and not stored.
	report(as.GetEpoch()-1, "zombie")
	for {
		if r := a.next().GetRefused(); r != nil {
			break
		}
	}
	if got := topicsOf(t, cp, "tt"); slices.Contains(got, "zombie") {
		t.Fatalf("stale report stored: %v", got)
	}

	restCall(t, cp, "PUT", "/connectors/tt/topics/reset", "", 202)
	if got := topicsOf(t, cp, "tt"); len(got) != 0 {
		t.Fatalf("topics after reset: %v", got)
	}
	// The task hears of the reset in its assignment, same epoch: it is not
	// restarted, it reports again.
	for {
		if ts := a.next().GetAssignments().GetTasks(); len(ts) == 1 && ts[0].GetTopicsReset() == 1 {
			if ts[0].GetEpoch() != as.GetEpoch() || ts[0].GetRestart() != as.GetRestart() {
				t.Fatalf("reset changed the task: %v", ts[0])
			}
			break
		}
	}
	report(as.GetEpoch(), "orders")
	waitFor(t, "reported again", func() bool { return slices.Equal(topicsOf(t, cp, "tt"), []string{"orders"}) })

	restCall(t, cp, "GET", "/connectors/nope/topics", "", 404)
	restCall(t, cp, "PUT", "/connectors/nope/topics/reset", "", 404)
	restCall(t, cp, "DELETE", "/connectors/tt", "", 204)
	apply(t, c, "tt", map[string]string{"connector.class": "test-source", "topic": "t", "tasks.max": "1"})
	if got := topicsOf(t, cp, "tt"); len(got) != 0 {
		t.Fatalf("a deleted connector's topics came back: %v", got)
	}
}

// TestTopicTrackingDisabled: 403, as Kafka Connect with
// topic.tracking.enable=false or topic.tracking.allow.reset=false.
func TestTopicTrackingDisabled(t *testing.T) {
	t.Parallel()
	cp, c := start(t, 0, func(c *Config) { c.DisableTopicReset = true })
	apply(t, c, "tt", map[string]string{"connector.class": "test-source", "topic": "t"})
	topicsOf(t, cp, "tt")
	if e := restCall(t, cp, "PUT", "/connectors/tt/topics/reset", "", 403).(map[string]any); e["error_code"] != float64(403) {
		t.Fatalf("error body %v", e)
	}
	off, c2 := start(t, 0, func(c *Config) { c.DisableTopicTracking = true })
	apply(t, c2, "tt", map[string]string{"connector.class": "test-source", "topic": "t"})
	restCall(t, off, "GET", "/connectors/tt/topics", "", 403)
}

// TestClusterLogLevel: PUT /admin/loggers/root?scope=cluster answers 204,
// changes every replica's level and reaches every agent in its
// assignments (Kafka Connect's KIP-976).
func TestClusterLogLevel(t *testing.T) {
	t.Parallel()
	cp, c := start(t, 0, func(c *Config) { c.LogLevel = new(slog.LevelVar) })
	apply(t, c, "ll", map[string]string{"connector.class": "test-source", "topic": "t"})
	a := connectAgent(t, cp, "agent-1")
	a.assignments(1)
	restCall(t, cp, "PUT", "/admin/loggers/root?scope=cluster", `{"level":"debug"}`, 204)
	for {
		if as := a.next().GetAssignments(); as != nil && as.GetLogLevel() == "DEBUG" {
			if len(as.GetTasks()) != 1 {
				t.Fatalf("the level came without the tasks: %v", as)
			}
			break
		}
	}
	waitFor(t, "the replica at DEBUG", func() bool { return cp.cfg.LogLevel.Level() == slog.LevelDebug })
	if l := restCall(t, cp, "GET", "/admin/loggers/root", "", 200).(map[string]any); l["level"] != "DEBUG" || l["last_modified"] == nil {
		t.Fatalf("GET after a cluster-wide set: %v", l)
	}
	// An agent that connects later gets the level with its first set.
	b := connectAgent(t, cp, "agent-2")
	if as := b.next().GetAssignments(); as == nil || as.GetLogLevel() != "DEBUG" {
		t.Fatalf("a new agent's first assignments: %v", as)
	}
	restCall(t, cp, "PUT", "/admin/loggers/root?scope=galaxy", `{"level":"INFO"}`, 400)
}
