package runtime

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math/rand/v2"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/sluicehq/sluice/connectors"
)

// Stages where a record can fail, with Kafka Connect's names (Stage.java).
const (
	stageKeyConverter   = "KEY_CONVERTER"
	stageValueConverter = "VALUE_CONVERTER"
	stageTransformation = "TRANSFORMATION"
	stageKafkaProduce   = "KAFKA_PRODUCE"
)

// The dead letter queue's context headers, with Kafka Connect's names
// (DeadLetterQueueReporter.java), and Sluice's for source records.
const (
	hdrPrefix          = "__connect.errors."
	hdrTopic           = hdrPrefix + "topic"
	hdrPartition       = hdrPrefix + "partition"
	hdrOffset          = hdrPrefix + "offset"
	hdrConnector       = hdrPrefix + "connector.name"
	hdrTask            = hdrPrefix + "task.id"
	hdrStage           = hdrPrefix + "stage"
	hdrClass           = hdrPrefix + "class.name"
	hdrExceptionClass  = hdrPrefix + "exception.class.name"
	hdrExceptionMsg    = hdrPrefix + "exception.message"
	hdrExceptionStack  = hdrPrefix + "exception.stacktrace"
	hdrSourcePartition = hdrPrefix + "source.partition"
	hdrSourceOffset    = hdrPrefix + "source.offset"
)

// stageError is a record's failure at one stage.
type stageError struct {
	stage string
	// class is what was executing: the converter or transform.
	class string
	err   error
}

func (e *stageError) Error() string { return e.err.Error() }
func (e *stageError) Unwrap() error { return e.err }

// failedRecord is what the error handler knows of a record that failed.
type failedRecord struct {
	// Sink: the Kafka record as consumed. Source: the record as the
	// connector gave it, its intended topic in Topic.
	Topic     string
	Partition int32
	Offset    int64 // -1 for source records
	Key       []byte
	Value     []byte
	Headers   []kgo.RecordHeader
	Timestamp time.Time
	// Source records only.
	SourcePartition, SourceOffset map[string]any
}

// errorHandler applies a task's errors.* settings: it retries what is
// retriable for errors.retry.timeout, and then either fails the task
// (errors.tolerance=none) or skips the record (all), logging it and sending
// it to the dead letter topic as configured.
type errorHandler struct {
	t             *task
	tolerateAll   bool
	retryTimeout  time.Duration // 0: no retry; < 0: forever
	retryDelayMax time.Duration
	logEnable     bool
	logMessages   bool
	dlqTopic      string
	dlqRF         int
	dlqHeaders    bool

	mu      sync.Mutex
	dlq     *kgo.Client
	dlqErr  error
	created bool
	// shared is the task's own (transactional) producer, when dead letters
	// go through it; close leaves it open.
	shared *kgo.Client

	skipped atomic.Int64
	last    atomic.Pointer[string]
}

func newErrorHandler(t *task, cfg connectors.Config) *errorHandler {
	ms := func(key string) time.Duration {
		n, _ := strconv.ParseInt(strings.TrimSpace(cfg.String(key)), 10, 64)
		if n < 0 {
			return -1
		}
		return time.Duration(n) * time.Millisecond
	}
	return &errorHandler{
		t:             t,
		tolerateAll:   strings.EqualFold(strings.TrimSpace(cfg.String(connectors.KeyErrorsTolerance)), "all"),
		retryTimeout:  ms(connectors.KeyErrorsRetryTimeout),
		retryDelayMax: ms(connectors.KeyErrorsRetryDelayMax),
		logEnable:     cfg.Bool(connectors.KeyErrorsLogEnable),
		logMessages:   cfg.Bool(connectors.KeyErrorsLogMessages),
		dlqTopic:      strings.TrimSpace(cfg.String(connectors.KeyErrorsDLQTopic)),
		dlqRF:         cfg.Int(connectors.KeyErrorsDLQReplication),
		dlqHeaders:    cfg.Bool(connectors.KeyErrorsDLQHeaders),
	}
}

