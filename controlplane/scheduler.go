package controlplane

import (
	"cmp"
	"container/heap"
	"context"
	"fmt"
	"maps"
	"slices"
	"strings"
	"time"

	clientv3 "go.etcd.io/etcd/client/v3"

	"github.com/sluicehq/sluice/connectors"
	"github.com/sluicehq/sluice/internal/placement"
)

func sortTasks(ts []taskKey) {
	slices.SortFunc(ts, func(a, b taskKey) int {
		return cmp.Or(cmp.Compare(a.Connector, b.Connector), cmp.Compare(a.Task, b.Task))
	})
}

// scheduler places tasks on agents. It runs on the leader only, and every
// write it makes is guarded by the leader key's create revision, so a
// deposed leader writes nothing.
type scheduler struct {
	cp        *ControlPlane
	leaderKey string
	leaderRev int64
	// lost remembers since when an agent that holds tasks has been gone.
	// An agent already gone when this replica became leader counts from
	// then: a new leader always grants the full grace period.
	lost map[string]time.Time
	// gone are the lost agents whose grace period ended (their tasks
	// moved), each counted once in sluice_controlplane_agents_lost_total.
	gone map[string]bool
}

// run schedules on every change of connectors, tasks, agents or
// assignments, and when a lost agent's grace period ends.
func (s *scheduler) run(ctx context.Context) error {
	k := s.cp.keys
	wctx, cancel := context.WithCancel(clientv3.WithRequireLeader(ctx))
	defer cancel()
	changes := make(chan struct{}, 1)
	go watchPrefixes(wctx, s.cp.etcd, s.cp.log, changes,
		k.prefix+pfxConnectors, k.prefix+pfxTasks, k.prefix+pfxAgents, k.prefix+pfxAssign, k.prefix+pfxMoves)
	timer := time.NewTimer(0)
	defer timer.Stop()
	for {
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-changes:
		case <-timer.C:
		}
		next, err := s.once(ctx)
		if err != nil {
			if ctx.Err() != nil {
				return ctx.Err()
			}
			s.cp.log.Warn("scheduling failed; retrying", "err", err)
			next = time.Second
		}
		if next > 0 {
			timer.Reset(next)
		}
	}
}

// placer answers where tasks may go, from one snapshot.
type placer struct {
	snap *snapshot
	// load counts the tasks assigned to each live agent.
	load map[string]int
	// weight is each live agent's share: its capacity, or the mean
	// capacity of the agents that have one (1 when none has).
	weight map[string]float64
	sels   map[string]placement.Selector
	bad    map[string]error
	// heaps holds, per selector, the agents it matches, least full
	// first (entries go stale as loads change and are fixed lazily).
	heaps map[string]*agentHeap
}

type heapItem struct {
	fill float64
	name string
	load int
}

type agentHeap struct {
	sel   placement.Selector
	items []heapItem
}

func (h *agentHeap) Len() int { return len(h.items) }
func (h *agentHeap) Less(i, j int) bool {
	a, b := h.items[i], h.items[j]
	return a.fill < b.fill || (a.fill == b.fill && a.name < b.name)
}
func (h *agentHeap) Swap(i, j int) { h.items[i], h.items[j] = h.items[j], h.items[i] }
func (h *agentHeap) Push(x any)    { h.items = append(h.items, x.(heapItem)) }
func (h *agentHeap) Pop() any {
	x := h.items[len(h.items)-1]
	h.items = h.items[:len(h.items)-1]
	return x
}

func newPlacer(snap *snapshot) *placer {
	p := &placer{snap: snap, load: map[string]int{}, weight: map[string]float64{},
		sels: map[string]placement.Selector{}, bad: map[string]error{}, heaps: map[string]*agentHeap{}}
	var sum float64
	n := 0
	for _, a := range snap.agents {
		if a.Capacity > 0 {
			sum += float64(a.Capacity)
			n++
		}
	}
	def := 1.0
	if n > 0 {
		def = sum / float64(n)
	}
	for name, a := range snap.agents {
		p.load[name] = 0
		p.weight[name] = def
		if a.Capacity > 0 {
			p.weight[name] = float64(a.Capacity)
		}
	}
	for tk, as := range snap.assign {
		if _, alive := snap.agents[as.Agent]; alive && snap.wanted(tk) {
			p.load[as.Agent]++
		}
	}
	for name, c := range snap.connectors {
		sel, err := placement.Parse(c.Config[connectors.KeyPlacementSelector])
		if err != nil {
			p.bad[name] = err
		}
		p.sels[name] = sel
	}
	return p
}

