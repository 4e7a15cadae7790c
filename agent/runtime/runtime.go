// Package runtime runs connector tasks on an agent: it turns the set of
// assignments the control plane sends into running source and sink tasks,
// moves their records between the connectors and Kafka with franz-go, and
// reports task states and committed offsets.
//
// Guarantees, at least once in both directions:
//   - a source offset is reported only once Kafka has acknowledged (acks=all,
//     idempotent producer) every record the task produced before it;
//   - a sink task's Kafka offsets are committed only after the sink's Flush
//     returned nil for every record before them.
//
// The runtime is level-based: Apply hands it the whole set of tasks the
// agent must run, and it starts, stops, pauses and resumes tasks until what
// runs matches.
package runtime

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"slices"
	"sync"
	"time"

	"github.com/sluicehq/sluice/connectors"
)

// Runtime runs tasks. Make one with New, start it with Run.
type Runtime struct {
	cfg Config
	log *slog.Logger

	mu      sync.Mutex
	desired map[TaskRef]Assignment
	changed chan struct{}
	tasks   map[TaskRef]*task
	// offsets remembers, per task, the offsets a stopped task had
	// committed under its epoch, so that a restart on this agent under the
	// same epoch resumes from them even before the control plane has them.
	offsets map[TaskRef]cachedOffsets
}

type cachedOffsets struct {
	epoch   int64
	offsets []connectors.Offset
}

// New checks cfg and returns a Runtime.
func New(cfg Config) (*Runtime, error) {
	if cfg.Registry == nil {
		return nil, errors.New("runtime: no connector registry")
	}
	if len(cfg.Brokers) == 0 {
		return nil, errors.New("runtime: no Kafka brokers")
	}
	if cfg.Reporter == nil {
		return nil, errors.New("runtime: no reporter")
	}
	cfg.OffsetFlushInterval = cmp.Or(cfg.OffsetFlushInterval, time.Second)
	cfg.AgentName = cmp.Or(cfg.AgentName, "sluice")
	cfg.Logger = cmp.Or(cfg.Logger, slog.Default())
	return &Runtime{
		cfg:     cfg,
		log:     cfg.Logger,
		desired: map[TaskRef]Assignment{},
		changed: make(chan struct{}, 1),
		tasks:   map[TaskRef]*task{},
		offsets: map[TaskRef]cachedOffsets{},
	}, nil
}

// Apply sets the tasks the runtime must run: tasks not in as stop, new ones
// start, changed ones restart. It does not block.
func (r *Runtime) Apply(as []Assignment) {
	d := make(map[TaskRef]Assignment, len(as))
	for _, a := range as {
		d[a.Task] = a
	}
	r.mu.Lock()
	r.desired = d
	r.mu.Unlock()
	select {
	case r.changed <- struct{}{}:
	default:
	}
}

// Running returns the tasks that run now, with their epochs.
func (r *Runtime) Running() []Assignment {
	r.mu.Lock()
	defer r.mu.Unlock()
	out := make([]Assignment, 0, len(r.tasks))
	for ref, t := range r.tasks {
		out = append(out, Assignment{Task: ref, Epoch: t.epoch.Load(), Config: t.config, Paused: t.paused.Load()})
	}
	slices.SortFunc(out, func(a, b Assignment) int {
		return cmp.Or(cmp.Compare(a.Task.Connector, b.Task.Connector), cmp.Compare(a.Task.Task, b.Task.Task))
	})
	return out
}

// Run reconciles tasks with the assignments until ctx ends, then stops
// every task, letting each commit its offsets, and returns.
func (r *Runtime) Run(ctx context.Context) error {
	for {
		select {
		case <-ctx.Done():
			r.stopAll()
			return nil
		case <-r.changed:
			r.reconcile(ctx)
		}
	}
}

// stopAll stops every task in parallel and waits.
func (r *Runtime) stopAll() {
	r.mu.Lock()
	tasks := slices.Collect(maps.Values(r.tasks))
	r.mu.Unlock()
	var wg sync.WaitGroup
	for _, t := range tasks {
		wg.Go(func() { r.stopTask(t, true) })
	}
	wg.Wait()
}