// retry runs op, again while it fails with a retriable error, for up to
// errors.retry.timeout: backoff from 300 ms, doubling, then random below
// errors.retry.delay.max.ms, as Kafka Connect does.
func (h *errorHandler) retry(ctx context.Context, op func() error) error {
	err := op()
	if err == nil || h.retryTimeout == 0 || !retryable(err) {
		return err
	}
	deadline := time.Now().Add(h.retryTimeout)
	delay := 300 * time.Millisecond
	for err != nil && retryable(err) && (h.retryTimeout < 0 || time.Now().Before(deadline)) {
		d := delay
		if h.retryDelayMax > 0 && d > h.retryDelayMax {
			d = time.Duration(rand.Int64N(int64(h.retryDelayMax)) + 1)
		}
		if h.retryTimeout > 0 {
			d = min(d, time.Until(deadline))
		}
		if !sleep(ctx, d) {
			return err
		}
		delay *= 2
		h.t.m.Retry()
		err = op()
	}
	return err
}

// handle decides about a record that failed: nil means skip it (tolerated,
// logged and queued to the dead letter topic as configured); an error means
// the task fails. done is called once the dead letter record is durable
// (at once when there is none).
func (h *errorHandler) handle(ctx context.Context, se *stageError, r *failedRecord, promise func(*kgo.Record, error)) error {
	if !h.tolerateAll {
		h.t.m.RecordError(false, false)
		return fmt.Errorf("%s failed (errors.tolerance=none fails the task at the first bad record; set errors.tolerance=all to skip such records): %w", se.stage, se)
	}
	n := h.skipped.Add(1)
	h.t.m.RecordError(true, h.logEnable)
	msg := fmt.Sprintf("%s %s: %s", r.where(), se.stage, firstLine(se.err.Error()))
	h.last.Store(&msg)
	if h.logEnable {
		attrs := []any{"stage", se.stage, "class", se.class, "topic", r.Topic, "partition", r.Partition, "err", se.err, "skipped", n}
		if r.Offset >= 0 {
			attrs = append(attrs, "offset", r.Offset, "timestamp", r.Timestamp)
		} else {
			attrs = append(attrs, "source_partition", r.SourcePartition, "source_offset", r.SourceOffset)
		}
		if h.logMessages {
			attrs = append(attrs, "key", string(r.Key), "value", string(r.Value), "headers", len(r.Headers))
		}
		h.t.log.Error("error in record processing; record skipped (errors.tolerance=all)", attrs...)
	}
	if h.dlqTopic == "" {
		return nil
	}
	cl, err := h.client(ctx)
	if err != nil {
		return err
	}
	rec := &kgo.Record{Topic: h.dlqTopic, Key: r.Key, Value: r.Value, Timestamp: r.Timestamp,
		Headers: append([]kgo.RecordHeader(nil), r.Headers...)}
	if h.dlqHeaders {
		rec.Headers = append(rec.Headers, h.contextHeaders(se, r)...)
	}
	h.t.m.DeadLetter(false)
	cl.Produce(ctx, rec, func(kr *kgo.Record, err error) {
		if err != nil {
			h.t.m.DeadLetter(true)
			h.mu.Lock()
			if h.dlqErr == nil {
				h.dlqErr = fmt.Errorf("dead letter topic %s: %w", h.dlqTopic, err)
			}
			h.mu.Unlock()
		}
		if promise != nil {
			promise(kr, err)
		}
	})
	return nil
}

// skipProduce records a source record Kafka refused, skipped under
// errors.tolerance=all (it goes to no dead letter topic: Kafka refused it).
func (h *errorHandler) skipProduce(kr *kgo.Record, err error) {
	n := h.skipped.Add(1)
	msg := fmt.Sprintf("record for %s %s: %s", kr.Topic, stageKafkaProduce, firstLine(err.Error()))
	h.last.Store(&msg)
	if h.logEnable {
		h.t.log.Error("Kafka refused a record; record skipped (errors.tolerance=all)", "stage", stageKafkaProduce,
			"topic", kr.Topic, "err", err, "skipped", n)
	}
}

func (r *failedRecord) where() string {
	if r.Offset >= 0 {
		return fmt.Sprintf("%s[%d]@%d", r.Topic, r.Partition, r.Offset)
	}
	b, _ := json.Marshal(r.SourcePartition)
	return fmt.Sprintf("record for %s from source partition %s", r.Topic, b)
}

