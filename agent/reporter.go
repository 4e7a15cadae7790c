package agent

import (
	"context"
	"encoding/json"
	"sort"
	"sync"
	"time"

	"github.com/sluicehq/sluice/agent/runtime"
	sluicev1 "github.com/sluicehq/sluice/api/gen/sluice/v1"
	"github.com/sluicehq/sluice/connectors"
)

// reporter collects what tasks report until a session sends it. It keeps
// only the newest state per task and the newest offset per source
// partition, so it stays small however long the control plane is away.
type reporter struct {
	mu      sync.Mutex
	states  map[runtime.TaskRef]*sluicev1.TaskStateReport // newest state, sent or not
	unsent  map[runtime.TaskRef]bool
	offsets map[runtime.TaskRef]*pendingOffsets
	topics  map[runtime.TaskRef]*pendingTopics
	notify  chan struct{}
	empty   chan struct{} // closed and replaced when nothing is pending
	// hold keeps stopped tasks from being released: the agent stopped them
	// itself (cut off from the control plane) and wants them back.
	hold bool
	// draining: the agent stops; drainSent: this session was told.
	draining, drainSent bool
}

type pendingTopics struct {
	epoch int64
	names []string
}

type pendingOffsets struct {
	epoch int64
	byKey map[string]*sluicev1.SourceOffset
}

func newReporter() *reporter {
	return &reporter{
		states:  map[runtime.TaskRef]*sluicev1.TaskStateReport{},
		unsent:  map[runtime.TaskRef]bool{},
		offsets: map[runtime.TaskRef]*pendingOffsets{},
		topics:  map[runtime.TaskRef]*pendingTopics{},
		notify:  make(chan struct{}, 1),
	}
}

func (r *reporter) wake() {
	select {
	case r.notify <- struct{}{}:
	default:
	}
}

var stateOf = map[runtime.State]sluicev1.State{
	runtime.StateRunning: sluicev1.State_STATE_RUNNING,
	runtime.StatePaused:  sluicev1.State_STATE_PAUSED,
	runtime.StateFailed:  sluicev1.State_STATE_FAILED,
	runtime.StateStopped: sluicev1.State_STATE_UNASSIGNED,
}

func ref(t runtime.TaskRef) *sluicev1.TaskRef {
	return &sluicev1.TaskRef{Connector: t.Connector, Task: int32(t.Task)}
}

// TaskState implements runtime.Reporter. A task that stopped for good is
// released: an UNASSIGNED report, sent after its final offsets, tells the
// control plane to free it at once.
func (r *reporter) TaskState(t runtime.TaskRef, st runtime.Status) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if st.State == runtime.StateStopped && r.hold {
		delete(r.states, t)
		delete(r.unsent, t)
		return
	}
	r.states[t] = &sluicev1.TaskStateReport{Task: ref(t), Epoch: st.Epoch, State: stateOf[st.State], Trace: st.Trace,
		Message: st.Message, Restarts: st.Restarts}
	r.unsent[t] = true
	r.wake()
}

// holdReleases sets whether stopped tasks are kept (true) or released.
func (r *reporter) holdReleases(hold bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.hold = hold
}

// drain queues the message that the agent stops, sent before anything else.
func (r *reporter) drain() {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.draining = true
	r.wake()
}

// Offsets implements runtime.Reporter.
func (r *reporter) Offsets(t runtime.TaskRef, epoch int64, offsets []connectors.Offset) {
	r.mu.Lock()
	defer r.mu.Unlock()
	p := r.offsets[t]
	if p == nil || p.epoch != epoch {
		p = &pendingOffsets{epoch: epoch, byKey: map[string]*sluicev1.SourceOffset{}}
		r.offsets[t] = p
	}
	for _, o := range offsets {
		pb, err1 := json.Marshal(o.Partition)
		ob, err2 := json.Marshal(o.Offset)
		if err1 != nil || err2 != nil {
			continue
		}
		p.byKey[string(pb)] = &sluicev1.SourceOffset{Partition: string(pb), Offset: string(ob)}
	}
	r.wake()
}

// ActiveTopic implements runtime.TopicReporter.
func (r *reporter) ActiveTopic(t runtime.TaskRef, epoch int64, topic string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.addTopics(t, epoch, topic)
	r.wake()
}

func (r *reporter) addTopics(t runtime.TaskRef, epoch int64, topics ...string) {
	p := r.topics[t]
	if p == nil || p.epoch != epoch {
		p = &pendingTopics{epoch: epoch}
		r.topics[t] = p
	}
	p.names = append(p.names, topics...)
}

