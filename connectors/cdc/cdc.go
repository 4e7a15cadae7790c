// Package cdc is what Sluice's change data capture connectors share: the
// Debezium change event envelope (key, before, after, source, op, ts_ms),
// the topic names, Debezium's table filters and snapshot modes, and
// heartbeat records, so that what they write reads as Debezium's events do.
package cdc

import (
	"fmt"
	"regexp"
	"strings"
	"time"

	"github.com/sluicehq/sluice/connectors"
	"github.com/sluicehq/sluice/connectors/schema"
)

// Op is a Debezium change event's operation.
type Op string

// Debezium's operations.
const (
	Create   Op = "c"
	Update   Op = "u"
	Delete   Op = "d"
	Read     Op = "r" // a snapshot row
	Truncate Op = "t"
)

// Snapshot marks a source block's snapshot field (io.debezium.data.Enum).
const (
	SnapshotFalse = "false"
	SnapshotTrue  = "true"
	SnapshotFirst = "first"
	SnapshotLast  = "last"
)

// Version is what the source block's version field says.
const Version = "sluice-1.0.0"

// Column is a captured column: its name and the schema of its values.
type Column struct {
	Name   string
	Schema *schema.Schema
}

// SnapshotSchema is Debezium's snapshot field: a string enum.
func SnapshotSchema() *schema.Schema {
	return &schema.Schema{Type: schema.String, Optional: true, Name: "io.debezium.data.Enum", Version: 1, Default: SnapshotFalse,
		Parameters: map[string]string{"allowed": "true,first,first_in_data_collection,last_in_data_collection,last,false,incremental"}}
}

// SourceSchema is a connector's source block: Debezium's common fields,
// then the connector's own.
func SourceSchema(name string, own ...schema.Field) *schema.Schema {
	optString := func() *schema.Schema { return &schema.Schema{Type: schema.String, Optional: true} }
	optInt64 := func() *schema.Schema { return &schema.Schema{Type: schema.Int64, Optional: true} }
	fields := []schema.Field{
		{Name: "version", Schema: schema.StringSchema()},
		{Name: "connector", Schema: schema.StringSchema()},
		{Name: "name", Schema: schema.StringSchema()},
		{Name: "ts_ms", Schema: schema.Int64Schema()},
		{Name: "snapshot", Schema: SnapshotSchema()},
		{Name: "db", Schema: schema.StringSchema()},
		{Name: "sequence", Schema: optString()},
		{Name: "ts_us", Schema: optInt64()},
		{Name: "ts_ns", Schema: optInt64()},
	}
	fields = append(fields, own...)
	for i := range fields {
		fields[i].Index = i
	}
	return &schema.Schema{Type: schema.Struct, Name: name, Fields: fields}
}

// NewSource fills a source block's common fields; the caller sets the
// connector's own.
func NewSource(sc *schema.Schema, connector, server, db, snapshot string, ts time.Time) *schema.StructValue {
	v := schema.NewStruct(sc)
	v.Values[0], v.Values[1], v.Values[2] = Version, connector, server
	v.Values[3] = ts.UnixMilli()
	v.Values[4] = snapshot
	v.Values[5] = db
	v.Values[7] = ts.UnixMicro()
	v.Values[8] = ts.UnixNano()
	return v
}

// Table is a captured table: its topic and the schemas of its events.
type Table struct {
	Topic    string
	Key      *schema.Schema // nil for a table without a primary key
	Value    *schema.Schema
	Envelope *schema.Schema
	Columns  []string // the columns' names, which the value's fields may adjust
	keyIdx   []int
}

