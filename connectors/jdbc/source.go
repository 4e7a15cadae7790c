package jdbc

import (
	"context"
	"database/sql"
	"fmt"
	"log/slog"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/sluicehq/sluice/connectors"
	"github.com/sluicehq/sluice/connectors/schema"
)

// Modes of the source, as Confluent's JDBC source names them.
const (
	modeBulk         = "bulk"
	modeIncrementing = "incrementing"
	modeTimestamp    = "timestamp"
	modeTimestampInc = "timestamp+incrementing"
)

// Offset keys and the partition's, as Confluent's JDBC source writes them,
// so that offsets carried over from Kafka Connect read the same.
const (
	offIncrementing   = "incrementing"
	offTimestamp      = "timestamp"
	offTimestampNanos = "timestamp_nanos"
	partProtocol      = "protocol"
	partTable         = "table"
	partQuery         = "query"
)

type source struct {
	log      *slog.Logger
	cfg      connectors.Config
	db       *sql.DB
	ep       *endpoint
	mode     string
	incCol   string
	tsCols   []string
	batch    int
	interval time.Duration
	delay    time.Duration
	tsStart  time.Time
	numeric  string
	prefix   string
	offsets  connectors.OffsetReader

	// tables this task reads, when it picks its own share of all tables.
	share          func([]tableID) []tableID
	tablePoll      time.Duration
	nextTableCheck time.Time

	queriers []*querier
	out      []connectors.Record
}

// querier reads one table (or the query) in turns: a query, its rows
// handed out batch.max.rows at a time, then a pause of poll.interval.ms.
type querier struct {
	table     tableID // zero in query mode
	topic     string
	partition map[string]any
	nullable  map[string]bool
	next      time.Time

	inc   int64
	ts    time.Time
	hasTS bool

	rows    *sql.Rows
	cols    []column
	schema  *schema.Schema
	incIdx  int
	tsIdx   []int
	scanBuf []any
	ptrs    []any
}

func (s *source) Open(ctx context.Context, sc connectors.SourceContext) error {
	s.log, s.cfg, s.offsets = sc.Logger, sc.Config, sc.Offsets
	if s.log == nil {
		s.log = slog.Default()
	}
	ep, err := parseURL(s.cfg.String(keyURL), s.cfg.String(keyUser), s.cfg.String(keyPassword))
	if err != nil {
		return fmt.Errorf("%s: %w", keyURL, err)
	}
	s.ep = ep
	s.mode = strings.ToLower(s.cfg.String(keyMode))
	s.incCol = s.cfg.String(keyIncColumn)
	s.tsCols = s.cfg.List(keyTSColumn)
	s.batch = max(1, s.cfg.Int(keyBatchMaxRows))
	s.interval = s.cfg.Duration(keyPollInterval)
	s.delay = s.cfg.Duration(keyTSDelay)
	s.numeric = strings.ToLower(s.cfg.String(keyNumericMapping))
	s.prefix = s.cfg.String(keyTopicPrefix)
	s.tablePoll = s.cfg.Duration(keyTablePoll)
	if v, ok := s.cfg.Lookup(keyTSInitial); ok && strings.TrimSpace(v) != "" {
		ms, _ := strconv.ParseInt(strings.TrimSpace(v), 10, 64)
		if ms == -1 {
			s.tsStart = time.Now().UTC()
		} else {
			s.tsStart = time.UnixMilli(ms).UTC()
		}
	} else {
		s.tsStart = time.Unix(0, 0).UTC()
	}
	if s.db, err = openDB(ctx, ep, s.cfg); err != nil {
		return err
	}
	if q := strings.TrimSpace(s.cfg.String(keyQuery)); q != "" {
		qr := s.newQuerier(tableID{}, map[string]any{partQuery: partQuery}, s.prefix)
		s.queriers = append(s.queriers, qr)
		return nil
	}
	if tables, ok := sc.Config.Lookup(keyTaskTables); ok {
		for _, t := range strings.Split(tables, ",") {
			if t = strings.TrimSpace(t); t != "" {
				if err := s.addTable(ctx, ep.dialect.parseTable(t, ep.database)); err != nil {
					return err
				}
			}
		}
		return nil
	}
	// No list of tables: every task lists them and takes its share.
	task, count := s.cfg.Int(keyTaskIndex), max(1, s.cfg.Int(keyTaskCount))
	s.share = func(all []tableID) []tableID {
		var mine []tableID
		for i, t := range all {
			if i%count == task {
				mine = append(mine, t)
			}
		}
		return mine
	}
	return s.refreshTables(ctx)
}

