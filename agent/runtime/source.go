package runtime

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"reflect"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/trace"

	"github.com/sluicehq/sluice/connectors"
)

// maxBufferedBytes bounds the record bytes a source task has in flight to
// Kafka by default (the Java producer's buffer.memory default; a connector
// sets its own with producer.override.buffer.memory). Past it, producing
// blocks and the task stops polling its source, which bounds its memory
// when Kafka is slow or gone.
const maxBufferedBytes = 32 << 20

// drainTimeout bounds how long a stopping source task waits for Kafka to
// acknowledge what it has produced.
const drainTimeout = 30 * time.Second

// runSource runs a source task: Poll, transform, convert, produce, and
// commit offsets as Kafka acknowledges.
func (t *task) runSource(ctx context.Context, p *connectors.Plugin, cfg connectors.Config) error {
	c, err := newCodec(cfg.Raw())
	if err != nil {
		return err
	}
	popts, err := producerOverrides(cfg.Raw())
	if err != nil {
		return err
	}
	opts := append([]kgo.Opt{
		kgo.RequiredAcks(kgo.AllISRAcks()),
		kgo.ProducerLinger(5 * time.Millisecond),
		kgo.ProducerBatchMaxBytes(1 << 20),
		kgo.ProducerBatchCompression(kgo.NoCompression()),
		kgo.MaxBufferedRecords(100_000),
		kgo.MaxBufferedBytes(maxBufferedBytes),
		kgo.AllowAutoTopicCreation(),
		kgo.RecordPartitioner(connectPartitioner{kgo.StickyKeyPartitioner(nil)}),
	}, popts...)
	opts = append(opts, t.kafkaOpts("producer")...)
	eos := exactlyOnce(cfg)
	if eos {
		opts = append(opts, kgo.TransactionalID(TransactionalID(t.ref.Connector, t.ref.Task)),
			kgo.TransactionTimeout(time.Minute))
	}
	cl, err := kgo.NewClient(opts...)
	if err != nil {
		return fmt.Errorf("kafka producer: %w", err)
	}
	defer cl.Close()
	if eos {
		// Fence every earlier instance first (loading the producer id
		// bumps the transactional id's epoch and aborts what they have
		// open), then read the offsets: none can commit after the read.
		if _, _, err := cl.ProducerID(ctx); err != nil {
			return fencedOr(fmt.Errorf("init transactional id %s: %w", TransactionalID(t.ref.Connector, t.ref.Task), err))
		}
		// The offsets committed with the records, in Kafka, are the truth.
		committed, err := t.readKafkaOffsets(ctx, cfg)
		if err != nil {
			return err
		}
		t.resume = mergeOffsets(t.resume, committed)
	}

	src := p.NewSource()
	info := connectors.TaskInfo{Connector: t.ref.Connector, Task: t.ref.Task, Config: cfg, Logger: t.log,
		Progress: func(msg string) { t.report(StateRunning, "", msg) }}
	var txn *txnRequests // transaction.boundary=connector
	if eos && strings.EqualFold(strings.TrimSpace(cfg.String(connectors.KeyTransactionBoundary)), "connector") {
		txn = &txnRequests{}
	}
	sctx := connectors.SourceContext{TaskInfo: info, Offsets: newOffsetReader(t.resume)}
	if txn != nil {
		sctx.Transactions = txn
	}
	if err := src.Open(ctx, sctx); err != nil {
		return fmt.Errorf("open %s: %w", p.Name, err)
	}
	defer func() {
		if err := src.Close(); err != nil {
			t.log.Warn("close source", "err", err)
		}
	}()
	committer, _ := src.(connectors.SourceCommitter)

	eh := newErrorHandler(t, cfg)
	defer eh.close()
	tr := newSourceTracker()
	tr.eh = eh
	if eos {
		// Dead letters go in the task's transactions: committed with the
		// offsets of the records they stand for, or not at all.
		eh.useProducer(cl)
		return t.loopExactlyOnce(ctx, cfg, cl, c, eh, tr, src, committer, txn)
	}
	lastSummary := ""
	var flushMu sync.Mutex
	flush := func() {
		flushMu.Lock()
		defer flushMu.Unlock()
		if sum := eh.summary(); sum != lastSummary {
			lastSummary = sum
			t.report(StateRunning, "", "running; "+sum)
		}
		if offs, changed := tr.take(); changed {
			started := time.Now()
			t.recordCommitted(ctx, offs, committer)
			t.m.OffsetCommit(true, time.Since(started))
		}
	}
	// On the way out, wait for Kafka to acknowledge what was produced and
	// commit its offsets, whatever stopped the task.
	defer func() {
		dctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), drainTimeout)
		defer cancel()
		if err := cl.Flush(dctx); err != nil {
			t.log.Warn("drain: not every record was acknowledged", "err", err)
		}
		flush()
	}()

	t.report(StateRunning, "", "running")
	tick := time.NewTicker(t.flushInterval())
	defer tick.Stop()
	// Offsets are also reported while Poll blocks waiting for data, so
	// that the last batch's offsets do not wait for the next one.
	fctx, stopFlusher := context.WithCancel(ctx)
	defer stopFlusher()
	go func() {
		ft := time.NewTicker(t.flushInterval())
		defer ft.Stop()
		for {
			select {
			case <-fctx.Done():
				return
			case <-ft.C:
				flush()
			}
		}
	}()
	backoff := 100 * time.Millisecond
	for ctx.Err() == nil {
		if !t.waitWhilePaused(ctx, tick.C, flush) {
			break
		}
		select {
		case <-tick.C:
			flush()
		default:
		}
		if err := tr.failure(); err != nil {
			return fmt.Errorf("produce: %w", err)
		}
		recs, err := t.poll(ctx, src, &backoff)
		if err != nil {
			return err
		}
		if len(recs) == 0 {
			continue
		}
		if !t.waitLease(ctx) {
			break
		}
		if err := t.produce(ctx, cl, c, eh, tr, recs); err != nil {
			return err
		}
	}
	return nil
}

