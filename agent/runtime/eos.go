package runtime

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/sluicehq/sluice/connectors"
)

// Exactly-once sources (Kafka Connect's KIP-618): a task writes its
// records and its source offsets in one Kafka transaction, with a
// transactional id that is a function of the task, so that the instance
// that starts last fences every earlier one (a zombie's writes are refused
// by Kafka). Its offsets live in offsets.storage.topic in Kafka Connect's
// format, and are read back, read committed, when the task starts.

// TransactionalID is an exactly-once source task's transactional id.
func TransactionalID(connector string, task int) string {
	return fmt.Sprintf("sluice-%s-%d", connector, task)
}

// exactlyOnce reports whether a source connector's config asks for
// exactly-once delivery.
func exactlyOnce(cfg connectors.Config) bool {
	switch strings.ToLower(strings.TrimSpace(cfg.String(connectors.KeyExactlyOnceSupport))) {
	case "required":
		return true
	case "requested":
		return strings.EqualFold(strings.TrimSpace(cfg.String(connectors.KeyExactlyOnceSourceSupport)), "enabled")
	}
	return false
}

func offsetsTopic(cfg connectors.Config) string {
	if s := strings.TrimSpace(cfg.String(connectors.KeyOffsetsStorageTopic)); s != "" {
		return s
	}
	return connectors.DefaultOffsetsTopic
}

// offsetKey is Kafka Connect's offsets topic key: ["connector",{partition}],
// schemaless JSON.
func offsetKey(connector string, partition map[string]any) ([]byte, error) {
	return json.Marshal([]any{connector, partition})
}

// readKafkaOffsets reads the connector's newest committed offsets from its
// offsets topic, read committed, to the end; it creates the topic (compacted)
// if it is missing.
func (t *task) readKafkaOffsets(ctx context.Context, cfg connectors.Config) ([]connectors.Offset, error) {
	topic := offsetsTopic(cfg)
	cl, err := kgo.NewClient(append(t.kafkaOpts("offsets-reader"),
		kgo.ConsumeTopics(topic), kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()),
		// Transaction markers come too: they carry the offsets up to the
		// last stable offset, which may be a marker, not a record.
		kgo.FetchIsolationLevel(kgo.ReadCommitted()), kgo.KeepControlRecords())...)
	if err != nil {
		return nil, fmt.Errorf("offsets topic reader: %w", err)
	}
	defer cl.Close()
	adm := kadm.NewClient(cl)
	rctx, cancel := context.WithTimeout(ctx, time.Minute)
	defer cancel()
	rf := int16(cfg.Int(connectors.KeyOffsetsStorageReplication))
	if resp, err := adm.CreateTopic(rctx, 25, rf, map[string]*string{"cleanup.policy": kadm.StringPtr("compact")}, topic); err == nil && resp.Err != nil && !errors.Is(resp.Err, kerr.TopicAlreadyExists) {
		return nil, fmt.Errorf("create offsets topic %s: %w", topic, resp.Err)
	} else if err != nil && !errors.Is(err, kerr.TopicAlreadyExists) {
		return nil, fmt.Errorf("create offsets topic %s: %w", topic, err)
	}
	// Every record below the current end (high watermark) must be decided
	// before reading: another task's open transaction holds the last
	// stable offset back, and our own last commit may lie past it. Our own
	// open transaction was aborted by the fence; others commit or abort
	// within their transaction timeout.
	ends, err := adm.ListEndOffsets(rctx, topic)
	if err != nil {
		return nil, fmt.Errorf("offsets topic %s: %w", topic, err)
	}
	left := map[int32]int64{}
	ends.Each(func(o kadm.ListedOffset) {
		if o.Err == nil && o.Offset > 0 {
			left[o.Partition] = o.Offset
		}
	})
	for waited := time.Duration(0); ; waited += 100 * time.Millisecond {
		stable, err := adm.ListCommittedOffsets(rctx, topic)
		if err != nil {
			return nil, fmt.Errorf("offsets topic %s: %w", topic, err)
		}
		decided := true
		stable.Each(func(o kadm.ListedOffset) {
			if end, ok := left[o.Partition]; ok && (o.Err != nil || o.Offset < end) {
				decided = false
			}
		})
		if decided {
			break
		}
		if waited == 5*time.Second {
			t.log.Info("waiting for open transactions on the offsets topic to end", "topic", topic)
		}
		if !sleep(rctx, 100*time.Millisecond) {
			return nil, fmt.Errorf("offsets topic %s: transactions still open: %w", topic, rctx.Err())
		}
	}
	prefix, _ := json.Marshal(t.ref.Connector)
	prefix = append([]byte{'['}, append(prefix, ',')...)
	newest := map[string]connectors.Offset{}
	var order []string
	for len(left) > 0 {
		fs := cl.PollFetches(rctx)
		if rctx.Err() != nil {
			return nil, fmt.Errorf("read offsets topic %s: %w", topic, rctx.Err())
		}
		var ferr error
		fs.EachError(func(_ string, _ int32, err error) {
			if !errors.Is(err, context.DeadlineExceeded) && !errors.Is(err, context.Canceled) {
				ferr = err
			}
		})
		if ferr != nil && !kgoRetriable(ferr) {
			return nil, fmt.Errorf("read offsets topic %s: %w", topic, ferr)
		}
		fs.EachRecord(func(r *kgo.Record) {
			if r.Offset+1 >= left[r.Partition] {
				delete(left, r.Partition)
			}
			if r.Attrs.IsControl() || !bytes.HasPrefix(r.Key, prefix) {
				return
			}
			var key []json.RawMessage
			if json.Unmarshal(r.Key, &key) != nil || len(key) != 2 {
				return
			}
			var part map[string]any
			if json.Unmarshal(key[1], &part) != nil {
				return
			}
			k := partitionKey(part)
			if _, seen := newest[k]; !seen {
				order = append(order, k)
			}
			if r.Value == nil {
				delete(newest, k) // a tombstone resets the partition
				return
			}
			var off map[string]any
			d := json.NewDecoder(bytes.NewReader(r.Value))
			d.UseNumber()
			if d.Decode(&off) != nil {
				return
			}
			newest[k] = connectors.Offset{Partition: part, Offset: numbersToInt(off)}
		})
	}
	out := make([]connectors.Offset, 0, len(newest))
	for _, k := range order {
		if o, ok := newest[k]; ok {
			out = append(out, o)
		}
	}
	t.log.Info("read committed offsets from Kafka", "topic", topic, "partitions", len(out))
	return out, nil
}