// refreshTables picks up tables created or dropped since the last look.
func (s *source) refreshTables(ctx context.Context) error {
	s.nextTableCheck = time.Now().Add(s.tablePoll)
	all, err := s.ep.dialect.listTables(ctx, s.db)
	if err != nil {
		return fmt.Errorf("list tables of %s: %w: %w", s.ep, connectors.ErrRetriable, err)
	}
	all = filterTables(all, s.ep, s.cfg)
	mine := s.share(all)
	s.queriers = slices.DeleteFunc(s.queriers, func(q *querier) bool {
		if slices.Contains(mine, q.table) {
			return false
		}
		s.log.Info("table is gone or no longer included: not reading it", "table", q.table.String())
		q.close()
		return true
	})
	for _, t := range mine {
		if !slices.ContainsFunc(s.queriers, func(q *querier) bool { return q.table == t }) {
			if err := s.addTable(ctx, t); err != nil {
				return err
			}
		}
	}
	return nil
}

// filterTables keeps the tables the include and exclude lists allow.
func filterTables(all []tableID, ep *endpoint, cfg connectors.Config) []tableID {
	include := tableList(cfg, keyTableInclude, keyTableWhitelist)
	exclude := tableList(cfg, keyTableExclude, keyTableBlacklist)
	matches := func(list []string, t tableID) bool {
		return slices.ContainsFunc(list, func(s string) bool {
			want := ep.dialect.parseTable(s, ep.database)
			if !strings.Contains(s, ".") {
				return want.name == t.name
			}
			return want == t
		})
	}
	return slices.DeleteFunc(all, func(t tableID) bool {
		return (len(include) > 0 && !matches(include, t)) || matches(exclude, t)
	})
}

func tableList(cfg connectors.Config, keys ...string) []string {
	for _, k := range keys {
		if l := cfg.List(k); len(l) > 0 {
			return l
		}
	}
	return nil
}

func (s *source) addTable(ctx context.Context, t tableID) error {
	cols, err := s.ep.dialect.columns(ctx, s.db, t)
	if err != nil {
		return fmt.Errorf("describe table %s: %w: %w", t, connectors.ErrRetriable, err)
	}
	if len(cols) == 0 {
		return fmt.Errorf("table %s does not exist in %s, or user %q may not read it", t, s.ep, s.ep.user)
	}
	nullable := make(map[string]bool, len(cols))
	for _, c := range cols {
		nullable[c.name] = c.nullable
	}
	// The columns the offsets follow must exist and, unless told otherwise,
	// be NOT NULL: a NULL there would be skipped for ever.
	check := func(key, name string) error {
		n, ok := nullable[name]
		if !ok {
			return fmt.Errorf("%s: table %s has no column %q", key, t, name)
		}
		if n && s.cfg.Bool(keyValidateNonNull) {
			return fmt.Errorf("%s: column %q of table %s is nullable; rows where it is NULL would never be read (make it NOT NULL, or set %s=false)", key, name, t, keyValidateNonNull)
		}
		return nil
	}
	if s.mode == modeIncrementing || s.mode == modeTimestampInc {
		if err := check(keyIncColumn, s.incCol); err != nil {
			return err
		}
	}
	if s.mode == modeTimestamp || s.mode == modeTimestampInc {
		for _, c := range s.tsCols {
			if err := check(keyTSColumn, c); err != nil && (len(s.tsCols) == 1 || !strings.Contains(err.Error(), "nullable")) {
				return err
			}
		}
	}
	fqn := s.ep.database + "." + t.String()
	if s.ep.dialect == mysqlDialect {
		fqn = t.String()
	}
	q := s.newQuerier(t, map[string]any{partProtocol: "1", partTable: fqn}, s.prefix+t.name)
	q.nullable = nullable
	s.queriers = append(s.queriers, q)
	return nil
}

func (s *source) newQuerier(t tableID, partition map[string]any, topic string) *querier {
	q := &querier{table: t, topic: topic, partition: partition, inc: -1, ts: s.tsStart}
	if off := s.offsets.Offset(partition); off != nil {
		if v, ok := off[offIncrementing]; ok {
			q.inc, _ = connectors.Int64(v)
		}
		if v, ok := off[offTimestamp]; ok {
			ms, _ := connectors.Int64(v)
			q.ts = time.UnixMilli(ms).UTC()
			if v, ok := off[offTimestampNanos]; ok {
				ns, _ := connectors.Int64(v)
				q.ts = time.Unix(q.ts.Unix(), ns).UTC()
			}
			q.hasTS = true
		}
	}
	return q
}