// produce sends one polled batch. Its offsets commit once Kafka has
// acknowledged every record of it and of every batch before it.
func (t *task) produce(ctx context.Context, cl *kgo.Client, c *codec, eh *errorHandler, tr *sourceTracker, recs []connectors.Record) error {
	b := tr.open(recs)
	defer tr.seal(b)
	bctx, span := t.sourceBatchSpan(len(recs))
	b.span = span
	conv := child(bctx, "transform, convert, produce")
	defer endSpan(conv, nil)
	written := 0
	defer func() { t.m.SourceWrite(written) }()
	krs := make([]kgo.Record, len(recs))
	promise := b.ack
	needStructure := c.chain.NeedsStructure()
	// A record that fails to transform or convert goes where
	// errors.tolerance says; its dead letter counts in the batch, so the
	// batch's offsets commit only once it is durable.
	bad := func(r *connectors.Record, se *stageError) error {
		fr := &failedRecord{Topic: r.Topic, Partition: r.Partition, Offset: -1, Key: r.Key, Value: r.Value,
			Timestamp: r.Timestamp, SourcePartition: r.SourcePartition, SourceOffset: r.SourceOffset}
		if fr.Key == nil && r.KeyData != nil {
			fr.Key, _ = json.Marshal(r.KeyData)
		}
		if fr.Value == nil && r.ValueData != nil {
			fr.Value, _ = json.Marshal(r.ValueData)
		}
		for _, h := range r.Headers {
			fr.Headers = append(fr.Headers, kgo.RecordHeader{Key: h.Key, Value: h.Value})
		}
		if eh.dlqTopic != "" && eh.tolerateAll {
			b.pending.Add(1)
		}
		if err := eh.handle(ctx, se, fr, promise); err != nil {
			if eh.dlqTopic != "" && eh.tolerateAll {
				b.pending.Add(-1)
			}
			return err
		}
		return nil
	}
	for i := range recs {
		r := &recs[i]
		if c.chain.Len() > 0 {
			if needStructure {
				structure(r)
			}
			var keep bool
			err := eh.retry(ctx, func() (err error) { keep, err = c.chain.Apply(r); return err })
			if err != nil {
				if err := bad(r, &stageError{stage: stageTransformation, class: "transforms", err: err}); err != nil {
					return fmt.Errorf("record %d of a batch (topic %q): %w", i, r.Topic, err)
				}
				continue
			}
			if !keep {
				continue
			}
		}
		if r.Topic == "" {
			return errors.New("source record without a topic")
		}
		kr := &krs[i]
		kr.Topic = r.Topic
		t.topics.saw(r.Topic)
		kr.Partition = r.Partition
		var err error
		if err = eh.retry(ctx, func() (err error) { kr.Key, err = encode(c.key, r.Topic, r.Key, r.KeySchema, r.KeyData); return err }); err != nil {
			if err := bad(r, &stageError{stage: stageKeyConverter, class: c.keyClass, err: fmt.Errorf("key.converter: %w", err)}); err != nil {
				return fmt.Errorf("record for topic %q: %w", r.Topic, err)
			}
			continue
		}
		if err = eh.retry(ctx, func() (err error) {
			kr.Value, err = encode(c.value, r.Topic, r.Value, r.ValueSchema, r.ValueData)
			return err
		}); err != nil {
			if err := bad(r, &stageError{stage: stageValueConverter, class: c.valueClass, err: fmt.Errorf("value.converter: %w", err)}); err != nil {
				return fmt.Errorf("record for topic %q: %w", r.Topic, err)
			}
			continue
		}
		if len(r.Headers) > 0 {
			kr.Headers = make([]kgo.RecordHeader, len(r.Headers))
			for j, h := range r.Headers {
				kr.Headers[j] = kgo.RecordHeader{Key: h.Key, Value: h.Value}
			}
		}
		kr.Timestamp = r.Timestamp
		if bctx != nil {
			kr.Context = bctx // kotel: a span per record, its context in the headers
		}
		b.pending.Add(1)
		written++
		cl.Produce(ctx, kr, promise)
	}
	return nil
}

