package runtime

import (
	"context"
	"errors"
	"fmt"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"
	"go.opentelemetry.io/otel/trace"

	"github.com/sluicehq/sluice/connectors"
	"github.com/sluicehq/sluice/connectors/converter"
	"github.com/sluicehq/sluice/connectors/schema"
)

// maxPollRecords bounds one batch handed to a sink's Put.
const maxPollRecords = 5000

// GroupID is the consumer group of a sink connector, as Kafka Connect names
// it, so that a connector moved from Kafka Connect keeps its offsets.
func GroupID(connector string) string { return connectors.SinkGroupID(connector) }

// InstanceID is a sink task's static group member id (KIP-345).
func InstanceID(connector string, task int) string {
	return fmt.Sprintf("connect-%s-%d", connector, task)
}

// sinkState is what a sink task shares with the consumer's rebalance
// callbacks, under mu.
type sinkState struct {
	mu   sync.Mutex
	sink connectors.Sink
	// put holds, per partition, the offset after the last record given to
	// Put: what a successful Flush lets the task commit.
	put   map[string]map[int32]kgo.EpochOffset
	dirty bool
	// lastBatch is the span of the last batch put (traced tasks only): a
	// commit's span links it.
	lastBatch trace.SpanContext
}

// runSink runs a sink task: poll Kafka, convert, transform, Put, and on
// every flush interval Flush then commit the consumed offsets.
func (t *task) runSink(ctx context.Context, p *connectors.Plugin, cfg connectors.Config) error {
	c, err := newCodec(cfg.Raw())
	if err != nil {
		return err
	}
	sink := p.NewSink()
	// Keys and values are decoded only when something needs their
	// structure: the sink, a transform, or a converter whose bytes are not
	// the payload itself (JsonConverter).
	structured := c.chain.NeedsStructure()
	if s, ok := sink.(connectors.StructuredSink); ok && s.NeedsStructure() {
		structured = true
	}
	decodeKey := structured || !c.key.PassesThrough(nil)
	decodeValue := structured || !c.value.PassesThrough(nil)
	keyRaw, valueRaw := rawSchema(c.key), rawSchema(c.value)
	st := &sinkState{sink: sink, put: map[string]map[int32]kgo.EpochOffset{}}
	eh := newErrorHandler(t, cfg)
	defer eh.close()
	lastSummary := ""

	var cl *kgo.Client
	// commit flushes the sink and commits what it has made durable. The
	// caller holds st.mu.
	commit := func(ctx context.Context) (err error) {
		if !st.dirty {
			return nil
		}
		cctx, span := t.commitSpan(st.lastBatch)
		started := time.Now()
		defer func() {
			endSpan(span, err)
			t.m.OffsetCommit(err == nil, time.Since(started))
		}()
		// Skipped records' dead letters are durable before their
		// offsets commit.
		if err := eh.flush(ctx); err != nil {
			return fmt.Errorf("dead letter queue: %w", err)
		}
		fs := child(cctx, "flush")
		err = st.sink.Flush(ctx)
		endSpan(fs, err)
		if err != nil {
			return fmt.Errorf("flush: %w", err)
		}
		offsets := make(map[string]map[int32]kgo.EpochOffset, len(st.put))
		for topic, ps := range st.put {
			m := make(map[int32]kgo.EpochOffset, len(ps))
			for p, o := range ps {
				m[p] = o
			}
			offsets[topic] = m
		}
		var cerr error
		cs := child(cctx, "commit offsets")
		cl.CommitOffsetsSync(ctx, offsets, func(_ *kgo.Client, _ *kmsgReq, resp *kmsgResp, err error) {
			cerr = commitError(resp, err)
		})
		endSpan(cs, cerr)
		if cerr != nil {
			return fmt.Errorf("commit offsets: %w", cerr)
		}
		st.dirty = false
		return nil
	}

	opts := []kgo.Opt{
		kgo.ConsumerGroup(GroupID(t.ref.Connector)),
		// Static membership: the task is the member, wherever it runs. A
		// task restarted on another agent after a crash takes its place at
		// once (the dead member does not hold its partitions until its
		// session times out), and a zombie instance is fenced by Kafka.
		kgo.InstanceID(InstanceID(t.ref.Connector, t.ref.Task)),
		kgo.Balancers(kgo.CooperativeStickyBalancer()),
		kgo.DisableAutoCommit(),
		kgo.BlockRebalanceOnPoll(),
		kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()),
		// Records of aborted transactions never reach a sink (Kafka
		// Connect reads uncommitted unless told otherwise;
		// consumer.override.isolation.level=read_uncommitted does that).
		isolation(cfg.Raw()),
		// Bounded memory with a slow sink: franz-go holds at most one
		// fetch per broker until it is polled, each at most this big.
		kgo.FetchMaxBytes(defaultFetchMaxBytes),
		kgo.FetchMaxPartitionBytes(defaultFetchMaxPartitionBytes),
		kgo.FetchMaxWait(500 * time.Millisecond),
		kgo.OnPartitionsRevoked(func(ctx context.Context, _ *kgo.Client, revoked map[string][]int32) {
			st.mu.Lock()
			defer st.mu.Unlock()
			if err := commit(ctx); err != nil {
				t.log.Warn("commit before giving up partitions", "err", err)
			}
			forget(st.put, revoked)
		}),
		kgo.OnPartitionsLost(func(_ context.Context, _ *kgo.Client, lost map[string][]int32) {
			st.mu.Lock()
			defer st.mu.Unlock()
			forget(st.put, lost)
		}),
	}
	copts, err := consumerOverrides(cfg.Raw())
	if err != nil {
		return err
	}
	opts = append(opts, copts...)
	if oss, ok := sink.(connectors.OffsetStoringSink); ok {
		// The destination's offsets, stored with its data, win over the
		// group's: what the sink made durable is never written twice.
		opts = append(opts, kgo.AdjustFetchOffsetsFn(func(ctx context.Context, offs map[string]map[int32]kgo.Offset) (map[string]map[int32]kgo.Offset, error) {
			parts := make(map[string][]int32, len(offs))
			for topic, ps := range offs {
				for p := range ps {
					parts[topic] = append(parts[topic], p)
				}
			}
			stored, err := oss.StoredOffsets(ctx, parts)
			if err != nil {
				return nil, fmt.Errorf("offsets stored by the sink: %w", err)
			}
			for topic, ps := range stored {
				for p, o := range ps {
					if _, assigned := offs[topic][p]; assigned {
						offs[topic][p] = kgo.NewOffset().At(o)
						t.log.Info("starting partition from the sink's stored offset", "topic", topic, "partition", p, "offset", o)
					}
				}
			}
			return offs, nil
		}))
	}
	if regex := strings.TrimSpace(cfg.Raw()[connectors.KeyTopicsRegex]); regex != "" {
		if _, err := regexp.Compile(regex); err != nil {
			return fmt.Errorf("%s: %w", connectors.KeyTopicsRegex, err)
		}
		opts = append(opts, kgo.ConsumeRegex(), kgo.ConsumeTopics(regex))
	} else {
		opts = append(opts, kgo.ConsumeTopics(cfg.List(connectors.KeyTopics)...))
	}
	info := connectors.TaskInfo{Connector: t.ref.Connector, Task: t.ref.Task, Config: cfg, Logger: t.log,
		Progress: func(msg string) { t.report(StateRunning, "", msg) }}
	if err := sink.Open(ctx, connectors.SinkContext{TaskInfo: info}); err != nil {
		return fmt.Errorf("open %s: %w", p.Name, err)
	}
	cl, err = kgo.NewClient(append(opts, t.kafkaOpts("consumer")...)...)
	if err != nil {
		_ = sink.Close()
		return fmt.Errorf("kafka consumer: %w", err)
	}
	defer func() {
		// Flush and commit what was consumed, leave the group, close.
		st.mu.Lock()
		dctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), drainTimeout)
		if err := commit(dctx); err != nil {
			t.log.Warn("final commit", "err", err)
		}
		cancel()
		st.mu.Unlock()
		cl.AllowRebalance()
		cl.Close()
		st.mu.Lock()
		if err := sink.Close(); err != nil {
			t.log.Warn("close sink", "err", err)
		}
		st.mu.Unlock()
	}()

	t.report(StateRunning, "", "running")
	var (
		batch []connectors.Record
		last  = map[string]map[int32]kgo.EpochOffset{}
	)
	interval := t.flushInterval()
	nextFlush := time.Now().Add(interval)
	tick := time.NewTicker(interval)
	defer tick.Stop()
	backoff := 100 * time.Millisecond
	for ctx.Err() == nil {
		cl.AllowRebalance()
		if !t.waitWhilePaused(ctx, tick.C, func() {}) {
			break
		}
		if time.Now().After(nextFlush) {
			st.mu.Lock()
			err := commit(ctx)
			st.mu.Unlock()
			if err != nil && ctx.Err() == nil {
				return err
			}
			if sum := eh.summary(); sum != lastSummary {
				lastSummary = sum
				t.report(StateRunning, "", "running; "+sum)
			}
			nextFlush = time.Now().Add(interval)
		}
		pctx, cancel := context.WithDeadline(ctx, nextFlush)
		fetches := cl.PollRecords(pctx, maxPollRecords)
		cancel()
		if ctx.Err() != nil {
			break
		}
		var ferr error
		fetches.EachError(func(topic string, p int32, err error) {
			if pctx.Err() != nil && (err == context.DeadlineExceeded || err == context.Canceled) {
				return
			}
			t.log.Warn("fetch", "topic", topic, "partition", p, "err", err)
			if ferr == nil && !kgoRetriable(err) {
				ferr = fmt.Errorf("fetch %s[%d]: %w", topic, p, err)
			}
		})
		if ferr != nil {
			return ferr
		}
		if fetches.NumRecords() == 0 {
			continue
		}
		// The batch slice is reused from poll to poll (the SDK says Put
		// must not keep it; the records' bytes stay valid).
		if cap(batch) < fetches.NumRecords() {
			batch = make([]connectors.Record, 0, fetches.NumRecords())
		}
		recs := batch[:0]
		clear(last)
		var lag int64 // the largest partition lag in this fetch
		var convErr error
		// A record that fails to convert or transform goes where
		// errors.tolerance says: it fails the task, or it is skipped (and
		// sent to the dead letter topic). The record was the last added.
		bad := func(kr *kgo.Record, se *stageError) bool {
			fr := &failedRecord{Topic: kr.Topic, Partition: kr.Partition, Offset: kr.Offset,
				Key: kr.Key, Value: kr.Value, Headers: kr.Headers, Timestamp: kr.Timestamp}
			if err := eh.handle(ctx, se, fr, nil); err != nil {
				convErr = fmt.Errorf("record %s[%d]@%d: %w", kr.Topic, kr.Partition, kr.Offset, err)
				return false
			}
			recs = recs[:len(recs)-1]
			return true
		}
		fetches.EachPartition(func(fp kgo.FetchTopicPartition) {
			if convErr != nil || len(fp.Records) == 0 {
				return
			}
			lastRec := fp.Records[len(fp.Records)-1]
			ps := last[fp.Topic]
			if ps == nil {
				ps = map[int32]kgo.EpochOffset{}
				last[fp.Topic] = ps
				t.topics.saw(fp.Topic)
			}
			ps[fp.Partition] = kgo.EpochOffset{Epoch: lastRec.LeaderEpoch, Offset: lastRec.Offset + 1}
			lag = max(lag, fp.HighWatermark-lastRec.Offset-1)
			for _, kr := range fp.Records {
				recs = append(recs, connectors.Record{
					Topic: kr.Topic, Partition: kr.Partition, Offset: kr.Offset,
					Key: kr.Key, Value: kr.Value, Timestamp: kr.Timestamp,
					KeySchema: keyRaw, ValueSchema: valueRaw,
				})
				r := &recs[len(recs)-1]
				if len(kr.Headers) > 0 {
					r.Headers = make([]connectors.Header, len(kr.Headers))
					for i, h := range kr.Headers {
						r.Headers[i] = connectors.Header{Key: h.Key, Value: h.Value}
					}
				}
				if decodeKey || decodeValue {
					if err := eh.retry(ctx, func() error { return decode(c, r, decodeKey, decodeValue) }); err != nil {
						var se *stageError
						if !errors.As(err, &se) {
							se = &stageError{stage: stageValueConverter, err: err}
						}
						if !bad(kr, se) {
							return
						}
						continue
					}
				}
				if c.chain.Len() > 0 {
					var keep bool
					err := eh.retry(ctx, func() (err error) { keep, err = c.chain.Apply(r); return err })
					if err != nil {
						if !bad(kr, &stageError{stage: stageTransformation, class: "transforms", err: err}) {
							return
						}
						continue
					}
					if !keep {
						recs = recs[:len(recs)-1]
					}
				}
			}
		})
		batch = recs
		t.m.SinkRead(fetches.NumRecords(), lag)
		if convErr != nil {
			return convErr
		}
		if !t.waitLease(ctx) {
			return nil
		}
		bctx, span := t.sinkBatchSpan(fetches, len(recs))
		put := child(bctx, "put")
		for {
			st.mu.Lock()
			putStart := time.Now()
			err := st.sink.Put(ctx, recs)
			t.m.SinkPut(len(recs), time.Since(putStart), err == nil)
			if err == nil {
				for topic, ps := range last {
					m := st.put[topic]
					if m == nil {
						m = map[int32]kgo.EpochOffset{}
						st.put[topic] = m
					}
					for p, o := range ps {
						m[p] = o
					}
				}
				st.dirty = true
				if span != nil {
					st.lastBatch = span.SpanContext()
				}
			}
			st.mu.Unlock()
			if err == nil {
				backoff = 100 * time.Millisecond
				break
			}
			if ctx.Err() != nil {
				return nil
			}
			if !retryable(err) {
				endSpan(put, err)
				endSpan(span, err)
				return fmt.Errorf("put: %w", err)
			}
			t.log.Warn("put: retrying", "err", err, "backoff", backoff)
			if !sleep(ctx, backoff) {
				return nil
			}
			backoff = min(2*backoff, 10*time.Second)
		}
		endSpan(put, nil)
		endSpan(span, nil)
	}
	return nil
}

