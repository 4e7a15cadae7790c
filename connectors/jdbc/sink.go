package jdbc

import (
	"context"
	"database/sql"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"math/big"
	"slices"
	"strings"
	"time"

	"github.com/sluicehq/sluice/connectors"
	"github.com/sluicehq/sluice/connectors/schema"
)

// insert.mode and pk.mode values, as Confluent's JDBC sink names them.
const (
	insertInsert = "insert"
	insertUpsert = "upsert"
	insertUpdate = "update"

	pkNone        = "none"
	pkKafka       = "kafka"
	pkRecordKey   = "record_key"
	pkRecordValue = "record_value"
)

// Kafka coordinates' column names with pk.mode=kafka, and the key's with a
// primitive key, by default.
var (
	kafkaPKDefaults = []string{"__connect_topic", "__connect_partition", "__connect_offset"}
	keyPKDefault    = "__connect_key"
)

// maxParams is how many placeholders one statement may hold (PostgreSQL's
// and MySQL's limit).
const maxParams = 65535

type sink struct {
	log        *slog.Logger
	db         *sql.DB
	ep         *endpoint
	d          *dialect
	insertMode string
	pkMode     string
	pkFields   []string
	allow      []string
	deletes    bool
	autoCreate bool
	autoEvolve bool
	format     string
	batchSize  int
	retries    int
	backoff    time.Duration

	// tables holds the columns of each table written to, as last read.
	tables  map[tableID]map[string]bool
	pending []row
}

// row is one record made ready for its table: a write of cols (key columns
// first), or a delete by key.
type row struct {
	table  tableID
	del    bool
	cols   []string
	keys   int // the first keys cols are the primary key
	fields []*schema.Schema
	vals   []any
}

func (s *sink) NeedsStructure() bool { return true }

func (s *sink) Open(ctx context.Context, sc connectors.SinkContext) error {
	cfg := sc.Config
	s.log = sc.Logger
	if s.log == nil {
		s.log = slog.Default()
	}
	ep, err := parseURL(cfg.String(keyURL), cfg.String(keyUser), cfg.String(keyPassword))
	if err != nil {
		return fmt.Errorf("%s: %w", keyURL, err)
	}
	s.ep, s.d = ep, ep.dialect
	s.insertMode = strings.ToLower(cfg.String(keyInsertMode))
	s.pkMode = strings.ToLower(cfg.String(keyPKMode))
	s.pkFields = cfg.List(keyPKFields)
	s.allow = cfg.List(keyFieldsAllow)
	s.deletes = cfg.Bool(keyDeleteEnabled)
	s.autoCreate = cfg.Bool(keyAutoCreate)
	s.autoEvolve = cfg.Bool(keyAutoEvolve)
	s.format = cfg.String(keyTableFormat)
	s.batchSize = max(1, cfg.Int(keyBatchSize))
	s.retries = cfg.Int(keyMaxRetries)
	s.backoff = cfg.Duration(keyRetryBackoff)
	s.tables = map[tableID]map[string]bool{}
	s.db, err = openDB(ctx, ep, cfg)
	return err
}

func (s *sink) Put(ctx context.Context, records []connectors.Record) error {
	// Write what is buffered first: a retried Put then never buffers its
	// records twice.
	if len(s.pending) >= s.batchSize {
		if err := s.write(ctx); err != nil {
			return err
		}
	}
	for i := range records {
		r, err := s.row(&records[i])
		if err != nil {
			return fmt.Errorf("record %s-%d@%d: %w", records[i].Topic, records[i].Partition, records[i].Offset, err)
		}
		s.pending = append(s.pending, r)
	}
	return nil
}

func (s *sink) Flush(ctx context.Context) error {
	return s.write(ctx)
}

func (s *sink) Close() error {
	if s.db != nil {
		return s.db.Close()
	}
	return nil
}