func (r *Runtime) reconcile(ctx context.Context) {
	r.mu.Lock()
	desired := maps.Clone(r.desired)
	current := maps.Clone(r.tasks)
	r.mu.Unlock()

	// Stop what is gone or changed, all at once.
	var wg sync.WaitGroup
	for ref, t := range current {
		a, keep := desired[ref]
		switch {
		case !keep:
			wg.Go(func() { r.stopTask(t, true) })
		case !maps.Equal(a.Config, t.config) || a.Restart != t.restart || t.failed.Load():
			// A new config or a restart request restarts the task. A
			// failed task also restarts when the control plane sends it
			// again with another epoch.
			if !maps.Equal(a.Config, t.config) || a.Restart != t.restart || a.Epoch != t.epoch.Load() {
				wg.Go(func() { r.stopTask(t, false) })
			}
		default:
			// Same task, same config: follow the epoch (the control plane
			// gave it back to this agent) and the target state.
			if t.epoch.Swap(a.Epoch) != a.Epoch {
				t.log.Info("task kept under a new epoch", "epoch", a.Epoch)
			}
			t.setPaused(a.Paused)
			t.topics.setReset(a.TopicsReset)
		}
	}
	wg.Wait()

	for ref, a := range desired {
		r.mu.Lock()
		_, running := r.tasks[ref]
		r.mu.Unlock()
		if running {
			continue
		}
		r.startTask(ctx, a)
	}
}

// startTask starts one task; a task that cannot start is reported FAILED
// and kept, so that the control plane sees why.
func (r *Runtime) startTask(ctx context.Context, a Assignment) {
	log := r.log.With("connector", a.Task.Connector, "task", a.Task.Task, "epoch", a.Epoch)
	t := newTask(r, a, log)
	r.mu.Lock()
	if c, ok := r.offsets[a.Task]; ok && c.epoch == a.Epoch {
		t.resume = mergeOffsets(a.Offsets, c.offsets)
	} else {
		t.resume = a.Offsets
	}
	t.ctx, t.cancel = context.WithCancel(ctx)
	r.tasks[a.Task] = t
	r.mu.Unlock()
	log.Info("starting task")
	go t.run(t.ctx)
}

// stopTask stops t and waits for it to end. forget says the task is no
// longer this agent's: its final state is reported STOPPED.
func (r *Runtime) stopTask(t *task, forget bool) {
	t.stop()
	t.m.Close()
	r.mu.Lock()
	if cur, ok := r.tasks[t.ref]; ok && cur == t {
		delete(r.tasks, t.ref)
	}
	if final := t.committedOffsets(); len(final) > 0 {
		r.offsets[t.ref] = cachedOffsets{epoch: t.epoch.Load(), offsets: final}
	}
	r.mu.Unlock()
	if forget {
		r.cfg.Reporter.TaskState(t.ref, Status{Epoch: t.epoch.Load(), State: StateStopped, Message: "task stopped on this agent"})
	}
}

// Remember records offsets a task committed under epoch, for example in a
// previous run of the agent: a task started under the same epoch resumes
// from them (they are newer than what the control plane sends).
func (r *Runtime) Remember(t TaskRef, epoch int64, offsets []connectors.Offset) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.offsets[t] = cachedOffsets{epoch: epoch, offsets: offsets}
}

// mergeOffsets returns base with the newer offsets laid over it.
func mergeOffsets(base, newer []connectors.Offset) []connectors.Offset {
	byKey := map[string]int{}
	out := make([]connectors.Offset, 0, len(base)+len(newer))
	for _, o := range base {
		byKey[partitionKey(o.Partition)] = len(out)
		out = append(out, o)
	}
	for _, o := range newer {
		k := partitionKey(o.Partition)
		if i, ok := byKey[k]; ok {
			out[i] = o
			continue
		}
		byKey[k] = len(out)
		out = append(out, o)
	}
	return out
}

// offsetReader serves a task's resume offsets.
type offsetReader map[string]map[string]any

func newOffsetReader(os []connectors.Offset) offsetReader {
	m := make(offsetReader, len(os))
	for _, o := range os {
		m[partitionKey(o.Partition)] = o.Offset
	}
	return m
}

func (m offsetReader) Offset(partition map[string]any) map[string]any {
	return m[partitionKey(partition)]
}

// errorTrace renders a failure for a task status.
func errorTrace(err error) string {
	if err == nil {
		return ""
	}
	return fmt.Sprintf("%v", err)
}
