package controlplane

import (
	"context"
	"encoding/json"
	"fmt"
	"net/url"
	"strconv"
	"strings"
	"time"

	clientv3 "go.etcd.io/etcd/client/v3"
)

// The etcd keyspace, under the configured prefix:
//
//	connectors/<name>            connectorRecord (desired state; generation bumps on change)
//	tasks/<connector>/<n>        task config (map[string]string)
//	agents/<name>                agentRecord, bound to the agent's session lease
//	assign/<connector>/<n>       assignRecord; the task's epoch is this key's ModRevision
//	status/<connector>/<n>       statusRecord, bound to the reporting agent's lease
//	moves/<connector>/<n>        moveRecord: the task leaves its agent (rebalance)
//	offsets/<connector>/<part>   committed source offset of one source partition
//	replicas/<name>              replicaRecord, bound to the replica's lease
//	topics/<connector>/<topic>   topicRecord: a topic the connector's tasks used (active topics)
//	loggers/<name>               loggerRecord: a log level set with scope=cluster
//	election                     leader election (client/v3/concurrency)
const (
	pfxConnectors = "connectors/"
	pfxTasks      = "tasks/"
	pfxAgents     = "agents/"
	pfxAssign     = "assign/"
	pfxMoves      = "moves/"
	pfxStatus     = "status/"
	pfxOffsets    = "offsets/"
	pfxReplicas   = "replicas/"
	pfxTopics     = "topics/"
	pfxLoggers    = "loggers/"
	keyElection   = "election"
)

// Target states as stored.
const (
	targetRunning = "RUNNING"
	targetPaused  = "PAUSED"
	targetStopped = "STOPPED"
)

type connectorRecord struct {
	Name        string            `json:"name"`
	Config      map[string]string `json:"config"`
	TargetState string            `json:"target_state"`
	Type        string            `json:"type"`
	Generation  int64             `json:"generation"`
	Tasks       int               `json:"tasks"`
	// TopicsReset grows with every reset of the active topics.
	TopicsReset int64 `json:"topics_reset,omitempty"`
	// TraceParent is the W3C traceparent of the traced API call that wrote
	// this generation, if any: the tasks' start spans join its trace.
	TraceParent string    `json:"trace_parent,omitempty"`
	CreateTime  time.Time `json:"create_time"`
	UpdateTime  time.Time `json:"update_time"`
}

type agentRecord struct {
	Name        string            `json:"name"`
	Labels      map[string]string `json:"labels,omitempty"`
	Version     string            `json:"version,omitempty"`
	Capacity    int32             `json:"capacity,omitempty"`
	Replica     string            `json:"replica"`
	ConnectTime time.Time         `json:"connect_time"`
	// Draining is set when the agent gives its tasks up to stop: the
	// scheduler places nothing on it any more.
	Draining bool `json:"draining,omitempty"`
}

type assignRecord struct {
	Agent string `json:"agent"`
	// Leader is the create revision of the leader key that wrote it.
	Leader int64 `json:"leader"`
	// Restart grows on every restart someone asks for.
	Restart int64 `json:"restart,omitempty"`
}

// moveRecord asks a task's agent to let it go: the agent no longer gets the
// task in its assignments, stops it, commits its offsets and releases it;
// then the scheduler places it again. The assignment (and its epoch) stays
// until the release, so the final offsets are accepted.
type moveRecord struct {
	From string `json:"from"`
	To   string `json:"to"`
	// Epoch is the assignment's epoch when the move began.
	Epoch int64     `json:"epoch"`
	Since time.Time `json:"since"`
	// Why the task moves, for logs and status.
	Reason string `json:"reason"`
}

type statusRecord struct {
	State      string    `json:"state"`
	Agent      string    `json:"agent"`
	Epoch      int64     `json:"epoch"`
	Trace      string    `json:"trace,omitempty"`
	Message    string    `json:"message,omitempty"`
	Restarts   int32     `json:"restarts,omitempty"`
	UpdateTime time.Time `json:"update_time"`
}

