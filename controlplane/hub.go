package controlplane

import (
	"context"
	"encoding/json"
	"slices"
	"strings"
	"sync"
	"time"

	"go.etcd.io/etcd/api/v3/mvccpb"
	clientv3 "go.etcd.io/etcd/client/v3"
)

// hub holds the agent sessions of this replica and pushes each agent its
// assignments whenever they change.
//
// It keeps the desired state and the assignments in memory, fed by one
// watch on the whole keyspace: a full read at start (and after a
// compaction), then every event applied as it comes, in revision order, so
// a transaction's changes (a connector and its task configs) are applied
// together. Only the agents whose assignments an event touches are told to
// push, so a change reaches its agent in milliseconds whatever the size of
// the cluster.
type hub struct {
	cp       *ControlPlane
	mu       sync.Mutex
	sessions map[*session]struct{}
	// byName finds this replica's sessions by agent.
	byName map[string]*session

	// state is the in-memory copy; read under stateMu's read lock.
	stateMu sync.RWMutex
	state   *snapshot
	// reported is what agents reported of each task's state (status
	// keys), kept beside state for the task counts of /metrics.
	reported map[taskKey]reportedState
}

// reportedState is what the hub keeps of a status record.
type reportedState struct {
	State string `json:"state"`
	Agent string `json:"agent"`
	Epoch int64  `json:"epoch"`
}

func newHub(cp *ControlPlane) *hub {
	return &hub{cp: cp, sessions: map[*session]struct{}{}, byName: map[string]*session{}}
}

// read runs f with the state, or returns false if there is none yet.
func (h *hub) read(f func(*snapshot)) bool {
	h.stateMu.RLock()
	defer h.stateMu.RUnlock()
	if h.state == nil {
		return false
	}
	f(h.state)
	return true
}

// run keeps the state current and tells sessions about changes.
func (h *hub) run(ctx context.Context) {
	k := h.cp.keys
	var next int64 // revision to resume the watch from; 0: reload
	for ctx.Err() == nil {
		if next == 0 {
			snap, err := load(ctx, h.cp.etcd, k)
			var reported map[taskKey]reportedState
			if err == nil {
				reported, err = loadReported(ctx, h.cp.etcd, k, snap.rev)
			}
			if err != nil {
				if ctx.Err() == nil {
					h.cp.log.Warn("load state for sessions", "err", err)
					sleepCtx(ctx, time.Second)
				}
				continue
			}
			h.stateMu.Lock()
			h.state, h.reported = snap, reported
			h.stateMu.Unlock()
			if snap.logger != nil {
				h.cp.clusterLevel(snap.logger)
			}
			next = snap.rev + 1
			h.notifyAll()
		}
		wctx, cancel := context.WithCancel(ctx)
		wc := h.cp.etcd.Watch(wctx, k.prefix, clientv3.WithPrefix(), clientv3.WithRev(next), clientv3.WithProgressNotify())
		for r := range wc {
			if compacted(r) {
				h.cp.log.Info("sessions' watch fell behind a compaction; reloading")
				next = 0
				break
			}
			if r.Canceled || r.Err() != nil {
				break
			}
			if len(r.Events) > 0 {
				if dirty := h.apply(r.Events); dirty != nil {
					h.notify(dirty)
				} else {
					h.notifyAll()
				}
			}
			next = max(next, r.Header.Revision+1)
		}
		cancel()
		sleepCtx(ctx, 100*time.Millisecond)
	}
}