// decode gives r its structured form with the connector's converters.
func decode(c *codec, r *connectors.Record, key, value bool) error {
	if key && r.Key != nil {
		s, v, err := c.key.ToConnect(r.Topic, r.Key)
		if err != nil {
			return &stageError{stage: stageKeyConverter, class: c.keyClass, err: fmt.Errorf("key.converter: %w", err)}
		}
		r.KeySchema, r.KeyData = s, v
	}
	if value && r.Value != nil {
		s, v, err := c.value.ToConnect(r.Topic, r.Value)
		if err != nil {
			return &stageError{stage: stageValueConverter, class: c.valueClass, err: fmt.Errorf("value.converter: %w", err)}
		}
		r.ValueSchema, r.ValueData = s, v
	}
	return nil
}

// forget drops partitions from m.
func forget(m map[string]map[int32]kgo.EpochOffset, ps map[string][]int32) {
	for topic, parts := range ps {
		for _, p := range parts {
			delete(m[topic], p)
		}
		if len(m[topic]) == 0 {
			delete(m, topic)
		}
	}
}

type (
	kmsgReq  = kmsg.OffsetCommitRequest
	kmsgResp = kmsg.OffsetCommitResponse
)

// commitError is the first error of an offset commit.
func commitError(resp *kmsg.OffsetCommitResponse, err error) error {
	if err != nil {
		return err
	}
	if resp == nil {
		return nil
	}
	for _, tp := range resp.Topics {
		for _, p := range tp.Partitions {
			if err := kerr.ErrorForCode(p.ErrorCode); err != nil {
				return fmt.Errorf("%s[%d]: %w", tp.Topic, p.Partition, err)
			}
		}
	}
	return nil
}