// matches reports whether agent may run tasks of connector c, room aside.
func (p *placer) matches(c, agent string) bool {
	return p.bad[c] == nil && p.eligible(p.sels[c], agent)
}

func (p *placer) room(agent string) bool {
	a := p.snap.agents[agent]
	return a.Capacity <= 0 || p.load[agent] < int(a.Capacity)
}

// fill is how full agent would be with n tasks.
func (p *placer) fill(agent string, n int) float64 { return float64(n) / p.weight[agent] }

// eligible reports whether agent is live, not draining and matches sel.
func (p *placer) eligible(sel placement.Selector, agent string) bool {
	a, ok := p.snap.agents[agent]
	return ok && !a.Draining && sel.Matches(a.Labels)
}

func (p *placer) item(name string) heapItem {
	return heapItem{fill: p.fill(name, p.load[name]+1), name: name, load: p.load[name]}
}

// pick chooses the agent that matches c, has room and would be least full
// with one more task ("" if none). The caller that places a task there
// raises p.load; one that lowers a load calls p.lowered.
func (p *placer) pick(c string) string {
	if p.bad[c] != nil {
		return ""
	}
	sel := p.sels[c]
	h, ok := p.heaps[sel.String()]
	if !ok {
		h = &agentHeap{sel: sel}
		for name := range p.snap.agents {
			if p.eligible(sel, name) && p.room(name) {
				h.items = append(h.items, p.item(name))
			}
		}
		heap.Init(h)
		p.heaps[sel.String()] = h
	}
	for h.Len() > 0 {
		top := h.items[0]
		if top.load != p.load[top.name] {
			heap.Pop(h)
			if p.room(top.name) {
				heap.Push(h, p.item(top.name))
			}
			continue
		}
		if !p.room(top.name) {
			heap.Pop(h)
			continue
		}
		return top.name
	}
	return ""
}

// lowered records that agent's load went down.
func (p *placer) lowered(agent string) {
	for _, h := range p.heaps {
		if p.eligible(h.sel, agent) && p.room(agent) {
			heap.Push(h, p.item(agent))
		}
	}
}

// minFill is the least any live agent would be filled with one more task:
// no task can move to a better place than that.
func (p *placer) minFill() float64 {
	m := -1.0
	for name, a := range p.snap.agents {
		if a.Draining || !p.room(name) {
			continue
		}
		if f := p.fill(name, p.load[name]+1); m < 0 || f < m {
			m = f
		}
	}
	return m
}

// whyUnplaced says why no agent takes a task of connector c.
func (p *placer) whyUnplaced(c string) string {
	if err := p.bad[c]; err != nil {
		return "placement.selector: " + err.Error()
	}
	if len(p.snap.agents) == 0 {
		return "no agent is connected"
	}
	var matching, draining []string
	for _, name := range slices.Sorted(maps.Keys(p.snap.agents)) {
		a := p.snap.agents[name]
		if !p.sels[c].Matches(a.Labels) {
			continue
		}
		if a.Draining {
			draining = append(draining, name)
			continue
		}
		matching = append(matching, name)
	}
	switch {
	case len(matching) == 0 && len(draining) > 0:
		return fmt.Sprintf("the agents that match are stopping (%s)", strings.Join(draining, ", "))
	case len(matching) == 0:
		var labels []string
		for _, name := range slices.Sorted(maps.Keys(p.snap.agents)) {
			labels = append(labels, name+" {"+placement.FormatLabels(p.snap.agents[name].Labels)+"}")
		}
		return fmt.Sprintf("no live agent matches placement.selector %q; agents: %s", p.sels[c].String(), strings.Join(labels, ", "))
	default:
		for _, name := range matching {
			if p.room(name) {
				return "waiting for the scheduler"
			}
		}
		return fmt.Sprintf("every agent that may run it is at capacity (%s)", strings.Join(matching, ", "))
	}
}

