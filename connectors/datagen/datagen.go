// Package datagen is a source that generates records: a fixed number or an
// endless stream, at a set rate or as fast as Kafka takes them, split over
// tasks. It drives demos and benchmarks, and resumes where it stopped.
//
// TaskConfigs gives each task datagen.task (its number t) and
// datagen.task.count (n, tasks.max, or records.total if that is smaller).
// Task t generates the sequence numbers t, t+n, t+2n, ... below
// records.total, so the tasks' records are disjoint and add up to the total,
// and runs at records.per.second/n. Its source partition is
// {"datagen.task": t} and its offset {"seq": next sequence number}, set on
// the last record of each batch only. Once a task has generated its share,
// Poll returns an empty batch every second until the task stops.
//
// Values are deterministic for a seed and sequence number: in text mode
// exactly record.bytes of printable ASCII starting with the sequence
// number, in json mode {"seq":N,"task":T,"payload":"..."} of about
// record.bytes. Keys and values have a string schema.
package datagen

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/sluicehq/sluice/connectors"
	"github.com/sluicehq/sluice/connectors/schema"
)

// Config keys.
const (
	KeyTopic       = "topic"
	KeyTotal       = "records.total"
	KeyRate        = "records.per.second"
	KeyBytes       = "record.bytes"
	KeyBatch       = "batch.size"
	KeyKeyMode     = "key.mode"
	KeyValueMode   = "value.mode"
	KeySeed        = "seed"
	KeyTxnRecords  = "transaction.records"
	keyTask        = "datagen.task"
	keyTaskCount   = "datagen.task.count"
	partitionTask  = "datagen.task"
	offsetSequence = "seq"
)

// Plugin describes datagen.
func Plugin() *connectors.Plugin {
	return &connectors.Plugin{
		Name:    "datagen",
		Aliases: []string{"DatagenConnector"},
		Type:    connectors.SourceType,
		Version: "1.0.0",
		Description: "Generates records for demos and benchmarks: records.total of them (0: without end) at " +
			"records.per.second (0: as fast as Kafka takes them), split over tasks.max tasks, each with a " +
			"globally unique sequence number. Resumes after the last committed record.",
		Spec: connectors.Spec{Fields: []connectors.Field{
			{Name: KeyTopic, Type: connectors.TypeString, Required: true, Importance: connectors.High,
				Doc: "The topic to write to."},
			{Name: KeyTotal, Type: connectors.TypeLong, Default: "0", Importance: connectors.High, Validate: nonNegativeInt,
				Doc: "How many records to generate over all tasks; 0 generates without end."},
			{Name: KeyRate, Type: connectors.TypeDouble, Default: "0", Importance: connectors.High, Validate: nonNegativeFloat,
				Doc: "Records per second over all tasks; 0 is as fast as possible."},
			{Name: KeyBytes, Type: connectors.TypeInt, Default: "100", Importance: connectors.Medium, Validate: positiveInt,
				Doc: "Size of each value in bytes (text mode: exact; json mode: about)."},
			{Name: KeyBatch, Type: connectors.TypeInt, Default: "1000", Importance: connectors.Low, Validate: positiveInt,
				Doc: "Most records returned by one poll."},
			{Name: KeyKeyMode, Type: connectors.TypeString, Default: "none", Importance: connectors.Low,
				Allowed: []string{"none", "sequence", "random"},
				Doc:     "Record keys: none (null), sequence (the sequence number as text) or random (a pseudo-random number as text, derived from seed and sequence number)."},
			{Name: KeyValueMode, Type: connectors.TypeString, Default: "text", Importance: connectors.Low,
				Allowed: []string{"text", "json"},
				Doc:     "Record values: text (printable ASCII starting with the sequence number) or json (an object with seq, task and payload), both as strings."},
			{Name: KeySeed, Type: connectors.TypeLong, Default: "1", Importance: connectors.Low,
				Doc: "Seed of the generated content: the same seed gives the same records."},
			{Name: KeyTxnRecords, Type: connectors.TypeInt, Default: "0", Importance: connectors.Low, Validate: nonNegativeInt,
				Doc: "With exactly.once.support=required and transaction.boundary=connector, each task commits a transaction every this many of its records, wherever they fall in its batches; 0 commits after every batch."},
		}},
		DefinesTransactions: true,
		TaskConfigs: func(cfg connectors.Config, maxTasks int) ([]map[string]string, error) {
			// No task without records to generate.
			if total := cfg.Int64(KeyTotal); total > 0 && total < int64(maxTasks) {
				maxTasks = int(total)
			}
			out := make([]map[string]string, maxTasks)
			for i := range out {
				m := make(map[string]string, len(cfg.Raw())+2)
				for k, v := range cfg.Raw() {
					m[k] = v
				}
				m[keyTask] = strconv.Itoa(i)
				m[keyTaskCount] = strconv.Itoa(maxTasks)
				out[i] = m
			}
			return out, nil
		},
		NewSource: func() connectors.Source { return &source{} },
	}
}