// sourceBatch is one polled batch on its way to Kafka.
type sourceBatch struct {
	tr      *sourceTracker
	pending atomic.Int64 // records unacknowledged, plus one until sealed
	failed  atomic.Bool
	offsets []connectors.Offset // newest offset per source partition in the batch
	span    trace.Span          // poll to the last acknowledgement (nil: not traced)
}

// release drops one pending count; the last one ends the batch.
func (b *sourceBatch) release() {
	if b.pending.Add(-1) == 0 {
		if b.span != nil {
			if b.failed.Load() {
				b.span.SetStatus(codes.Error, "Kafka refused a record")
			}
			b.span.End()
		}
		b.tr.advance()
	}
}

func (b *sourceBatch) ack(kr *kgo.Record, err error) {
	if err != nil {
		if eh := b.tr.eh; eh != nil && eh.tolerateAll && kr != nil && kr.Topic != eh.dlqTopic {
			// errors.tolerance=all skips a record Kafka refused (KIP-779).
			eh.skipProduce(kr, err)
		} else {
			b.failed.Store(true)
			b.tr.setErr(err)
		}
	}
	b.release()
}

// sourceTracker orders batches: offsets commit in poll order, and only up
// to the first batch not fully acknowledged.
type sourceTracker struct {
	eh        *errorHandler
	mu        sync.Mutex
	batches   []*sourceBatch
	committed map[string]connectors.Offset
	order     []string
	changed   bool
	err       error
}