// numbersToInt turns json.Numbers that are whole into int64, others into
// float64, as the sources wrote them.
func numbersToInt(m map[string]any) map[string]any {
	for k, v := range m {
		if n, ok := v.(json.Number); ok {
			if i, err := n.Int64(); err == nil {
				m[k] = i
			} else if f, err := n.Float64(); err == nil {
				m[k] = f
			}
		}
	}
	return m
}

// loopExactlyOnce polls, produces and commits transactions: each holds the
// records of one poll (transaction.boundary=poll) or of an interval, and
// the newest offset of every source partition they advanced, written to
// the offsets topic in the same transaction.
func (t *task) loopExactlyOnce(ctx context.Context, cfg connectors.Config, cl *kgo.Client, c *codec, eh *errorHandler,
	tr *sourceTracker, src connectors.Source, committer connectors.SourceCommitter, txn *txnRequests) error {
	topic := offsetsTopic(cfg)
	interval := t.flushInterval()
	if ms := cfg.Int64(connectors.KeyTransactionBoundaryMillis); ms > 0 {
		interval = time.Duration(ms) * time.Millisecond
	}
	perPoll := !strings.EqualFold(strings.TrimSpace(cfg.String(connectors.KeyTransactionBoundary)), "interval")
	open, dirty := false, false
	var opened time.Time

	abort := func(cause error) error {
		actx, cancel := context.WithTimeout(context.WithoutCancel(ctx), drainTimeout)
		defer cancel()
		_ = cl.AbortBufferedRecords(actx)
		open, dirty = false, false
		if fenced(cause) {
			// Another instance took the transaction: aborting would
			// re-initialise the producer id and could fence that one.
			return fencedOr(cause)
		}
		if err := cl.EndTransaction(actx, kgo.TryAbort); err != nil {
			t.log.Warn("abort transaction", "err", err)
		}
		return cause
	}
	// commit ends the open transaction with the offsets it advanced. The
	// caller's context may be done (the task stops): a commit is not
	// cancelled half way.
	commit := func() (err error) {
		if !open {
			return nil
		}
		if dirty {
			started := time.Now()
			defer func() { t.m.OffsetCommit(err == nil, time.Since(started)) }()
		}
		cctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), drainTimeout)
		defer cancel()
		if !dirty {
			open = false
			if err := cl.EndTransaction(cctx, kgo.TryAbort); err != nil {
				return fencedOr(err)
			}
			return nil
		}
		if err := cl.Flush(cctx); err != nil {
			return abort(fmt.Errorf("flush: %w", err))
		}
		if err := tr.failure(); err != nil {
			return abort(fmt.Errorf("produce: %w", err))
		}
		offs, changed := tr.take()
		if changed {
			for _, o := range offs {
				key, err := offsetKey(t.ref.Connector, o.Partition)
				if err != nil {
					return abort(fmt.Errorf("offset key: %w", err))
				}
				val, err := json.Marshal(o.Offset)
				if err != nil {
					return abort(fmt.Errorf("offset value: %w", err))
				}
				cl.Produce(cctx, &kgo.Record{Topic: topic, Key: key, Value: val}, func(_ *kgo.Record, err error) {
					if err != nil {
						tr.setErr(fmt.Errorf("offsets topic %s: %w", topic, err))
					}
				})
			}
			if err := cl.Flush(cctx); err != nil {
				return abort(fmt.Errorf("flush offsets: %w", err))
			}
			if err := tr.failure(); err != nil {
				return abort(err)
			}
		}
		if err := cl.EndTransaction(cctx, kgo.TryCommit); err != nil {
			// An unknown outcome is an abort: retrying with TryAbort
			// reloads the producer id, which fences whatever is left.
			return abort(fmt.Errorf("commit transaction: %w", err))
		}
		open, dirty = false, false
		if changed {
			t.recordCommitted(ctx, offs, committer)
		}
		return nil
	}

	// abortDefined aborts the open transaction at the connector's request
	// (transaction.boundary=connector): its records and dead letters are
	// dropped, their offsets are not committed now, and the task goes on.
	abortDefined := func() error {
		if !open {
			return nil
		}
		cctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), drainTimeout)
		defer cancel()
		if err := cl.Flush(cctx); err != nil {
			return abort(fmt.Errorf("flush: %w", err))
		}
		if err := tr.failure(); err != nil {
			return abort(fmt.Errorf("produce: %w", err))
		}
		tr.take()
		if err := cl.EndTransaction(cctx, kgo.TryAbort); err != nil {
			return fencedOr(fmt.Errorf("abort transaction: %w", err))
		}
		open, dirty = false, false
		return nil
	}
	begin := func() error {
		if open {
			return nil
		}
		if err := cl.BeginTransaction(); err != nil {
			return fencedOr(fmt.Errorf("begin transaction: %w", err))
		}
		open, opened = true, time.Now()
		return nil
	}
	// produceDefined produces a batch cut where the connector asked for
	// commits and aborts.
	produceDefined := func(recs []connectors.Record) error {
		if len(recs) == 0 {
			return nil // requests wait for a batch to apply to
		}
		reqs, err := txn.take(recs)
		if err != nil {
			return abort(err)
		}
		start := 0
		for _, rq := range reqs {
			end := len(recs)
			if rq.index >= 0 {
				end = rq.index + 1
			}
			if end > start {
				if err := begin(); err != nil {
					return err
				}
				if err := t.produce(ctx, cl, c, eh, tr, recs[start:end]); err != nil {
					return abort(err)
				}
				dirty = true
				start = end
			}
			if rq.abort {
				err = abortDefined()
			} else {
				err = commit()
			}
			if err != nil {
				return err
			}
		}
		if start < len(recs) {
			if err := begin(); err != nil {
				return err
			}
			if err := t.produce(ctx, cl, c, eh, tr, recs[start:]); err != nil {
				return abort(err)
			}
			dirty = true
		}
		return nil
	}

	mode := "transaction.boundary=" + strings.ToLower(strings.TrimSpace(cfg.String(connectors.KeyTransactionBoundary)))
	t.report(StateRunning, "", "running (exactly once, transactional.id "+TransactionalID(t.ref.Connector, t.ref.Task)+", "+mode+")")
	tick := time.NewTicker(interval)
	defer tick.Stop()
	backoff := 100 * time.Millisecond
	for ctx.Err() == nil {
		if t.paused.Load() && txn == nil {
			if err := commit(); err != nil {
				return err
			}
		}
		if !t.waitWhilePaused(ctx, tick.C, func() {}) {
			break
		}
		if txn == nil {
			if err := begin(); err != nil {
				return err
			}
		}
		recs, err := t.poll(ctx, src, &backoff)
		if err != nil {
			if txn != nil {
				// Only the connector commits its transactions.
				_ = abortDefined()
				return err
			}
			if cerr := commit(); cerr != nil {
				t.log.Warn("commit before failing", "err", cerr)
			}
			return err
		}
		if txn != nil {
			if err := produceDefined(recs); err != nil {
				return err
			}
			continue
		}
		if len(recs) > 0 {
			if err := t.produce(ctx, cl, c, eh, tr, recs); err != nil {
				return abort(err)
			}
			dirty = true
		}
		if dirty && (perPoll || time.Since(opened) >= interval) {
			if err := commit(); err != nil {
				return err
			}
		}
	}
	if txn != nil {
		// Stopping: a transaction the connector did not end is dropped;
		// its records are polled again after the restart.
		return abortDefined()
	}
	// Stopping: what was polled is committed with its offsets.
	return commit()
}

