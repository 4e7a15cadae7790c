package runtime

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"runtime/debug"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/sluicehq/sluice/connectors"
	"github.com/sluicehq/sluice/connectors/converter"
	"github.com/sluicehq/sluice/connectors/schema"
	"github.com/sluicehq/sluice/internal/telemetry"
	"github.com/sluicehq/sluice/internal/tracing"
	"github.com/sluicehq/sluice/transforms"
)

// KeyOffsetFlushInterval is the connector config key (Kafka Connect's
// worker setting, per connector here) that sets how often a source task's
// committed offsets are reported and a sink task flushes and commits.
const KeyOffsetFlushInterval = "offset.flush.interval.ms"

// task is one running task.
type task struct {
	rt     *Runtime
	ref    TaskRef
	config map[string]string
	// restart is the restart number the task started under.
	restart int64
	log     *slog.Logger

	epoch    atomic.Int64
	paused   atomic.Bool
	failed   atomic.Bool
	restarts atomic.Int32
	// wake is signalled when paused changes.
	wake chan struct{}

	resume []connectors.Offset

	ctx    context.Context
	cancel context.CancelFunc
	done   chan struct{}

	mu        sync.Mutex
	committed map[string]connectors.Offset // source: newest committed offset per partition

	topics activeTopics

	// traceParent is the traceparent of the API call behind the task's
	// config; trace is the tracing state of its runs (trace.go).
	traceParent string
	trace       taskTrace
	// m records the task's metrics (internal/telemetry).
	m *telemetry.Task
}

func newTask(r *Runtime, a Assignment, log *slog.Logger) *task {
	t := &task{
		rt:        r,
		ref:       a.Task,
		config:    a.Config,
		restart:   a.Restart,
		log:       log,
		wake:      make(chan struct{}, 1),
		done:      make(chan struct{}),
		committed: map[string]connectors.Offset{},
	}
	t.epoch.Store(a.Epoch)
	t.paused.Store(a.Paused)
	t.topics.t = t
	t.topics.setReset(a.TopicsReset)
	t.traceParent = a.TraceParent
	t.m = telemetry.NewTask(a.Task.Connector, a.Task.Task)
	return t
}

// setPaused changes the target state of a running task.
func (t *task) setPaused(p bool) {
	if t.paused.Swap(p) == p {
		return
	}
	select {
	case t.wake <- struct{}{}:
	default:
	}
}

// stop asks the task to stop and waits until it has.
func (t *task) stop() {
	if t.cancel != nil {
		t.cancel()
	}
	<-t.done
}

func (t *task) report(state State, trace, message string) {
	if state == StateRunning {
		t.traceEnd(nil)
	}
	if n := t.restarts.Load(); n > 0 && state == StateRunning {
		message = fmt.Sprintf("%s (restarted %d times after failures)", message, n)
	}
	t.rt.cfg.Reporter.TaskState(t.ref, Status{Epoch: t.epoch.Load(), State: state, Trace: trace, Message: message,
		Restarts: t.restarts.Load()})
}

// fail records a task failure: the task stays FAILED until the control
// plane restarts it.
func (t *task) fail(err error) {
	t.failed.Store(true)
	t.log.Error("task failed", "err", err)
	t.report(StateFailed, errorTrace(err), "task failed: "+firstLine(err.Error()))
}

func firstLine(s string) string {
	if i := strings.IndexByte(s, '\n'); i >= 0 {
		return s[:i]
	}
	return s
}

// Restart backoff of a failed task: it doubles from restartMin to
// restartMax, and starts over once a run lasted healthyRun.
const (
	restartMin = time.Second
	restartMax = time.Minute
	healthyRun = time.Minute
)

// run runs the task until its context ends. A failed task is reported
// FAILED with its trace and restarted after a backoff, on this agent, under
// the same epoch: a broken connector keeps trying without anyone's help and
// without disturbing any other task.
func (t *task) run(ctx context.Context) {
	defer close(t.done)
	backoff := restartMin
	for restarts := 0; ; restarts++ {
		started := time.Now()
		err := t.runOnce(ctx)
		if ctx.Err() != nil || err == nil {
			t.log.Info("task stopped")
			return
		}
		t.fail(err)
		if errors.Is(err, errFenced) {
			// Another instance owns the task: restarting would fence it
			// in turn. The task waits, FAILED, until the control plane
			// gives it again under a new epoch.
			t.log.Warn("task fenced by another instance; not restarting it")
			<-ctx.Done()
			return
		}
		if time.Since(started) >= healthyRun {
			backoff = restartMin
		}
		t.log.Info("restarting failed task", "backoff", backoff, "restarts", restarts+1)
		if !sleep(ctx, backoff) {
			return
		}
		backoff = min(2*backoff, restartMax)
		t.failed.Store(false)
		t.restarts.Store(int32(restarts + 1))
	}
}

