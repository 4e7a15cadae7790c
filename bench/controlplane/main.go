// Command controlplane measures Sluice's control plane at scale: a real
// `sluice controlplane` process on a real etcd, and thousands of agents
// simulated in this process, each its own session stream doing what an
// agent does (register, heartbeats, a RUNNING report for every task it is
// given, a release for every task taken from it).
//
// For each agent count it prints: the time to schedule every task (from the
// first connector applied until every task is in an agent's assignments),
// the time to recover from the loss of 10% of the agents (until their tasks
// are in the other agents' assignments), etcd writes per second meanwhile,
// and the control plane's CPU and memory per 1,000 agents.
//
//	make bench-controlplane
//	go run ./bench/controlplane -agents 1000 -tasks 10000
package main

import (
	"bufio"
	"context"
	"crypto/rand"
	"encoding/hex"
	"flag"
	"fmt"
	"io"
	"log"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"connectrpc.com/connect"
	"google.golang.org/protobuf/types/known/timestamppb"

	sluicev1 "github.com/sluicehq/sluice/api/gen/sluice/v1"
	"github.com/sluicehq/sluice/api/gen/sluice/v1/sluicev1connect"
	"github.com/sluicehq/sluice/bench/internal/procstat"
	client "github.com/sluicehq/sluice/clients/go"
)

type options struct {
	etcd       string
	sluice     string
	agents     []int
	tasks      int
	connectors int
	ttl        time.Duration
	out        string
	work       string
	pprof      string
}

func main() {
	var o options
	var agents string
	flag.StringVar(&o.etcd, "etcd", "127.0.0.1:2379", "etcd endpoints (deploy/local/etcd.sh start)")
	flag.StringVar(&o.sluice, "sluice", "bin/sluice", "the sluice binary (make build)")
	flag.StringVar(&agents, "agents", "1000,5000,10000", "simulated agent counts, one run each")
	flag.IntVar(&o.tasks, "tasks", 50000, "tasks in every run")
	flag.IntVar(&o.connectors, "connectors", 500, "connectors the tasks belong to (tasks/connectors each)")
	flag.DurationVar(&o.ttl, "session-ttl", 10*time.Second, "the control plane's --session-ttl (heartbeats every third)")
	flag.StringVar(&o.out, "out", "bench/results/controlplane.md", "where to write the results")
	flag.StringVar(&o.work, "work", "bench/work", "scratch directory (logs)")
	flag.StringVar(&o.pprof, "pprof", "", "pass --pprof ADDR to the control plane, and save a CPU profile of the scheduling to the work directory")
	flag.Parse()
	for _, s := range strings.Split(agents, ",") {
		n, err := strconv.Atoi(strings.TrimSpace(s))
		if err != nil || n < 10 {
			log.Fatalf("-agents: %q is not a count of at least 10", s)
		}
		o.agents = append(o.agents, n)
	}
	if o.tasks%o.connectors != 0 {
		log.Fatalf("-tasks %d is not a multiple of -connectors %d", o.tasks, o.connectors)
	}
	var rows []result
	for _, n := range o.agents {
		log.Printf("run: %d agents, %d tasks in %d connectors", n, o.tasks, o.connectors)
		r, err := runOnce(o, n)
		if err != nil {
			log.Fatalf("%d agents: %v", n, err)
		}
		log.Printf("%+v", r)
		rows = append(rows, r)
	}
	report := render(o, rows)
	fmt.Print(report)
	if o.out != "" {
		if err := os.MkdirAll(filepath.Dir(o.out), 0o755); err != nil {
			log.Fatal(err)
		}
		if err := os.WriteFile(o.out, []byte(report), 0o644); err != nil {
			log.Fatal(err)
		}
		log.Printf("wrote %s", o.out)
	}
}

type result struct {
	agents            int
	register          time.Duration
	schedule          time.Duration
	scheduleWrites    float64 // etcd key writes per second while scheduling
	recover           time.Duration
	recoverWrites     float64
	idleCPU           float64       // control plane CPU cores while idle (heartbeats only)
	scheduleCPU       float64       // control plane CPU seconds to schedule everything
	latency           time.Duration // median, restart request to the agent
	rssBase           int64         // bytes, before any agent
	rssIdle, rssTasks int64         // bytes
	benchRSS          int64
}