type replicaRecord struct {
	Name      string    `json:"name"`
	Address   string    `json:"address"`
	Version   string    `json:"version"`
	StartTime time.Time `json:"start_time"`
}

// taskKey identifies a task.
type taskKey struct {
	Connector string
	Task      int
}

func (k taskKey) String() string { return k.Connector + "/" + strconv.Itoa(k.Task) }

// keys builds keys under the prefix.
type keys struct{ prefix string }

func (k keys) connector(name string) string { return k.prefix + pfxConnectors + name }
func (k keys) task(t taskKey) string        { return k.prefix + pfxTasks + t.String() }
func (k keys) tasks(c string) string        { return k.prefix + pfxTasks + c + "/" }
func (k keys) agent(name string) string     { return k.prefix + pfxAgents + name }
func (k keys) assign(t taskKey) string      { return k.prefix + pfxAssign + t.String() }
func (k keys) move(t taskKey) string        { return k.prefix + pfxMoves + t.String() }
func (k keys) status(t taskKey) string      { return k.prefix + pfxStatus + t.String() }
func (k keys) statuses(c string) string     { return k.prefix + pfxStatus + c + "/" }
func (k keys) offsets(c string) string      { return k.prefix + pfxOffsets + c + "/" }
func (k keys) offset(c, partition string) string {
	return k.prefix + pfxOffsets + c + "/" + url.PathEscape(partition)
}
func (k keys) replica(name string) string { return k.prefix + pfxReplicas + name }

// parseTaskKey parses "<connector>/<n>" after a prefix.
func parseTaskKey(rest string) (taskKey, bool) {
	i := strings.LastIndexByte(rest, '/')
	if i <= 0 {
		return taskKey{}, false
	}
	n, err := strconv.Atoi(rest[i+1:])
	if err != nil {
		return taskKey{}, false
	}
	return taskKey{Connector: rest[:i], Task: n}, true
}

// snapshot is the desired state and the assignments at one revision.
type snapshot struct {
	rev        int64
	connectors map[string]*connectorRecord
	connRev    map[string]int64
	// taskRev is each task config's mod revision: its identity.
	taskRev map[taskKey]int64
	tasks   map[taskKey]map[string]string
	agents  map[string]*agentRecord
	assign  map[taskKey]assignment
	moves   map[taskKey]moveRecord
	// byAgent lists each agent's assigned tasks, sorted.
	byAgent map[string][]taskKey
	// logger is loggers/root, the cluster's level, if set.
	logger *loggerRecord
}

type assignment struct {
	assignRecord
	Epoch int64
}

// load reads the desired state, agents and assignments in one transaction.
func load(ctx context.Context, cli *clientv3.Client, k keys) (*snapshot, error) {
	return loadWith(ctx, cli, k, true)
}

// loadKeys is load without the task configs (snapshot.tasks holds nil
// maps): what the scheduler needs.
func loadKeys(ctx context.Context, cli *clientv3.Client, k keys) (*snapshot, error) {
	return loadWith(ctx, cli, k, false)
}