func positiveInt(v string) error {
	if n, err := strconv.Atoi(strings.TrimSpace(v)); err != nil || n < 1 {
		return fmt.Errorf("%q must be a whole number of at least 1", v)
	}
	return nil
}

func nonNegativeInt(v string) error {
	if n, err := strconv.ParseInt(strings.TrimSpace(v), 10, 64); err != nil || n < 0 {
		return fmt.Errorf("%q must be a whole number of 0 or more", v)
	}
	return nil
}

func nonNegativeFloat(v string) error {
	if f, err := strconv.ParseFloat(strings.TrimSpace(v), 64); err != nil || f < 0 {
		return fmt.Errorf("%q must be a number of 0 or more", v)
	}
	return nil
}

type source struct {
	topic       string
	task, count int64
	next        int64 // next sequence number this task generates
	limit       int64 // sequence numbers below limit are generated; -1: no end
	size        int
	batch       int
	keyMode     string
	jsonMode    bool
	seed        uint64
	rate        float64 // records per second for this task
	partition   map[string]any
	valSchema   *schema.Schema
	keySchema   *schema.Schema
	// filler is deterministic text (from the seed) that values are cut
	// from: one copy per value instead of a hash per byte.
	filler []byte

	recs []connectors.Record

	// txn ends transactions (transaction.boundary=connector): every
	// txnRecords records (0: after each batch); inTxn counts since the last.
	txn        connectors.TransactionContext
	txnRecords int
	inTxn      int

	tokens float64
	last   time.Time
}

func (s *source) Open(_ context.Context, sc connectors.SourceContext) error {
	c := sc.Config
	s.topic = c.String(KeyTopic)
	// TaskConfigs sets datagen.task; a config made without it falls back
	// on the runtime's task.id.
	task, ok := c.Lookup(keyTask)
	if !ok {
		task = c.String(connectors.KeyTaskID)
	}
	s.task, _ = strconv.ParseInt(task, 10, 64)
	s.count, _ = strconv.ParseInt(c.String(keyTaskCount), 10, 64)
	if s.count < 1 {
		s.count = 1
	}
	if s.task < 0 || s.task >= s.count {
		return fmt.Errorf("datagen task %d of %d", s.task, s.count)
	}
	total := c.Int64(KeyTotal)
	s.limit = -1
	if total > 0 {
		s.limit = total
	}
	s.size = max(c.Int(KeyBytes), 1)
	s.batch = c.Int(KeyBatch)
	if s.batch < 1 {
		s.batch = 1000
	}
	// Validation compares modes without case; so does the task.
	s.keyMode = strings.ToLower(strings.TrimSpace(c.String(KeyKeyMode)))
	s.jsonMode = strings.EqualFold(strings.TrimSpace(c.String(KeyValueMode)), "json")
	s.seed = uint64(c.Int64(KeySeed))
	s.txn, s.txnRecords = sc.Transactions, c.Int(KeyTxnRecords)
	s.rate = c.Float(KeyRate) / float64(s.count)
	s.next = s.task
	s.partition = map[string]any{partitionTask: s.task}
	s.valSchema = &schema.Schema{Type: schema.String}
	s.keySchema = s.valSchema
	s.filler = make([]byte, fillerSize+s.size)
	for i := range s.filler {
		s.filler[i] = alphabet[mix(s.seed, 0, i)%uint64(len(alphabet))]
	}
	if sc.Offsets != nil {
		if off := sc.Offsets.Offset(s.partition); off != nil {
			n, err := connectors.Int64(off[offsetSequence])
			if err != nil {
				return fmt.Errorf("stored offset: %w", err)
			}
			// Stay on this task's sequence numbers (t, t+count, ...), in
			// case tasks.max changed since the offset was committed.
			s.next = s.task
			if n > s.task {
				s.next += (n - s.task + s.count - 1) / s.count * s.count
			}
		}
	}
	return nil
}

// allowance returns how many records the rate allows now, waiting if none.
func (s *source) allowance(ctx context.Context, want int) int {
	if s.rate <= 0 {
		return want
	}
	for {
		now := time.Now()
		if s.last.IsZero() {
			s.last = now
			s.tokens = min(1, float64(want))
		}
		s.tokens = min(s.tokens+now.Sub(s.last).Seconds()*s.rate, max(s.rate/10, 1))
		s.last = now
		if n := int(s.tokens); n >= 1 {
			n = min(n, want)
			s.tokens -= float64(n)
			return n
		}
		wait := time.Duration((1 - s.tokens) / s.rate * float64(time.Second))
		t := time.NewTimer(max(wait, time.Millisecond))
		select {
		case <-ctx.Done():
			t.Stop()
			return 0
		case <-t.C:
		}
	}
}