// row turns a record into the row its table gets.
func (s *sink) row(r *connectors.Record) (row, error) {
	out := row{table: s.d.parseTable(strings.ReplaceAll(s.format, "${topic}", r.Topic), s.ep.database)}
	add := func(name string, sc *schema.Schema, v any) {
		out.cols = append(out.cols, name)
		out.fields = append(out.fields, sc)
		out.vals = append(out.vals, v)
	}
	// addKeyFields adds the pk.fields of a struct (all of them by default).
	addKeyFields := func(what string, sc *schema.Schema, vals []any) error {
		names := s.pkFields
		if len(names) == 0 {
			for _, f := range sc.Fields {
				names = append(names, f.Name)
			}
		}
		for _, n := range names {
			f := sc.Field(n)
			if f == nil {
				return fmt.Errorf("%s: the %s has no field %q (it has %s)", keyPKFields, what, n, fieldNames(sc))
			}
			add(n, f.Schema, vals[f.Index])
		}
		return nil
	}
	// The key columns.
	switch s.pkMode {
	case pkKafka:
		names := s.pkFields
		if len(names) == 0 {
			names = kafkaPKDefaults
		}
		if len(names) != 3 {
			return row{}, fmt.Errorf("%s: pk.mode=kafka takes three names (topic, partition, offset columns), not %d", keyPKFields, len(names))
		}
		add(names[0], schema.StringSchema(), r.Topic)
		add(names[1], schema.Int32Schema(), r.Partition)
		add(names[2], schema.Int64Schema(), r.Offset)
	case pkRecordKey:
		if r.KeyData == nil {
			return row{}, fmt.Errorf("pk.mode=record_key, but the record has no key")
		}
		ks, kv := structOf(r.KeySchema, r.KeyData)
		if ks == nil { // a primitive key
			names := s.pkFields
			if len(names) == 0 {
				names = []string{keyPKDefault}
			}
			if len(names) != 1 {
				return row{}, fmt.Errorf("%s: a key that is not a struct fills one column, but %d are named", keyPKFields, len(names))
			}
			add(names[0], schemaOf(r.KeySchema, r.KeyData), r.KeyData)
			break
		}
		if err := addKeyFields("key", ks, kv); err != nil {
			return row{}, err
		}
	}
	keys := len(out.cols)
	if r.ValueData == nil {
		if !s.deletes {
			return row{}, fmt.Errorf("a null value (tombstone), and %s=false: set it (with pk.mode=record_key) to delete rows", keyDeleteEnabled)
		}
		out.del, out.keys = true, keys
		return out, nil
	}
	vs, vv := structOf(r.ValueSchema, r.ValueData)
	if vs == nil {
		return row{}, fmt.Errorf("the value is a %T, not a struct or an object: the JDBC sink needs one column per field (with JsonConverter, set value.converter.schemas.enable=true, or send JSON objects)", r.ValueData)
	}
	if s.pkMode == pkRecordValue {
		if err := addKeyFields("value", vs, vv); err != nil {
			return row{}, err
		}
		keys = len(out.cols)
	}
	for _, f := range vs.Fields {
		if slices.Contains(out.cols[:keys], f.Name) || (len(s.allow) > 0 && !slices.Contains(s.allow, f.Name)) {
			continue
		}
		add(f.Name, f.Schema, vv[f.Index])
	}
	out.keys = keys
	return out, nil
}

func fieldNames(s *schema.Schema) string {
	names := make([]string, len(s.Fields))
	for i, f := range s.Fields {
		names[i] = f.Name
	}
	return strings.Join(names, ", ")
}

// structOf returns a struct value's schema and field values; a schemaless
// JSON object gets a schema inferred from its values, fields in name order.
func structOf(s *schema.Schema, v any) (*schema.Schema, []any) {
	switch x := v.(type) {
	case *schema.StructValue:
		return x.Schema, x.Values
	case map[string]any:
		if s != nil && s.Type != schema.Map {
			return nil, nil
		}
		names := make([]string, 0, len(x))
		for k := range x {
			names = append(names, k)
		}
		slices.Sort(names)
		st := &schema.Schema{Type: schema.Struct}
		vals := make([]any, len(names))
		for i, n := range names {
			st.Fields = append(st.Fields, schema.Field{Name: n, Index: i, Schema: schemaOf(nil, x[n])})
			vals[i] = x[n]
		}
		return st, vals
	}
	return nil, nil
}

// schemaOf is s, or for schemaless data a schema inferred from the value.
func schemaOf(s *schema.Schema, v any) *schema.Schema {
	if s != nil {
		return s
	}
	var t schema.Type
	switch v.(type) {
	case string:
		t = schema.String
	case bool:
		t = schema.Boolean
	case int64, int:
		t = schema.Int64
	case float64:
		t = schema.Float64
	case []byte:
		t = schema.Bytes
	case []any:
		t = schema.Array
	default:
		t = schema.Map
	}
	return &schema.Schema{Type: t, Optional: true}
}

// write makes every pending row durable in one transaction, retrying
// max.retries times retry.backoff.ms apart when the database went away.
func (s *sink) write(ctx context.Context) error {
	if len(s.pending) == 0 {
		return nil
	}
	var err error
	for attempt := 0; ; attempt++ {
		if err = s.writeOnce(ctx); err == nil {
			clear(s.pending)
			s.pending = s.pending[:0]
			return nil
		}
		if !errors.Is(err, connectors.ErrRetriable) || attempt >= s.retries || ctx.Err() != nil {
			return err
		}
		s.log.Warn("write failed; retrying", "err", err, "attempt", attempt+1, "of", s.retries)
		sleep(ctx, s.backoff)
		// A table may have changed under us.
		clear(s.tables)
	}
}