func freeAddr() string {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		log.Fatal(err)
	}
	defer l.Close()
	return l.Addr().String()
}

func runOnce(o options, nAgents int) (result, error) {
	r := result{agents: nAgents}
	b := make([]byte, 4)
	_, _ = rand.Read(b)
	prefix := "/sluice-bench-" + hex.EncodeToString(b) + "/"
	addr := freeAddr()
	_ = os.MkdirAll(o.work, 0o755)
	logf, err := os.Create(filepath.Join(o.work, fmt.Sprintf("controlplane-%d.log", nAgents)))
	if err != nil {
		return r, err
	}
	defer logf.Close()
	cmd := exec.Command(o.sluice, "controlplane", "--listen", addr, "--etcd", o.etcd, "--etcd-prefix", prefix,
		"--name", "bench-cp", "--session-ttl", o.ttl.String(), "--reassign-delay", "0s", "--log-level", "warn")
	if o.pprof != "" {
		cmd.Args = append(cmd.Args, "--pprof", o.pprof)
	}
	cmd.Stdout, cmd.Stderr = logf, logf
	if err := cmd.Start(); err != nil {
		return r, err
	}
	defer func() {
		_ = cmd.Process.Signal(syscall.SIGTERM)
		done := make(chan struct{})
		go func() { _ = cmd.Wait(); close(done) }()
		select {
		case <-done:
		case <-time.After(20 * time.Second):
			_ = cmd.Process.Kill()
		}
		cleanEtcd(o.etcd, prefix)
	}()
	pid := cmd.Process.Pid
	api, err := client.New("http://" + addr)
	if err != nil {
		return r, err
	}
	ctx := context.Background()
	if err := waitFor(60*time.Second, "the control plane to lead", func() bool {
		res, err := api.Cluster.GetClusterStatus(ctx, connect.NewRequest(&sluicev1.GetClusterStatusRequest{}))
		return err == nil && res.Msg.GetLeader() != ""
	}); err != nil {
		return r, err
	}

	time.Sleep(time.Second)
	r.rssBase = procstat.RSS(pid)

	// Agents.
	sim := newSim("http://"+addr, nAgents)
	t0 := time.Now()
	sim.start()
	defer sim.stopAll()
	if err := waitFor(5*time.Minute, "every agent registered", func() bool { return sim.registered.Load() == int64(nAgents) }); err != nil {
		return r, err
	}
	r.register = time.Since(t0)
	time.Sleep(2 * time.Second)
	cpu0 := procCPU(pid)
	time.Sleep(10 * time.Second)
	r.idleCPU = (procCPU(pid) - cpu0) / 10
	r.rssIdle = procstat.RSS(pid)

	// Connectors: every task to schedule.
	per := o.tasks / o.connectors
	if o.pprof != "" {
		go func() {
			resp, err := http.Get("http://" + o.pprof + "/debug/pprof/profile?seconds=15")
			if err != nil {
				log.Printf("profile: %v", err)
				return
			}
			defer resp.Body.Close()
			f, err := os.Create(filepath.Join(o.work, fmt.Sprintf("controlplane-%d.pprof", nAgents)))
			if err != nil {
				return
			}
			defer f.Close()
			_, _ = io.Copy(f, resp.Body)
		}()
	}
	w0 := etcdWrites(o.etcd)
	cpu0 = procCPU(pid)
	t0 = time.Now()
	for i := range o.connectors {
		_, err := api.Connectors.ApplyConnector(ctx, connect.NewRequest(&sluicev1.ApplyConnectorRequest{
			Name: fmt.Sprintf("c%04d", i),
			Config: map[string]string{"connector.class": "datagen", "topic": "bench", "tasks.max": strconv.Itoa(per),
				"records.per.second": "1"}}))
		if err != nil {
			return r, fmt.Errorf("apply: %w", err)
		}
	}
	if err := waitFor(10*time.Minute, "every task assigned", func() bool { return sim.assigned.Load() == int64(o.tasks) }); err != nil {
		return r, fmt.Errorf("%w (assigned %d of %d)", err, sim.assigned.Load(), o.tasks)
	}
	r.schedule = time.Since(t0)
	r.scheduleCPU = procCPU(pid) - cpu0
	r.scheduleWrites = float64(etcdWrites(o.etcd)-w0) / r.schedule.Seconds()
	time.Sleep(3 * time.Second) // status reports settle
	r.rssTasks = procstat.RSS(pid)

	// How fast one change reaches its agent: restart single tasks (an
	// assignment rewrite, through the same watch and push path as the
	// scheduler's) and time each until the agent has it.
	var lat []time.Duration
	for i := range 21 {
		c, task := fmt.Sprintf("c%04d", (i*37)%o.connectors), int32((i*13)%per)
		t1 := time.Now()
		if _, err := api.Connectors.RestartTask(ctx, connect.NewRequest(&sluicev1.RestartTaskRequest{Name: c, Task: task})); err != nil {
			return r, fmt.Errorf("restart: %w", err)
		}
		if err := waitFor(30*time.Second, "the restart at the agent", func() bool { return sim.restartOf(c, task) == 1 }); err != nil {
			return r, err
		}
		lat = append(lat, time.Since(t1))
	}
	slices.Sort(lat)
	r.latency = lat[len(lat)/2]

	// Lose 10% of the agents.
	w0 = etcdWrites(o.etcd)
	t0 = time.Now()
	lost := sim.kill(nAgents / 10)
	log.Printf("killed %d agents", lost)
	if err := waitFor(10*time.Minute, "the lost agents' tasks reassigned", func() bool {
		return sim.assigned.Load() == int64(o.tasks)
	}); err != nil {
		return r, fmt.Errorf("%w (assigned %d of %d after losing %d agents)", err, sim.assigned.Load(), o.tasks, lost)
	}
	r.recover = time.Since(t0)
	r.recoverWrites = float64(etcdWrites(o.etcd)-w0) / r.recover.Seconds()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	r.benchRSS = int64(ms.Sys)
	return r, nil
}

