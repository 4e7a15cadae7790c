package telemetry

import (
	"context"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/metric"
)

// The task instruments (Kafka Connect's source-task-metrics,
// sink-task-metrics, connector-task-metrics and task-error-metrics, per
// connector and task).
var task struct {
	once                                   sync.Once
	sourcePoll, sourceWrite                metric.Int64Counter
	sinkRead, sinkSend                     metric.Int64Counter
	pollTime, putTime, commitTime          metric.Float64Histogram
	batchSize                              metric.Int64Histogram
	commits                                metric.Int64Counter
	recordErrors, skipped, retries         metric.Int64Counter
	dlqRequests, dlqFailures, errorsLogged metric.Int64Counter

	// live holds the recorders of the tasks that run in this process:
	// sluice_sink_record_lag_max is read from them at each scrape, so a
	// task that stopped or moved to another agent leaves no stale lag.
	mu   sync.Mutex
	live map[*Task]struct{}
}

func taskInstruments() {
	task.once.Do(func() {
		task.sourcePoll = counter("sluice_source_record_poll", "Records a source task's Poll returned (Kafka Connect: source-record-poll-total).")
		task.sourceWrite = counter("sluice_source_record_write", "Records a source task handed to Kafka after transforms (Kafka Connect: source-record-write-total).")
		task.sinkRead = counter("sluice_sink_record_read", "Records a sink task fetched from Kafka (Kafka Connect: sink-record-read-total).")
		task.sinkSend = counter("sluice_sink_record_send", "Records a sink task gave its connector's Put after transforms, counted when Put succeeds (Kafka Connect: sink-record-send-total).")
		task.pollTime = seconds("sluice_poll_batch_seconds", "Time a source task's Poll took, per batch (Kafka Connect: poll-batch-avg-time-ms, poll-batch-max-time-ms).")
		task.putTime = seconds("sluice_put_batch_seconds", "Time a sink connector's Put took, per batch (Kafka Connect: put-batch-avg-time-ms, put-batch-max-time-ms).")
		task.commitTime = seconds("sluice_offset_commit_seconds", "Time an offset commit took (Kafka Connect: offset-commit-avg-time-ms, offset-commit-max-time-ms).")
		task.batchSize = sizes("sluice_batch_size", "Records per batch, by direction (Kafka Connect: batch-size-avg, batch-size-max).")
		task.commits = counter("sluice_offset_commit", "Offset commits by result, success or failure (Kafka Connect: offset-commit-success-percentage, offset-commit-failure-percentage; sink-record-active-count's commits).")
		task.recordErrors = counter("sluice_task_record_errors", "Records that failed in a converter or transform (Kafka Connect: total-record-errors).")
		task.skipped = counter("sluice_task_records_skipped", "Records skipped under errors.tolerance=all (Kafka Connect: total-records-skipped).")
		task.retries = counter("sluice_task_retries", "Operations retried under errors.retry.timeout (Kafka Connect: total-retries).")
		task.dlqRequests = counter("sluice_deadletterqueue_produce_requests", "Records sent to the dead letter topic (Kafka Connect: deadletterqueue-produce-requests).")
		task.dlqFailures = counter("sluice_deadletterqueue_produce_failures", "Dead letter records Kafka refused (Kafka Connect: deadletterqueue-produce-failures).")
		task.errorsLogged = counter("sluice_task_errors_logged", "Errors written to the log under errors.log.enable (Kafka Connect: total-errors-logged).")

		task.live = map[*Task]struct{}{}
		lag, err := Meter().Int64ObservableGauge("sluice_sink_record_lag_max",
			metric.WithDescription("Largest lag, in records, of any partition in a sink task's last fetch: high watermark minus next offset (Kafka Connect: sink-record-lag-max)."))
		if err != nil {
			otel.Handle(err)
			return
		}
		if _, err := Meter().RegisterCallback(func(_ context.Context, o metric.Observer) error {
			task.mu.Lock()
			defer task.mu.Unlock()
			for t := range task.live {
				if t.lagKnown.Load() {
					o.ObserveInt64(lag, t.lag.Load(), t.observe)
				}
			}
			return nil
		}, lag); err != nil {
			otel.Handle(err)
		}
	})
}