func (s *sink) writeOnce(ctx context.Context) error {
	// Each run of rows of one shape needs its table checked once.
	var prev *row
	for i := 0; i < len(s.pending); i++ {
		if prev != nil && sameShape(prev, &s.pending[i]) {
			continue
		}
		err := s.ensureTable(ctx, &s.pending[i])
		if errors.Is(err, errNoTable) {
			// Deleting from a table that is not there deletes nothing.
			s.pending = slices.Delete(s.pending, i, i+1)
			i--
			continue
		}
		if err != nil {
			return err
		}
		prev = &s.pending[i]
	}
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return dbError("begin a transaction on "+s.ep.String(), err)
	}
	defer func() { _ = tx.Rollback() }()
	// Runs of rows of one table, one kind and one set of columns become
	// one statement each (or a few, under the placeholder limit), in the
	// order of the records.
	for start := 0; start < len(s.pending); {
		end := start + 1
		for end < len(s.pending) && sameShape(&s.pending[start], &s.pending[end]) {
			end++
		}
		if err := s.writeRun(ctx, tx, s.pending[start:end]); err != nil {
			return err
		}
		start = end
	}
	if err := tx.Commit(); err != nil {
		return dbError("commit to "+s.ep.String(), err)
	}
	return nil
}

func sameShape(a, b *row) bool {
	return a.table == b.table && a.del == b.del && a.keys == b.keys && slices.Equal(a.cols, b.cols)
}

func (s *sink) writeRun(ctx context.Context, tx *sql.Tx, rows []row) error {
	first := &rows[0]
	if first.keys == 0 && (first.del || s.insertMode != insertInsert) {
		return fmt.Errorf("%s=%s needs a primary key, but pk.mode=none", keyInsertMode, s.insertMode)
	}
	if s.insertMode == insertUpsert || first.del {
		rows = lastPerKey(rows)
	}
	if s.insertMode == insertUpdate && !first.del {
		q := s.d.update(first.table, first.cols[first.keys:], first.cols[:first.keys])
		stmt, err := tx.PrepareContext(ctx, q)
		if err != nil {
			return dbError("prepare "+q, err)
		}
		defer stmt.Close()
		args := make([]any, len(first.cols))
		for _, r := range rows {
			n := 0
			for i := r.keys; i < len(r.cols); i++ {
				args[n] = s.arg(r.fields[i], r.vals[i])
				n++
			}
			for i := range r.keys {
				args[n] = s.arg(r.fields[i], r.vals[i])
				n++
			}
			if _, err := stmt.ExecContext(ctx, args...); err != nil {
				return dbError("update "+first.table.String(), err)
			}
		}
		return nil
	}
	width := len(first.cols)
	if first.del {
		width = first.keys
	}
	per := max(1, min(s.batchSize, maxParams/width))
	args := make([]any, 0, min(len(rows), per)*width)
	for start := 0; start < len(rows); start += per {
		chunk := rows[start:min(start+per, len(rows))]
		args = args[:0]
		for _, r := range chunk {
			for i := range width {
				args = append(args, s.arg(r.fields[i], r.vals[i]))
			}
		}
		var q string
		switch {
		case first.del:
			q = s.d.delete(first.table, first.cols[:first.keys], len(chunk))
		case s.insertMode == insertUpsert:
			q = s.d.upsert(first.table, first.cols, first.cols[:first.keys], len(chunk))
		default:
			q = s.d.insert(first.table, first.cols, len(chunk))
		}
		if _, err := tx.ExecContext(ctx, q, args...); err != nil {
			verb := "write"
			if first.del {
				verb = "delete from"
			}
			return dbError(fmt.Sprintf("%s %s (%d rows)", verb, first.table, len(chunk)), err)
		}
	}
	return nil
}

// lastPerKey keeps, of rows with the same key, the last: one statement may
// not touch a row twice, and the last write is the one that stands.
func lastPerKey(rows []row) []row {
	seen := make(map[string]int, len(rows))
	out := rows[:0:0]
	for _, r := range rows {
		k := fmt.Sprint(r.vals[:r.keys]...)
		if i, ok := seen[k]; ok {
			out[i] = r
			continue
		}
		seen[k] = len(out)
		out = append(out, r)
	}
	return out
}

// arg is the value a driver takes for a Connect value.
func (s *sink) arg(sc *schema.Schema, v any) any {
	if v == nil {
		return nil
	}
	switch x := v.(type) {
	case schema.Decimal:
		return x.String()
	case *big.Int:
		return x.String()
	case time.Time:
		if sc != nil && sc.Name == schema.TimeName {
			return x.UTC().Format("15:04:05.000")
		}
		return x.UTC()
	case int8:
		return int64(x)
	case *schema.StructValue, map[string]any, []any, []schema.MapEntry:
		b, _ := json.Marshal(jsonable(x))
		return string(b)
	}
	return v
}

