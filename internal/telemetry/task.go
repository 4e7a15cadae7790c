package telemetry

import (
	"strconv"
	"sync"
	"time"

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
	lagMax                                 metric.Int64Gauge
	commits                                metric.Int64Counter
	recordErrors, skipped, retries         metric.Int64Counter
	dlqRequests, dlqFailures, errorsLogged metric.Int64Counter
}

func taskInstruments() {
	task.once.Do(func() {
		task.sourcePoll = counter("sluice_source_record_poll", "Records a source task's Poll returned (Kafka Connect: source-record-poll-total).")
		task.sourceWrite = counter("sluice_source_record_write", "Records a source task handed to Kafka after transforms (Kafka Connect: source-record-write-total).")
		task.sinkRead = counter("sluice_sink_record_read", "Records a sink task fetched from Kafka (Kafka Connect: sink-record-read-total).")
		task.sinkSend = counter("sluice_sink_record_send", "Records a sink task gave its connector's Put after transforms (Kafka Connect: sink-record-send-total).")
		task.pollTime = seconds("sluice_poll_batch_seconds", "Time a source task's Poll took, per batch (Kafka Connect: poll-batch-avg-time-ms, poll-batch-max-time-ms).")
		task.putTime = seconds("sluice_put_batch_seconds", "Time a sink connector's Put took, per batch (Kafka Connect: put-batch-avg-time-ms, put-batch-max-time-ms).")
		task.commitTime = seconds("sluice_offset_commit_seconds", "Time an offset commit took (Kafka Connect: offset-commit-avg-time-ms, offset-commit-max-time-ms).")
		task.batchSize = sizes("sluice_batch_size", "Records per batch, by direction (Kafka Connect: batch-size-avg, batch-size-max).")
		task.lagMax = gauge("sluice_sink_record_lag_max", "Largest lag, in records, of any partition in a sink task's last fetch (Kafka Connect: sink-record-lag-max).")
		task.commits = counter("sluice_offset_commit", "Offset commits by result, success or failure (Kafka Connect: offset-commit-success-percentage, offset-commit-failure-percentage; sink-record-active-count's commits).")
		task.recordErrors = counter("sluice_task_record_errors", "Records that failed in a converter or transform (Kafka Connect: total-record-errors).")
		task.skipped = counter("sluice_task_records_skipped", "Records skipped under errors.tolerance=all (Kafka Connect: total-records-skipped).")
		task.retries = counter("sluice_task_retries", "Operations retried under errors.retry.timeout (Kafka Connect: total-retries).")
		task.dlqRequests = counter("sluice_deadletterqueue_produce_requests", "Records sent to the dead letter topic (Kafka Connect: deadletterqueue-produce-requests).")
		task.dlqFailures = counter("sluice_deadletterqueue_produce_failures", "Dead letter records Kafka refused (Kafka Connect: deadletterqueue-produce-failures).")
		task.errorsLogged = counter("sluice_task_errors_logged", "Errors written to the log under errors.log.enable (Kafka Connect: total-errors-logged).")
	})
}

// Task records one task's metrics. Its methods are cheap enough for once
// per batch; the zero value is not usable, use NewTask.
type Task struct {
	attrs            metric.MeasurementOption
	source, sink     metric.MeasurementOption // attrs with direction
	success, failure metric.MeasurementOption
}

// NewTask returns the recorder of one task.
func NewTask(connector string, taskID int) *Task {
	taskInstruments()
	base := []attribute.KeyValue{attribute.String("connector", connector), attribute.String("task", strconv.Itoa(taskID))}
	with := func(kv ...attribute.KeyValue) metric.MeasurementOption {
		return metric.WithAttributeSet(attribute.NewSet(append(append([]attribute.KeyValue{}, base...), kv...)...))
	}
	return &Task{attrs: with(), source: with(attribute.String("direction", "source")), sink: with(attribute.String("direction", "sink")),
		success: with(attribute.String("result", "success")), failure: with(attribute.String("result", "failure"))}
}

// SourcePoll records a Poll that returned n records after d.
func (t *Task) SourcePoll(n int, d time.Duration) {
	task.sourcePoll.Add(Background, int64(n), t.attrs)
	task.pollTime.Record(Background, d.Seconds(), t.attrs)
	task.batchSize.Record(Background, int64(n), t.source)
}

// SourceWrite records n records handed to the producer.
func (t *Task) SourceWrite(n int) { task.sourceWrite.Add(Background, int64(n), t.attrs) }

// SinkRead records a fetch of n records whose largest partition lag is lag.
func (t *Task) SinkRead(n int, lag int64) {
	task.sinkRead.Add(Background, int64(n), t.attrs)
	task.batchSize.Record(Background, int64(n), t.sink)
	task.lagMax.Record(Background, lag, t.attrs)
}

// SinkPut records a Put of n records that took d.
func (t *Task) SinkPut(n int, d time.Duration) {
	task.sinkSend.Add(Background, int64(n), t.attrs)
	task.putTime.Record(Background, d.Seconds(), t.attrs)
}

// OffsetCommit records an offset commit that took d.
func (t *Task) OffsetCommit(ok bool, d time.Duration) {
	if ok {
		task.commits.Add(Background, 1, t.success)
	} else {
		task.commits.Add(Background, 1, t.failure)
	}
	task.commitTime.Record(Background, d.Seconds(), t.attrs)
}

// RecordError records a record that failed; skipped says it was tolerated.
func (t *Task) RecordError(skipped, logged bool) {
	task.recordErrors.Add(Background, 1, t.attrs)
	if skipped {
		task.skipped.Add(Background, 1, t.attrs)
	}
	if logged {
		task.errorsLogged.Add(Background, 1, t.attrs)
	}
}

// Retry records an operation retried.
func (t *Task) Retry() { task.retries.Add(Background, 1, t.attrs) }

// DeadLetter records a dead letter sent, and whether Kafka refused it.
func (t *Task) DeadLetter(failed bool) {
	if failed {
		task.dlqFailures.Add(Background, 1, t.attrs)
		return
	}
	task.dlqRequests.Add(Background, 1, t.attrs)
}