// apply applies events to the state and returns the agents whose
// assignments they may change (nil: every agent).
func (h *hub) apply(events []*clientv3.Event) map[string]bool {
	k := h.cp.keys
	h.stateMu.Lock()
	defer h.stateMu.Unlock()
	s := h.state
	dirty := map[string]bool{}
	every := false
	touch := func(tk taskKey) {
		if a, ok := s.assign[tk]; ok {
			dirty[a.Agent] = true
		}
	}
	for _, ev := range events {
		key := string(ev.Kv.Key)
		rest, ok := strings.CutPrefix(key, k.prefix)
		if !ok {
			continue
		}
		put := ev.Type == mvccpb.PUT
		s.rev = max(s.rev, ev.Kv.ModRevision)
		switch {
		case strings.HasPrefix(rest, pfxConnectors):
			name := strings.TrimPrefix(rest, pfxConnectors)
			n := 0
			if old, ok := s.connectors[name]; ok {
				n = old.Tasks
			}
			if put {
				var c connectorRecord
				if json.Unmarshal(ev.Kv.Value, &c) != nil {
					h.cp.log.Warn("undecodable connector record", "key", key)
					continue
				}
				s.connectors[name], s.connRev[name] = &c, ev.Kv.ModRevision
				n = max(n, c.Tasks)
			} else {
				delete(s.connectors, name)
				delete(s.connRev, name)
			}
			for i := range n {
				touch(taskKey{name, i})
			}
		case strings.HasPrefix(rest, pfxTasks):
			tk, ok := parseTaskKey(strings.TrimPrefix(rest, pfxTasks))
			if !ok {
				continue
			}
			if put {
				var cfg map[string]string
				if json.Unmarshal(ev.Kv.Value, &cfg) != nil {
					h.cp.log.Warn("undecodable task config", "key", key)
					continue
				}
				s.tasks[tk], s.taskRev[tk] = cfg, ev.Kv.ModRevision
			} else {
				delete(s.tasks, tk)
				delete(s.taskRev, tk)
			}
			touch(tk)
		case strings.HasPrefix(rest, pfxAssign):
			tk, ok := parseTaskKey(strings.TrimPrefix(rest, pfxAssign))
			if !ok {
				continue
			}
			if old, ok := s.assign[tk]; ok {
				dirty[old.Agent] = true
				s.byAgent[old.Agent] = removeTask(s.byAgent[old.Agent], tk)
			}
			if !put {
				delete(s.assign, tk)
				continue
			}
			var a assignRecord
			if json.Unmarshal(ev.Kv.Value, &a) != nil {
				h.cp.log.Warn("undecodable assignment", "key", key)
				delete(s.assign, tk)
				continue
			}
			s.assign[tk] = assignment{assignRecord: a, Epoch: ev.Kv.ModRevision}
			s.byAgent[a.Agent] = insertTask(s.byAgent[a.Agent], tk)
			dirty[a.Agent] = true
		case rest == pfxLoggers+rootLogger:
			// Every agent gets the cluster's level with its assignments.
			s.logger = nil
			if put {
				if s.logger = readLogger(ev.Kv.Value); s.logger != nil {
					h.cp.clusterLevel(s.logger)
				}
			}
			every = true
		case strings.HasPrefix(rest, pfxAgents):
			// Registrations come and go with sessions: kept for the agent
			// counts of /metrics, they push nothing.
			name := strings.TrimPrefix(rest, pfxAgents)
			var a agentRecord
			if put && json.Unmarshal(ev.Kv.Value, &a) == nil {
				s.agents[name] = &a
			} else {
				delete(s.agents, name)
			}
		case strings.HasPrefix(rest, pfxStatus):
			tk, ok := parseTaskKey(strings.TrimPrefix(rest, pfxStatus))
			if !ok {
				continue
			}
			var r reportedState
			if !put || json.Unmarshal(ev.Kv.Value, &r) != nil {
				delete(h.reported, tk)
				continue
			}
			h.reported[tk] = r
		case strings.HasPrefix(rest, pfxMoves):
			tk, ok := parseTaskKey(strings.TrimPrefix(rest, pfxMoves))
			if !ok {
				continue
			}
			if put {
				var m moveRecord
				if json.Unmarshal(ev.Kv.Value, &m) != nil {
					continue
				}
				s.moves[tk] = m
			} else {
				delete(s.moves, tk)
			}
			touch(tk)
		}
	}
	if every {
		return nil
	}
	return dirty
}

// loadReported reads the task states agents reported, at rev.
func loadReported(ctx context.Context, cli *clientv3.Client, k keys, rev int64) (map[taskKey]reportedState, error) {
	resp, err := cli.Get(ctx, k.prefix+pfxStatus, clientv3.WithPrefix(), clientv3.WithRev(rev))
	if err != nil {
		return nil, err
	}
	out := make(map[taskKey]reportedState, len(resp.Kvs))
	for _, kv := range resp.Kvs {
		tk, ok := parseTaskKey(strings.TrimPrefix(string(kv.Key), k.prefix+pfxStatus))
		var r reportedState
		if ok && json.Unmarshal(kv.Value, &r) == nil {
			out[tk] = r
		}
	}
	return out, nil
}

func cmpTask(a, b taskKey) int {
	if c := strings.Compare(a.Connector, b.Connector); c != 0 {
		return c
	}
	return a.Task - b.Task
}

func insertTask(ts []taskKey, tk taskKey) []taskKey {
	i, found := slices.BinarySearchFunc(ts, tk, cmpTask)
	if found {
		return ts
	}
	return slices.Insert(ts, i, tk)
}

func removeTask(ts []taskKey, tk taskKey) []taskKey {
	i, found := slices.BinarySearchFunc(ts, tk, cmpTask)
	if !found {
		return ts
	}
	return slices.Delete(ts, i, i+1)
}

// notify pokes the sessions of the given agents.
func (h *hub) notify(agents map[string]bool) {
	h.mu.Lock()
	defer h.mu.Unlock()
	for name := range agents {
		if s := h.byName[name]; s != nil {
			s.poke()
		}
	}
}

func (h *hub) notifyAll() {
	h.mu.Lock()
	defer h.mu.Unlock()
	for s := range h.sessions {
		s.poke()
	}
}

func (h *hub) closeAll() {
	h.mu.Lock()
	defer h.mu.Unlock()
	for s := range h.sessions {
		s.cancel()
	}
}
