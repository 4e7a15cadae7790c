// Package connectors is Sluice's connector SDK: the Source and Sink
// interfaces a connector implements, the Record that moves through a
// pipeline, the config Spec that drives parsing, validation and docs, and the
// Registry that maps connector.class names and aliases to plugins.
//
// A source task's life is Open, then Poll until the task stops, then Close.
// The runtime produces what Poll returns to Kafka and, once Kafka has
// acknowledged every record up to one, treats that record's SourceOffset as
// committed. A sink task's life is Open, then Put and Flush in turns, then
// Close; the runtime commits Kafka offsets only after Flush returned nil.
package connectors

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"strconv"
	"strings"
	"time"

	"github.com/sluicehq/sluice/connectors/schema"
)

// Header is a Kafka record header.
type Header struct {
	Key   string
	Value []byte
}

// Record is one record moving through a pipeline.
//
// A key or a value has two forms. The raw form is bytes (Key, Value), which
// pass through untouched when no transform or converter needs structure;
// KeySchema or ValueSchema may then say what the bytes are (schema.String
// for text, schema.Bytes for opaque bytes, nil for unknown). The structured
// form (KeyData, ValueData, with a schema or without) is set by sources that
// produce structured data and by the runtime when a sink or transform needs
// it; when it is set it is the truth, and a converter makes the bytes from it.
// A nil value in both forms is a null (a tombstone).
type Record struct {
	// Topic is where a source record goes, or where a sink record came from.
	Topic string
	// Partition is the Kafka partition: -1 on a source record lets the
	// producer's partitioner choose.
	Partition int32
	// Offset is the Kafka offset of a sink record.
	Offset int64

	Key, Value             []byte
	KeySchema, ValueSchema *schema.Schema
	KeyData, ValueData     any

	Headers   []Header
	Timestamp time.Time

	// SourcePartition and SourceOffset say where a source record came from,
	// as JSON-compatible maps (Kafka Connect's sourcePartition and
	// sourceOffset), for example {"filename": "/tmp/in.txt"} and
	// {"position": 1024}. The runtime commits offsets per polled batch, the
	// newest of each partition, so a source may set SourceOffset on the last
	// record of a batch only and save a map per record.
	SourcePartition map[string]any
	SourceOffset    map[string]any
}

// Offset is a committed source offset for one source partition.
type Offset struct {
	Partition map[string]any
	Offset    map[string]any
}

// TaskInfo says which task of which connector an instance is.
type TaskInfo struct {
	Connector string
	Task      int
	// Config is the task's config, already validated against the plugin's
	// Spec and with config provider references resolved.
	Config Config
	Logger *slog.Logger
	// Progress, when set, shows a message in the task's status while it
	// runs (for example a snapshot's progress); call it from Poll or Put,
	// not from Open.
	Progress func(message string)
}

// SourceContext is what a source task gets when it opens.
type SourceContext struct {
	TaskInfo
	// Offsets are the offsets committed for this connector, to resume from.
	Offsets OffsetReader
	// Transactions is set when the connector defines its own exactly-once
	// transactions (exactly.once.support=required and
	// transaction.boundary=connector; the plugin says DefinesTransactions).
	Transactions TransactionContext
}

// TransactionContext lets an exactly-once source task say where its
// transactions end (Kafka Connect's TransactionContext, KIP-618). A
// transaction holds records and the source offsets they advance; a
// committed one becomes visible to read-committed consumers with its offsets
// stored, an aborted one is dropped, and the task goes on after it (its
// records are not polled again). Calls made during Poll apply to the batch
// Poll returns; calls between polls apply to the next batch.
type TransactionContext interface {
	// CommitTransaction commits after the whole batch.
	CommitTransaction()
	// CommitTransactionAfter commits right after r, a record of the batch
	// (a pointer into the slice Poll returns).
	CommitTransactionAfter(r *Record)
	// AbortTransaction aborts the open transaction after the whole batch.
	AbortTransaction()
	// AbortTransactionAfter aborts right after r: r and the records before
	// it in the open transaction are dropped.
	AbortTransactionAfter(r *Record)
}

// OffsetReader looks up committed source offsets.
type OffsetReader interface {
	// Offset returns the committed offset of a source partition, or nil.
	Offset(partition map[string]any) map[string]any
}

// SinkContext is what a sink task gets when it opens.
type SinkContext struct {
	TaskInfo
}

// Source reads an external system. The runtime calls its methods from one
// goroutine.
type Source interface {
	// Open prepares the task to poll, resuming from ctx.Offsets.
	Open(ctx context.Context, sc SourceContext) error
	// Poll returns the next batch of records. It may block until records
	// are there or ctx ends, and may return an empty batch. The runtime is
	// done with a batch's slice when it calls Poll again, so a source may
	// reuse the slice; the bytes the records point to may still be in
	// flight to Kafka and must not be reused. An error fails
	// the task, unless it wraps ErrRetriable, which makes the runtime call
	// Poll again after a backoff.
	Poll(ctx context.Context) ([]Record, error)
	// Close releases everything the task holds.
	Close() error
}