func (s *source) Poll(ctx context.Context) ([]connectors.Record, error) {
	want := s.batch
	if s.limit >= 0 {
		left := (s.limit - s.next + s.count - 1) / s.count
		if left <= 0 {
			// Done: idle until stopped.
			t := time.NewTimer(time.Second)
			defer t.Stop()
			select {
			case <-ctx.Done():
			case <-t.C:
			}
			return nil, nil
		}
		want = int(min(int64(want), left))
	}
	n := s.allowance(ctx, want)
	if n == 0 {
		return nil, nil
	}
	// The slice is reused from Poll to Poll (the runtime is done with it);
	// the value bytes are not.
	if cap(s.recs) < n {
		s.recs = make([]connectors.Record, n)
	}
	recs := s.recs[:n]
	clear(recs)
	if n < s.batch {
		s.recs = nil // a rate-limited or finishing task keeps no batch memory
	}
	// One backing array per batch, sized for every value: records in
	// flight are never overwritten.
	per := s.size + 8
	if s.jsonMode {
		per = max(s.size, jsonOverhead)
	}
	backing := make([]byte, 0, n*per)
	var keys []byte
	if s.keyMode != "none" {
		keys = make([]byte, 0, n*20)
	}
	now := time.Now()
	for i := range recs {
		seq := s.next
		s.next += s.count
		start := len(backing)
		backing = s.appendValue(backing, seq)
		r := &recs[i]
		r.Topic, r.Partition, r.Timestamp = s.topic, -1, now
		r.Value, r.ValueSchema = backing[start:len(backing):len(backing)], s.valSchema
		r.SourcePartition = s.partition
		if s.txn != nil && s.txnRecords > 0 {
			if s.inTxn++; s.inTxn >= s.txnRecords {
				// The transaction ends here, with this record's offset.
				r.SourceOffset = map[string]any{offsetSequence: seq + s.count}
				s.txn.CommitTransactionAfter(r)
				s.inTxn = 0
			}
		}
		if keys != nil {
			ks := len(keys)
			if s.keyMode == "sequence" {
				keys = strconv.AppendInt(keys, seq, 10)
			} else {
				// Random-looking but a function of seed and seq, so a
				// resumed task makes the same keys.
				keys = strconv.AppendUint(keys, mix(s.seed, seq, -1), 10)
			}
			r.Key, r.KeySchema = keys[ks:len(keys):len(keys)], s.keySchema
		}
	}
	recs[n-1].SourceOffset = map[string]any{offsetSequence: s.next}
	if s.txn != nil && (s.txnRecords == 0 || (s.limit >= 0 && s.next >= s.limit)) {
		// After every batch, or after the task's last record.
		s.txn.CommitTransaction()
		s.inTxn = 0
	}
	return recs, nil
}

const alphabet = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"

// jsonOverhead is the longest JSON value without payload:
// {"seq":N,"task":T,"payload":""} with 19-digit numbers.
const jsonOverhead = len(`{"seq":,"task":,"payload":""}`) + 2*19

// fillerSize is how much filler text values are cut from.
const fillerSize = 64 << 10

// fill appends n filler bytes for record seq.
func (s *source) fill(b []byte, seq int64, n int) []byte {
	if n <= 0 {
		return b
	}
	off := int(mix(s.seed, seq, 0) % fillerSize)
	return append(b, s.filler[off:off+n]...)
}

// appendValue writes the value of record seq: deterministic for a seed.
func (s *source) appendValue(b []byte, seq int64) []byte {
	start := len(b)
	if s.jsonMode {
		b = append(b, `{"seq":`...)
		b = strconv.AppendInt(b, seq, 10)
		b = append(b, `,"task":`...)
		b = strconv.AppendInt(b, s.task, 10)
		b = append(b, `,"payload":"`...)
		b = s.fill(b, seq, s.size-2-(len(b)-start))
		return append(b, `"}`...)
	}
	b = strconv.AppendInt(b, seq, 10)
	if len(b)-start < s.size {
		b = append(b, ' ')
	}
	b = s.fill(b, seq, s.size-(len(b)-start))
	return b[:start+s.size]
}

// mix is a cheap deterministic hash (splitmix64).
func mix(seed uint64, seq int64, i int) uint64 {
	z := seed + uint64(seq)*0x9E3779B97F4A7C15 + uint64(i)*0xBF58476D1CE4E5B9
	z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9
	z = (z ^ (z >> 27)) * 0x94D049BB133111EB
	return z ^ (z >> 31)
}

func (s *source) Close() error { return nil }