// runOnce runs the task once; a panic in the connector is its error.
func (t *task) runOnce(ctx context.Context) (err error) {
	t.traceStart(ctx)
	defer func() {
		if p := recover(); p != nil {
			err = fmt.Errorf("panic: %v\n%s", p, debug.Stack())
		}
		t.traceEnd(err)
	}()
	// Placeholders resolve here, on the agent, each time the task starts;
	// the resolved config lives only in this run.
	raw, err := t.rt.cfg.ConfigProviders.Resolve(t.config)
	if err != nil {
		return err
	}
	p, errs := t.rt.cfg.Registry.Validate(raw)
	if len(errs) > 0 {
		return &connectors.ValidationError{Errors: errs}
	}
	cfg := connectors.NewConfig(p.FullSpec(), raw)
	switch p.Type {
	case connectors.SourceType:
		return t.runSource(ctx, p, cfg)
	case connectors.SinkType:
		return t.runSink(ctx, p, cfg)
	}
	return fmt.Errorf("plugin %s has no type", p.Name)
}

// flushInterval is the task's offset flush interval.
func (t *task) flushInterval() time.Duration {
	if v, ok := t.config[KeyOffsetFlushInterval]; ok {
		var ms int64
		if _, err := fmt.Sscan(strings.TrimSpace(v), &ms); err == nil && ms > 0 {
			return time.Duration(ms) * time.Millisecond
		}
	}
	return t.rt.cfg.OffsetFlushInterval
}

// waitWhilePaused blocks while the task is paused, calling onPause once
// when the pause begins. It returns false when ctx ended.
func (t *task) waitWhilePaused(ctx context.Context, tick <-chan time.Time, onTick func()) bool {
	if !t.paused.Load() {
		return true
	}
	t.report(StatePaused, "", "paused")
	for t.paused.Load() {
		select {
		case <-ctx.Done():
			return false
		case <-t.wake:
		case <-tick:
			onTick()
		}
	}
	t.report(StateRunning, "", "resumed")
	return true
}

// kafkaOpts are the options every Kafka client of the task has.
func (t *task) kafkaOpts(role string) []kgo.Opt {
	return append([]kgo.Opt{
		kgo.SeedBrokers(t.rt.cfg.Brokers...),
		kgo.ClientID(fmt.Sprintf("sluice-%s-%s-%d-%s", t.rt.cfg.AgentName, t.ref.Connector, t.ref.Task, role)),
	}, append(tracing.KafkaOpts(), t.rt.cfg.KafkaOptions...)...)
}

// codec turns records between their raw and structured forms with a
// connector's converters and transforms.
type codec struct {
	key, value converter.Converter
	chain      *transforms.Chain
	// The converters' class names, for error reports.
	keyClass, valueClass string
}

func newCodec(raw map[string]string) (*codec, error) {
	k, err := converter.FromConfig(raw, true)
	if err != nil {
		return nil, err
	}
	v, err := converter.FromConfig(raw, false)
	if err != nil {
		return nil, err
	}
	chain, errs := transforms.Builtin().Parse(raw)
	if len(errs) > 0 {
		return nil, &connectors.ValidationError{Errors: errs}
	}
	className := func(key string) string {
		if c := strings.TrimSpace(raw[key]); c != "" {
			return c
		}
		return connectors.DefaultConverter
	}
	return &codec{key: k, value: v, chain: chain,
		keyClass: className(connectors.KeyKeyConverter), valueClass: className(connectors.KeyValueConverter)}, nil
}

// rawData is the structured form of a raw payload described by s.
func rawData(b []byte, s *schema.Schema) any {
	if b == nil {
		return nil
	}
	if s != nil && s.Type == schema.String {
		return string(b)
	}
	return b
}

// structure gives r its structured form from its raw one, where missing.
func structure(r *connectors.Record) {
	if r.KeyData == nil && r.Key != nil {
		r.KeyData = rawData(r.Key, r.KeySchema)
		if r.KeySchema == nil {
			r.KeySchema = &schema.Schema{Type: schema.Bytes, Optional: true}
		}
	}
	if r.ValueData == nil && r.Value != nil {
		r.ValueData = rawData(r.Value, r.ValueSchema)
		if r.ValueSchema == nil {
			r.ValueSchema = &schema.Schema{Type: schema.Bytes, Optional: true}
		}
	}
}

// encode makes the bytes of one key or value for Kafka.
func encode(c converter.Converter, topic string, b []byte, s *schema.Schema, data any) ([]byte, error) {
	if data == nil {
		if b == nil && s == nil {
			return nil, nil
		}
		if c.PassesThrough(s) {
			return b, nil
		}
		data = rawData(b, s)
	}
	return c.FromConnect(topic, s, data)
}

// partitionKey is a source partition's identity: its JSON form, keys sorted.
func partitionKey(p map[string]any) string {
	b, err := json.Marshal(p)
	if err != nil {
		return fmt.Sprint(p)
	}
	return string(b)
}

// committedOffsets returns the newest committed offset of each partition.
func (t *task) committedOffsets() []connectors.Offset {
	t.mu.Lock()
	defer t.mu.Unlock()
	out := make([]connectors.Offset, 0, len(t.committed))
	for _, o := range t.committed {
		out = append(out, o)
	}
	return out
}

// retryable reports whether err asks for another attempt.
func retryable(err error) bool { return errors.Is(err, connectors.ErrRetriable) }

// sleep waits d or until ctx ends; it returns false when ctx ended.
func sleep(ctx context.Context, d time.Duration) bool {
	tm := time.NewTimer(d)
	defer tm.Stop()
	select {
	case <-ctx.Done():
		return false
	case <-tm.C:
		return true
	}
}
