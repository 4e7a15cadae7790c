// Package verifiable holds the connectors that prove delivery guarantees,
// like Kafka Connect's VerifiableSourceConnector and VerifiableSinkConnector:
// the source emits, per task, the sequence numbers 0, 1, 2, ... (key: the
// task number, value: the sequence number), without end or up to
// max.messages; the sink appends what it receives to a file, one JSON line
// per record, and can be made slow (put.delay.ms). A checker reads both and
// says, per task, which sequence numbers are missing and which repeat.
package verifiable

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/sluicehq/sluice/connectors"
	"github.com/sluicehq/sluice/connectors/schema"
)

// Config keys. KeyMaxMessages and KeyPutDelay are Sluice's own: Kafka
// Connect's verifiable connectors have neither (the name max.messages is
// that of Kafka's VerifiableProducer option --max-messages).
const (
	KeyTopic       = "topic"
	KeyThroughput  = "throughput"
	KeyMaxMessages = "max.messages"
	KeyFile        = "file"
	KeyPutDelay    = "put.delay.ms"
)

// Offsets, as Kafka Connect's VerifiableSourceTask writes them.
const (
	partitionID = "id"
	offsetSeqno = "seqno"
)

// SourcePlugin describes verifiable-source.
func SourcePlugin() *connectors.Plugin {
	return &connectors.Plugin{
		Name:    "verifiable-source",
		Class:   "org.apache.kafka.connect.tools.VerifiableSourceConnector",
		Aliases: []string{"VerifiableSource", "VerifiableSourceConnector"},
		Type:    connectors.SourceType,
		Version: "1.0.0",
		Description: "Emits, per task, the sequence numbers 0, 1, 2, ... at throughput records per second: key the " +
			"task number (int32), value the sequence number (int64); offsets {\"id\":task} / {\"seqno\":n}. For " +
			"proving delivery guarantees, as Kafka Connect's VerifiableSourceConnector.",
		Spec: connectors.Spec{Fields: []connectors.Field{
			{Name: KeyTopic, Type: connectors.TypeString, Required: true, Importance: connectors.High,
				Doc: "The topic to write to."},
			{Name: KeyThroughput, Type: connectors.TypeLong, Default: "1000", Importance: connectors.High,
				Validate: func(v string) error {
					if n, err := strconv.ParseInt(strings.TrimSpace(v), 10, 64); err != nil || n < 1 {
						return fmt.Errorf("%q must be a whole number of records per second, at least 1", v)
					}
					return nil
				},
				Doc: "Records per second, per task."},
			{Name: KeyMaxMessages, Type: connectors.TypeLong, Default: "-1", Importance: connectors.Medium,
				Validate: func(v string) error {
					if n, err := strconv.ParseInt(strings.TrimSpace(v), 10, 64); err != nil || n < -1 {
						return fmt.Errorf("%q must be a whole number of records, or -1 for no end", v)
					}
					return nil
				},
				Doc: "Records per task: a task emits the sequence numbers 0 to max.messages-1 and then idles " +
					"(a copy of a known size). -1, the default, emits without end."},
		}},
		NewSource: func() connectors.Source { return &source{} },
	}
}

// SinkPlugin describes verifiable-sink.
func SinkPlugin() *connectors.Plugin {
	return &connectors.Plugin{
		Name:    "verifiable-sink",
		Class:   "org.apache.kafka.connect.tools.VerifiableSinkConnector",
		Aliases: []string{"VerifiableSink", "VerifiableSinkConnector"},
		Type:    connectors.SinkType,
		Version: "1.0.0",
		Description: "Appends every record it receives to file, one JSON line each: " +
			"{\"task\",\"seqno\",\"topic\",\"partition\",\"offset\",\"sink_task\"}, synced on every flush. " +
			"For proving delivery guarantees, with verifiable-source upstream.",
		Spec: connectors.Spec{Fields: []connectors.Field{
			{Name: KeyFile, Type: connectors.TypeString, Required: true, Importance: connectors.High,
				Doc: "The file to append to (shared by the connector's tasks)."},
			{Name: KeyPutDelay, Type: connectors.TypeLong, Default: "0", Importance: connectors.Low,
				Validate: func(v string) error {
					if n, err := strconv.ParseInt(strings.TrimSpace(v), 10, 64); err != nil || n < 0 {
						return fmt.Errorf("%q must be a whole number of milliseconds, at least 0", v)
					}
					return nil
				},
				Doc: "Milliseconds every put waits before it returns: a slow external system, for proving " +
					"that a sink far slower than its topic holds bounded memory."},
		}},
		NewSink: func() connectors.Sink { return &sink{} },
	}
}

type source struct {
	topic     string
	task      int32
	next      int64
	perSecond int64
	limit     int64 // sequence numbers below limit are emitted; -1: no end
	partition map[string]any
	start     time.Time
	sent      int64 // since start
	batch     []connectors.Record
}

func (s *source) Open(_ context.Context, sc connectors.SourceContext) error {
	s.topic = sc.Config.String(KeyTopic)
	s.task = int32(sc.Task)
	s.perSecond = sc.Config.Int64(KeyThroughput)
	s.limit = sc.Config.Int64(KeyMaxMessages)
	s.partition = map[string]any{partitionID: int(s.task)}
	if off := sc.Offsets.Offset(s.partition); off != nil {
		n, err := connectors.Int64(off[offsetSeqno])
		if err != nil {
			return fmt.Errorf("committed offset %v: %w", off, err)
		}
		s.next = n + 1
	}
	s.start = time.Now()
	return nil
}

