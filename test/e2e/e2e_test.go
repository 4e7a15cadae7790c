// Package e2e runs Sluice as its users do: the sluice binary as separate
// control plane and agent processes, against a real Kafka broker and a real
// etcd (started by `make test`), killed and restarted with real signals.
package e2e

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"connectrpc.com/connect"

	sluicev1 "github.com/sluicehq/sluice/api/gen/sluice/v1"
	client "github.com/sluicehq/sluice/clients/go"
	"github.com/sluicehq/sluice/internal/testenv"
)

var sluiceBin string

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "sluice-e2e-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	sluiceBin = filepath.Join(dir, "sluice")
	build := exec.Command("go", "build", "-o", sluiceBin, "../../cmd/sluice")
	build.Stdout, build.Stderr = os.Stderr, os.Stderr
	if err := build.Run(); err != nil {
		fmt.Fprintln(os.Stderr, "build sluice:", err)
		os.Exit(1)
	}
	code := m.Run()
	os.RemoveAll(dir)
	printChaosTable()
	os.Exit(code)
}

// proc is a sluice process the test owns.
type proc struct {
	t    testing.TB
	name string
	args []string
	cmd  *exec.Cmd
	log  *lockedBuffer
	done chan struct{}
	// env is added to the process's environment.
	env []string
}

type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

func start(t testing.TB, name string, args ...string) *proc {
	t.Helper()
	return startEnv(t, name, nil, args...)
}

// startEnv is start with env added to the process's environment.
func startEnv(t testing.TB, name string, env []string, args ...string) *proc {
	t.Helper()
	p := &proc{t: t, name: name, args: args, log: &lockedBuffer{}, env: env}
	p.start()
	t.Cleanup(func() {
		p.kill()
		if t.Failed() {
			t.Logf("---- %s log ----\n%s", p.name, tail(p.log.String(), 60))
		}
	})
	return p
}

func (p *proc) start() {
	p.t.Helper()
	p.cmd = exec.Command(sluiceBin, p.args...)
	if p.env != nil {
		p.cmd.Env = append(os.Environ(), p.env...)
	}
	p.cmd.Stdout, p.cmd.Stderr = p.log, p.log
	p.done = make(chan struct{})
	if err := p.cmd.Start(); err != nil {
		p.t.Fatalf("start %s: %v", p.name, err)
	}
	go func(cmd *exec.Cmd, done chan struct{}) {
		_ = cmd.Wait()
		close(done)
	}(p.cmd, p.done)
}

// signal sends sig and waits for the process to end.
func (p *proc) signal(sig syscall.Signal) {
	p.t.Helper()
	select {
	case <-p.done:
		return
	default:
	}
	_ = p.cmd.Process.Signal(sig)
	select {
	case <-p.done:
	case <-time.After(30 * time.Second):
		_ = p.cmd.Process.Kill()
		<-p.done
		p.t.Errorf("%s did not end within 30s of %v", p.name, sig)
	}
}

func (p *proc) kill() { p.signal(syscall.SIGKILL) }