// SourceCommitter is implemented by sources that must learn when offsets are
// durable, for example to acknowledge a replication slot position. Commit is
// called with the newest committed offset of each partition, from another
// goroutine than Poll's (possibly while Poll blocks), never concurrently
// with itself.
type SourceCommitter interface {
	Commit(ctx context.Context, offsets []Offset) error
}

// Sink writes an external system. The runtime calls its methods from one
// goroutine.
type Sink interface {
	// Open prepares the task to receive records.
	Open(ctx context.Context, sc SinkContext) error
	// Put hands the sink a batch of records. The sink may buffer them, but
	// must not keep the slice itself: the runtime reuses it for the next
	// batch. Copies of the Records, and the bytes they point to, stay valid.
	Put(ctx context.Context, records []Record) error
	// Flush makes everything given to Put durable. The runtime commits the
	// consumed Kafka offsets only after Flush returned nil.
	Flush(ctx context.Context) error
	// Close releases everything the task holds.
	Close() error
}

// OffsetStoringSink is implemented by sinks that store, in the destination
// and atomically with the data each Flush makes durable, the Kafka offset
// every partition has reached (Kafka Connect's pattern of offsets kept with
// the data, preCommit and SinkTaskContext.offset): exactly once into the
// destination. When the runtime is assigned partitions it starts each from
// the sink's stored offset where the sink has one, instead of the consumer
// group's; it still commits the group's offsets after each Flush, for lag and
// tools. StoredOffsets may be called from another goroutine than Put's.
type OffsetStoringSink interface {
	// StoredOffsets returns, of the given partitions (topic to partition
	// numbers), the offset of the next record to write, for those the
	// destination knows.
	StoredOffsets(ctx context.Context, partitions map[string][]int32) (map[string]map[int32]int64, error)
}

// StructuredSink is implemented by sinks that need the structured form of
// records (KeyData, ValueData): the runtime then decodes values with the
// connector's converters before Put. Sinks that do not implement it get the
// raw bytes.
type StructuredSink interface {
	NeedsStructure() bool
}

// Type says which way a plugin moves data.
type Type int

// Plugin types.
const (
	SourceType Type = iota + 1
	SinkType
)

func (t Type) String() string {
	switch t {
	case SourceType:
		return "source"
	case SinkType:
		return "sink"
	default:
		return "unknown"
	}
}

// Plugin describes a connector and makes its tasks.
type Plugin struct {
	// Name is Sluice's short name, for example "file-source".
	Name string
	// Class is the Kafka Connect class name it answers to, if any.
	Class string
	// Aliases are further names that select it.
	Aliases     []string
	Type        Type
	Version     string
	Description string
	// Spec lists the connector's own config fields; the common ones
	// (CommonSourceSpec, CommonSinkSpec) are added by the registry.
	Spec Spec
	// Check finds problems that involve several fields of a config each
	// of whose fields is valid (for example a mode that needs another
	// field set). Nil means none.
	Check func(cfg Config) []FieldError
	// TaskConfigs splits a validated connector config into at most maxTasks
	// task configs. Each task config holds the whole connector config plus
	// the task's own keys. Nil means one task per tasks.max, each with the
	// connector config.
	TaskConfigs func(cfg Config, maxTasks int) ([]map[string]string, error)
	// NewSource makes a source task (source plugins only).
	NewSource func() Source
	// DefinesTransactions says the source can end its own exactly-once
	// transactions through SourceContext.Transactions, which
	// transaction.boundary=connector asks for (Kafka Connect's
	// canDefineTransactionBoundaries).
	DefinesTransactions bool
	// NewSink makes a sink task (sink plugins only).
	NewSink func() Sink
}

// Int64 reads a whole number from an offset or from schemaless data, in
// whatever form it arrived: a Go integer, a float64 or json.Number (after
// JSON), a Decimal of scale 0, or text.
func Int64(v any) (int64, error) {
	switch x := v.(type) {
	case int64:
		return x, nil
	case int:
		return int64(x), nil
	case int32:
		return int64(x), nil
	case int16:
		return int64(x), nil
	case int8:
		return int64(x), nil
	case float64:
		return int64(x), nil
	case json.Number:
		if n, err := x.Int64(); err == nil {
			return n, nil
		}
		f, err := x.Float64()
		return int64(f), err
	case schema.Decimal:
		if x.Unscaled != nil && x.Scale == 0 && x.Unscaled.IsInt64() {
			return x.Unscaled.Int64(), nil
		}
	case string:
		return strconv.ParseInt(strings.TrimSpace(x), 10, 64)
	case []byte:
		return strconv.ParseInt(strings.TrimSpace(string(x)), 10, 64)
	}
	return 0, fmt.Errorf("%v (%T) is not a whole number", v, v)
}
