package cdc

import (
	"fmt"
	"log/slog"
	"strings"
	"time"

	"github.com/sluicehq/sluice/connectors"
	"github.com/sluicehq/sluice/connectors/schema"
)

// Config keys every CDC connector takes, with Debezium's names.
const (
	KeyTopicPrefix     = "topic.prefix"
	KeyTableInclude    = "table.include.list"
	KeyTableExclude    = "table.exclude.list"
	KeyColumnExclude   = "column.exclude.list"
	KeySnapshotMode    = "snapshot.mode"
	KeyTombstones      = "tombstones.on.delete"
	KeySkipped         = "skipped.operations"
	KeyTimePrecision   = "time.precision.mode"
	KeyDecimals        = "decimal.handling.mode"
	KeyMaxBatch        = "max.batch.size"
	KeyHeartbeat       = "heartbeat.interval.ms"
	KeyHeartbeatPrefix = "topic.heartbeat.prefix"
)

// CommonFields are the settings every CDC connector takes. container names
// what holds a table ("schema" in PostgreSQL, "database" in MySQL);
// timePrecision is the connector's default time.precision.mode.
func CommonFields(group, container, timePrecision string) []connectors.Field {
	return append([]connectors.Field{
		{Name: KeyTopicPrefix, Type: connectors.TypeString, Required: true, Importance: connectors.High, Group: group,
			Validate: func(v string) error {
				if strings.ContainsAny(v, " /\\") {
					return fmt.Errorf("%q cannot be part of a topic name", v)
				}
				return nil
			},
			Doc: "Prefix of the topics (PREFIX." + strings.ToUpper(container) + ".TABLE) and the source block's name: the logical name of the server."},
		{Name: KeyTableInclude, Type: connectors.TypeList, Importance: connectors.High, Group: group, Validate: ValidateRegexList,
			Doc: "Regular expressions of the tables to capture, each matching a whole " + container + ".table; empty captures all."},
		{Name: KeyTableExclude, Type: connectors.TypeList, Importance: connectors.Medium, Group: group, Validate: ValidateRegexList,
			Doc: "Regular expressions of tables not to capture."},
		{Name: KeyColumnExclude, Type: connectors.TypeList, Importance: connectors.Medium, Group: group, Validate: ValidateRegexList,
			Doc: "Regular expressions of columns (" + container + ".table.column) left out of the events."},
		{Name: KeySnapshotMode, Type: connectors.TypeString, Default: SnapshotInitial, Importance: connectors.High, Group: group,
			Allowed: SnapshotModes,
			Doc:     "initial: a snapshot of the tables when there are no offsets (or the last one did not finish), then the changes; initial_only: the snapshot, no changes; always: a snapshot at every start; no_data (never, schema_only): the changes only; when_needed: as initial."},
		{Name: KeyHeartbeat, Type: connectors.TypeDuration, Default: "0", Importance: connectors.Medium, Group: group,
			Doc: "How often to write a heartbeat record (to TOPIC.HEARTBEAT.PREFIX.PREFIX) carrying the connector's position, so it moves while the captured tables are quiet; 0 writes none."},
		{Name: KeyHeartbeatPrefix, Type: connectors.TypeString, Default: "__debezium-heartbeat", Importance: connectors.Low, Group: group,
			Doc: "Prefix of the heartbeat topic."},
		{Name: KeyTombstones, Type: connectors.TypeBoolean, Default: "true", Importance: connectors.Medium, Group: group,
			Doc: "Follow each delete event with a tombstone (the key and a null value), so that compaction can remove the key."},
		{Name: KeySkipped, Type: connectors.TypeList, Default: "t", Importance: connectors.Low, Group: group,
			Validate: func(v string) error {
				for _, op := range strings.Split(v, ",") {
					switch strings.TrimSpace(op) {
					case "c", "u", "d", "t", "none", "":
					default:
						return fmt.Errorf("%q is not one of c, u, d, t, none", op)
					}
				}
				return nil
			},
			Doc: "Operations not to write: c (inserts), u (updates), d (deletes), t (truncates); none writes all."},
		{Name: KeyTimePrecision, Type: connectors.TypeString, Default: timePrecision, Importance: connectors.Medium, Group: group,
			Allowed: []string{"adaptive", "adaptive_time_microseconds", "connect"},
			Doc:     "Dates and times as Debezium's io.debezium.time types (adaptive: by the column's precision; adaptive_time_microseconds: times in microseconds) or as Kafka Connect's Date, Time and Timestamp (connect)."},
		{Name: KeyDecimals, Type: connectors.TypeString, Default: "precise", Importance: connectors.Medium, Group: group,
			Allowed: []string{"precise", "double", "string"},
			Doc:     "NUMERIC and DECIMAL as Kafka Connect's Decimal (precise), as a double, or as text."},
		{Name: KeyMaxBatch, Type: connectors.TypeInt, Default: "2048", Importance: connectors.Low, Group: group, Validate: positive,
			Doc: "Most events handed to Kafka at a time."},
	}, nameFields(group)...)
}