// kgoRetriable reports whether a fetch error goes away by itself.
func kgoRetriable(err error) bool {
	var ke *kerr.Error
	if errors.As(err, &ke) {
		return ke.Retriable
	}
	return true
}

// rawSchema is the schema of the raw payloads a pass-through converter
// reads: a string for StringConverter, bytes for ByteArrayConverter.
func rawSchema(c converter.Converter) *schema.Schema {
	s, _, err := c.ToConnect("", []byte("x"))
	if err != nil {
		return nil
	}
	return s
}

// isolation is the sink consumer's isolation level: read committed unless
// consumer.override.isolation.level says read_uncommitted.
func isolation(cfg map[string]string) kgo.Opt {
	if strings.EqualFold(strings.TrimSpace(cfg["consumer.override.isolation.level"]), "read_uncommitted") {
		return kgo.FetchIsolationLevel(kgo.ReadUncommitted())
	}
	return kgo.FetchIsolationLevel(kgo.ReadCommitted())
}

// The sink consumer's fetch sizes by default: Kafka's consumer defaults
// (fetch.max.bytes 50 MiB, max.partition.fetch.bytes 1 MiB).
const (
	defaultFetchMaxBytes          = 50 << 20
	defaultFetchMaxPartitionBytes = 1 << 20
)

// consumerOverrides reads the consumer.override.* keys Sluice honours:
// fetch.max.bytes and max.partition.fetch.bytes (with isolation.level,
// read by isolation).
func consumerOverrides(cfg map[string]string) ([]kgo.Opt, error) {
	const p = "consumer.override."
	var opts []kgo.Opt
	for key, set := range map[string]func(int32) kgo.Opt{
		"fetch.max.bytes":           func(n int32) kgo.Opt { return kgo.FetchMaxBytes(n) },
		"max.partition.fetch.bytes": func(n int32) kgo.Opt { return kgo.FetchMaxPartitionBytes(n) },
	} {
		v, ok := cfg[p+key]
		if !ok {
			continue
		}
		n, err := strconv.ParseInt(strings.TrimSpace(v), 10, 32)
		if err != nil || n < 1024 {
			return nil, fmt.Errorf("%s%s: %q is not a number of bytes (at least 1024)", p, key, v)
		}
		opts = append(opts, set(int32(n)))
	}
	return opts, nil
}