func (s *source) Poll(ctx context.Context) ([]connectors.Record, error) {
	if s.limit >= 0 && s.next >= s.limit {
		// Done: idle until stopped.
		t := time.NewTimer(time.Second)
		defer t.Stop()
		select {
		case <-ctx.Done():
		case <-t.C:
		}
		return nil, nil
	}
	// Pace: as many records as are due by now, at most a tenth of a
	// second's worth.
	due := int64(time.Since(s.start).Seconds()*float64(s.perSecond)) - s.sent
	if due <= 0 {
		wait := time.Duration(float64(time.Second) / float64(s.perSecond))
		t := time.NewTimer(max(wait, time.Millisecond))
		defer t.Stop()
		select {
		case <-ctx.Done():
			return nil, nil
		case <-t.C:
		}
		return nil, nil
	}
	n := min(due, max(1, s.perSecond/10))
	if s.limit >= 0 {
		n = min(n, s.limit-s.next)
	}
	s.batch = s.batch[:0]
	for range n {
		s.batch = append(s.batch, connectors.Record{
			Topic:     s.topic,
			Partition: -1,
			KeySchema: schema.Int32Schema(), KeyData: s.task,
			ValueSchema: schema.Int64Schema(), ValueData: s.next,
			Timestamp:       time.Now(),
			SourcePartition: s.partition,
			SourceOffset:    map[string]any{offsetSeqno: s.next},
		})
		s.next++
	}
	s.sent += n
	return s.batch, nil
}

func (s *source) Close() error { return nil }

// Line is one record as verifiable-sink writes it.
type Line struct {
	Task      int32  `json:"task"`
	Seqno     int64  `json:"seqno"`
	Topic     string `json:"topic"`
	Partition int32  `json:"partition"`
	Offset    int64  `json:"offset"`
	SinkTask  int    `json:"sink_task"`
}

type sink struct {
	mu    sync.Mutex
	f     *os.File
	buf   []byte
	task  int
	delay time.Duration
}

func (s *sink) NeedsStructure() bool { return true }

func (s *sink) Open(_ context.Context, sc connectors.SinkContext) error {
	path := sc.Config.String(KeyFile)
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return err
	}
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o644)
	if err != nil {
		return err
	}
	s.f, s.task = f, sc.Task
	s.delay = time.Duration(sc.Config.Int64(KeyPutDelay)) * time.Millisecond
	return nil
}

func (s *sink) Put(ctx context.Context, recs []connectors.Record) error {
	if err := s.add(recs); err != nil {
		return err
	}
	if s.delay > 0 {
		t := time.NewTimer(s.delay)
		defer t.Stop()
		select {
		case <-ctx.Done():
		case <-t.C:
		}
	}
	return nil
}

func (s *sink) add(recs []connectors.Record) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, r := range recs {
		task, err := connectors.Int64(r.KeyData)
		if err != nil {
			return fmt.Errorf("record %s[%d]@%d: key %v is not a task number: %w", r.Topic, r.Partition, r.Offset, r.KeyData, err)
		}
		seqno, err := connectors.Int64(r.ValueData)
		if err != nil {
			return fmt.Errorf("record %s[%d]@%d: value %v is not a sequence number: %w", r.Topic, r.Partition, r.Offset, r.ValueData, err)
		}
		b, _ := json.Marshal(Line{Task: int32(task), Seqno: seqno, Topic: r.Topic, Partition: r.Partition, Offset: r.Offset, SinkTask: s.task})
		s.buf = append(append(s.buf, b...), '\n')
	}
	return nil
}

// Flush writes what Put received in one append and syncs it.
func (s *sink) Flush(context.Context) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if len(s.buf) == 0 {
		return nil
	}
	if _, err := s.f.Write(s.buf); err != nil {
		return err
	}
	s.buf = s.buf[:0]
	return s.f.Sync()
}

func (s *sink) Close() error {
	if s.f == nil {
		return nil
	}
	return s.f.Close()
}

// Report is what Check found for one producer task.
type Report struct {
	Task      int32
	Max       int64 // highest sequence number seen; -1: none
	Received  int64 // records, duplicates included
	Missing   []int64
	Duplicate int64 // records beyond the first of their sequence number
}

// Check says, per task, which sequence numbers in [0, max] are missing and
// how many repeat. seen is called with every (task, seqno) observed.
func Check(each func(yield func(task int32, seqno int64))) map[int32]*Report {
	counts := map[int32]map[int64]int{}
	each(func(task int32, seqno int64) {
		m := counts[task]
		if m == nil {
			m = map[int64]int{}
			counts[task] = m
		}
		m[seqno]++
	})
	out := map[int32]*Report{}
	for task, m := range counts {
		r := &Report{Task: task, Max: -1}
		for seq, n := range m {
			r.Received += int64(n)
			r.Duplicate += int64(n - 1)
			r.Max = max(r.Max, seq)
		}
		for seq := int64(0); seq <= r.Max; seq++ {
			if m[seq] == 0 {
				r.Missing = append(r.Missing, seq)
			}
		}
		out[task] = r
	}
	return out
}

// ReadLines reads a verifiable-sink file.
func ReadLines(path string, yield func(Line)) error {
	f, err := os.Open(path)
	if err != nil {
		return err
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		var l Line
		if err := json.Unmarshal(sc.Bytes(), &l); err != nil {
			return fmt.Errorf("%s: %q: %w", path, sc.Text(), err)
		}
		yield(l)
	}
	return sc.Err()
}
