package controlplane

import (
	"cmp"
	"context"
	"slices"
	"time"

	clientv3 "go.etcd.io/etcd/client/v3"
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
}

// run schedules on every change of connectors, tasks, agents or
// assignments, and when a lost agent's grace period ends.
func (s *scheduler) run(ctx context.Context) error {
	k := s.cp.keys
	wctx, cancel := context.WithCancel(clientv3.WithRequireLeader(ctx))
	defer cancel()
	changes := make(chan struct{}, 1)
	go watchPrefixes(wctx, s.cp.etcd, s.cp.log, changes,
		k.prefix+pfxConnectors, k.prefix+pfxTasks, k.prefix+pfxAgents, k.prefix+pfxAssign)
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

// once makes one scheduling pass. It returns when the next pass is due
// without any change (0: only on change).
func (s *scheduler) once(ctx context.Context) (time.Duration, error) {
	snap, err := load(ctx, s.cp.etcd, s.cp.keys)
	if err != nil {
		return 0, err
	}
	now := s.cp.cfg.Now()
	for name := range s.lost {
		if _, back := snap.agents[name]; back {
			delete(s.lost, name)
		}
	}
	load := map[string]int{}
	for name := range snap.agents {
		load[name] = 0
	}
	wanted := snap.wantedTasks()
	isWanted := make(map[taskKey]bool, len(wanted))
	for _, tk := range wanted {
		isWanted[tk] = true
	}

	var ops []clientv3.Op
	var next time.Duration
	// Assignments of tasks that are gone or stopped are removed.
	for tk := range snap.assign {
		if !isWanted[tk] {
			ops = append(ops, clientv3.OpDelete(s.cp.keys.assign(tk)))
		}
	}
	var unplaced []taskKey
	for _, tk := range wanted {
		a, ok := snap.assign[tk]
		if !ok {
			unplaced = append(unplaced, tk)
			continue
		}
		if _, alive := snap.agents[a.Agent]; alive {
			load[a.Agent]++
			continue
		}
		since, seen := s.lost[a.Agent]
		if !seen {
			since = now
			s.lost[a.Agent] = since
			s.cp.log.Info("agent lost; its tasks wait for it", "agent", a.Agent, "delay", s.cp.cfg.ReassignDelay)
		}
		if wait := since.Add(s.cp.cfg.ReassignDelay).Sub(now); wait > 0 {
			if next == 0 || wait < next {
				next = wait
			}
			continue
		}
		unplaced = append(unplaced, tk)
	}
	for _, tk := range unplaced {
		agent := pickAgent(snap.agents, load)
		if agent == "" {
			if _, ok := snap.assign[tk]; ok {
				ops = append(ops, clientv3.OpDelete(s.cp.keys.assign(tk)))
			}
			continue
		}
		load[agent]++
		s.cp.log.Info("assigning task", "connector", tk.Connector, "task", tk.Task, "agent", agent)
		ops = append(ops, clientv3.OpPut(s.cp.keys.assign(tk), mustJSON(assignRecord{Agent: agent, Leader: s.leaderRev})))
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

// pickAgent chooses the live agent with the fewest tasks that has room.
func pickAgent(agents map[string]*agentRecord, load map[string]int) string {
	best := ""
	for name, a := range agents {
		if a.Draining || (a.Capacity > 0 && load[name] >= int(a.Capacity)) {
			continue
		}
		if best == "" || load[name] < load[best] || (load[name] == load[best] && name < best) {
			best = name
		}
	}
	return best
}