func newSourceTracker() *sourceTracker {
	return &sourceTracker{committed: map[string]connectors.Offset{}}
}

// open registers a batch; its offsets are the newest of each partition.
func (tr *sourceTracker) open(recs []connectors.Record) *sourceBatch {
	b := &sourceBatch{tr: tr}
	b.pending.Store(1)
	var (
		lastPtr uintptr
		seen    map[string]bool
	)
	// Walk backwards: the first record met of each partition is its newest.
	for i := len(recs) - 1; i >= 0; i-- {
		r := &recs[i]
		if r.SourcePartition == nil || r.SourceOffset == nil {
			continue
		}
		ptr := reflect.ValueOf(r.SourcePartition).Pointer()
		if ptr == lastPtr {
			continue
		}
		lastPtr = ptr
		k := partitionKey(r.SourcePartition)
		if seen[k] {
			continue
		}
		if seen == nil {
			seen = map[string]bool{}
		}
		seen[k] = true
		b.offsets = append(b.offsets, connectors.Offset{Partition: r.SourcePartition, Offset: r.SourceOffset})
	}
	tr.mu.Lock()
	tr.batches = append(tr.batches, b)
	tr.mu.Unlock()
	return b
}

// seal says every record of b has been handed to the producer.
func (tr *sourceTracker) seal(b *sourceBatch) { b.release() }

func (tr *sourceTracker) setErr(err error) {
	tr.mu.Lock()
	if tr.err == nil {
		tr.err = err
	}
	tr.mu.Unlock()
}

func (tr *sourceTracker) failure() error {
	tr.mu.Lock()
	defer tr.mu.Unlock()
	return tr.err
}

// advance commits the offsets of the complete batches at the head.
func (tr *sourceTracker) advance() {
	tr.mu.Lock()
	defer tr.mu.Unlock()
	n := 0
	for _, b := range tr.batches {
		if b.pending.Load() != 0 || b.failed.Load() {
			break
		}
		for _, o := range b.offsets {
			k := partitionKey(o.Partition)
			if _, ok := tr.committed[k]; !ok {
				tr.order = append(tr.order, k)
			}
			tr.committed[k] = o
			tr.changed = true
		}
		n++
	}
	if n > 0 {
		clear(tr.batches[:n])
		tr.batches = tr.batches[n:]
	}
}

// take returns the committed offsets if they changed since the last take.
func (tr *sourceTracker) take() ([]connectors.Offset, bool) {
	tr.mu.Lock()
	defer tr.mu.Unlock()
	if !tr.changed {
		return nil, false
	}
	tr.changed = false
	out := make([]connectors.Offset, 0, len(tr.order))
	for _, k := range tr.order {
		out = append(out, tr.committed[k])
	}
	return out, true
}

// connectPartitioner honours a source record's partition when it names
// one, and otherwise partitions as Kafka's Java producer does (murmur2 of
// the key, sticky for records without a key).
type connectPartitioner struct{ fallback kgo.Partitioner }

func (p connectPartitioner) ForTopic(topic string) kgo.TopicPartitioner {
	return &connectTopicPartitioner{fallback: p.fallback.ForTopic(topic)}
}

type connectTopicPartitioner struct{ fallback kgo.TopicPartitioner }

func (p *connectTopicPartitioner) RequiresConsistency(r *kgo.Record) bool {
	return r.Partition >= 0 || p.fallback.RequiresConsistency(r)
}

func (p *connectTopicPartitioner) Partition(r *kgo.Record, n int) int {
	if r.Partition >= 0 {
		return int(r.Partition) % n
	}
	return p.fallback.Partition(r, n)
}

func (p *connectTopicPartitioner) OnNewBatch() {
	if nb, ok := p.fallback.(kgo.TopicPartitionerOnNewBatch); ok {
		nb.OnNewBatch()
	}
}