// NewTable makes the schemas of a table's events, named as Debezium names
// them: PREFIX.SCHEMA.TABLE.Key, .Value and .Envelope, on the topic
// PREFIX.SCHEMA.TABLE, each name and the columns' field names adjusted as
// o.Names says (the topic keeps the names as they are). keyCols are column
// names as cols has them. Two columns whose field names would be the same
// are an error, as is a schema name another table's would become.
func (o Options) NewTable(namespace, name string, cols []Column, keyCols []string, source *schema.Schema) (*Table, error) {
	base := o.Prefix + "." + namespace + "." + name
	t := &Table{Topic: base}
	schemaName := func(suffix string) (string, error) {
		n, err := o.Names.Schema(base + suffix)
		if err != nil {
			return "", fmt.Errorf("table %s.%s: %w", namespace, name, err)
		}
		return n, nil
	}
	fields := make([]string, len(cols))
	column := make(map[string]string, len(cols)) // field name → column
	for i, c := range cols {
		t.Columns = append(t.Columns, c.Name)
		fields[i] = o.Names.Field(c.Name)
		if other, ok := column[fields[i]]; ok {
			return nil, fmt.Errorf("table %s.%s: %s=%s: columns %q and %q would both be the field %q",
				namespace, name, KeyFieldNameAdjustment, o.Names.FieldMode, other, c.Name, fields[i])
		}
		column[fields[i]] = c.Name
	}
	valueName, err := schemaName(".Value")
	if err != nil {
		return nil, err
	}
	t.Value = &schema.Schema{Type: schema.Struct, Optional: true, Name: valueName}
	for i, c := range cols {
		t.Value.Fields = append(t.Value.Fields, schema.Field{Name: fields[i], Index: i, Schema: c.Schema})
	}
	if len(keyCols) > 0 {
		keyName, err := schemaName(".Key")
		if err != nil {
			return nil, err
		}
		t.Key = &schema.Schema{Type: schema.Struct, Name: keyName}
		for _, k := range keyCols {
			for i, c := range cols {
				if c.Name == k {
					ks := *c.Schema
					ks.Optional = false
					t.Key.Fields = append(t.Key.Fields, schema.Field{Name: fields[i], Index: len(t.Key.Fields), Schema: &ks})
					t.keyIdx = append(t.keyIdx, i)
				}
			}
		}
	}
	envelopeName, err := schemaName(".Envelope")
	if err != nil {
		return nil, err
	}
	t.Envelope = &schema.Schema{Type: schema.Struct, Name: envelopeName, Version: 2, Fields: []schema.Field{
		{Name: "before", Index: 0, Schema: t.Value},
		{Name: "after", Index: 1, Schema: t.Value},
		{Name: "source", Index: 2, Schema: source},
		{Name: "transaction", Index: 3, Schema: transactionSchema},
		{Name: "op", Index: 4, Schema: schema.StringSchema()},
		{Name: "ts_ms", Index: 5, Schema: &schema.Schema{Type: schema.Int64, Optional: true}},
		{Name: "ts_us", Index: 6, Schema: &schema.Schema{Type: schema.Int64, Optional: true}},
		{Name: "ts_ns", Index: 7, Schema: &schema.Schema{Type: schema.Int64, Optional: true}},
	}}
	return t, nil
}

var transactionSchema = &schema.Schema{Type: schema.Struct, Optional: true, Name: "event.block", Version: 1, Fields: []schema.Field{
	{Name: "id", Index: 0, Schema: schema.StringSchema()},
	{Name: "total_order", Index: 1, Schema: schema.Int64Schema()},
	{Name: "data_collection_order", Index: 2, Schema: schema.Int64Schema()},
}}

// KeyOf returns the key of a row (its values in column order), or nil for a
// table without a key.
func (t *Table) KeyOf(row []any) *schema.StructValue {
	if t.Key == nil || row == nil {
		return nil
	}
	k := schema.NewStruct(t.Key)
	for i, idx := range t.keyIdx {
		k.Values[i] = row[idx]
	}
	return k
}

// SameKey says whether two rows have the same key.
func (t *Table) SameKey(a, b []any) bool {
	for _, idx := range t.keyIdx {
		if fmt.Sprint(a[idx]) != fmt.Sprint(b[idx]) {
			return false
		}
	}
	return true
}

// Event is a change event's value: before and after are rows in column
// order, or nil.
func (t *Table) Event(op Op, before, after []any, source *schema.StructValue, now time.Time) *schema.StructValue {
	v := schema.NewStruct(t.Envelope)
	if before != nil {
		b := schema.NewStruct(t.Value)
		copy(b.Values, before)
		v.Values[0] = b
	}
	if after != nil {
		a := schema.NewStruct(t.Value)
		copy(a.Values, after)
		v.Values[1] = a
	}
	v.Values[2] = source
	v.Values[4] = string(op)
	v.Values[5] = now.UnixMilli()
	v.Values[6] = now.UnixMicro()
	v.Values[7] = now.UnixNano()
	return v
}

// Record is a change event's record, keyed by the row's key.
func (t *Table) Record(op Op, before, after []any, src *schema.StructValue, partition, offset map[string]any) connectors.Record {
	row := after
	if row == nil {
		row = before
	}
	rec := connectors.Record{Topic: t.Topic, Partition: -1, ValueSchema: t.Envelope,
		ValueData: t.Event(op, before, after, src, time.Now()), SourcePartition: partition, SourceOffset: offset}
	if k := t.KeyOf(row); k != nil {
		rec.KeySchema, rec.KeyData = t.Key, k
	}
	return rec
}

