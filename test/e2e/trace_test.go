package e2e

import (
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	client "github.com/sluicehq/sluice/clients/go"
	"github.com/sluicehq/sluice/internal/testenv"
)

// jaegerTrace is the part of Jaeger's GET /api/traces/{id} answer the test
// reads.
type jaegerTrace struct {
	Data []struct {
		Spans []struct {
			OperationName string `json:"operationName"`
			ProcessID     string `json:"processID"`
		} `json:"spans"`
		Processes map[string]struct {
			ServiceName string `json:"serviceName"`
		} `json:"processes"`
	} `json:"data"`
}

// TestOneTraceFromAPIToSink: with the standard OTEL_* variables pointing at
// a real OTLP receiver (Jaeger, deploy/local/jaeger.sh), a connector created
// by a traced REST call yields one trace that spans the control plane's
// handling of the call, the agent's task start and first source batch, the
// Kafka produce and fetch (trace context in the record headers), and the
// sink task's batch and put; and the control plane's log line carries the
// trace id.
func TestOneTraceFromAPIToSink(t *testing.T) {
	t.Parallel()
	otlp, query := testenv.Jaeger(t)
	run := fmt.Sprintf("trace-%d", time.Now().UnixNano())
	env := []string{"OTEL_EXPORTER_OTLP_ENDPOINT=http://" + otlp, "OTEL_BSP_SCHEDULE_DELAY=100",
		"OTEL_RESOURCE_ATTRIBUTES=sluice.test.run=" + run}
	c := &cluster{t: t, addr: testenv.FreeAddr(t), etcd: testenv.Etcd(t), prefix: testenv.EtcdPrefix(t), kafka: testenv.Kafka(t)}
	c.cp = startEnv(t, "controlplane", env, "controlplane", "--listen", c.addr, "--etcd", strings.Join(c.etcd, ","),
		"--etcd-prefix", c.prefix, "--name", "cp-trace", "--session-ttl", "4s")
	api, err := client.New("http://" + c.addr)
	if err != nil {
		t.Fatal(err)
	}
	c.api = api
	c.waitHealthy()
	startEnv(t, "agent", env, "agent", "--server", "http://"+c.addr, "--kafka", strings.Join(c.kafka, ","), "--name", "agent-trace")

	dir := t.TempDir()
	in, out := filepath.Join(dir, "in.txt"), filepath.Join(dir, "out.txt")
	writeLines(t, in, 0, 100)
	topic := testenv.NewTopic(t, c.kafka, 1)
	src, sink := fileCopyConfigs(in, out, topic, "")
	c.apply("trace-sink", sink)
	c.waitRunning("trace-sink")

	// The source is created by a REST call that carries a trace of ours.
	var id [16]byte
	var parent [8]byte
	_, _ = rand.Read(id[:])
	_, _ = rand.Read(parent[:])
	traceID := hex.EncodeToString(id[:])
	src["name"] = "trace-source"
	body, _ := json.Marshal(map[string]any{"name": "trace-source", "config": src})
	req, _ := http.NewRequest("POST", "http://"+c.addr+"/connectors", strings.NewReader(string(body)))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("traceparent", "00-"+traceID+"-"+hex.EncodeToString(parent[:])+"-01")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusCreated {
		t.Fatalf("POST /connectors: %d", resp.StatusCode)
	}
	testenv.WaitFor(t, time.Minute, "every line in the sink's file", func() bool { return countLines(out) >= 100 })

	// The trace, read back from Jaeger's query API.
	want := []string{
		"sluice-controlplane: POST /connectors",
		"sluice-agent: task start trace-source/0",
		"sluice-agent: source batch trace-source",
		"sluice-agent: poll",
		"sluice-agent: " + topic + " publish",
		"sluice-agent: " + topic + " receive",
		"sluice-agent: sink batch trace-sink",
		"sluice-agent: put",
	}
	var got []string
	testenv.WaitFor(t, 30*time.Second, "the trace in Jaeger with API, agent, Kafka and sink spans", func() bool {
		resp, err := http.Get("http://" + query + "/api/traces/" + traceID)
		if err != nil {
			return false
		}
		defer resp.Body.Close()
		var tr jaegerTrace
		if json.NewDecoder(resp.Body).Decode(&tr) != nil || len(tr.Data) == 0 {
			return false
		}
		got = got[:0]
		for _, s := range tr.Data[0].Spans {
			got = append(got, tr.Data[0].Processes[s.ProcessID].ServiceName+": "+s.OperationName)
		}
		for _, w := range want {
			if !slices.Contains(got, w) {
				return false
			}
		}
		return true
	})
	t.Logf("trace %s: %d spans", traceID, len(got))
	if !strings.Contains(c.cp.log.String(), "trace_id="+traceID) {
		t.Errorf("no control plane log line carries trace_id=%s", traceID)
	}
	if os.Getenv("SLUICE_TEST_VERBOSE") != "" {
		t.Logf("spans: %v", got)
	}

	// The CLI's call is a client span, continued by the control plane.
	cli := exec.Command(sluiceBin, "connector", "get", "trace-source", "--server", "http://"+c.addr)
	cli.Env = append(os.Environ(), env...)
	if out, err := cli.CombinedOutput(); err != nil {
		t.Fatalf("sluice connector get: %v\n%s", err, out)
	}
	testenv.WaitFor(t, 30*time.Second, "the CLI's trace, with the control plane's span in it", func() bool {
		resp, err := http.Get("http://" + query + "/api/traces?service=sluice-cli&limit=50&lookback=1h")
		if err != nil {
			return false
		}
		defer resp.Body.Close()
		var tr jaegerTrace
		if json.NewDecoder(resp.Body).Decode(&tr) != nil {
			return false
		}
		for _, d := range tr.Data {
			services := map[string]bool{}
			for _, s := range d.Spans {
				if strings.HasSuffix(s.OperationName, "ConnectorService/GetConnector") {
					services[d.Processes[s.ProcessID].ServiceName] = true
				}
			}
			if services["sluice-cli"] && services["sluice-controlplane"] {
				return true
			}
		}
		return false
	})
}