// jsonable turns Connect values into what encoding/json writes as
// JsonConverter's payloads would read.
func jsonable(v any) any {
	switch x := v.(type) {
	case *schema.StructValue:
		m := make(map[string]any, len(x.Values))
		for _, f := range x.Schema.Fields {
			m[f.Name] = jsonable(x.Values[f.Index])
		}
		return m
	case map[string]any:
		m := make(map[string]any, len(x))
		for k, e := range x {
			m[k] = jsonable(e)
		}
		return m
	case []any:
		out := make([]any, len(x))
		for i, e := range x {
			out[i] = jsonable(e)
		}
		return out
	case []schema.MapEntry:
		out := make([][2]any, len(x))
		for i, e := range x {
			out[i] = [2]any{jsonable(e.Key), jsonable(e.Value)}
		}
		return out
	case schema.Decimal:
		return json.Number(x.String())
	case []byte:
		return base64.StdEncoding.EncodeToString(x)
	case time.Time:
		return x.UTC().Format(time.RFC3339Nano)
	}
	return v
}

var errNoTable = errors.New("no such table")

// ensureTable makes sure the row's table exists with the row's columns,
// creating it or adding columns as auto.create and auto.evolve allow.
func (s *sink) ensureTable(ctx context.Context, r *row) error {
	cols, known := s.tables[r.table]
	if !known {
		dbCols, err := s.d.columns(ctx, s.db, r.table)
		if err != nil {
			return dbError("describe "+r.table.String(), err)
		}
		if len(dbCols) > 0 {
			cols = make(map[string]bool, len(dbCols))
			for _, c := range dbCols {
				cols[c.name] = true
			}
			s.tables[r.table] = cols
		}
	}
	if cols == nil {
		if r.del {
			return errNoTable
		}
		if !s.autoCreate {
			return fmt.Errorf("table %s does not exist in %s: create it, or set %s=true", r.table, s.ep, keyAutoCreate)
		}
		if err := s.create(ctx, r); err != nil {
			return err
		}
		delete(s.tables, r.table)
		return s.ensureTable(ctx, r)
	}
	var missing []int
	for i, c := range r.cols {
		if !cols[c] {
			missing = append(missing, i)
		}
	}
	if len(missing) == 0 {
		return nil
	}
	if !s.autoEvolve {
		names := make([]string, len(missing))
		for i, m := range missing {
			names[i] = r.cols[m]
		}
		return fmt.Errorf("table %s has no column %s: add it, or set %s=true", r.table, strings.Join(names, ", "), keyAutoEvolve)
	}
	for _, i := range missing {
		f := r.fields[i]
		if !f.Optional && f.Default == nil {
			return fmt.Errorf("auto.evolve: field %q of table %s is required and has no default, so it cannot be added to rows already there; make it optional", r.cols[i], r.table)
		}
		typ, err := s.d.sqlType(f, false)
		if err != nil {
			return fmt.Errorf("field %q %w", r.cols[i], err)
		}
		q := "ALTER TABLE " + s.d.table(r.table) + " ADD " + s.d.quote(r.cols[i]) + " " + typ + " NULL"
		s.log.Info("adding a column", "table", r.table.String(), "column", r.cols[i], "type", typ)
		if _, err := s.db.ExecContext(ctx, q); err != nil && !strings.Contains(strings.ToLower(err.Error()), "duplicate column") &&
			!strings.Contains(err.Error(), "already exists") {
			return dbError("add column "+r.cols[i]+" to "+r.table.String(), err)
		}
		cols[r.cols[i]] = true
	}
	return nil
}

func (s *sink) create(ctx context.Context, r *row) error {
	var b strings.Builder
	b.WriteString("CREATE TABLE IF NOT EXISTS " + s.d.table(r.table) + " (")
	for i, c := range r.cols {
		if i > 0 {
			b.WriteString(", ")
		}
		typ, err := s.d.sqlType(r.fields[i], i < r.keys)
		if err != nil {
			return fmt.Errorf("auto.create: field %q %w", c, err)
		}
		b.WriteString(s.d.quote(c) + " " + typ)
		if i < r.keys || !r.fields[i].Optional {
			b.WriteString(" NOT NULL")
		} else {
			b.WriteString(" NULL")
		}
	}
	if r.keys > 0 {
		b.WriteString(", PRIMARY KEY (")
		s.d.list(&b, r.cols[:r.keys], "%s")
		b.WriteString(")")
	}
	b.WriteString(")")
	s.log.Info("creating a table", "table", r.table.String(), "sql", b.String())
	if _, err := s.db.ExecContext(ctx, b.String()); err != nil {
		return dbError("create table "+r.table.String(), err)
	}
	return nil
}