func waitFor(timeout time.Duration, what string, cond func() bool) error {
	deadline := time.Now().Add(timeout)
	for !cond() {
		if time.Now().After(deadline) {
			return fmt.Errorf("timed out after %s waiting for %s", timeout, what)
		}
		time.Sleep(10 * time.Millisecond)
	}
	return nil
}

// sim runs simulated agents.
// agentState counts a simulated agent's tasks; once dead, they no longer
// count.
type agentState struct {
	mu   sync.Mutex
	n    int
	dead bool
}

type sim struct {
	restarts   sync.Map // "connector/task" -> restart number last received
	url        string
	n          int
	group      int // agents per connection
	clients    []*http.Client
	conns      [][]net.Conn
	connMu     sync.Mutex
	registered atomic.Int64
	assigned   atomic.Int64
	cancels    []context.CancelFunc
	states     []*agentState
	wg         sync.WaitGroup
}

func newSim(url string, n int) *sim {
	// Spread the streams over connections, as separate agents would be;
	// the agents killed (the first tenth) have connections of their own,
	// which are cut: a dead agent's connection dies with it.
	s := &sim{url: url, n: n, group: max(1, min(100, n/10))}
	for g := 0; g < (n+s.group-1)/s.group; g++ {
		hc := client.NewHTTPClient()
		tr := hc.Transport.(*http.Transport)
		s.conns = append(s.conns, nil)
		tr.DialContext = func(ctx context.Context, network, addr string) (net.Conn, error) {
			c, err := (&net.Dialer{}).DialContext(ctx, network, addr)
			if err == nil {
				s.connMu.Lock()
				s.conns[g] = append(s.conns[g], c)
				s.connMu.Unlock()
			}
			return c, err
		}
		s.clients = append(s.clients, hc)
	}
	return s
}

func (s *sim) start() {
	sem := make(chan struct{}, 200) // registrations in flight
	for i := range s.n {
		ctx, cancel := context.WithCancel(context.Background())
		s.cancels = append(s.cancels, cancel)
		s.states = append(s.states, &agentState{})
		s.wg.Add(1)
		go func() {
			defer s.wg.Done()
			sem <- struct{}{}
			s.agent(ctx, i, func() { <-sem })
		}()
	}
}