func (s *source) Poll(ctx context.Context) ([]connectors.Record, error) {
	if s.share != nil && time.Now().After(s.nextTableCheck) {
		if err := s.refreshTables(ctx); err != nil {
			return nil, err
		}
	}
	if len(s.queriers) == 0 {
		sleep(ctx, min(s.interval, time.Until(s.nextTableCheck)))
		return nil, nil
	}
	// The querier due first; one with an open result set goes on at once.
	q := s.queriers[0]
	for _, c := range s.queriers[1:] {
		if c.next.Before(q.next) {
			q = c
		}
	}
	if q.rows == nil {
		if wait := time.Until(q.next); wait > 0 {
			sleep(ctx, wait)
			return nil, nil
		}
		if err := s.query(ctx, q); err != nil {
			q.next = time.Now().Add(s.interval)
			return nil, err
		}
	}
	s.out = s.out[:0]
	for len(s.out) < s.batch {
		if !q.rows.Next() {
			err := q.rows.Err()
			q.close()
			q.next = time.Now().Add(s.interval)
			if err != nil {
				return s.out, fmt.Errorf("read %s: %w: %w", q.what(), connectors.ErrRetriable, err)
			}
			break
		}
		rec, err := s.record(q)
		if err != nil {
			q.close()
			q.next = time.Now().Add(s.interval)
			return s.out, err
		}
		s.out = append(s.out, rec)
	}
	return s.out, nil
}

// sleep waits d, or until ctx ends.
func sleep(ctx context.Context, d time.Duration) {
	if d <= 0 {
		return
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
	case <-t.C:
	}
}

func (q *querier) what() string {
	if q.table == (tableID{}) {
		return "the query"
	}
	return "table " + q.table.String()
}

func (q *querier) close() {
	if q.rows != nil {
		_ = q.rows.Close()
		q.rows = nil
	}
}

// query starts the querier's next pass: the rows past its offset, in
// offset order, up to the current time less timestamp.delay.interval.ms.
func (s *source) query(ctx context.Context, q *querier) error {
	d := s.ep.dialect
	var sqlText string
	if q.table == (tableID{}) {
		sqlText = s.cfg.String(keyQuery)
	} else {
		sqlText = "SELECT * FROM " + d.table(q.table)
	}
	var args []any
	ts := func() string {
		if len(s.tsCols) == 1 {
			return d.quote(s.tsCols[0])
		}
		quoted := make([]string, len(s.tsCols))
		for i, c := range s.tsCols {
			quoted[i] = d.quote(c)
		}
		return "COALESCE(" + strings.Join(quoted, ",") + ")"
	}
	arg := func(v any) string { args = append(args, v); return d.ph(len(args)) }
	var where, order string
	switch s.mode {
	case modeIncrementing:
		where = d.quote(s.incCol) + " > " + arg(q.inc)
		order = d.quote(s.incCol)
	case modeTimestamp, modeTimestampInc:
		var now time.Time
		if err := s.db.QueryRowContext(ctx, "SELECT CURRENT_TIMESTAMP").Scan(&now); err != nil {
			return fmt.Errorf("read the database's time: %w: %w", connectors.ErrRetriable, err)
		}
		end := now.UTC().Add(-s.delay)
		if s.mode == modeTimestamp {
			where = ts() + " > " + arg(q.ts) + " AND " + ts() + " < " + arg(end)
			order = ts()
		} else {
			where = ts() + " < " + arg(end) + " AND ((" + ts() + " = " + arg(q.ts) + " AND " + d.quote(s.incCol) + " > " + arg(q.inc) +
				") OR " + ts() + " > " + arg(q.ts) + ")"
			order = ts() + "," + d.quote(s.incCol)
		}
	}
	if where != "" {
		sqlText += " WHERE " + where + " ORDER BY " + order
	}
	if suffix := s.cfg.String(keyQuerySuffix); suffix != "" {
		sqlText += " " + suffix
	}
	rows, err := s.db.QueryContext(ctx, sqlText, args...)
	if err != nil {
		if ctx.Err() != nil {
			return nil
		}
		return dbError("query "+q.what(), err)
	}
	if err := s.describe(q, rows); err != nil {
		rows.Close()
		return err
	}
	q.rows = rows
	return nil
}

// dbError wraps a database error, marked retriable unless it is one that
// trying again cannot fix (bad SQL, a missing table or column, a refused
// login or permission): a lost connection or a server going away is.
func dbError(what string, err error) error {
	msg := strings.ToLower(err.Error())
	for _, s := range []string{"syntax", "does not exist", "doesn't exist", "unknown column", "permission denied",
		"access denied", "password authentication failed", "violates", "duplicate", "cannot be null", "incorrect", "out of range"} {
		if strings.Contains(msg, s) {
			return fmt.Errorf("%s: %w", what, err)
		}
	}
	return fmt.Errorf("%s: %w: %w", what, connectors.ErrRetriable, err)
}