// Records appends a change's records to out: the event and, after a delete
// when tombstones is set, a tombstone, so that compaction can remove the key.
func (t *Table) Records(out []connectors.Record, op Op, before, after []any, src *schema.StructValue,
	partition, offset map[string]any, tombstones bool) []connectors.Record {
	rec := t.Record(op, before, after, src, partition, offset)
	out = append(out, rec)
	if op == Delete && tombstones {
		out = append(out, connectors.Record{Topic: t.Topic, Partition: -1, KeySchema: rec.KeySchema, KeyData: rec.KeyData,
			SourcePartition: partition, SourceOffset: offset})
	}
	return out
}

// Filter is Debezium's include and exclude lists: regular expressions that
// must match a whole name (schema.table, or schema.table.column).
type Filter struct {
	include, exclude []*regexp.Regexp
}

// NewFilter compiles comma-separated include and exclude lists; key names
// the config field for errors.
func NewFilter(includeKey, include, excludeKey, exclude string) (*Filter, error) {
	f := &Filter{}
	var err error
	if f.include, err = compile(includeKey, include); err != nil {
		return nil, err
	}
	if f.exclude, err = compile(excludeKey, exclude); err != nil {
		return nil, err
	}
	return f, nil
}

func compile(key, list string) ([]*regexp.Regexp, error) {
	var out []*regexp.Regexp
	for _, p := range strings.Split(list, ",") {
		if p = strings.TrimSpace(p); p == "" {
			continue
		}
		re, err := regexp.Compile("^(?:" + p + ")$")
		if err != nil {
			return nil, fmt.Errorf("%s: %q is not a regular expression: %v", key, p, err)
		}
		out = append(out, re)
	}
	return out, nil
}

// Allows says whether name passes the lists.
func (f *Filter) Allows(name string) bool {
	if f == nil {
		return true
	}
	for _, re := range f.exclude {
		if re.MatchString(name) {
			return false
		}
	}
	if len(f.include) == 0 {
		return true
	}
	for _, re := range f.include {
		if re.MatchString(name) {
			return true
		}
	}
	return false
}

// ValidateRegexList is a config field check for a list of regular
// expressions.
func ValidateRegexList(v string) error {
	_, err := compile("", v)
	if err != nil {
		_, msg, _ := strings.Cut(err.Error(), ": ")
		return fmt.Errorf("%s", msg)
	}
	return nil
}

// Heartbeat schemas: Debezium's heartbeat records, which carry a
// connector's position when the tables it captures are quiet.
var (
	HeartbeatKey = &schema.Schema{Type: schema.Struct, Name: "io.debezium.connector.common.ServerNameKey",
		Fields: []schema.Field{{Name: "serverName", Index: 0, Schema: schema.StringSchema()}}}
	HeartbeatValue = &schema.Schema{Type: schema.Struct, Name: "io.debezium.connector.common.Heartbeat",
		Fields: []schema.Field{{Name: "ts_ms", Index: 0, Schema: schema.Int64Schema()}}}
)

// HeartbeatRecord makes the key and value of a heartbeat.
func HeartbeatRecord(server string, now time.Time) (key, value *schema.StructValue) {
	key = schema.NewStruct(HeartbeatKey)
	key.Values[0] = server
	value = schema.NewStruct(HeartbeatValue)
	value.Values[0] = now.UnixMilli()
	return key, value
}

// Snapshot modes, as Debezium names them (never and schema_only are older
// names of no_data).
const (
	SnapshotInitial     = "initial"
	SnapshotInitialOnly = "initial_only"
	SnapshotAlways      = "always"
	SnapshotNoData      = "no_data"
	SnapshotNever       = "never"
	SnapshotSchemaOnly  = "schema_only"
	SnapshotWhenNeeded  = "when_needed"
)

// SnapshotModes lists the accepted snapshot.mode values.
var SnapshotModes = []string{SnapshotInitial, SnapshotInitialOnly, SnapshotAlways, SnapshotNoData, SnapshotNever, SnapshotSchemaOnly, SnapshotWhenNeeded}

// WantsSnapshot says whether a connector takes a snapshot of the data when
// it starts, given its mode and whether it has offsets (a finished
// snapshot or a stream position).
func WantsSnapshot(mode string, hasOffsets, snapshotDone bool) bool {
	switch mode {
	case SnapshotAlways:
		return true
	case SnapshotNoData, SnapshotNever, SnapshotSchemaOnly:
		return false
	}
	return !hasOffsets || !snapshotDone
}