func (s *sim) restartOf(c string, t int32) int64 {
	v, ok := s.restarts.Load(fmt.Sprintf("%s/%d", c, t))
	if !ok {
		return -1
	}
	return v.(int64)
}

// kill ends the sessions of the first n agents, as if they died.
func (s *sim) kill(n int) int {
	for i := range n {
		st := s.states[i]
		st.mu.Lock()
		st.dead = true
		s.assigned.Add(-int64(st.n))
		st.mu.Unlock()
		s.cancels[i]()
	}
	s.connMu.Lock()
	defer s.connMu.Unlock()
	for g := 0; g < n/s.group; g++ {
		for _, c := range s.conns[g] {
			_ = c.Close()
		}
	}
	return n
}

func (s *sim) stopAll() {
	for _, c := range s.cancels {
		c()
	}
	s.wg.Wait()
}

// agent is one simulated agent: one session, heartbeats, a RUNNING report
// for each task it is given and a release for each task taken away.
func (s *sim) agent(ctx context.Context, i int, registered func()) {
	ac := sluicev1connect.NewAgentServiceClient(s.clients[i/s.group], s.url, connect.WithGRPC())
	stream := ac.Session(ctx)
	defer func() {
		_ = stream.CloseRequest()
		_ = stream.CloseResponse()
	}()
	name := fmt.Sprintf("sim-%05d", i)
	once := sync.OnceFunc(registered)
	defer once()
	if err := stream.Send(&sluicev1.SessionRequest{Msg: &sluicev1.SessionRequest_Register{Register: &sluicev1.Register{Name: name}}}); err != nil {
		return
	}
	first, err := stream.Receive()
	if err != nil || first.GetRegistered() == nil {
		log.Printf("%s: register: %v", name, err)
		return
	}
	s.registered.Add(1)
	once()
	interval := first.GetRegistered().GetHeartbeatInterval().AsDuration()
	var sendMu sync.Mutex
	send := func(m *sluicev1.SessionRequest) {
		sendMu.Lock()
		defer sendMu.Unlock()
		_ = stream.Send(m)
	}
	go func() {
		t := time.NewTicker(interval)
		defer t.Stop()
		for {
			select {
			case <-ctx.Done():
				return
			case <-t.C:
				send(&sluicev1.SessionRequest{Msg: &sluicev1.SessionRequest_Heartbeat{Heartbeat: &sluicev1.Heartbeat{SendTime: timestamppb.Now()}}})
			}
		}
	}()
	type key struct {
		c string
		t int32
	}
	have := map[key]int64{}
	st := s.states[i]
	for {
		m, err := stream.Receive()
		if err != nil {
			return
		}
		as := m.GetAssignments()
		if as == nil {
			continue
		}
		next := make(map[key]int64, len(as.GetTasks()))
		for _, t := range as.GetTasks() {
			k := key{t.GetTask().GetConnector(), t.GetTask().GetTask()}
			next[k] = t.GetEpoch()
			if t.GetRestart() > 0 {
				s.restarts.Store(fmt.Sprintf("%s/%d", k.c, k.t), t.GetRestart())
			}
			if have[k] != t.GetEpoch() {
				send(&sluicev1.SessionRequest{Msg: &sluicev1.SessionRequest_TaskState{TaskState: &sluicev1.TaskStateReport{
					Task: t.GetTask(), Epoch: t.GetEpoch(), State: sluicev1.State_STATE_RUNNING}}})
			}
		}
		for k, epoch := range have {
			if _, ok := next[k]; !ok {
				send(&sluicev1.SessionRequest{Msg: &sluicev1.SessionRequest_TaskState{TaskState: &sluicev1.TaskStateReport{
					Task: &sluicev1.TaskRef{Connector: k.c, Task: k.t}, Epoch: epoch, State: sluicev1.State_STATE_UNASSIGNED}}})
			}
		}
		st.mu.Lock()
		if !st.dead {
			s.assigned.Add(int64(len(next) - st.n))
		}
		st.n = len(next)
		st.mu.Unlock()
		have = next
	}
}

