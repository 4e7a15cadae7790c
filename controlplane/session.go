package controlplane

import (
	"context"
	"crypto/sha256"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"sync"
	"time"

	"connectrpc.com/connect"
	"go.etcd.io/etcd/api/v3/v3rpc/rpctypes"
	clientv3 "go.etcd.io/etcd/client/v3"
	"google.golang.org/protobuf/types/known/durationpb"

	sluicev1 "github.com/sluicehq/sluice/api/gen/sluice/v1"
)

// session is one agent's stream.
type session struct {
	h      *hub
	agent  string
	rec    agentRecord
	lease  clientv3.LeaseID
	stream *connect.BidiStream[sluicev1.SessionRequest, sluicev1.SessionResponse]
	cancel context.CancelFunc
	notify chan struct{}
	sendMu sync.Mutex
	closed bool // under sendMu: the stream is done, send nothing more
	// lastSent is the signature of the last assignment set sent.
	lastSent string
	// sent are the epoch and generation of each task last sent: only
	// tasks that (re)start on the agent, new or with a new config, need
	// offsets to start from.
	sent map[taskKey][2]int64
}

func (s *session) poke() {
	select {
	case s.notify <- struct{}{}:
	default:
	}
}

func (s *session) send(m *sluicev1.SessionResponse) error {
	s.sendMu.Lock()
	defer s.sendMu.Unlock()
	if s.closed {
		return context.Canceled
	}
	return s.stream.Send(m)
}

// closeSends waits for a send in progress (a bounded while) and stops
// further sends, so that nothing writes to the stream once the handler
// returns.
func (s *session) closeSends() {
	done := make(chan struct{})
	go func() {
		s.sendMu.Lock()
		s.closed = true
		s.sendMu.Unlock()
		close(done)
	}()
	select {
	case <-done:
	case <-time.After(5 * time.Second):
	}
}