func loadWith(ctx context.Context, cli *clientv3.Client, k keys, configs bool) (*snapshot, error) {
	taskOpts := []clientv3.OpOption{clientv3.WithPrefix()}
	if !configs {
		taskOpts = append(taskOpts, clientv3.WithKeysOnly())
	}
	resp, err := cli.Txn(ctx).Then(
		clientv3.OpGet(k.prefix+pfxConnectors, clientv3.WithPrefix()),
		clientv3.OpGet(k.prefix+pfxTasks, taskOpts...),
		clientv3.OpGet(k.prefix+pfxAgents, clientv3.WithPrefix()),
		clientv3.OpGet(k.prefix+pfxAssign, clientv3.WithPrefix()),
		clientv3.OpGet(k.prefix+pfxMoves, clientv3.WithPrefix()),
		loggerOp(k),
	).Commit()
	if err != nil {
		return nil, err
	}
	s := &snapshot{
		rev:        resp.Header.Revision,
		connectors: map[string]*connectorRecord{},
		connRev:    map[string]int64{},
		taskRev:    map[taskKey]int64{},
		tasks:      map[taskKey]map[string]string{},
		agents:     map[string]*agentRecord{},
		assign:     map[taskKey]assignment{},
		moves:      map[taskKey]moveRecord{},
		byAgent:    map[string][]taskKey{},
	}
	for _, kv := range resp.Responses[0].GetResponseRange().Kvs {
		var c connectorRecord
		if err := json.Unmarshal(kv.Value, &c); err != nil {
			return nil, fmt.Errorf("decode %s: %w", kv.Key, err)
		}
		s.connectors[c.Name] = &c
		s.connRev[c.Name] = kv.ModRevision
	}
	for _, kv := range resp.Responses[1].GetResponseRange().Kvs {
		tk, ok := parseTaskKey(strings.TrimPrefix(string(kv.Key), k.prefix+pfxTasks))
		if !ok {
			continue
		}
		s.taskRev[tk] = kv.ModRevision
		var cfg map[string]string
		if configs {
			if err := json.Unmarshal(kv.Value, &cfg); err != nil {
				return nil, fmt.Errorf("decode %s: %w", kv.Key, err)
			}
		}
		s.tasks[tk] = cfg
	}
	for _, kv := range resp.Responses[2].GetResponseRange().Kvs {
		var a agentRecord
		if err := json.Unmarshal(kv.Value, &a); err != nil {
			return nil, fmt.Errorf("decode %s: %w", kv.Key, err)
		}
		s.agents[a.Name] = &a
	}
	for _, kv := range resp.Responses[3].GetResponseRange().Kvs {
		tk, ok := parseTaskKey(strings.TrimPrefix(string(kv.Key), k.prefix+pfxAssign))
		if !ok {
			continue
		}
		var a assignRecord
		if err := json.Unmarshal(kv.Value, &a); err != nil {
			return nil, fmt.Errorf("decode %s: %w", kv.Key, err)
		}
		s.assign[tk] = assignment{assignRecord: a, Epoch: kv.ModRevision}
		s.byAgent[a.Agent] = append(s.byAgent[a.Agent], tk)
	}
	for _, tasks := range s.byAgent {
		sortTasks(tasks)
	}
	for _, kv := range resp.Responses[4].GetResponseRange().Kvs {
		tk, ok := parseTaskKey(strings.TrimPrefix(string(kv.Key), k.prefix+pfxMoves))
		if !ok {
			continue
		}
		var m moveRecord
		if err := json.Unmarshal(kv.Value, &m); err != nil {
			return nil, fmt.Errorf("decode %s: %w", kv.Key, err)
		}
		s.moves[tk] = m
	}
	if kvs := resp.Responses[5].GetResponseRange().Kvs; len(kvs) > 0 {
		s.logger = readLogger(kvs[0].Value)
	}
	return s, nil
}

// wanted reports whether a task should run.
func (s *snapshot) wanted(tk taskKey) bool {
	c, ok := s.connectors[tk.Connector]
	if !ok || c.TargetState == targetStopped || tk.Task >= c.Tasks {
		return false
	}
	_, ok = s.tasks[tk]
	return ok
}

// moving reports whether tk is being moved off its agent.
func (s *snapshot) moving(tk taskKey) bool {
	m, ok := s.moves[tk]
	a, assigned := s.assign[tk]
	return ok && assigned && m.From == a.Agent && m.Epoch == a.Epoch
}

// wantedTasks returns the tasks of the connectors that should run (not
// STOPPED), sorted.
func (s *snapshot) wantedTasks() []taskKey {
	var out []taskKey
	for tk := range s.tasks {
		c, ok := s.connectors[tk.Connector]
		if !ok || c.TargetState == targetStopped || tk.Task >= c.Tasks {
			continue
		}
		out = append(out, tk)
	}
	sortTasks(out)
	return out
}

func mustJSON(v any) string {
	b, err := json.Marshal(v)
	if err != nil {
		panic(err)
	}
	return string(b)
}