// txnRequests collects a source's commit and abort requests
// (connectors.TransactionContext) until the runtime acts on them.
type txnRequests struct {
	mu   sync.Mutex
	reqs []txnRequest
}

type txnRequest struct {
	abort bool
	rec   *connectors.Record // nil: after the whole batch
	index int                // rec's index in the batch; -1: the whole batch
}

func (q *txnRequests) add(abort bool, r *connectors.Record) {
	q.mu.Lock()
	q.reqs = append(q.reqs, txnRequest{abort: abort, rec: r})
	q.mu.Unlock()
}

func (q *txnRequests) CommitTransaction()                          { q.add(false, nil) }
func (q *txnRequests) CommitTransactionAfter(r *connectors.Record) { q.add(false, r) }
func (q *txnRequests) AbortTransaction()                           { q.add(true, nil) }
func (q *txnRequests) AbortTransactionAfter(r *connectors.Record)  { q.add(true, r) }

// take returns the requests for a polled batch, in the order to act on
// them: those after a record by its index, then those after the batch.
func (q *txnRequests) take(recs []connectors.Record) ([]txnRequest, error) {
	q.mu.Lock()
	reqs := q.reqs
	q.reqs = nil
	q.mu.Unlock()
	var out, whole []txnRequest
	for _, rq := range reqs {
		if rq.rec == nil {
			rq.index = -1
			whole = append(whole, rq)
			continue
		}
		rq.index = -1
		for i := range recs {
			if &recs[i] == rq.rec {
				rq.index = i
				break
			}
		}
		if rq.index < 0 {
			return nil, errors.New("the connector asked to end a transaction after a record that is not in the batch its Poll returned")
		}
		out = append(out, rq)
	}
	slices.SortStableFunc(out, func(a, b txnRequest) int { return a.index - b.index })
	return append(out, whole...), nil
}

// errFenced marks the failure of a task another instance took over: it is
// not restarted on this agent.
var errFenced = errors.New("fenced")

// fenced says whether err means another instance of the task took over its
// transactional id. INVALID_TXN_STATE counts: under transactions V2,
// Kafka before KAFKA-20785 (4.1 among them) answers a produce or commit
// that raced the coordinator's abort for another instance's
// InitProducerId (or transaction.timeout.ms) with it where later brokers
// say PRODUCER_FENCED; the transaction was rolled back.
func fenced(err error) bool {
	return errors.Is(err, kerr.ProducerFenced) || errors.Is(err, kerr.InvalidProducerEpoch) ||
		errors.Is(err, kerr.TransactionalIDAuthorizationFailed) || errors.Is(err, kerr.InvalidTxnState)
}

// fencedOr says so when err means another instance of the task took over.
func fencedOr(err error) error {
	if fenced(err) {
		return fmt.Errorf("%w: another instance of this task took over its transactional id, so this one stops (a zombie's writes are refused by Kafka): %w", errFenced, err)
	}
	return err
}