// Session implements AgentService.Session.
func (h *hub) Session(ctx context.Context, stream *connect.BidiStream[sluicev1.SessionRequest, sluicev1.SessionResponse]) error {
	first, err := stream.Receive()
	if err != nil {
		return err
	}
	reg := first.GetRegister()
	if reg == nil {
		return connect.NewError(connect.CodeInvalidArgument, errors.New("the first message of a session must be register"))
	}
	name := strings.TrimSpace(reg.GetName())
	if name == "" || strings.ContainsAny(name, "/ ") {
		return connect.NewError(connect.CodeInvalidArgument, fmt.Errorf("agent name %q: must be non-empty, without spaces or slashes", reg.GetName()))
	}
	cp := h.cp
	ttl := int64((cp.cfg.SessionTTL + time.Second - 1) / time.Second)
	lease, err := cp.etcd.Grant(ctx, ttl)
	if err != nil {
		return connect.NewError(connect.CodeUnavailable, fmt.Errorf("register agent %s: etcd: %w", name, err))
	}
	rec := agentRecord{Name: name, Labels: reg.GetLabels(), Version: reg.GetVersion(), Capacity: reg.GetCapacity(),
		Replica: cp.cfg.Name, ConnectTime: cp.cfg.Now().UTC()}
	if _, err := cp.etcd.Put(ctx, cp.keys.agent(name), mustJSON(rec), clientv3.WithLease(lease.ID)); err != nil {
		return connect.NewError(connect.CodeUnavailable, fmt.Errorf("register agent %s: etcd: %w", name, err))
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	s := &session{h: h, agent: name, rec: rec, lease: lease.ID, stream: stream, cancel: cancel, notify: make(chan struct{}, 1)}
	defer s.closeSends()
	log := cp.log.With("agent", name)
	defer func() {
		// The agent is gone from this replica: its registration and the
		// statuses it reported go with the lease. Its tasks stay assigned
		// for the reassign delay.
		rctx, rcancel := context.WithTimeout(context.Background(), 2*time.Second)
		_, _ = cp.etcd.Revoke(rctx, lease.ID)
		rcancel()
		log.Info("agent session closed")
	}()
	if err := s.send(&sluicev1.SessionResponse{Msg: &sluicev1.SessionResponse_Registered{Registered: &sluicev1.Registered{
		Replica:           cp.cfg.Name,
		HeartbeatInterval: durationpb.New(cp.cfg.HeartbeatInterval),
		SessionTtl:        durationpb.New(cp.cfg.SessionTTL),
	}}}); err != nil {
		return err
	}
	log.Info("agent registered", "labels", reg.GetLabels(), "running", len(reg.GetRunning()))

	h.mu.Lock()
	h.sessions[s] = struct{}{}
	h.byName[name] = s
	h.mu.Unlock()
	defer func() {
		h.mu.Lock()
		delete(h.sessions, s)
		if h.byName[name] == s {
			delete(h.byName, name)
		}
		h.mu.Unlock()
	}()

	// Pushes run beside the receive loop.
	pushErr := make(chan error, 1)
	go func() {
		s.poke()
		for {
			select {
			case <-ctx.Done():
				return
			case <-s.notify:
			}
			if err := s.push(ctx); err != nil {
				pushErr <- err
				return
			}
		}
	}()

	recvErr := make(chan error, 1)
	msgs := make(chan *sluicev1.SessionRequest)
	go func() {
		for {
			m, err := stream.Receive()
			if err != nil {
				recvErr <- err
				return
			}
			select {
			case msgs <- m:
			case <-ctx.Done():
				return
			}
		}
	}()
	for {
		select {
		case <-ctx.Done():
			return nil
		case err := <-pushErr:
			return err
		case err := <-recvErr:
			if errors.Is(err, context.Canceled) || connect.CodeOf(err) == connect.CodeCanceled {
				return nil
			}
			return nil // the agent closed or lost the stream
		case m := <-msgs:
			if err := s.handle(ctx, m); err != nil {
				log.Warn("session ends", "err", err)
				return err
			}
		}
	}
}

// handle processes one message from the agent.
func (s *session) handle(ctx context.Context, m *sluicev1.SessionRequest) error {
	cp := s.h.cp
	switch msg := m.Msg.(type) {
	case *sluicev1.SessionRequest_Heartbeat:
		if st := msg.Heartbeat.GetSendTime(); st != nil {
			cpInstruments()
			cpm.heartbeatDelay.Record(ctx, max(0, time.Since(st.AsTime()).Seconds()))
		}
		kctx, cancel := context.WithTimeout(ctx, 3*time.Second)
		_, err := cp.etcd.KeepAliveOnce(kctx, s.lease)
		cancel()
		if errors.Is(err, rpctypes.ErrLeaseNotFound) {
			return connect.NewError(connect.CodeFailedPrecondition, errors.New("the agent's session lease expired: register again"))
		}
		if err != nil {
			// No ack without a renewal: the agent counts on the lease
			// until its last ack, and must fence itself if the lease may
			// lapse while this replica cannot reach etcd.
			cp.log.Warn("renew agent lease failed; heartbeat not acknowledged", "agent", s.agent, "err", err)
			return nil
		}
		return s.send(&sluicev1.SessionResponse{Msg: &sluicev1.SessionResponse_HeartbeatAck{
			HeartbeatAck: &sluicev1.HeartbeatAck{SendTime: msg.Heartbeat.GetSendTime()}}})
	case *sluicev1.SessionRequest_TaskState:
		return s.taskState(ctx, msg.TaskState)
	case *sluicev1.SessionRequest_Offsets:
		return s.offsets(ctx, msg.Offsets)
	case *sluicev1.SessionRequest_Topics:
		return s.topicsReport(ctx, msg.Topics)
	case *sluicev1.SessionRequest_Drain:
		// The agent stops: nothing more is placed on it.
		s.rec.Draining = true
		wctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
		defer cancel()
		if _, err := cp.etcd.Put(wctx, cp.keys.agent(s.agent), mustJSON(s.rec), clientv3.WithLease(s.lease)); err != nil {
			cp.log.Warn("mark agent draining", "agent", s.agent, "err", err)
		}
		cp.log.Info("agent draining", "agent", s.agent)
		return nil
	case *sluicev1.SessionRequest_Register:
		return connect.NewError(connect.CodeInvalidArgument, errors.New("register sent twice in one session"))
	}
	return nil
}

func (s *session) refuse(t *sluicev1.TaskRef, epoch int64, reason string) error {
	cpInstruments()
	cpm.refused.Add(context.Background(), 1, s.h.cp.replicaAttr())
	s.h.cp.log.Info("report refused", "agent", s.agent, "connector", t.GetConnector(), "task", t.GetTask(), "epoch", epoch, "reason", reason)
	return s.send(&sluicev1.SessionResponse{Msg: &sluicev1.SessionResponse_Refused{Refused: &sluicev1.Refused{
		Task: t, Epoch: epoch, Reason: reason}}})
}

// guardedWrite runs ops if the task is still this agent's under epoch, in
// one transaction: If(ModRevision(assign) == epoch) Then(ops) Else(read the
// assignment, to say why the report was refused). An epoch is the revision
// at which the task was assigned to one agent, so it names the agent too;
// the hub's snapshot double-checks the name when it knows the epoch.
func (s *session) guardedWrite(ctx context.Context, t *sluicev1.TaskRef, epoch int64, ops ...clientv3.Op) error {
	tk := taskKey{Connector: t.GetConnector(), Task: int(t.GetTask())}
	other := ""
	s.h.read(func(snap *snapshot) {
		if a, ok := snap.assign[tk]; ok && a.Epoch == epoch && a.Agent != s.agent {
			other = a.Agent
		}
	})
	if other != "" {
		return s.refuse(t, epoch, fmt.Sprintf("the task is assigned to agent %s", other))
	}
	// A report received is stored even if the agent hangs up meanwhile.
	wctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
	defer cancel()
	key := s.h.cp.keys.assign(tk)
	resp, err := s.h.cp.etcd.Txn(wctx).
		If(clientv3.Compare(clientv3.ModRevision(key), "=", epoch)).
		Then(ops...).
		Else(clientv3.OpGet(key)).Commit()
	if err != nil {
		s.h.cp.log.Warn("store report failed", "agent", s.agent, "task", tk, "err", err)
		return nil
	}
	if resp.Succeeded {
		return nil
	}
	kvs := resp.Responses[0].GetResponseRange().Kvs
	if len(kvs) == 0 {
		return s.refuse(t, epoch, "the task is not assigned any more")
	}
	var a assignRecord
	_ = json.Unmarshal(kvs[0].Value, &a)
	if a.Agent != s.agent {
		return s.refuse(t, epoch, fmt.Sprintf("the task is assigned to agent %s", a.Agent))
	}
	return s.refuse(t, epoch, fmt.Sprintf("stale epoch %d: the task's epoch is %d", epoch, kvs[0].ModRevision))
}

var stateNames = map[sluicev1.State]string{
	sluicev1.State_STATE_UNASSIGNED: "UNASSIGNED",
	sluicev1.State_STATE_RUNNING:    "RUNNING",
	sluicev1.State_STATE_PAUSED:     "PAUSED",
	sluicev1.State_STATE_FAILED:     "FAILED",
	sluicev1.State_STATE_RESTARTING: "RESTARTING",
	sluicev1.State_STATE_STOPPED:    "STOPPED",
}

func (s *session) taskState(ctx context.Context, r *sluicev1.TaskStateReport) error {
	cp := s.h.cp
	tk := taskKey{Connector: r.GetTask().GetConnector(), Task: int(r.GetTask().GetTask())}
	if r.GetState() == sluicev1.State_STATE_UNASSIGNED {
		// The agent let the task go (it was moved off, or the agent
		// drains), after sending its final offsets: clear its status and
		// free the task, so that the scheduler places it again at once.
		// Fenced by the epoch, the delete cannot touch a newer assignment.
		cp.log.Info("task released", "agent", s.agent, "connector", tk.Connector, "task", tk.Task, "epoch", r.GetEpoch())
		return s.guardedWrite(ctx, r.GetTask(), r.GetEpoch(),
			clientv3.OpDelete(cp.keys.status(tk)), clientv3.OpDelete(cp.keys.assign(tk)), clientv3.OpDelete(cp.keys.move(tk)))
	}
	name, ok := stateNames[r.GetState()]
	if !ok {
		return s.refuse(r.GetTask(), r.GetEpoch(), fmt.Sprintf("unknown state %v", r.GetState()))
	}
	rec := statusRecord{State: name, Agent: s.agent, Epoch: r.GetEpoch(), Trace: r.GetTrace(), Message: r.GetMessage(),
		Restarts: r.GetRestarts(), UpdateTime: cp.cfg.Now().UTC()}
	return s.guardedWrite(ctx, r.GetTask(), r.GetEpoch(),
		clientv3.OpPut(cp.keys.status(tk), mustJSON(rec), clientv3.WithLease(s.lease)))
}

func (s *session) offsets(ctx context.Context, oc *sluicev1.OffsetCommit) error {
	cp := s.h.cp
	c := oc.GetTask().GetConnector()
	ops := make([]clientv3.Op, 0, len(oc.GetOffsets()))
	for _, o := range oc.GetOffsets() {
		if !json.Valid([]byte(o.GetPartition())) || !json.Valid([]byte(o.GetOffset())) {
			return s.refuse(oc.GetTask(), oc.GetEpoch(), "offsets must be JSON")
		}
		ops = append(ops, clientv3.OpPut(cp.keys.offset(c, o.GetPartition()),
			mustJSON(storedOffset{Partition: json.RawMessage(o.GetPartition()), Offset: json.RawMessage(o.GetOffset())})))
	}
	if len(ops) == 0 {
		return nil
	}
	return s.guardedWrite(ctx, oc.GetTask(), oc.GetEpoch(), ops...)
}

// storedOffset is the value of an offsets/ key.
type storedOffset struct {
	Partition json.RawMessage `json:"partition"`
	Offset    json.RawMessage `json:"offset"`
}

// push sends the agent its assignments if they changed since the last push.
func (s *session) push(ctx context.Context) error {
	var tasks []*sluicev1.Assignment
	var sig []byte
	logLevel := ""
	sources := map[string]bool{}
	if !s.h.read(func(snap *snapshot) {
		tasks, sig = s.view(snap, sources)
		if snap.logger != nil {
			logLevel = snap.logger.Level
		}
	}) {
		return nil
	}
	sig = append(sig, logLevel...)
	sum := sha256.Sum256(sig)
	signature := string(sum[:])
	if signature == s.lastSent {
		return nil
	}
	return s.sendAssignments(ctx, tasks, logLevel, sources, signature)
}

// view builds the agent's assignment set from the hub's state, and its
// signature.
func (s *session) view(snap *snapshot, sources map[string]bool) ([]*sluicev1.Assignment, []byte) {
	var tasks []*sluicev1.Assignment
	var sig []byte
	for _, tk := range snap.byAgent[s.agent] {
		// A task being moved off this agent is left out: the agent stops
		// it and releases it.
		if !snap.wanted(tk) || snap.moving(tk) {
			continue
		}
		a := snap.assign[tk]
		c := snap.connectors[tk.Connector]
		target := sluicev1.TargetState_TARGET_STATE_RUNNING
		if c.TargetState == targetPaused {
			target = sluicev1.TargetState_TARGET_STATE_PAUSED
		}
		cfg := snap.tasks[tk]
		if c.Type == "source" {
			sources[tk.Connector] = true
		}
		tasks = append(tasks, &sluicev1.Assignment{
			Task:        &sluicev1.TaskRef{Connector: tk.Connector, Task: int32(tk.Task)},
			Epoch:       a.Epoch,
			Config:      cfg,
			TargetState: target,
			Generation:  c.Generation,
			Restart:     a.Restart,
			TopicsReset: c.TopicsReset,
			TraceParent: c.TraceParent,
		})
		// The task config's mod revision stands for the config.
		sig = append(sig, tk.Connector...)
		for _, n := range []int64{int64(tk.Task), a.Epoch, c.Generation, int64(target), a.Restart, snap.taskRev[tk], c.TopicsReset} {
			sig = append(sig, '|')
			sig = strconv.AppendInt(sig, n, 10)
		}
		sig = append(sig, '\n')
	}
	return tasks, sig
}

// sendAssignments sends the agent its set, with the offsets its new tasks
// start from.
func (s *session) sendAssignments(ctx context.Context, tasks []*sluicev1.Assignment, logLevel string, sources map[string]bool, signature string) error {
	cp := s.h.cp
	// Offsets to resume from, per connector, for the tasks the agent does
	// not run yet (a running task ignores them).
	offsets := map[string][]*sluicev1.SourceOffset{}
	sent := make(map[taskKey][2]int64, len(tasks))
	for _, t := range tasks {
		tk := taskKey{Connector: t.GetTask().GetConnector(), Task: int(t.GetTask().GetTask())}
		sent[tk] = [2]int64{t.GetEpoch(), t.GetGeneration()}
		c := tk.Connector
		if s.sent[tk] == sent[tk] {
			continue
		}
		if _, done := offsets[c]; done || !sources[c] {
			continue
		}
		os, err := readOffsets(ctx, cp, c)
		if err != nil {
			// Without offsets a task would start over: try again soon.
			cp.log.Warn("read offsets for assignment", "connector", c, "err", err)
			go func() {
				sleepCtx(ctx, time.Second)
				s.poke()
			}()
			return nil
		}
		offsets[c] = os
	}
	for _, t := range tasks {
		tk := taskKey{Connector: t.GetTask().GetConnector(), Task: int(t.GetTask().GetTask())}
		if s.sent[tk] != sent[tk] {
			t.Offsets = offsets[tk.Connector]
		}
	}
	if err := s.send(&sluicev1.SessionResponse{Msg: &sluicev1.SessionResponse_Assignments{
		Assignments: &sluicev1.Assignments{Tasks: tasks, LogLevel: logLevel}}}); err != nil {
		return err
	}
	s.lastSent = signature
	s.sent = sent
	return nil
}

// readOffsets reads a connector's committed source offsets.
func readOffsets(ctx context.Context, cp *ControlPlane, connector string) ([]*sluicev1.SourceOffset, error) {
	ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	resp, err := cp.etcd.Get(ctx, cp.keys.offsets(connector), clientv3.WithPrefix())
	if err != nil {
		return nil, err
	}
	out := make([]*sluicev1.SourceOffset, 0, len(resp.Kvs))
	for _, kv := range resp.Kvs {
		var so storedOffset
		if err := json.Unmarshal(kv.Value, &so); err != nil {
			return nil, fmt.Errorf("decode %s: %w", kv.Key, err)
		}
		out = append(out, &sluicev1.SourceOffset{Partition: string(so.Partition), Offset: string(so.Offset)})
	}
	return out, nil
}