// procCPU is a process's CPU seconds (user+system).
func procCPU(pid int) float64 {
	cpu, _ := procstat.CPU(pid)
	return cpu
}

// etcdWrites is etcd's count of key writes (puts and deletes) so far.
func etcdWrites(endpoints string) int64 {
	ep := strings.Split(endpoints, ",")[0]
	resp, err := http.Get("http://" + ep + "/metrics")
	if err != nil {
		return 0
	}
	defer resp.Body.Close()
	var n int64
	sc := bufio.NewScanner(resp.Body)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		line := sc.Text()
		for _, m := range []string{"etcd_mvcc_put_total ", "etcd_mvcc_delete_total "} {
			if v, ok := strings.CutPrefix(line, m); ok {
				f, _ := strconv.ParseFloat(strings.TrimSpace(v), 64)
				n += int64(f)
			}
		}
	}
	return n
}

// cleanEtcd removes the run's keys.
func cleanEtcd(endpoints, prefix string) {
	ep := strings.Split(endpoints, ",")[0]
	key := encode(prefix)
	end := encode(prefix[:len(prefix)-1] + string(prefix[len(prefix)-1]+1))
	body := `{"key":"` + key + `","range_end":"` + end + `"}`
	resp, err := http.Post("http://"+ep+"/v3/kv/deleterange", "application/json", strings.NewReader(body))
	if err == nil {
		resp.Body.Close()
	}
}

func encode(s string) string {
	const enc = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"
	b := []byte(s)
	var out strings.Builder
	for i := 0; i < len(b); i += 3 {
		var n uint32
		rem := len(b) - i
		for j := range 3 {
			n <<= 8
			if j < rem {
				n |= uint32(b[i+j])
			}
		}
		for j := range 4 {
			if j <= rem {
				out.WriteByte(enc[(n>>(18-6*uint(j)))&63])
			} else {
				out.WriteByte('=')
			}
		}
	}
	return out.String()
}

func render(o options, rows []result) string {
	var b strings.Builder
	fmt.Fprintf(&b, "# Control plane at scale\n\n")
	fmt.Fprintf(&b, "One `sluice controlplane` process on a real etcd (%s), agents simulated in the benchmark process (one session stream each; heartbeats every %s; a RUNNING report per task received). %d tasks in %d datagen connectors. Measured %s on %d cores (%s/%s).\n\n",
		o.etcd, o.ttl/3, o.tasks, o.connectors, time.Now().UTC().Format("2006-01-02"), runtime.NumCPU(), runtime.GOOS, runtime.GOARCH)
	fmt.Fprintf(&b, "| agents | register all | schedule all tasks | etcd writes/s | CPU to schedule | one change to its agent | recover from 10%% lost | etcd writes/s | idle CPU per 1,000 agents | memory per 1,000 agents | memory with every task |\n")
	fmt.Fprintf(&b, "|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|\n")
	for _, r := range rows {
		k := float64(r.agents) / 1000
		fmt.Fprintf(&b, "| %d | %.2f s | %.2f s | %.0f | %.1f s | %.0f ms | %.2f s | %.0f | %.1f%% of a core | %.1f MB | %.0f MB |\n",
			r.agents, r.register.Seconds(), r.schedule.Seconds(), r.scheduleWrites, r.scheduleCPU, float64(r.latency.Microseconds())/1000,
			r.recover.Seconds(), r.recoverWrites,
			100*r.idleCPU/k, float64(r.rssIdle-r.rssBase)/1e6/k, float64(r.rssTasks)/1e6)
	}
	fmt.Fprintf(&b, "\nSchedule: from the first of the %d connectors applied until every task is in an agent's assignments (applies included). One change to its agent: median of 21 RestartTask calls, from the request until the agent has the new assignment (the same watch and push path the scheduler's decisions take). Recover: from ending 10%% of the sessions until their tasks are in the other agents' assignments (--reassign-delay 0). etcd writes: puts and deletes counted by etcd (etcd_mvcc_put_total + etcd_mvcc_delete_total), task status reports included. Memory per 1,000 agents: the control plane's resident set with every agent connected and no task, less the set before any agent, per 1,000 agents; with every task: the whole resident set once everything is scheduled.\n", o.connectors)
	return b.String()
}