// describe maps the result's columns to a struct schema, kept while the
// columns stay the same (a changed table gives a new schema).
func (s *source) describe(q *querier, rows *sql.Rows) error {
	types, err := rows.ColumnTypes()
	if err != nil {
		return err
	}
	same := len(types) == len(q.cols)
	for i := 0; same && i < len(types); i++ {
		same = types[i].Name() == q.cols[i].name
	}
	if same && q.schema != nil {
		return nil
	}
	name := q.table.name
	if name == "" {
		name = "QueryResult"
	}
	st := &schema.Schema{Type: schema.Struct, Name: name}
	q.cols = q.cols[:0]
	q.incIdx, q.tsIdx = -1, q.tsIdx[:0]
	for i, ct := range types {
		optional := true
		if n, ok := q.nullable[ct.Name()]; ok {
			optional = n
		} else if n, ok := ct.Nullable(); ok {
			optional = n
		}
		prec, scale, hasSize := ct.DecimalSize()
		c := resultColumn(ct.Name(), ct.DatabaseTypeName(), prec, scale, hasSize, optional, s.numeric)
		q.cols = append(q.cols, c)
		st.Fields = append(st.Fields, schema.Field{Name: c.name, Index: i, Schema: c.schema})
		if strings.EqualFold(c.name, s.incCol) {
			q.incIdx = i
		}
		for _, t := range s.tsCols {
			if strings.EqualFold(c.name, t) {
				q.tsIdx = append(q.tsIdx, i)
			}
		}
	}
	if (s.mode == modeIncrementing || s.mode == modeTimestampInc) && q.incIdx < 0 {
		return fmt.Errorf("%s: %s returns no column %q", keyIncColumn, q.what(), s.incCol)
	}
	if (s.mode == modeTimestamp || s.mode == modeTimestampInc) && len(q.tsIdx) == 0 {
		return fmt.Errorf("%s: %s returns none of the columns %s", keyTSColumn, q.what(), strings.Join(s.tsCols, ", "))
	}
	q.schema = st
	q.scanBuf = make([]any, len(types))
	q.ptrs = make([]any, len(types))
	for i := range q.scanBuf {
		q.ptrs[i] = &q.scanBuf[i]
	}
	return nil
}

// record reads the current row into a record and moves the offset to it.
func (s *source) record(q *querier) (connectors.Record, error) {
	if err := q.rows.Scan(q.ptrs...); err != nil {
		return connectors.Record{}, fmt.Errorf("read a row of %s: %w: %w", q.what(), connectors.ErrRetriable, err)
	}
	v := schema.NewStruct(q.schema)
	for i, raw := range q.scanBuf {
		if raw == nil {
			continue
		}
		x, err := q.cols[i].decode(raw)
		if err != nil {
			return connectors.Record{}, fmt.Errorf("%s, column %q: %w", q.what(), q.cols[i].name, err)
		}
		v.Values[i] = x
	}
	rec := connectors.Record{Topic: q.topic, Partition: -1, ValueSchema: q.schema, ValueData: v, SourcePartition: q.partition}
	if s.mode == modeBulk {
		return rec, nil
	}
	off := make(map[string]any, 3)
	if q.incIdx >= 0 {
		n, _ := connectors.Int64(v.Values[q.incIdx])
		q.inc = n
		off[offIncrementing] = n
	}
	if len(q.tsIdx) > 0 {
		for _, i := range q.tsIdx {
			if t, ok := v.Values[i].(time.Time); ok {
				q.ts = t
				break
			}
		}
		off[offTimestamp] = q.ts.UnixMilli()
		off[offTimestampNanos] = int64(q.ts.Nanosecond())
	}
	rec.SourceOffset = off
	return rec, nil
}

func (s *source) Close() error {
	for _, q := range s.queriers {
		q.close()
	}
	if s.db != nil {
		return s.db.Close()
	}
	return nil
}

// openDB connects, trying connection.attempts times connection.backoff.ms
// apart.
func openDB(ctx context.Context, ep *endpoint, cfg connectors.Config) (*sql.DB, error) {
	db, err := sql.Open(ep.dialect.driver, ep.dsn())
	if err != nil {
		return nil, fmt.Errorf("%s: %w", keyURL, err)
	}
	db.SetMaxOpenConns(4)
	db.SetConnMaxIdleTime(5 * time.Minute)
	attempts := max(1, cfg.Int(keyAttempts))
	for i := 1; ; i++ {
		pctx, cancel := context.WithTimeout(ctx, 30*time.Second)
		err = db.PingContext(pctx)
		cancel()
		if err == nil {
			return db, nil
		}
		if i >= attempts || ctx.Err() != nil {
			break
		}
		sleep(ctx, cfg.Duration(keyBackoff))
	}
	db.Close()
	return nil, dbError(fmt.Sprintf("connect to %s (%d attempts)", ep, attempts), err)
}
