package main

import (
	"bufio"
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"log"
	"maps"
	"net"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"

	"connectrpc.com/connect"
	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"

	sluicev1 "github.com/sluicehq/sluice/api/gen/sluice/v1"
	client "github.com/sluicehq/sluice/clients/go"
)

// Sides of a comparison.
const (
	sideSluice  = "sluice"
	sideFranz   = "franz-go"
	sideConnect = "kafka-connect"
)

type env struct {
	o           options
	self        string
	connectLibs string
	started     time.Time
	cp          *proc
	api         *client.Client
	runs        int
}

func (e *env) dir(name string) string {
	d := filepath.Join(e.o.work, name)
	_ = os.MkdirAll(d, 0o755)
	return d
}

func uniq(prefix string) string {
	b := make([]byte, 3)
	_, _ = rand.Read(b)
	return prefix + "-" + hex.EncodeToString(b)
}

func freePort() string {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		panic(err)
	}
	defer l.Close()
	return l.Addr().String()
}

// startControlPlane runs a control plane with an embedded etcd; it is not
// measured: the agents are.
func (e *env) startControlPlane(ctx context.Context) error {
	addr := freePort()
	data := filepath.Join(e.o.work, "controlplane")
	_ = os.RemoveAll(data)
	p, err := startProc(e.o.work, "controlplane", []string{e.o.sluice, "controlplane", "--listen", addr,
		"--data-dir", data, "--etcd-listen", "auto", "--reassign-delay", "0s", "--log-level", "warn"})
	if err != nil {
		return err
	}
	e.cp = p
	e.api, err = client.New("http://" + addr)
	if err != nil {
		return err
	}
	deadline := time.Now().Add(60 * time.Second)
	for {
		res, err := e.api.Cluster.GetClusterStatus(ctx, connect.NewRequest(&sluicev1.GetClusterStatusRequest{}))
		if err == nil && res.Msg.GetLeader() != "" {
			return nil
		}
		if time.Now().After(deadline) || p.exited() {
			return fmt.Errorf("control plane did not start (log: %s): %v", p.log, err)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func (e *env) stopControlPlane() {
	if e.cp != nil {
		e.cp.stop()
	}
}

// startAgent starts a sluice agent and waits for its registration.
func (e *env) startAgent(ctx context.Context) (*proc, error) {
	e.runs++
	name := fmt.Sprintf("bench-agent-%d", e.runs)
	p, err := startProc(e.dir("logs"), name, []string{e.o.sluice, "agent", "--server", "http://" + e.cpAddr(),
		"--kafka", strings.Join(e.o.brokers, ","), "--name", name, "--log-level", "warn"})
	if err != nil {
		return nil, err
	}
	deadline := time.Now().Add(30 * time.Second)
	for {
		res, err := e.api.Cluster.ListAgents(ctx, connect.NewRequest(&sluicev1.ListAgentsRequest{}))
		if err == nil {
			for _, a := range res.Msg.GetAgents() {
				if a.GetName() == name {
					return p, nil
				}
			}
		}
		if time.Now().After(deadline) || p.exited() {
			p.stop()
			return nil, fmt.Errorf("agent did not register (log: %s)", p.log)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func (e *env) cpAddr() string {
	args := e.cp.cmd.Args
	for i, a := range args {
		if a == "--listen" {
			return args[i+1]
		}
	}
	return ""
}

func (e *env) apply(ctx context.Context, name string, cfg map[string]string) error {
	cfg["name"] = name
	_, err := e.api.Connectors.ApplyConnector(ctx, connect.NewRequest(&sluicev1.ApplyConnectorRequest{Name: name, Config: cfg}))
	return err
}

func (e *env) deleteConnector(ctx context.Context, name string) {
	_, _ = e.api.Connectors.DeleteConnector(ctx, connect.NewRequest(&sluicev1.DeleteConnectorRequest{Name: name}))
}

// admin helpers

func (e *env) admin() (*kadm.Client, func(), error) {
	// Fresh metadata: a topic created a moment ago must not stay unknown
	// for the client's default metadata age (minutes).
	cl, err := kgo.NewClient(kgo.SeedBrokers(e.o.brokers...), kgo.MetadataMinAge(50*time.Millisecond),
		kgo.MetadataMaxAge(time.Second))
	if err != nil {
		return nil, nil, err
	}
	return kadm.NewClient(cl), cl.Close, nil
}

func (e *env) newTopic(ctx context.Context, partitions int32) (string, error) {
	adm, closeFn, err := e.admin()
	if err != nil {
		return "", err
	}
	defer closeFn()
	topic := uniq("bench")
	resp, err := adm.CreateTopic(ctx, partitions, 1, nil, topic)
	if err == nil {
		err = resp.Err
	}
	return topic, err
}

func (e *env) deleteTopic(ctx context.Context, topic string) {
	adm, closeFn, err := e.admin()
	if err != nil {
		return
	}
	defer closeFn()
	_, _ = adm.DeleteTopics(ctx, topic)
}

// topicCount returns a progress function: records in the topic.
func (e *env) topicCount(topic string) (func() (int64, error), func()) {
	adm, closeFn, err := e.admin()
	if err != nil {
		return func() (int64, error) { return 0, err }, func() {}
	}
	return func() (int64, error) {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		offs, err := adm.ListEndOffsets(ctx, topic)
		if err != nil {
			return 0, nil // transient: the topic may be being created
		}
		var n int64
		offs.Each(func(o kadm.ListedOffset) {
			if o.Err == nil {
				n += o.Offset
			}
		})
		return n, nil
	}, closeFn
}

func fileSize(path string) func() (int64, error) {
	return func() (int64, error) {
		st, err := os.Stat(path)
		if err != nil {
			return 0, nil
		}
		return st.Size(), nil
	}
}

// measurement is one side's figures for one run.
type measurement struct {
	Side    string  `json:"side"`
	Records int64   `json:"records"`
	Bytes   int64   `json:"bytes"`
	Seconds float64 `json:"seconds"`
	CPU     float64 `json:"cpu_seconds"`
	PeakRSS int64   `json:"peak_rss_bytes"`
	// Startup is the time from process start to the first record in Kafka.
	Startup float64 `json:"startup_seconds,omitempty"`
	// RSSPerTask is the resident memory per running task (many scenario).
	RSSPerTask int64 `json:"rss_per_task_bytes,omitempty"`
}

func (m measurement) recordsPerSec() float64 {
	if m.Seconds <= 0 {
		return 0
	}
	return float64(m.Records) / m.Seconds
}

func (m measurement) mbPerSec() float64 {
	if m.Seconds <= 0 {
		return 0
	}
	return float64(m.Bytes) / 1e6 / m.Seconds
}

func (m measurement) cpuPerMillion() float64 {
	if m.Records == 0 {
		return 0
	}
	return m.CPU / float64(m.Records) * 1e6
}

func fromWindow(side string, w window, records, bytes int64, p *proc) measurement {
	return measurement{Side: side, Records: records, Bytes: bytes, Seconds: w.last.Sub(w.first).Seconds(), CPU: w.cpu, PeakRSS: p.peakRSS()}
}

// row is one scenario case: Sluice and its baselines.
type row struct {
	Scenario string        `json:"scenario"`
	Case     string        `json:"case"`
	Metric   string        `json:"metric"` // what the ratio compares
	Sides    []measurement `json:"sides"`
}

// best keeps the median run of each side by throughput (or the lowest
// figure for startup and memory).
func best(ms []measurement, key func(measurement) float64) measurement {
	sort.Slice(ms, func(i, j int) bool { return key(ms[i]) < key(ms[j]) })
	return ms[len(ms)/2]
}

// alternate runs each side o.runs times, alternating the order.
func (e *env) alternate(sides []string, runOne func(side string) (measurement, error), key func(measurement) float64) ([]measurement, error) {
	got := map[string][]measurement{}
	for r := 0; r < e.o.runs; r++ {
		order := append([]string(nil), sides...)
		if r%2 == 1 {
			for i, j := 0, len(order)-1; i < j; i, j = i+1, j-1 {
				order[i], order[j] = order[j], order[i]
			}
		}
		for _, s := range order {
			m, err := runOne(s)
			if err != nil {
				return nil, fmt.Errorf("%s: %w", s, err)
			}
			switch {
			case m.Startup > 0:
				log.Printf("  %-13s run %d: first record after %.0f ms, %.2f CPU s, peak RSS %.0f MB",
					s, r+1, m.Startup*1000, m.CPU, float64(m.PeakRSS)/1e6)
			case m.RSSPerTask > 0:
				log.Printf("  %-13s run %d: %.2f MB per task, %.2f CPU s idle, peak RSS %.0f MB",
					s, r+1, float64(m.RSSPerTask)/1e6, m.CPU, float64(m.PeakRSS)/1e6)
			default:
				log.Printf("  %-13s run %d: %.0f rec/s, %.1f MB/s, %.2f CPU s, peak RSS %.0f MB",
					s, r+1, m.recordsPerSec(), m.mbPerSec(), m.CPU, float64(m.PeakRSS)/1e6)
			}
			got[s] = append(got[s], m)
		}
	}
	out := make([]measurement, 0, len(sides))
	for _, s := range sides {
		out = append(out, best(got[s], key))
	}
	return out, nil
}

func sizeName(n int) string {
	if n%1024 == 0 {
		return fmt.Sprintf("%d KB", n/1024)
	}
	return fmt.Sprintf("%d B", n)
}

// sourceScenario: datagen -> Kafka, against a plain franz-go producer.
func (e *env) sourceScenario(ctx context.Context) ([]row, error) {
	var rows []row
	for _, size := range e.o.sizes {
		n := e.records(size)
		ms, err := e.alternate([]string{sideSluice, sideFranz}, func(side string) (measurement, error) {
			topic, err := e.newTopic(ctx, 3)
			if err != nil {
				return measurement{}, err
			}
			defer e.deleteTopic(ctx, topic)
			progress, closeFn := e.topicCount(topic)
			defer closeFn()
			var p *proc
			switch side {
			case sideSluice:
				if p, err = e.startAgent(ctx); err != nil {
					return measurement{}, err
				}
				name := uniq("gen")
				defer e.deleteConnector(ctx, name)
				if err := e.apply(ctx, name, map[string]string{"connector.class": "datagen", "topic": topic,
					"records.total": strconv.FormatInt(n, 10), "record.bytes": strconv.Itoa(size),
					"value.converter": "string", "key.converter": "string"}); err != nil {
					p.stop()
					return measurement{}, err
				}
			case sideFranz:
				if p, err = startProc(e.dir("logs"), uniq("franz-produce"), []string{e.self, "child", "produce",
					strings.Join(e.o.brokers, ","), topic, strconv.FormatInt(n, 10), strconv.Itoa(size)}); err != nil {
					return measurement{}, err
				}
			}
			w, err := watch(ctx, p, 10*time.Minute, n, progress)
			e.deleteConnectorsQuietly(ctx)
			p.stop()
			if err != nil {
				return measurement{}, err
			}
			return fromWindow(side, w, n, n*int64(size), p), nil
		}, measurement.recordsPerSec)
		if err != nil {
			return nil, err
		}
		rows = append(rows, row{Scenario: "datagen → Kafka", Case: sizeName(size), Metric: "records/s", Sides: ms})
	}
	return rows, nil
}

// records is how many records a source or sink run moves: -mb megabytes,
// and at least half a million records, so that every run lasts long enough
// to time well.
func (e *env) records(size int) int64 {
	return max(int64(e.o.mb)*1_000_000/int64(size), 500_000)
}

// deleteConnectorsQuietly removes every connector (between runs).
func (e *env) deleteConnectorsQuietly(ctx context.Context) {
	res, err := e.api.Connectors.ListConnectors(ctx, connect.NewRequest(&sluicev1.ListConnectorsRequest{}))
	if err != nil {
		return
	}
	for _, c := range res.Msg.GetConnectors() {
		e.deleteConnector(ctx, c.GetName())
	}
}

// fill produces n records of size bytes (lines without newline) to a new
// topic, unmeasured.
func (e *env) fill(ctx context.Context, n int64, size int) (string, error) {
	topic, err := e.newTopic(ctx, 3)
	if err != nil {
		return "", err
	}
	p, err := startProc(e.dir("logs"), uniq("fill"), []string{e.self, "child", "produce",
		strings.Join(e.o.brokers, ","), topic, strconv.FormatInt(n, 10), strconv.Itoa(size)})
	if err != nil {
		return "", err
	}
	return topic, p.wait(10 * time.Minute)
}

// sinkScenario: Kafka -> file, against a plain franz-go consumer writing the
// same file and against Kafka Connect's FileStreamSink.
func (e *env) sinkScenario(ctx context.Context) ([]row, error) {
	var rows []row
	for _, size := range e.o.sizes {
		n := e.records(size)
		topic, err := e.fill(ctx, n, size)
		if err != nil {
			return nil, err
		}
		want := n * int64(size+1)
		sides := []string{sideSluice, sideFranz}
		if e.connectLibs != "" {
			sides = append(sides, sideConnect)
		}
		ms, err := e.alternate(sides, func(side string) (measurement, error) {
			out := filepath.Join(e.dir("files"), uniq("sink")+".txt")
			defer os.Remove(out)
			var p *proc
			var err error
			switch side {
			case sideSluice:
				if p, err = e.startAgent(ctx); err != nil {
					return measurement{}, err
				}
				if err := e.apply(ctx, uniq("sink"), map[string]string{"connector.class": "FileStreamSink", "topics": topic,
					"file": out, "value.converter": "org.apache.kafka.connect.storage.StringConverter",
					"offset.flush.interval.ms": "1000"}); err != nil {
					p.stop()
					return measurement{}, err
				}
			case sideFranz:
				p, err = startProc(e.dir("logs"), uniq("franz-consume"), []string{e.self, "child", "consume",
					strings.Join(e.o.brokers, ","), topic, out, strconv.FormatInt(n, 10)})
			case sideConnect:
				p, err = e.startConnect(uniq("connect-sink"), []map[string]string{{
					"connector.class": "org.apache.kafka.connect.file.FileStreamSinkConnector", "topics": topic, "file": out}})
			}
			if err != nil {
				return measurement{}, err
			}
			w, err := watch(ctx, p, 20*time.Minute, want, fileSize(out))
			e.deleteConnectorsQuietly(ctx)
			p.stop()
			if err != nil {
				return measurement{}, err
			}
			return fromWindow(side, w, n, n*int64(size), p), nil
		}, measurement.recordsPerSec)
		e.deleteTopic(ctx, topic)
		if err != nil {
			return nil, err
		}
		rows = append(rows, row{Scenario: "Kafka → file", Case: sizeName(size), Metric: "records/s", Sides: ms})
	}
	return rows, nil
}

// logFile writes (once) a file of lines of size-1 characters plus a
// newline, about mb megabytes; it returns the path and the line count.
func (e *env) logFile(size, mb int) (string, int64, error) {
	path := filepath.Join(e.dir("files"), fmt.Sprintf("log-%d-%dMB.txt", size, mb))
	lines := int64(mb) * 1_000_000 / int64(size)
	if st, err := os.Stat(path); err == nil && st.Size() == lines*int64(size) {
		return path, lines, nil
	}
	f, err := os.Create(path)
	if err != nil {
		return "", 0, err
	}
	w := bufio.NewWriterSize(f, 1<<20)
	line := make([]byte, 0, size)
	for i := int64(0); i < lines; i++ {
		line = line[:0]
		line = strconv.AppendInt(line, i, 10)
		line = append(line, ' ')
		for len(line) < size-1 {
			line = append(line, byte('a'+(i+int64(len(line)))%26))
		}
		line = append(line[:size-1], '\n')
		_, _ = w.Write(line)
	}
	if err := w.Flush(); err != nil {
		return "", 0, err
	}
	return path, lines, f.Close()
}

// fileSourceScenario: a log file -> Kafka, against Kafka Connect's
// FileStreamSource (and the raw producer sending the same lines).
func (e *env) fileSourceScenario(ctx context.Context) ([]row, error) {
	var rows []row
	for _, size := range e.o.sizes {
		path, n, err := e.logFile(size, e.o.fileMB)
		if err != nil {
			return nil, err
		}
		sides := []string{sideSluice}
		if e.connectLibs != "" {
			sides = append(sides, sideConnect)
		}
		ms, err := e.alternate(sides, func(side string) (measurement, error) {
			topic, err := e.newTopic(ctx, 3)
			if err != nil {
				return measurement{}, err
			}
			defer e.deleteTopic(ctx, topic)
			progress, closeFn := e.topicCount(topic)
			defer closeFn()
			var p *proc
			switch side {
			case sideSluice:
				if p, err = e.startAgent(ctx); err != nil {
					return measurement{}, err
				}
				if err := e.apply(ctx, uniq("file"), map[string]string{"connector.class": "FileStreamSource", "topic": topic,
					"file": path, "value.converter": "org.apache.kafka.connect.storage.StringConverter"}); err != nil {
					p.stop()
					return measurement{}, err
				}
			case sideConnect:
				p, err = e.startConnect(uniq("connect-file"), []map[string]string{{
					"connector.class": "org.apache.kafka.connect.file.FileStreamSourceConnector", "topic": topic, "file": path}})
				if err != nil {
					return measurement{}, err
				}
			}
			w, err := watch(ctx, p, 30*time.Minute, n, progress)
			e.deleteConnectorsQuietly(ctx)
			p.stop()
			if err != nil {
				return measurement{}, err
			}
			return fromWindow(side, w, n, n*int64(size-1), p), nil
		}, measurement.recordsPerSec)
		if err != nil {
			return nil, err
		}
		rows = append(rows, row{Scenario: fmt.Sprintf("file (%d MB) → Kafka", e.o.fileMB), Case: sizeName(size), Metric: "records/s", Sides: ms})
	}
	return rows, nil
}

// startupScenario: from process start to the first record in Kafka.
func (e *env) startupScenario(ctx context.Context) ([]row, error) {
	path := filepath.Join(e.dir("files"), "startup.txt")
	if err := os.WriteFile(path, []byte("one\ntwo\nthree\n"), 0o644); err != nil {
		return nil, err
	}
	sides := []string{sideSluice}
	if e.connectLibs != "" {
		sides = append(sides, sideConnect)
	}
	ms, err := e.alternate(sides, func(side string) (measurement, error) {
		topic, err := e.newTopic(ctx, 1)
		if err != nil {
			return measurement{}, err
		}
		defer e.deleteTopic(ctx, topic)
		progress, closeFn := e.topicCount(topic)
		defer closeFn()
		cfg := map[string]string{"connector.class": "org.apache.kafka.connect.file.FileStreamSourceConnector", "topic": topic,
			"file": path, "value.converter": "org.apache.kafka.connect.storage.StringConverter"}
		var p *proc
		switch side {
		case sideSluice:
			// The connector waits, unassigned, for the agent to come.
			if err := e.apply(ctx, uniq("startup"), cfg); err != nil {
				return measurement{}, err
			}
			e.runs++
			name := fmt.Sprintf("bench-agent-%d", e.runs)
			p, err = startProc(e.dir("logs"), name, []string{e.o.sluice, "agent", "--server", "http://" + e.cpAddr(),
				"--kafka", strings.Join(e.o.brokers, ","), "--name", name, "--log-level", "warn"})
		case sideConnect:
			delete(cfg, "value.converter")
			p, err = e.startConnect(uniq("connect-startup"), []map[string]string{cfg})
		}
		if err != nil {
			return measurement{}, err
		}
		_, err = watch(ctx, p, 2*time.Minute, 1, progress)
		first := time.Since(p.start)
		e.deleteConnectorsQuietly(ctx)
		p.stop()
		if err != nil {
			return measurement{}, err
		}
		return measurement{Side: side, Startup: first.Seconds(), PeakRSS: p.peakRSS(), CPU: p.totalCPU()}, nil
	}, func(m measurement) float64 { return -m.Startup })
	if err != nil {
		return nil, err
	}
	return []row{{Scenario: "start-up to first record", Case: "file-source", Metric: "seconds", Sides: ms}}, nil
}

// manyScenario: one agent or worker with many small connectors running at
// once; memory and CPU per task, idle after their files are copied.
func (e *env) manyScenario(ctx context.Context) ([]row, error) {
	const lines = 1000
	dir := e.dir("many")
	var files []string
	for i := 0; i < e.o.connects; i++ {
		path := filepath.Join(dir, fmt.Sprintf("in-%d.txt", i))
		var b strings.Builder
		for j := 0; j < lines; j++ {
			fmt.Fprintf(&b, "connector %d line %d\n", i, j)
		}
		if err := os.WriteFile(path, []byte(b.String()), 0o644); err != nil {
			return nil, err
		}
		files = append(files, path)
	}
	sides := []string{sideSluice}
	if e.connectLibs != "" {
		sides = append(sides, sideConnect)
	}
	const idle = 10 * time.Second
	ms, err := e.alternate(sides, func(side string) (measurement, error) {
		topic, err := e.newTopic(ctx, 3)
		if err != nil {
			return measurement{}, err
		}
		defer e.deleteTopic(ctx, topic)
		progress, closeFn := e.topicCount(topic)
		defer closeFn()
		var cfgs []map[string]string
		for _, f := range files {
			cfgs = append(cfgs, map[string]string{"connector.class": "org.apache.kafka.connect.file.FileStreamSourceConnector",
				"topic": topic, "file": f})
		}
		var p *proc
		switch side {
		case sideSluice:
			if p, err = e.startAgent(ctx); err != nil {
				return measurement{}, err
			}
			for i, c := range cfgs {
				c["value.converter"] = "org.apache.kafka.connect.storage.StringConverter"
				if err := e.apply(ctx, fmt.Sprintf("many-%d-%s", i, uniq("c")), c); err != nil {
					p.stop()
					return measurement{}, err
				}
			}
		case sideConnect:
			if p, err = e.startConnect(uniq("connect-many"), cfgs); err != nil {
				return measurement{}, err
			}
		}
		_, err = watch(ctx, p, 5*time.Minute, int64(len(files)*lines), progress)
		if err != nil {
			p.stop()
			return measurement{}, err
		}
		// Idle with every task running: what the tasks cost at rest.
		cpu0 := p.cpuSeconds()
		time.Sleep(idle)
		rss, cpu := p.rss(), p.cpuSeconds()-cpu0
		e.deleteConnectorsQuietly(ctx)
		p.stop()
		return measurement{Side: side, Records: int64(len(files) * lines), PeakRSS: p.peakRSS(), CPU: cpu,
			RSSPerTask: rss / int64(len(files))}, nil
	}, func(m measurement) float64 { return -float64(m.RSSPerTask) })
	if err != nil {
		return nil, err
	}
	return []row{{Scenario: fmt.Sprintf("%d connectors on one agent/worker", e.o.connects), Case: fmt.Sprintf("idle %s", idle),
		Metric: "RSS per task", Sides: ms}}, nil
}

// startConnect runs Apache Kafka Connect's standalone worker with the
// given connectors, with the same converters.
func (e *env) startConnect(name string, connectors []map[string]string) (*proc, error) {
	named := make([]map[string]string, len(connectors))
	for i, c := range connectors {
		named[i] = map[string]string{"name": fmt.Sprintf("%s-%d", name, i), "tasks.max": "1"}
		maps.Copy(named[i], c)
	}
	return e.connectStandalone(e.dir(filepath.Join("connect", name)), name, "2G",
		"key.converter=org.apache.kafka.connect.storage.StringConverter\n"+
			"value.converter=org.apache.kafka.connect.storage.StringConverter\n"+
			"plugin.discovery=only_scan\n", "", named)
}

// connectStandalone runs Kafka Connect's standalone worker from files in
// dir: the worker's settings (brokers, offsets file beside them, a free
// listener, then workerExtra), a log4j config at WARN plus log4jExtra, and
// one properties file per connector (keys sorted). A second start in the
// same dir resumes from the offsets the first one stored.
func (e *env) connectStandalone(dir, logName, heap, workerExtra, log4jExtra string, connectors []map[string]string) (*proc, error) {
	worker := filepath.Join(dir, "worker.properties")
	props := fmt.Sprintf("bootstrap.servers=%s\noffset.storage.file.filename=%s\noffset.flush.interval.ms=1000\nlisteners=http://%s\n%s",
		strings.Join(e.o.brokers, ","), filepath.Join(dir, "offsets"), freePort(), workerExtra)
	if err := os.WriteFile(worker, []byte(props), 0o644); err != nil {
		return nil, err
	}
	log4j := filepath.Join(dir, "log4j2.properties")
	if err := os.WriteFile(log4j, []byte(
		"rootLogger.level = WARN\nrootLogger.appenderRef.out.ref = OUT\nappender.out.type = Console\nappender.out.name = OUT\n"+
			"appender.out.layout.type = PatternLayout\nappender.out.layout.pattern = [%d] %p %m (%c)%n\n"+log4jExtra), 0o644); err != nil {
		return nil, err
	}
	args := []string{"java", "-Xms256m", "-Xmx" + heap, "-XX:+UseG1GC", "-Djava.awt.headless=true",
		"-Dlog4j2.configurationFile=" + log4j, "-cp", e.connectLibs + "/*", "org.apache.kafka.connect.cli.ConnectStandalone", worker}
	for i, c := range connectors {
		path := filepath.Join(dir, fmt.Sprintf("connector-%d.properties", i))
		var b strings.Builder
		for _, k := range slices.Sorted(maps.Keys(c)) {
			fmt.Fprintf(&b, "%s=%s\n", k, c[k])
		}
		if err := os.WriteFile(path, []byte(b.String()), 0o644); err != nil {
			return nil, err
		}
		args = append(args, path)
	}
	return startProc(e.dir("logs"), logName, args)
}