// Task records one task's metrics. Its methods are cheap enough for once
// per batch (they do not allocate); the zero value is not usable, use
// NewTask, and Close the recorder when the task stops.
type Task struct {
	// Options with the task's attribute set (connector, task), made once:
	// recording then neither builds a set nor allocates.
	add                []metric.AddOption
	rec                []metric.RecordOption
	source, sink       []metric.RecordOption // with direction
	success, failure   []metric.AddOption    // with result
	observe            metric.ObserveOption
	lag                atomic.Int64
	lagKnown, isClosed atomic.Bool
}

// NewTask returns the recorder of one task.
func NewTask(connector string, taskID int) *Task {
	taskInstruments()
	base := []attribute.KeyValue{attribute.String("connector", connector), attribute.String("task", strconv.Itoa(taskID))}
	with := func(kv ...attribute.KeyValue) metric.MeasurementOption {
		return metric.WithAttributeSet(attribute.NewSet(append(append([]attribute.KeyValue{}, base...), kv...)...))
	}
	attrs := with()
	t := &Task{
		add:     []metric.AddOption{attrs},
		rec:     []metric.RecordOption{attrs},
		source:  []metric.RecordOption{with(attribute.String("direction", "source"))},
		sink:    []metric.RecordOption{with(attribute.String("direction", "sink"))},
		success: []metric.AddOption{with(attribute.String("result", "success"))},
		failure: []metric.AddOption{with(attribute.String("result", "failure"))},
		observe: attrs,
	}
	task.mu.Lock()
	task.live[t] = struct{}{}
	task.mu.Unlock()
	return t
}

// Close says the task stopped: its gauges are no longer reported (its
// counters stay, as Prometheus counters should).
func (t *Task) Close() {
	if t.isClosed.Swap(true) {
		return
	}
	task.mu.Lock()
	delete(task.live, t)
	task.mu.Unlock()
}

// SourcePoll records a Poll that returned n records after d.
func (t *Task) SourcePoll(n int, d time.Duration) {
	task.sourcePoll.Add(Background, int64(n), t.add...)
	task.pollTime.Record(Background, d.Seconds(), t.rec...)
	task.batchSize.Record(Background, int64(n), t.source...)
}

// SourceWrite records n records handed to the producer.
func (t *Task) SourceWrite(n int) { task.sourceWrite.Add(Background, int64(n), t.add...) }

// SinkRead records a fetch of n records whose largest partition lag is lag.
func (t *Task) SinkRead(n int, lag int64) {
	task.sinkRead.Add(Background, int64(n), t.add...)
	task.batchSize.Record(Background, int64(n), t.sink...)
	t.lag.Store(lag)
	t.lagKnown.Store(true)
}

// SinkPut records a Put of n records that took d; ok says it succeeded
// (only then do its records count as sent).
func (t *Task) SinkPut(n int, d time.Duration, ok bool) {
	if ok {
		task.sinkSend.Add(Background, int64(n), t.add...)
	}
	task.putTime.Record(Background, d.Seconds(), t.rec...)
}

// OffsetCommit records an offset commit that took d.
func (t *Task) OffsetCommit(ok bool, d time.Duration) {
	if ok {
		task.commits.Add(Background, 1, t.success...)
	} else {
		task.commits.Add(Background, 1, t.failure...)
	}
	task.commitTime.Record(Background, d.Seconds(), t.rec...)
}

// RecordError records a record that failed; skipped says it was tolerated.
func (t *Task) RecordError(skipped, logged bool) {
	task.recordErrors.Add(Background, 1, t.add...)
	if skipped {
		task.skipped.Add(Background, 1, t.add...)
	}
	if logged {
		task.errorsLogged.Add(Background, 1, t.add...)
	}
}

// Retry records an operation retried.
func (t *Task) Retry() { task.retries.Add(Background, 1, t.add...) }

// DeadLetter records a dead letter sent, and whether Kafka refused it.
func (t *Task) DeadLetter(failed bool) {
	if failed {
		task.dlqFailures.Add(Background, 1, t.add...)
		return
	}
	task.dlqRequests.Add(Background, 1, t.add...)
}