func (h *errorHandler) contextHeaders(se *stageError, r *failedRecord) []kgo.RecordHeader {
	hd := func(k, v string) kgo.RecordHeader { return kgo.RecordHeader{Key: k, Value: []byte(v)} }
	out := []kgo.RecordHeader{hd(hdrTopic, r.Topic)}
	if r.Offset >= 0 {
		out = append(out, hd(hdrPartition, strconv.Itoa(int(r.Partition))), hd(hdrOffset, strconv.FormatInt(r.Offset, 10)))
	} else {
		p, _ := json.Marshal(r.SourcePartition)
		o, _ := json.Marshal(r.SourceOffset)
		out = append(out, hd(hdrSourcePartition, string(p)), hd(hdrSourceOffset, string(o)))
	}
	return append(out,
		hd(hdrConnector, h.t.ref.Connector),
		hd(hdrTask, strconv.Itoa(h.t.ref.Task)),
		hd(hdrStage, se.stage),
		hd(hdrClass, se.class),
		hd(hdrExceptionClass, fmt.Sprintf("%T", errors.Unwrap(se.err))),
		hd(hdrExceptionMsg, se.err.Error()),
		hd(hdrExceptionStack, se.err.Error()),
	)
}

// useProducer sends dead letters with the task's own producer (an
// exactly-once source's transactional one, so that they commit or abort
// with the transaction that skipped their records).
func (h *errorHandler) useProducer(cl *kgo.Client) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.shared = cl
}

// client returns the dead letter topic's producer, creating the topic with
// errors.deadletterqueue.topic.replication.factor if it does not exist.
func (h *errorHandler) client(ctx context.Context) (*kgo.Client, error) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.dlq != nil {
		return h.dlq, nil
	}
	t := h.t
	cl := h.shared
	if cl == nil {
		var err error
		cl, err = kgo.NewClient(append(t.kafkaOpts("dlq"),
			kgo.RequiredAcks(kgo.AllISRAcks()),
			kgo.ProducerLinger(5*time.Millisecond),
			kgo.ClientID(fmt.Sprintf("connector-dlq-producer-%s-%d", t.ref.Connector, t.ref.Task)),
		)...)
		if err != nil {
			return nil, fmt.Errorf("dead letter topic producer: %w", err)
		}
	}
	if !h.created {
		if err := h.createTopic(ctx, cl); err != nil {
			if cl != h.shared {
				cl.Close()
			}
			return nil, err
		}
		h.created = true
	}
	h.dlq = cl
	return cl, nil
}

func (h *errorHandler) createTopic(ctx context.Context, cl *kgo.Client) error {
	adm := kadm.NewClient(cl)
	cctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	resp, err := adm.CreateTopic(cctx, 1, int16(h.dlqRF), nil, h.dlqTopic)
	if err == nil {
		err = resp.Err
	}
	switch {
	case err == nil, errors.Is(err, kerr.TopicAlreadyExists):
		return nil
	case errors.Is(err, kerr.InvalidReplicationFactor):
		return fmt.Errorf("create dead letter topic %s: %s=%d is more than the brokers Kafka has: %w",
			h.dlqTopic, connectors.KeyErrorsDLQReplication, h.dlqRF, err)
	default:
		return fmt.Errorf("create dead letter topic %s: %w", h.dlqTopic, err)
	}
}

// flush waits until every dead letter record is durable; it fails if one
// could not be written (the record it stands for would be lost).
func (h *errorHandler) flush(ctx context.Context) error {
	h.mu.Lock()
	cl := h.dlq
	h.mu.Unlock()
	if cl == nil {
		return nil
	}
	if err := cl.Flush(ctx); err != nil {
		return err
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.dlqErr
}

func (h *errorHandler) close() {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.dlq != nil && h.dlq != h.shared {
		h.dlq.Close()
	}
	h.dlq = nil
}

// summary says what was skipped, for the task's status ("" if nothing).
func (h *errorHandler) summary() string {
	n := h.skipped.Load()
	if n == 0 {
		return ""
	}
	last := ""
	if p := h.last.Load(); p != nil {
		last = *p
	}
	dest := "skipped"
	if h.dlqTopic != "" {
		dest = "sent to dead letter topic " + h.dlqTopic
	}
	return fmt.Sprintf("%d bad records %s (errors.tolerance=all); last: %s", n, dest, last)
}