// producerOverrides reads Kafka Connect's per-connector producer settings
// (producer.override.*) that Sluice honours: compression.type, linger.ms
// and batch.size. Acknowledgements stay acks=all with idempotence: the
// delivery guarantee does not bend.
func producerOverrides(cfg map[string]string) ([]kgo.Opt, error) {
	const p = "producer.override."
	var opts []kgo.Opt
	if v, ok := cfg[p+"compression.type"]; ok {
		var c kgo.CompressionCodec
		switch strings.ToLower(strings.TrimSpace(v)) {
		case "none", "":
			c = kgo.NoCompression()
		case "gzip":
			c = kgo.GzipCompression()
		case "snappy":
			c = kgo.SnappyCompression()
		case "lz4":
			c = kgo.Lz4Compression()
		case "zstd":
			c = kgo.ZstdCompression()
		default:
			return nil, fmt.Errorf("%scompression.type: %q is not one of none, gzip, snappy, lz4, zstd", p, v)
		}
		opts = append(opts, kgo.ProducerBatchCompression(c))
	}
	if v, ok := cfg[p+"linger.ms"]; ok {
		ms, err := strconv.Atoi(strings.TrimSpace(v))
		if err != nil || ms < 0 {
			return nil, fmt.Errorf("%slinger.ms: %q is not a number of milliseconds", p, v)
		}
		opts = append(opts, kgo.ProducerLinger(time.Duration(ms)*time.Millisecond))
	}
	if v, ok := cfg[p+"buffer.memory"]; ok {
		n, err := strconv.ParseInt(strings.TrimSpace(v), 10, 64)
		if err != nil || n < 1024 {
			return nil, fmt.Errorf("%sbuffer.memory: %q is not a number of bytes (at least 1024)", p, v)
		}
		opts = append(opts, kgo.MaxBufferedBytes(int(n)))
	}
	if v, ok := cfg[p+"batch.size"]; ok {
		n, err := strconv.Atoi(strings.TrimSpace(v))
		if err != nil || n < 1 {
			return nil, fmt.Errorf("%sbatch.size: %q is not a number of bytes", p, v)
		}
		opts = append(opts, kgo.ProducerBatchMaxBytes(int32(n)))
	}
	return opts, nil
}

// recordCommitted records offsets that are durable in Kafka: for a restart
// on this agent, for the control plane, and for a SourceCommitter.
func (t *task) recordCommitted(ctx context.Context, offs []connectors.Offset, committer connectors.SourceCommitter) {
	t.mu.Lock()
	for _, o := range offs {
		t.committed[partitionKey(o.Partition)] = o
	}
	t.mu.Unlock()
	t.rt.cfg.Reporter.Offsets(t.ref, t.epoch.Load(), offs)
	if committer != nil {
		if err := committer.Commit(ctx, offs); err != nil {
			t.log.Warn("source commit", "err", err)
		}
	}
}

// poll polls the source once. A retriable error is retried after a
// backoff (doubling up to 10 s, reset by a success) and gives no records;
// another error, wrapped, fails the task. A done ctx gives no records.
func (t *task) poll(ctx context.Context, src connectors.Source, backoff *time.Duration) ([]connectors.Record, error) {
	start := time.Now()
	recs, err := src.Poll(ctx)
	end := time.Now()
	t.timePoll(start, end)
	if len(recs) > 0 {
		t.m.SourcePoll(len(recs), end.Sub(start))
	}
	if err == nil {
		*backoff = 100 * time.Millisecond
		return recs, nil
	}
	if ctx.Err() != nil {
		return nil, nil
	}
	if !retryable(err) {
		return nil, fmt.Errorf("poll: %w", err)
	}
	t.log.Warn("poll: retrying", "err", err, "backoff", *backoff)
	t.report(StateRunning, "", "retrying: "+firstLine(err.Error()))
	sleep(ctx, *backoff)
	*backoff = min(2**backoff, 10*time.Second)
	return nil, nil
}
