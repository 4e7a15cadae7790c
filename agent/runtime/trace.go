package runtime

import (
	"context"
	"fmt"
	"sync"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/trace"

	"github.com/sluicehq/sluice/internal/tracing"
)

// Tracing of a task's work (internal/tracing; nothing happens unless the
// process exports traces). A task's start joins the trace of the API call
// that created or changed its connector; the first batch after the start
// belongs to that trace too, later batches each start their own. A source
// batch's span covers poll to the last acknowledgement, and its records
// carry its context to Kafka in a traceparent header (kotel); a sink batch
// joins the trace of its first traced record and links the others, so one
// trace can follow a record from the API call that made its connector to
// the sink that wrote it.

// maxLinks bounds the links a sink batch keeps to the traces of its records.
const maxLinks = 16

type taskTrace struct {
	mu    sync.Mutex
	start trace.Span      // the task's start, until it runs
	first context.Context // the start's context, for the first batch
	// pollStart and pollEnd time the last Poll (source tasks).
	pollStart, pollEnd time.Time
}

func (t *task) attrs() trace.SpanStartOption {
	return trace.WithAttributes(attribute.String("sluice.connector", t.ref.Connector), attribute.Int("sluice.task", t.ref.Task),
		attribute.Int64("sluice.epoch", t.epoch.Load()))
}

// traceStart opens the span of one run of the task.
func (t *task) traceStart(ctx context.Context) {
	if !tracing.Enabled() {
		return
	}
	ctx, span := tracing.Tracer().Start(tracing.FromTraceParent(ctx, t.traceParent),
		fmt.Sprintf("task start %s/%d", t.ref.Connector, t.ref.Task), t.attrs())
	t.trace.mu.Lock()
	t.trace.start, t.trace.first = span, ctx
	t.trace.mu.Unlock()
	t.log.InfoContext(ctx, "task run traced") // its trace_id in the log
}

// traceEnd closes the start span: the task runs, or failed with err.
func (t *task) traceEnd(err error) {
	if !tracing.Enabled() {
		return
	}
	t.trace.mu.Lock()
	span := t.trace.start
	t.trace.start = nil
	t.trace.mu.Unlock()
	if span == nil {
		return
	}
	if err != nil {
		span.RecordError(err)
		span.SetStatus(codes.Error, firstLine(err.Error()))
	}
	span.End()
}

// batchParent is the context a batch's span starts from: the task start's
// for the first batch, none after.
func (t *task) batchParent() context.Context {
	t.trace.mu.Lock()
	defer t.trace.mu.Unlock()
	if ctx := t.trace.first; ctx != nil {
		t.trace.first = nil
		return ctx
	}
	return context.Background()
}

// sourceBatchSpan starts a polled batch's span (from the poll's start) with
// a poll child span; nil when tracing is off.
func (t *task) sourceBatchSpan(n int) (context.Context, trace.Span) {
	if !tracing.Enabled() {
		return nil, nil
	}
	t.trace.mu.Lock()
	ps, pe := t.trace.pollStart, t.trace.pollEnd
	t.trace.mu.Unlock()
	ctx, span := tracing.Tracer().Start(t.batchParent(), "source batch "+t.ref.Connector, t.attrs(),
		trace.WithTimestamp(ps), trace.WithAttributes(attribute.Int("sluice.records", n)))
	_, poll := tracing.Tracer().Start(ctx, "poll", trace.WithTimestamp(ps))
	poll.End(trace.WithTimestamp(pe))
	return ctx, span
}

// timePoll records when a Poll started and ended, for the batch's span.
func (t *task) timePoll(start, end time.Time) {
	if !tracing.Enabled() {
		return
	}
	t.trace.mu.Lock()
	t.trace.pollStart, t.trace.pollEnd = start, end
	t.trace.mu.Unlock()
}

// sinkBatchSpan starts a fetched batch's span, in the trace of its first
// traced record (else, for the first batch, in the task start's), linking
// the traces of up to maxLinks other records and the task start; nil when
// tracing is off.
func (t *task) sinkBatchSpan(fetches kgo.Fetches, n int) (context.Context, trace.Span) {
	if !tracing.Enabled() {
		return nil, nil
	}
	parent := t.batchParent()
	var links []trace.Link
	if sc := trace.SpanContextFromContext(parent); sc.IsValid() {
		links = append(links, trace.Link{SpanContext: sc})
	}
	fromRecord := false
	seen := map[trace.TraceID]bool{}
	fetches.EachRecord(func(r *kgo.Record) {
		if r.Context == nil || len(links) >= maxLinks {
			return
		}
		sc := trace.SpanContextFromContext(r.Context)
		if !sc.IsValid() || seen[sc.TraceID()] {
			return
		}
		seen[sc.TraceID()] = true
		if !fromRecord {
			parent, fromRecord = r.Context, true
			return
		}
		links = append(links, trace.Link{SpanContext: sc})
	})
	return tracing.Tracer().Start(parent, "sink batch "+t.ref.Connector, t.attrs(), trace.WithLinks(links...),
		trace.WithAttributes(attribute.Int("sluice.records", n)))
}

// child starts a span under ctx, or returns nil when ctx is nil (tracing
// off).
func child(ctx context.Context, name string) trace.Span {
	if ctx == nil {
		return nil
	}
	_, s := tracing.Tracer().Start(ctx, name)
	return s
}

// endSpan ends s, if any, recording err.
func endSpan(s trace.Span, err error) {
	if s == nil {
		return
	}
	if err != nil {
		s.RecordError(err)
		s.SetStatus(codes.Error, firstLine(err.Error()))
	}
	s.End()
}

// commitSpan starts a sink commit's span (flush and offset commit), linked
// to the last batch it makes durable; nil when tracing is off.
func (t *task) commitSpan(last trace.SpanContext) (context.Context, trace.Span) {
	if !tracing.Enabled() {
		return nil, nil
	}
	var links []trace.Link
	if last.IsValid() {
		links = append(links, trace.Link{SpanContext: last})
	}
	return tracing.Tracer().Start(context.Background(), "sink commit "+t.ref.Connector, t.attrs(), trace.WithLinks(links...))
}