// once makes one scheduling pass. It returns when the next pass is due
// without any change (0: only on change).
func (s *scheduler) once(ctx context.Context) (time.Duration, error) {
	snap, err := loadKeys(ctx, s.cp.etcd, s.cp.keys)
	if err != nil {
		return 0, err
	}
	cfg := s.cp.cfg
	k := s.cp.keys
	now := cfg.Now()
	for name := range s.lost {
		if _, back := snap.agents[name]; back {
			delete(s.lost, name)
			delete(s.gone, name)
		}
	}
	p := newPlacer(snap)
	wanted := snap.wantedTasks()

	var ops []clientv3.Op
	var next time.Duration
	soon := func(d time.Duration) {
		if d > 0 && (next == 0 || d < next) {
			next = d
		}
	}
	// A task whose connector was stopped or deleted (or that a smaller
	// tasks.max dropped) leaves its agent as a moved task does: the agent
	// stops it and reports its final offsets, which its assignment must
	// still fence, then releases it. Only a dead agent's task, or one not
	// released within the move timeout, is freed at once. (Freeing it first
	// refused the final offsets: a stop and resume repeated every record
	// since the last periodic commit.)
	for tk, a := range snap.assign {
		if snap.wanted(tk) {
			continue
		}
		if _, alive := snap.agents[a.Agent]; !alive {
			ops = append(ops, clientv3.OpDelete(k.assign(tk)), clientv3.OpDelete(k.move(tk)))
			continue
		}
		if !snap.moving(tk) {
			ops = append(ops, s.move(tk, a, "", "its connector stopped or its task went away", now))
			soon(cfg.MoveTimeout)
			continue
		}
		if wait := snap.moves[tk].Since.Add(cfg.MoveTimeout).Sub(now); wait > 0 {
			soon(wait)
			continue
		}
		s.cp.log.Warn("agent did not release a stopped task in time; freeing it", "connector", tk.Connector,
			"task", tk.Task, "agent", a.Agent, "timeout", cfg.MoveTimeout)
		ops = append(ops, clientv3.OpDelete(k.assign(tk)), clientv3.OpDelete(k.move(tk)))
	}
	// Moves that ended or no longer apply are removed.
	for tk := range snap.moves {
		if !snap.moving(tk) {
			ops = append(ops, clientv3.OpDelete(k.move(tk)))
		}
	}
	var unplaced, movable []taskKey
	moving, waiting := 0, 0
	for _, tk := range wanted {
		a, ok := snap.assign[tk]
		if !ok {
			unplaced = append(unplaced, tk)
			continue
		}
		if ag, alive := snap.agents[a.Agent]; alive {
			switch {
			case snap.moving(tk):
				m := snap.moves[tk]
				if wait := m.Since.Add(cfg.MoveTimeout).Sub(now); wait > 0 {
					moving++
					soon(wait)
					continue
				}
				s.cp.log.Warn("agent did not release a task in time; reassigning it", "connector", tk.Connector,
					"task", tk.Task, "agent", a.Agent, "timeout", cfg.MoveTimeout)
				p.load[a.Agent]--
				p.lowered(a.Agent)
				unplaced = append(unplaced, tk)
			case !ag.Draining && !p.matches(tk.Connector, a.Agent):
				// Labels or selector changed: the task must leave.
				ops = append(ops, s.move(tk, a, "", "agent "+a.Agent+" no longer matches placement.selector", now))
				moving++
			case !ag.Draining:
				movable = append(movable, tk)
			}
			continue
		}
		since, seen := s.lost[a.Agent]
		if !seen {
			since = now
			s.lost[a.Agent] = since
			s.cp.log.Info("agent lost; its tasks wait for it", "agent", a.Agent, "delay", cfg.ReassignDelay)
		}
		if wait := since.Add(cfg.ReassignDelay).Sub(now); wait > 0 {
			waiting++
			soon(wait)
			continue
		}
		if !s.gone[a.Agent] {
			if s.gone == nil {
				s.gone = map[string]bool{}
			}
			s.gone[a.Agent] = true
			cpInstruments()
			cpm.agentsLost.Add(ctx, 1, s.cp.replicaAttr())
		}
		unplaced = append(unplaced, tk)
	}
	placed := 0
	for _, tk := range unplaced {
		agent := p.pick(tk.Connector)
		if agent == "" {
			if _, ok := snap.assign[tk]; ok {
				ops = append(ops, clientv3.OpDelete(k.assign(tk)))
			}
			continue
		}
		p.load[agent]++
		placed++
		s.cp.log.Debug("assigning task", "connector", tk.Connector, "task", tk.Task, "agent", agent)
		ops = append(ops, clientv3.OpPut(k.assign(tk), mustJSON(assignRecord{Agent: agent, Leader: s.leaderRev})))
	}
	if placed > 0 {
		s.cp.log.Info("tasks assigned", "count", placed)
	}
	// Balance, a few tasks at a time, once everything is placed and no
	// lost agent may come back for its tasks: only the tasks that move
	// stop, each after releasing its offsets.
	if placed == 0 && waiting == 0 {
		budget := max(1, len(wanted)/10) - moving
		ops = append(ops, s.rebalance(p, movable, budget, now)...)
	}
	if len(ops) == 0 {
		return next, nil
	}
	// etcd bounds the operations of one transaction; write in chunks.
	for len(ops) > 0 {
		n := min(len(ops), 100)
		resp, err := s.cp.etcd.Txn(ctx).
			If(clientv3.Compare(clientv3.CreateRevision(s.leaderKey), "=", s.leaderRev)).
			Then(ops[:n]...).Commit()
		if err != nil {
			return 0, err
		}
		if !resp.Succeeded {
			return 0, errNotLeader
		}
		ops = ops[n:]
	}
	return next, nil
}