// resendStates marks every known state unsent (after a new session opens).
func (r *reporter) resendStates() {
	r.mu.Lock()
	defer r.mu.Unlock()
	for t := range r.states {
		r.unsent[t] = true
	}
	r.drainSent = false
	r.wake()
}

// take returns the messages to send and forgets the offsets in them: first
// a drain notice, then offsets, then states, so that a task's final offsets
// arrive before its release.
func (r *reporter) take() []*sluicev1.SessionRequest {
	r.mu.Lock()
	defer r.mu.Unlock()
	var out []*sluicev1.SessionRequest
	if r.draining && !r.drainSent {
		out = append(out, &sluicev1.SessionRequest{Msg: &sluicev1.SessionRequest_Drain{Drain: &sluicev1.Drain{}}})
		r.drainSent = true
	}
	for t, p := range r.offsets {
		oc := &sluicev1.OffsetCommit{Task: ref(t), Epoch: p.epoch}
		for _, o := range p.byKey {
			oc.Offsets = append(oc.Offsets, o)
		}
		sort.Slice(oc.Offsets, func(i, j int) bool { return oc.Offsets[i].Partition < oc.Offsets[j].Partition })
		out = append(out, &sluicev1.SessionRequest{Msg: &sluicev1.SessionRequest_Offsets{Offsets: oc}})
		delete(r.offsets, t)
	}
	for t, p := range r.topics {
		out = append(out, &sluicev1.SessionRequest{Msg: &sluicev1.SessionRequest_Topics{Topics: &sluicev1.TopicsReport{
			Task: ref(t), Epoch: p.epoch, Topics: p.names}}})
		delete(r.topics, t)
	}
	for t := range r.unsent {
		if s := r.states[t]; s != nil {
			out = append(out, &sluicev1.SessionRequest{Msg: &sluicev1.SessionRequest_TaskState{TaskState: s}})
			if s.GetState() == sluicev1.State_STATE_UNASSIGNED {
				// A release is said once; putBack keeps it if unsent.
				delete(r.states, t)
			}
		}
		delete(r.unsent, t)
	}
	return out
}

// putBack returns an unsent message, unless something newer came since.
func (r *reporter) putBack(m *sluicev1.SessionRequest) {
	r.mu.Lock()
	defer r.mu.Unlock()
	switch msg := m.Msg.(type) {
	case *sluicev1.SessionRequest_Drain:
		r.drainSent = false
	case *sluicev1.SessionRequest_TaskState:
		t := runtime.TaskRef{Connector: msg.TaskState.GetTask().GetConnector(), Task: int(msg.TaskState.GetTask().GetTask())}
		if _, ok := r.states[t]; ok {
			r.unsent[t] = true
		} else if msg.TaskState.GetState() == sluicev1.State_STATE_UNASSIGNED {
			r.states[t] = msg.TaskState
			r.unsent[t] = true
		}
	case *sluicev1.SessionRequest_Topics:
		tr := msg.Topics
		r.addTopics(runtime.TaskRef{Connector: tr.GetTask().GetConnector(), Task: int(tr.GetTask().GetTask())}, tr.GetEpoch(), tr.GetTopics()...)
	case *sluicev1.SessionRequest_Offsets:
		oc := msg.Offsets
		t := runtime.TaskRef{Connector: oc.GetTask().GetConnector(), Task: int(oc.GetTask().GetTask())}
		p := r.offsets[t]
		if p == nil {
			p = &pendingOffsets{epoch: oc.GetEpoch(), byKey: map[string]*sluicev1.SourceOffset{}}
			r.offsets[t] = p
		}
		if p.epoch != oc.GetEpoch() {
			return
		}
		for _, o := range oc.GetOffsets() {
			if _, newer := p.byKey[o.GetPartition()]; !newer {
				p.byKey[o.GetPartition()] = o
			}
		}
	}
}

// pending reports whether anything waits to be sent.
func (r *reporter) pending() bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	return len(r.unsent) > 0 || len(r.offsets) > 0 || len(r.topics) > 0 || (r.draining && !r.drainSent)
}

// waitEmpty waits until nothing is pending or ctx ends.
func (r *reporter) waitEmpty(ctx context.Context) {
	for r.pending() {
		select {
		case <-ctx.Done():
			return
		case <-timeAfter():
		}
	}
}

func timeAfter() <-chan time.Time { return time.After(20 * time.Millisecond) }

// pendingOffsets returns the offsets not sent yet.
func (r *reporter) pendingOffsets() map[runtime.TaskRef]*pendingOffsets {
	r.mu.Lock()
	defer r.mu.Unlock()
	out := make(map[runtime.TaskRef]*pendingOffsets, len(r.offsets))
	for t, p := range r.offsets {
		out[t] = p
	}
	return out
}