func positive(v string) error {
	var n int
	if _, err := fmt.Sscan(strings.TrimSpace(v), &n); err != nil || n < 1 {
		return fmt.Errorf("%q is not a whole number of at least 1", v)
	}
	return nil
}

// Options are CommonFields read from a config.
type Options struct {
	Prefix          string
	Tables, Columns *Filter
	SnapshotMode    string
	Skipped         map[Op]bool
	Tombstones      bool
	TimePrecision   string
	Decimals        string
	Batch           int
	Heartbeat       time.Duration
	HeartbeatTopic  string
	// Names adjusts schema and field names (schema.name.adjustment.mode,
	// field.name.adjustment.mode).
	Names *Names

	heartbeatKey, heartbeatValue *schema.Schema
}

// ReadOptions reads CommonFields.
func ReadOptions(cfg connectors.Config) (Options, error) {
	o := Options{
		Prefix:        cfg.String(KeyTopicPrefix),
		SnapshotMode:  strings.ToLower(cfg.String(KeySnapshotMode)),
		Skipped:       map[Op]bool{},
		Tombstones:    cfg.Bool(KeyTombstones),
		TimePrecision: strings.ToLower(cfg.String(KeyTimePrecision)),
		Decimals:      strings.ToLower(cfg.String(KeyDecimals)),
		Batch:         max(1, cfg.Int(KeyMaxBatch)),
		Heartbeat:     cfg.Duration(KeyHeartbeat),
	}
	o.HeartbeatTopic = cfg.String(KeyHeartbeatPrefix) + "." + o.Prefix
	for _, op := range cfg.List(KeySkipped) {
		o.Skipped[Op(op)] = true
	}
	var err error
	if o.Tables, err = NewFilter(KeyTableInclude, cfg.String(KeyTableInclude), KeyTableExclude, cfg.String(KeyTableExclude)); err != nil {
		return o, err
	}
	if o.Columns, err = NewFilter("", "", KeyColumnExclude, cfg.String(KeyColumnExclude)); err != nil {
		return o, err
	}
	if o.Names, err = ReadNames(cfg); err != nil {
		return o, err
	}
	if o.heartbeatKey, err = o.Names.renamed(HeartbeatKey); err != nil {
		return o, err
	}
	if o.heartbeatValue, err = o.Names.renamed(HeartbeatValue); err != nil {
		return o, err
	}
	return o, nil
}

// OneTask is the task configs of a connector that runs one task (one
// ordered stream of changes): the connector's config.
func OneTask(cfg connectors.Config, _ int) ([]map[string]string, error) {
	m := make(map[string]string, len(cfg.Raw()))
	for k, v := range cfg.Raw() {
		m[k] = v
	}
	return []map[string]string{m}, nil
}

// HeartbeatRecord is a heartbeat record carrying offset.
func (o Options) HeartbeatRecord(partition, offset map[string]any, now time.Time) connectors.Record {
	k, v := HeartbeatRecord(o.Prefix, now)
	ks, vs := o.heartbeatKey, o.heartbeatValue
	if ks == nil || vs == nil {
		ks, vs = HeartbeatKey, HeartbeatValue
	}
	k.Schema, v.Schema = ks, vs
	return connectors.Record{Topic: o.HeartbeatTopic, Partition: -1, KeySchema: ks, KeyData: k,
		ValueSchema: vs, ValueData: v, SourcePartition: partition, SourceOffset: offset}
}

// Report logs a progress message and shows it in the task's status.
func Report(log *slog.Logger, progress func(string), msg string) {
	log.Info(msg)
	if progress != nil {
		progress(msg)
	}
}

// SnapshotRows marks a snapshot's read events first, true ... last: each
// record is held back one step, so that the very last can say so.
type SnapshotRows struct {
	held    *connectors.Record
	started bool
}

// Mark is the snapshot field of the next row's source block.
func (s *SnapshotRows) Mark() string {
	if !s.started {
		s.started = true
		return SnapshotFirst
	}
	return SnapshotTrue
}

// Push holds rec back and appends the record held before it.
func (s *SnapshotRows) Push(out []connectors.Record, rec connectors.Record) []connectors.Record {
	if s.held != nil {
		out = append(out, *s.held)
	}
	s.held = &rec
	return out
}

// Finish appends the last record, marked last and given offset (the one
// that says the snapshot is done).
func (s *SnapshotRows) Finish(out []connectors.Record, offset map[string]any) []connectors.Record {
	if s.held == nil {
		return out
	}
	last := *s.held
	s.held = nil
	// The envelope's source block (Event puts it third) and its snapshot
	// field (NewSource puts it fifth).
	last.ValueData.(*schema.StructValue).Values[2].(*schema.StructValue).Values[4] = SnapshotLast
	last.SourceOffset = offset
	return append(out, last)
}