// move asks agent a.Agent to release tk.
func (s *scheduler) move(tk taskKey, a assignment, to, reason string, now time.Time) clientv3.Op {
	s.cp.log.Info("moving task", "connector", tk.Connector, "task", tk.Task, "from", a.Agent, "to", to, "reason", reason)
	return clientv3.OpPut(s.cp.keys.move(tk), mustJSON(moveRecord{From: a.Agent, To: to, Epoch: a.Epoch, Since: now.UTC(), Reason: reason}))
}

// rebalance moves up to budget tasks from the fullest agents to agents that
// would be less full with them than their current agent is now.
func (s *scheduler) rebalance(p *placer, movable []taskKey, budget int, now time.Time) []clientv3.Op {
	if budget <= 0 || len(movable) == 0 || len(p.snap.agents) < 2 {
		return nil
	}
	byAgent := map[string][]taskKey{}
	for _, tk := range movable {
		a := p.snap.assign[tk].Agent
		byAgent[a] = append(byAgent[a], tk)
	}
	// The fullest agents first; from each, its highest-numbered task that
	// has somewhere better to go. Agents no fuller than the emptiest place
	// would be cannot give anything.
	fh := &fullest{p: p, names: slices.Collect(maps.Keys(byAgent))}
	heap.Init(fh)
	var ops []clientv3.Op
	floor := p.minFill()
	for len(ops) < budget && fh.Len() > 0 {
		from := fh.names[0]
		if floor < 0 || p.fill(from, p.load[from]) <= floor {
			break
		}
		tasks := byAgent[from]
		tried := map[string]bool{}
		found := false
		for i := len(tasks) - 1; i >= 0 && !found; i-- {
			tk := tasks[i]
			if tried[tk.Connector] {
				continue
			}
			tried[tk.Connector] = true
			to := p.pick(tk.Connector)
			if to == "" || to == from || p.fill(to, p.load[to]+1) >= p.fill(from, p.load[from]) {
				continue
			}
			ops = append(ops, s.move(tk, p.snap.assign[tk], to, "rebalance", now))
			p.load[from]--
			p.lowered(from)
			p.load[to]++
			byAgent[from] = slices.Delete(tasks, i, i+1)
			found = true
		}
		if !found {
			heap.Pop(fh)
			continue
		}
		heap.Fix(fh, 0)
		floor = p.minFill()
	}
	return ops
}

// fullest orders agents fullest first.
type fullest struct {
	p     *placer
	names []string
}

func (f *fullest) Len() int { return len(f.names) }
func (f *fullest) Less(i, j int) bool {
	a, b := f.names[i], f.names[j]
	fa, fb := f.p.fill(a, f.p.load[a]), f.p.fill(b, f.p.load[b])
	return fa > fb || (fa == fb && a < b)
}
func (f *fullest) Swap(i, j int) { f.names[i], f.names[j] = f.names[j], f.names[i] }
func (f *fullest) Push(x any)    { f.names = append(f.names, x.(string)) }
func (f *fullest) Pop() any {
	x := f.names[len(f.names)-1]
	f.names = f.names[:len(f.names)-1]
	return x
}