func tail(s string, n int) string {
	lines := strings.Split(s, "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}

// cluster is a control plane and its settings.
type cluster struct {
	t      testing.TB
	addr   string
	etcd   []string
	prefix string
	kafka  []string
	cp     *proc
	api    *client.Client
}

func newCluster(t *testing.T) *cluster {
	t.Helper()
	c := &cluster{
		t:      t,
		addr:   testenv.FreeAddr(t),
		etcd:   testenv.Etcd(t),
		prefix: testenv.EtcdPrefix(t),
		kafka:  testenv.Kafka(t),
	}
	c.startControlPlane()
	api, err := client.New("http://" + c.addr)
	if err != nil {
		t.Fatal(err)
	}
	c.api = api
	c.waitHealthy()
	return c
}

func (c *cluster) startControlPlane() {
	c.cp = start(c.t, "controlplane", "controlplane", "--listen", c.addr, "--etcd", strings.Join(c.etcd, ","),
		"--etcd-prefix", c.prefix, "--name", "cp-test", "--session-ttl", "4s", "--reassign-delay", "10s")
}

func (c *cluster) waitHealthy() {
	c.t.Helper()
	testenv.WaitFor(c.t, 30*time.Second, "the control plane to answer", func() bool {
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		defer cancel()
		res, err := c.api.Cluster.GetClusterStatus(ctx, connect.NewRequest(&sluicev1.GetClusterStatusRequest{}))
		return err == nil && res.Msg.GetHealthy() && res.Msg.GetLeader() != ""
	})
}

func (c *cluster) startAgent(name string) *proc {
	return start(c.t, name, "agent", "--server", "http://"+c.addr, "--kafka", strings.Join(c.kafka, ","), "--name", name)
}

func (c *cluster) apply(name string, config map[string]string) {
	c.t.Helper()
	config["name"] = name
	_, err := c.api.Connectors.ApplyConnector(context.Background(), connect.NewRequest(&sluicev1.ApplyConnectorRequest{Name: name, Config: config}))
	if err != nil {
		c.t.Fatalf("apply %s: %v", name, err)
	}
}

func (c *cluster) status(name string) *sluicev1.ConnectorStatus {
	c.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	res, err := c.api.Connectors.GetConnectorStatus(ctx, connect.NewRequest(&sluicev1.GetConnectorStatusRequest{Name: name}))
	if err != nil {
		return nil
	}
	return res.Msg.GetStatus()
}

func (c *cluster) waitRunning(name string) *sluicev1.ConnectorStatus {
	c.t.Helper()
	var st *sluicev1.ConnectorStatus
	testenv.WaitFor(c.t, 60*time.Second, name+" and all its tasks RUNNING", func() bool {
		st = c.status(name)
		if st == nil || st.GetConnector().GetState() != sluicev1.State_STATE_RUNNING || len(st.GetTasks()) == 0 {
			return false
		}
		for _, ts := range st.GetTasks() {
			if ts.GetState() != sluicev1.State_STATE_RUNNING {
				return false
			}
		}
		return true
	})
	return st
}

// writeLines appends lines [from, to) of a deterministic text to path.
func writeLines(t testing.TB, path string, from, to int) {
	t.Helper()
	f, err := os.OpenFile(path, os.O_CREATE|os.O_APPEND|os.O_WRONLY, 0o644)
	if err != nil {
		t.Fatal(err)
	}
	w := bufio.NewWriterSize(f, 1<<20)
	for i := from; i < to; i++ {
		fmt.Fprintln(w, line(i))
	}
	if err := w.Flush(); err != nil {
		t.Fatal(err)
	}
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
}

// line i: varied lengths, empty lines, quotes and non-ASCII text.
func line(i int) string {
	switch i % 7 {
	case 0:
		return fmt.Sprintf("line %d", i)
	case 1:
		return ""
	case 2:
		return fmt.Sprintf(`{"id":%d,"note":"quoted \"json\" in a line"}`, i)
	case 3:
		return fmt.Sprintf("%d: naïve café, Zürich — ✓", i)
	case 4:
		return strings.Repeat("x", i%300) + fmt.Sprint(i)
	case 5:
		return fmt.Sprintf("\ttabbed\t%d\t", i)
	default:
		return fmt.Sprintf("%08d %s", i, strings.Repeat("abc ", 20))
	}
}

func countLines(path string) int {
	f, err := os.Open(path)
	if err != nil {
		return 0
	}
	defer f.Close()
	n := 0
	buf := make([]byte, 1<<20)
	for {
		k, err := f.Read(buf)
		n += bytes.Count(buf[:k], []byte{'\n'})
		if err == io.EOF || err != nil {
			return n
		}
	}
}

func fileCopyConfigs(in, out, topic, converter string) (src, sink map[string]string) {
	src = map[string]string{
		"connector.class": "org.apache.kafka.connect.file.FileStreamSourceConnector",
		"file":            in,
		"topic":           topic,
	}
	sink = map[string]string{
		"connector.class": "FileStreamSink",
		"file":            out,
		"topics":          topic,
	}
	if converter != "" {
		src["value.converter"], sink["value.converter"] = converter, converter
	}
	return src, sink
}

// TestFileToKafkaToFile copies a 100,000-line file through Kafka into an
// identical file, with Kafka Connect's config names and class names and the
// default converter (JsonConverter with schemas), as a Kafka Connect user
// would write them.
func TestFileToKafkaToFile(t *testing.T) {
	c := newCluster(t)
	c.startAgent("agent-1")
	dir := t.TempDir()
	in, out := filepath.Join(dir, "in.txt"), filepath.Join(dir, "out.txt")
	const n = 100_000
	writeLines(t, in, 0, n)
	topic := testenv.NewTopic(t, c.kafka, 1)
	t.Logf("topic %s ready", topic)
	src, sink := fileCopyConfigs(in, out, topic, "")
	c.apply("copy-source", src)
	c.apply("copy-sink", sink)
	st := c.waitRunning("copy-source")
	if got := st.GetTasks()[0].GetWorkerId(); got != "agent-1" {
		t.Errorf("source task worker_id = %q, want agent-1", got)
	}
	c.waitRunning("copy-sink")
	t.Log("both connectors running")
	testenv.WaitFor(t, 2*time.Minute, "all lines in the output file", func() bool { return countLines(out) >= n })
	t.Log("all lines copied")
	want, _ := os.ReadFile(in)
	got, _ := os.ReadFile(out)
	if !bytes.Equal(want, got) {
		t.Fatalf("output differs from input: %d bytes in, %d bytes out", len(want), len(got))
	}
	// Both connectors' active topics name the topic (KIP-558): the source
	// produced to it, the sink consumed from it.
	for _, name := range []string{"copy-source", "copy-sink"} {
		testenv.WaitFor(t, 10*time.Second, name+"'s active topics", func() bool {
			res, err := c.api.Connectors.GetConnectorTopics(context.Background(), connect.NewRequest(&sluicev1.GetConnectorTopicsRequest{Name: name}))
			return err == nil && fmt.Sprint(res.Msg.GetTopics()) == "["+topic+"]"
		})
	}
}

// TestAgentKilledMidCopy SIGKILLs the agent while it copies and starts it
// again: every line arrives (duplicates are allowed: at-least-once).
func TestAgentKilledMidCopy(t *testing.T) {
	c := newCluster(t)
	agent := c.startAgent("agent-k")
	dir := t.TempDir()
	in, out := filepath.Join(dir, "in.txt"), filepath.Join(dir, "out.txt")
	const n = 100_000
	writeLines(t, in, 0, n/2)
	topic := testenv.NewTopic(t, c.kafka, 1)
	src, sink := fileCopyConfigs(in, out, topic, "org.apache.kafka.connect.storage.StringConverter")
	c.apply("kill-source", src)
	c.apply("kill-sink", sink)
	testenv.WaitFor(t, time.Minute, "the copy to start", func() bool { return countLines(out) > 0 })
	agent.kill()
	// More lines arrive while the agent is dead.
	writeLines(t, in, n/2, n)
	agent.start()
	c.waitRunning("kill-source")
	testenv.WaitFor(t, 2*time.Minute, "all lines in the output file", func() bool { return countLines(out) >= n })
	// Let any in-flight duplicates land, then check: nothing lost.
	got := map[string]int{}
	f, err := os.Open(out)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		got[sc.Text()]++
	}
	missing := 0
	for i := 0; i < n; i++ {
		if got[line(i)] == 0 {
			if missing < 5 {
				t.Errorf("line %d missing: %q", i, line(i))
			}
			missing++
		}
	}
	if missing > 0 {
		t.Fatalf("%d of %d lines lost after SIGKILL", missing, n)
	}
}

// TestControlPlaneRestart stops the control plane and starts it again: the
// connectors are still there, the tasks never stopped (same epochs), and
// data keeps moving.
func TestControlPlaneRestart(t *testing.T) {
	c := newCluster(t)
	c.startAgent("agent-r")
	dir := t.TempDir()
	in, out := filepath.Join(dir, "in.txt"), filepath.Join(dir, "out.txt")
	writeLines(t, in, 0, 1000)
	topic := testenv.NewTopic(t, c.kafka, 1)
	src, sink := fileCopyConfigs(in, out, topic, "string")
	c.apply("restart-source", src)
	c.apply("restart-sink", sink)
	before := c.waitRunning("restart-source")
	testenv.WaitFor(t, time.Minute, "the first lines copied", func() bool { return countLines(out) >= 1000 })

	c.cp.kill()
	// Data keeps moving while the control plane is away.
	writeLines(t, in, 1000, 2000)
	testenv.WaitFor(t, time.Minute, "lines copied without a control plane", func() bool { return countLines(out) >= 2000 })
	c.startControlPlane()
	c.waitHealthy()

	res, err := c.api.Connectors.ListConnectors(context.Background(), connect.NewRequest(&sluicev1.ListConnectorsRequest{}))
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, cn := range res.Msg.GetConnectors() {
		names = append(names, cn.GetName())
	}
	if strings.Join(names, ",") != "restart-sink,restart-source" {
		t.Fatalf("connectors after restart = %v", names)
	}
	after := c.waitRunning("restart-source")
	if b, a := before.GetTasks()[0].GetEpoch(), after.GetTasks()[0].GetEpoch(); a != b {
		t.Errorf("source task epoch changed across a control plane restart: %d -> %d", b, a)
	}
	c.waitRunning("restart-sink")
	writeLines(t, in, 2000, 3000)
	testenv.WaitFor(t, time.Minute, "lines copied after the restart", func() bool { return countLines(out) >= 3000 })
}

// TestDevMode runs `sluice dev` with its in-process broker and copies a
// 200,000-line file through it with a file-source and file-sink pair.
func TestDevMode(t *testing.T) {
	dir := t.TempDir()
	addr := testenv.FreeAddr(t)
	kafkaAddr := testenv.FreeAddr(t)
	start(t, "dev", "dev", "--listen", addr, "--kafka-listen", kafkaAddr, "--data-dir", filepath.Join(dir, "data"))
	api, err := client.New("http://" + addr)
	if err != nil {
		t.Fatal(err)
	}
	c := &cluster{t: t, addr: addr, api: api}
	c.waitHealthy()
	testenv.WaitFor(t, 30*time.Second, "dev-agent registered", func() bool {
		res, err := api.Cluster.ListAgents(context.Background(), connect.NewRequest(&sluicev1.ListAgentsRequest{}))
		return err == nil && len(res.Msg.GetAgents()) == 1 && res.Msg.GetAgents()[0].GetName() == "dev-agent"
	})
	in, out := filepath.Join(dir, "in.txt"), filepath.Join(dir, "out.txt")
	const n = 200_000
	writeLines(t, in, 0, n)
	src, sink := fileCopyConfigs(in, out, "dev-copy", "string")
	c.apply("dev-source", src)
	c.apply("dev-sink", sink)
	c.waitRunning("dev-source")
	testenv.WaitFor(t, 2*time.Minute, "all lines in the output file", func() bool { return countLines(out) >= n })
	want, _ := os.ReadFile(in)
	got, _ := os.ReadFile(out)
	if !bytes.Equal(want, got) {
		t.Fatalf("output differs from input: %d bytes in, %d bytes out", len(want), len(got))
	}
}
