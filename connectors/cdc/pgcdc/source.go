package pgcdc

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math/big"
	"net"
	"net/url"
	"strings"
	"sync"
	"time"

	"github.com/jackc/pglogrepl"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgproto3"

	"github.com/sluicehq/sluice/connectors"
	"github.com/sluicehq/sluice/connectors/cdc"
	"github.com/sluicehq/sluice/connectors/schema"
)

// Offset keys, as Debezium's PostgreSQL connector names them.
const (
	offLSNCommit    = "lsn_commit"
	offLSN          = "lsn"
	offLSNProc      = "lsn_proc"
	offTxID         = "txId"
	offTsUsec       = "ts_usec"
	offSnapshot     = "snapshot"
	offLastSnapshot = "last_snapshot_record"
)

type source struct {
	log    *slog.Logger
	cfg    connectors.Config
	dbname string
	slot   string
	pub    string
	cdc.Options
	schemas     *cdc.Filter
	opts        typeOptions
	statusEvery time.Duration
	progress    func(string)

	srcSchema *schema.Schema
	partition map[string]any

	meta *pgx.Conn // catalog queries and the snapshot
	repl *pgconn.PgConn

	snap *snapshot

	// Streaming: the reader goroutine decodes the replication stream into
	// batches of records.
	relations map[uint32]*relation
	events    chan []connectors.Record
	readerErr chan error
	stopRead  context.CancelFunc
	readDone  chan struct{}
	streaming bool
	idleOnly  bool // initial_only: the snapshot is all

	pos position
	out []connectors.Record
}

// relation is a table as the stream describes it.
type relation struct {
	captured bool
	table    *cdc.Table
	keep     []int // the stream's column indexes, in event order
	decode   []decoder
	space    string
	name     string
}

func (s *source) Open(ctx context.Context, sc connectors.SourceContext) error {
	s.log, s.cfg = sc.Logger, sc.Config
	if s.log == nil {
		s.log = slog.Default()
	}
	s.progress = sc.Progress
	cfg := s.cfg
	var err error
	if s.Options, err = cdc.ReadOptions(cfg); err != nil {
		return err
	}
	s.Names.Log = s.log
	s.dbname = cfg.String(keyDBName)
	s.slot, s.pub = cfg.String(keySlot), cfg.String(keyPublication)
	if s.schemas, err = cdc.NewFilter(keySchemaInclude, cfg.String(keySchemaInclude), keySchemaExclude, cfg.String(keySchemaExclude)); err != nil {
		return err
	}
	s.opts = typeOptions{timePrecision: s.TimePrecision, decimals: s.Decimals}
	s.statusEvery = max(time.Second, cfg.Duration(keyStatusInterval))
	s.srcSchema = cdc.SourceSchema("io.debezium.connector.postgresql.Source",
		schema.Field{Name: "schema", Schema: schema.StringSchema()},
		schema.Field{Name: "table", Schema: schema.StringSchema()},
		schema.Field{Name: "txId", Schema: &schema.Schema{Type: schema.Int64, Optional: true}},
		schema.Field{Name: "lsn", Schema: &schema.Schema{Type: schema.Int64, Optional: true}},
		schema.Field{Name: "xmin", Schema: &schema.Schema{Type: schema.Int64, Optional: true}})
	s.partition = map[string]any{"server": s.Prefix}
	s.relations = map[uint32]*relation{}

	if s.meta, err = pgx.Connect(ctx, s.dsn(false)); err != nil {
		return connErr(fmt.Sprintf("connect to PostgreSQL at %s:%s", cfg.String(keyHost), cfg.String(keyPort)), err)
	}
	if err := s.checkServer(ctx); err != nil {
		return err
	}
	if err := s.ensurePublication(ctx); err != nil {
		return err
	}

	off := sc.Offsets.Offset(s.partition)
	snapshotDone := off != nil && !(off[offSnapshot] == true && off[offLastSnapshot] != true)
	if off != nil && off[offSnapshot] != true {
		s.pos.skipCommit = lsnOf(off[offLSNCommit])
		s.pos.skipLSN = lsnOf(off[offLSN])
	}
	mode := s.SnapshotMode
	wantSnap := cdc.WantsSnapshot(mode, off != nil, snapshotDone)
	s.idleOnly = mode == cdc.SnapshotInitialOnly && snapshotDone

	if s.repl, err = pgconn.Connect(ctx, s.dsn(true)); err != nil {
		return connErr("open a replication connection", err)
	}
	exported, err := s.ensureSlot(ctx, wantSnap)
	if err != nil {
		return err
	}
	if wantSnap {
		if err := s.startSnapshot(ctx, exported); err != nil {
			return err
		}
		return nil
	}
	if s.idleOnly {
		s.log.Info("snapshot.mode=initial_only and the snapshot is done: nothing more to read")
		return nil
	}
	return s.startStreaming(ctx)
}

func connErr(what string, err error) error {
	var pgErr *pgconn.PgError
	if errors.As(err, &pgErr) {
		switch pgErr.Code[:2] {
		case "28", "42", "3D": // auth, syntax/permission, missing database
			return fmt.Errorf("%s: %w", what, err)
		}
	}
	return fmt.Errorf("%s: %w: %w", what, connectors.ErrRetriable, err)
}

func (s *source) dsn(replication bool) string {
	u := url.URL{Scheme: "postgres", Host: net.JoinHostPort(s.cfg.String(keyHost), s.cfg.String(keyPort)), Path: "/" + s.dbname,
		User: url.UserPassword(s.cfg.String(keyUser), s.cfg.String(keyPassword))}
	q := url.Values{"sslmode": {s.cfg.String(keySSLMode)}, "application_name": {"sluice-postgres-cdc"}, "timezone": {"UTC"}}
	if replication {
		q.Set("replication", "database")
	}
	u.RawQuery = q.Encode()
	return u.String()
}

// checkServer says clearly what the server lacks for logical replication.
func (s *source) checkServer(ctx context.Context) error {
	var walLevel string
	var canReplicate bool
	err := s.meta.QueryRow(ctx, `SELECT current_setting('wal_level'), rolreplication OR rolsuper FROM pg_roles WHERE rolname = current_user`).
		Scan(&walLevel, &canReplicate)
	if err != nil {
		return connErr("read the server's settings", err)
	}
	if walLevel != "logical" {
		return fmt.Errorf("the server has wal_level=%s; logical replication needs wal_level=logical (set it in postgresql.conf and restart the server)", walLevel)
	}
	if !canReplicate {
		return fmt.Errorf("%s: user %q may not replicate: ALTER ROLE %s WITH REPLICATION", keyUser, s.cfg.String(keyUser), s.cfg.String(keyUser))
	}
	return nil
}

// capturedTables lists the tables the filters allow.
func (s *source) capturedTables(ctx context.Context) ([][2]string, error) {
	rows, err := s.meta.Query(ctx, `SELECT n.nspname, c.relname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
		WHERE c.relkind IN ('r', 'p') AND NOT c.relispartition AND n.nspname NOT IN ('pg_catalog', 'information_schema')
		AND n.nspname NOT LIKE 'pg_toast%' AND n.nspname NOT LIKE 'pg_temp%' ORDER BY 1, 2`)
	if err != nil {
		return nil, connErr("list tables", err)
	}
	defer rows.Close()
	var out [][2]string
	for rows.Next() {
		var t [2]string
		if err := rows.Scan(&t[0], &t[1]); err != nil {
			return nil, err
		}
		if s.allows(t[0], t[1]) {
			out = append(out, t)
		}
	}
	return out, rows.Err()
}

func (s *source) allows(space, name string) bool {
	return s.schemas.Allows(space) && s.Tables.Allows(space+"."+name)
}

func (s *source) ensurePublication(ctx context.Context) error {
	var exists bool
	if err := s.meta.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM pg_publication WHERE pubname = $1)`, s.pub).Scan(&exists); err != nil {
		return connErr("look for the publication", err)
	}
	if exists {
		return nil
	}
	var q string
	switch s.cfg.String(keyPubAutocreate) {
	case "disabled":
		return fmt.Errorf("%s: publication %q does not exist and %s=disabled: create it (CREATE PUBLICATION %s FOR TABLE ...)",
			keyPublication, s.pub, keyPubAutocreate, s.pub)
	case "filtered":
		tables, err := s.capturedTables(ctx)
		if err != nil {
			return err
		}
		if len(tables) == 0 {
			return fmt.Errorf("%s: no table matches the include lists, so publication %q would publish nothing", cdc.KeyTableInclude, s.pub)
		}
		names := make([]string, len(tables))
		for i, t := range tables {
			names[i] = pgx.Identifier{t[0], t[1]}.Sanitize()
		}
		q = "CREATE PUBLICATION " + pgx.Identifier{s.pub}.Sanitize() + " FOR TABLE " + strings.Join(names, ", ")
	default:
		q = "CREATE PUBLICATION " + pgx.Identifier{s.pub}.Sanitize() + " FOR ALL TABLES"
	}
	s.log.Info("creating the publication", "sql", q)
	if _, err := s.meta.Exec(ctx, q); err != nil {
		return fmt.Errorf("create publication %q (%s): %w", s.pub, q, err)
	}
	return nil
}

// ensureSlot creates the slot if missing; when a snapshot is wanted it
// exports the snapshot the slot starts at, whose name it returns.
func (s *source) ensureSlot(ctx context.Context, wantSnap bool) (string, error) {
	var exists bool
	var plugin string
	err := s.meta.QueryRow(ctx, `SELECT true, coalesce(plugin, '') FROM pg_replication_slots WHERE slot_name = $1 AND database = current_database()`, s.slot).
		Scan(&exists, &plugin)
	if err != nil && !errors.Is(err, pgx.ErrNoRows) {
		return "", connErr("look for the replication slot", err)
	}
	if exists {
		if plugin != "pgoutput" {
			return "", fmt.Errorf("%s: slot %q uses %s, not pgoutput: choose another slot name", keySlot, s.slot, plugin)
		}
		return "", nil
	}
	action := "NOEXPORT_SNAPSHOT"
	if wantSnap {
		action = "EXPORT_SNAPSHOT"
	}
	res, err := pglogrepl.CreateReplicationSlot(ctx, s.repl, s.slot, "pgoutput",
		pglogrepl.CreateReplicationSlotOptions{Mode: pglogrepl.LogicalReplication, SnapshotAction: action})
	if err != nil {
		return "", connErr(fmt.Sprintf("create replication slot %q", s.slot), err)
	}
	s.log.Info("created the replication slot", "slot", s.slot, "consistent_point", res.ConsistentPoint)
	return res.SnapshotName, nil
}

// tableColumns reads a table's columns from the catalog: name, type,
// modifier, NOT NULL, and place in the primary key (0 if not in it).
type catalogColumn struct {
	name    string
	oid     uint32
	typmod  int32
	notNull bool
	pkPos   int
}

func tableColumns(ctx context.Context, q interface {
	Query(context.Context, string, ...any) (pgx.Rows, error)
}, space, name string) ([]catalogColumn, error) {
	rows, err := q.Query(ctx, `SELECT a.attname, a.atttypid, a.atttypmod, a.attnotnull,
			coalesce((SELECT k.n FROM unnest(i.indkey) WITH ORDINALITY k(attnum, n) WHERE k.attnum = a.attnum), 0)::int
		FROM pg_attribute a
		JOIN pg_class c ON c.oid = a.attrelid JOIN pg_namespace n ON n.oid = c.relnamespace
		LEFT JOIN pg_index i ON i.indrelid = a.attrelid AND i.indisprimary
		WHERE n.nspname = $1 AND c.relname = $2 AND a.attnum > 0 AND NOT a.attisdropped ORDER BY a.attnum`, space, name)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []catalogColumn
	for rows.Next() {
		var c catalogColumn
		if err := rows.Scan(&c.name, &c.oid, &c.typmod, &c.notNull, &c.pkPos); err != nil {
			return nil, err
		}
		out = append(out, c)
	}
	return out, rows.Err()
}

// newRelation builds a captured table's schemas from its columns (from the
// stream or the catalog) and the catalog's NOT NULL and primary key.
func (s *source) newRelation(space, name string, names []string, oids []uint32, typmods []int32, cat []catalogColumn) (*relation, error) {
	r := &relation{captured: s.allows(space, name), space: space, name: name}
	if !r.captured {
		return r, nil
	}
	byName := make(map[string]catalogColumn, len(cat))
	for _, c := range cat {
		byName[c.name] = c
	}
	var cols []cdc.Column
	keys := map[int]string{}
	for i, n := range names {
		if !s.Columns.Allows(space + "." + name + "." + n) {
			continue
		}
		c := byName[n]
		sc, dec := columnType(oids[i], typmods[i], !c.notNull, s.opts)
		cols = append(cols, cdc.Column{Name: n, Schema: sc})
		r.keep = append(r.keep, i)
		r.decode = append(r.decode, dec)
		if c.pkPos > 0 {
			keys[c.pkPos] = n
		}
	}
	var keyCols []string
	for p := 1; p <= len(keys)+len(names); p++ {
		if k, ok := keys[p]; ok {
			keyCols = append(keyCols, k)
		}
	}
	var err error
	if r.table, err = s.NewTable(space, name, cols, keyCols, s.srcSchema); err != nil {
		return nil, err
	}
	return r, nil
}

// row decodes a tuple's text columns into a row in event order; a column
// left out of the tuple (an unchanged TOASTed value) is nil.
func (r *relation) row(text func(i int) (string, bool)) ([]any, error) {
	out := make([]any, len(r.keep))
	for j, i := range r.keep {
		t, ok := text(i)
		if !ok {
			// Not in the tuple: a delete's old row holds only the key
			// under REPLICA IDENTITY DEFAULT. A NOT NULL column gets its
			// type's zero value, as a struct cannot hold a null there.
			out[j] = zeroOf(r.table.Value.Fields[j].Schema)
			continue
		}
		v, err := r.decode[j](t)
		if err != nil {
			return nil, fmt.Errorf("%s.%s column %s: %w", r.space, r.name, r.table.Columns[j], err)
		}
		out[j] = v
	}
	return out, nil
}

// zeroOf is the zero value of a required field's schema, nil for an
// optional one.
func zeroOf(sc *schema.Schema) any {
	if sc.Optional {
		return nil
	}
	switch sc.Name {
	case schema.DecimalName:
		scale, _ := schema.DecimalScale(sc)
		return schema.Decimal{Unscaled: new(big.Int), Scale: scale}
	case schema.DateName, schema.TimeName, schema.TimestampName:
		return time.Unix(0, 0).UTC()
	}
	switch sc.Type {
	case schema.Int8:
		return int8(0)
	case schema.Int16:
		return int16(0)
	case schema.Int32:
		return int32(0)
	case schema.Int64:
		return int64(0)
	case schema.Float32:
		return float32(0)
	case schema.Float64:
		return float64(0)
	case schema.Boolean:
		return false
	case schema.String:
		return ""
	case schema.Bytes:
		return []byte{}
	case schema.Array:
		return []any{}
	case schema.Struct:
		v := schema.NewStruct(sc)
		for i, f := range sc.Fields {
			v.Values[i] = zeroOf(f.Schema)
		}
		return v
	}
	return nil
}

func (s *source) Poll(ctx context.Context) ([]connectors.Record, error) {
	if s.snap != nil {
		recs, err := s.pollSnapshot(ctx)
		if err != nil || s.snap != nil || s.idleOnly {
			return recs, err
		}
		// The snapshot is done: stream from the slot's start.
		if err := s.startStreaming(ctx); err != nil {
			return recs, err
		}
		return recs, nil
	}
	if s.idleOnly {
		<-ctx.Done()
		return nil, nil
	}
	if !s.streaming {
		if err := s.startStreaming(ctx); err != nil {
			return nil, err
		}
	}
	t := time.NewTimer(time.Second)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return nil, nil
	case recs := <-s.events:
		return recs, nil
	case err := <-s.readerErr:
		s.stopStreaming()
		return nil, err
	case <-t.C:
		return nil, nil
	}
}

// Commit learns what Kafka has: the slot may then move past it.
func (s *source) Commit(_ context.Context, offsets []connectors.Offset) error {
	for _, o := range offsets {
		if o.Partition["server"] != s.Prefix || o.Offset[offSnapshot] == true {
			continue
		}
		s.pos.acked(lsnOf(o.Offset[offLSNCommit]), lsnOf(o.Offset[offLSN]))
	}
	return nil
}

func lsnOf(v any) pglogrepl.LSN {
	if n, err := connectors.Int64(v); err == nil {
		return pglogrepl.LSN(n)
	}
	if x, ok := v.(string); ok { // PostgreSQL's text form, 0/16B3748
		l, _ := pglogrepl.ParseLSN(x)
		return l
	}
	return 0
}

func (s *source) Close() error {
	s.stopStreaming()
	if s.snap != nil && s.snap.rows != nil {
		s.snap.rows.Close()
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if s.repl != nil {
		_ = s.repl.Close(ctx)
	}
	if s.meta != nil {
		if s.cfg.Bool(keySlotDrop) {
			_, err := s.meta.Exec(ctx, `SELECT pg_drop_replication_slot($1)`, s.slot)
			if err != nil {
				s.log.Warn("drop the replication slot", "slot", s.slot, "err", err)
			}
		}
		_ = s.meta.Close(ctx)
	}
	return nil
}

// source block of an event.
func (s *source) sourceBlock(r *relation, snapshot string, ts time.Time, xid uint32, lsn pglogrepl.LSN) *schema.StructValue {
	v := cdc.NewSource(s.srcSchema, "postgresql", s.Prefix, s.dbname, snapshot, ts)
	v.Values[9], v.Values[10] = r.space, r.name
	if xid != 0 {
		v.Values[11] = int64(xid)
	}
	if lsn != 0 {
		v.Values[12] = int64(lsn)
	}
	return v
}

func (s *source) appendEvent(out []connectors.Record, r *relation, op cdc.Op, before, after []any,
	src *schema.StructValue, offset map[string]any) []connectors.Record {
	return r.table.Records(out, op, before, after, src, s.partition, offset, s.Tombstones)
}

// position follows which transactions Kafka has, to tell the server how
// far the slot may move (a transaction's end, once every event of it and
// before it is in Kafka), and which to skip after a restart.
type position struct {
	mu sync.Mutex
	// pending: transactions seen whole, not yet all in Kafka, in order.
	pending []txn
	// lastSent is the newest event handed to the runtime; lastAck the
	// newest Kafka has.
	lastSent, lastAck [2]pglogrepl.LSN
	// confirmed may be told to the server.
	confirmed pglogrepl.LSN
	// skipCommit and skipLSN: what the stored offset says Kafka had.
	skipCommit, skipLSN pglogrepl.LSN
}

type txn struct {
	commit, end, last pglogrepl.LSN
}

// skip says whether an event of the transaction committing at commit, at
// lsn, was written before the restart.
func (p *position) skip(commit, lsn pglogrepl.LSN) bool {
	if commit < p.skipCommit {
		return true
	}
	return commit == p.skipCommit && p.skipLSN < p.skipCommit && lsn <= p.skipLSN
}

func (p *position) sent(commit, lsn pglogrepl.LSN) {
	p.mu.Lock()
	p.lastSent = [2]pglogrepl.LSN{commit, lsn}
	p.mu.Unlock()
}

// committed records a transaction's end; last is its last event's LSN (0
// when none of its events was written).
func (p *position) committed(t txn) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if t.last == 0 && len(p.pending) == 0 && p.lastSent == p.lastAck {
		p.confirmed = max(p.confirmed, t.end)
		return
	}
	p.pending = append(p.pending, t)
	p.settle()
}

// idle moves the confirmed position to lsn, a point the server has sent
// everything before, when nothing is in flight.
func (p *position) idle(lsn pglogrepl.LSN) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if len(p.pending) == 0 && p.lastSent == p.lastAck {
		p.confirmed = max(p.confirmed, lsn)
	}
}

func (p *position) acked(commit, lsn pglogrepl.LSN) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if commit == 0 {
		return
	}
	p.lastAck = [2]pglogrepl.LSN{commit, lsn}
	if lsn >= commit { // a heartbeat: a position, not an event
		p.settle()
		if len(p.pending) == 0 || p.pending[0].commit >= commit {
			p.confirmed = max(p.confirmed, commit)
		}
		return
	}
	p.settle()
}

// settle drops the pending transactions Kafka has whole. The caller holds mu.
func (p *position) settle() {
	c, l := p.lastAck[0], p.lastAck[1]
	n := 0
	for _, t := range p.pending {
		if t.commit < c || (t.commit == c && (l >= t.last || l >= c)) {
			p.confirmed = max(p.confirmed, t.end)
			n++
			continue
		}
		break
	}
	p.pending = p.pending[n:]
}

func (p *position) get() pglogrepl.LSN {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.confirmed
}

// snapshot state: the tables to read, the one being read.
type snapshot struct {
	tx       pgx.Tx
	tables   [][2]string
	idx      int
	rows     pgx.Rows
	rel      *relation
	done     int64
	estimate int64
	total    int64
	marks    cdc.SnapshotRows
	lsn      pglogrepl.LSN
}

func (s *source) startSnapshot(ctx context.Context, exported string) error {
	tx, err := s.meta.BeginTx(ctx, pgx.TxOptions{IsoLevel: pgx.RepeatableRead, AccessMode: pgx.ReadOnly})
	if err != nil {
		return connErr("begin the snapshot", err)
	}
	if exported != "" {
		if _, err := tx.Exec(ctx, "SET TRANSACTION SNAPSHOT '"+exported+"'"); err != nil {
			_ = tx.Rollback(ctx)
			return connErr("use the slot's snapshot", err)
		}
	}
	tables, err := s.capturedTables(ctx)
	if err != nil {
		_ = tx.Rollback(ctx)
		return err
	}
	var lsn pglogrepl.LSN
	var lsnText string
	if err := tx.QueryRow(ctx, "SELECT pg_current_wal_lsn()::text").Scan(&lsnText); err == nil {
		lsn, _ = pglogrepl.ParseLSN(lsnText)
	}
	s.snap = &snapshot{tx: tx, tables: tables, lsn: lsn}
	s.log.Info("snapshot starting", "tables", len(tables), "exported_snapshot", exported != "")
	return nil
}

func (s *source) report(msg string) { cdc.Report(s.log, s.progress, msg) }

// pollSnapshot reads the next rows of the snapshot as read events.
func (s *source) pollSnapshot(ctx context.Context) ([]connectors.Record, error) {
	sn := s.snap
	s.out = s.out[:0]
	for len(s.out) < s.Batch {
		if sn.rows == nil {
			if sn.idx >= len(sn.tables) {
				return s.finishSnapshot(ctx)
			}
			space, name := sn.tables[sn.idx][0], sn.tables[sn.idx][1]
			cat, err := tableColumns(ctx, sn.tx, space, name)
			if err != nil {
				return nil, connErr("describe "+space+"."+name, err)
			}
			names := make([]string, len(cat))
			oids := make([]uint32, len(cat))
			typmods := make([]int32, len(cat))
			for i, c := range cat {
				names[i], oids[i], typmods[i] = c.name, c.oid, c.typmod
			}
			if sn.rel, err = s.newRelation(space, name, names, oids, typmods, cat); err != nil {
				return nil, err
			}
			_ = sn.tx.QueryRow(ctx, `SELECT greatest(c.reltuples, 0)::int8 FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
				WHERE n.nspname = $1 AND c.relname = $2`, space, name).Scan(&sn.estimate)
			sn.done = 0
			s.report(fmt.Sprintf("snapshot: table %d of %d, %s.%s (about %d rows)", sn.idx+1, len(sn.tables), space, name, sn.estimate))
			rows, err := sn.tx.Query(ctx, "SELECT * FROM "+pgx.Identifier{space, name}.Sanitize(), pgx.QueryExecModeSimpleProtocol)
			if err != nil {
				return nil, connErr("read "+space+"."+name, err)
			}
			sn.rows = rows
		}
		if !sn.rows.Next() {
			err := sn.rows.Err()
			sn.rows.Close()
			sn.rows = nil
			if err != nil {
				return nil, connErr("read "+sn.tables[sn.idx][0]+"."+sn.tables[sn.idx][1], err)
			}
			s.report(fmt.Sprintf("snapshot: %s.%s done, %d rows (table %d of %d)", sn.tables[sn.idx][0], sn.tables[sn.idx][1], sn.done, sn.idx+1, len(sn.tables)))
			sn.idx++
			continue
		}
		raw := sn.rows.RawValues()
		row, err := sn.rel.row(func(i int) (string, bool) {
			if raw[i] == nil {
				return "", false
			}
			return string(raw[i]), true
		})
		if err != nil {
			return nil, err
		}
		src := s.sourceBlock(sn.rel, sn.marks.Mark(), time.Now(), 0, sn.lsn)
		off := map[string]any{offSnapshot: true, offLastSnapshot: false, offLSN: int64(sn.lsn), offTsUsec: time.Now().UnixMicro()}
		s.out = sn.marks.Push(s.out, sn.rel.table.Record(cdc.Read, nil, row, src, s.partition, off))
		sn.done++
		sn.total++
		if sn.done%100000 == 0 {
			s.report(fmt.Sprintf("snapshot: %s.%s %d of about %d rows", sn.rel.space, sn.rel.name, sn.done, sn.estimate))
		}
	}
	return s.out, nil
}

func (s *source) finishSnapshot(ctx context.Context) ([]connectors.Record, error) {
	sn := s.snap
	s.out = sn.marks.Finish(s.out, map[string]any{offSnapshot: true, offLastSnapshot: true, offLSN: int64(sn.lsn), offTsUsec: time.Now().UnixMicro()})
	_ = sn.tx.Commit(ctx)
	s.snap = nil
	s.report(fmt.Sprintf("snapshot done: %d rows from %d tables; streaming changes", sn.total, len(sn.tables)))
	if s.SnapshotMode == cdc.SnapshotInitialOnly {
		s.idleOnly = true
	}
	return s.out, nil
}

func (s *source) startStreaming(ctx context.Context) error {
	if s.repl == nil || s.repl.IsClosed() {
		var err error
		if s.repl, err = pgconn.Connect(ctx, s.dsn(true)); err != nil {
			return connErr("open a replication connection", err)
		}
	}
	err := pglogrepl.StartReplication(ctx, s.repl, s.slot, 0, pglogrepl.StartReplicationOptions{
		PluginArgs: []string{"proto_version '1'", "publication_names '" + strings.ReplaceAll(s.pub, "'", "''") + "'"}})
	if err != nil {
		_ = s.repl.Close(ctx)
		return connErr(fmt.Sprintf("start replication from slot %q", s.slot), err)
	}
	rctx, cancel := context.WithCancel(context.Background())
	s.events = make(chan []connectors.Record, 4)
	s.readerErr = make(chan error, 1)
	s.stopRead = cancel
	s.readDone = make(chan struct{})
	s.streaming = true
	go s.read(rctx)
	return nil
}

func (s *source) stopStreaming() {
	if !s.streaming {
		return
	}
	s.stopRead()
	<-s.readDone
	s.streaming = false
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	_ = s.repl.Close(ctx)
}

// read decodes the replication stream into batches for Poll, and tells the
// server the confirmed position now and then.
func (s *source) read(ctx context.Context) {
	defer close(s.readDone)
	fail := func(err error) {
		select {
		case s.readerErr <- fmt.Errorf("replication stream: %w: %w", connectors.ErrRetriable, err):
		default:
		}
	}
	var (
		batch       []connectors.Record
		cur         *pglogrepl.BeginMessage
		curLast     pglogrepl.LSN
		told        pglogrepl.LSN
		lastStatus  = time.Now()
		nextBeat    = time.Now().Add(s.Heartbeat)
		lastEnd     pglogrepl.LSN
		statusEvery = s.statusEvery
		wait        receiveWait
	)
	defer wait.stop()
	status := func(force bool) error {
		c := s.pos.get()
		// A new position goes out within a second, the same one every
		// statusEvery (and whenever the server asks).
		wait := statusEvery
		if c != told {
			wait = time.Second
		}
		if !force && time.Since(lastStatus) < wait {
			return nil
		}
		lastStatus, told = time.Now(), c
		// Zero (nothing confirmed yet this run) leaves the slot where it is.
		return pglogrepl.SendStandbyStatusUpdate(ctx, s.repl, pglogrepl.StandbyStatusUpdate{WALWritePosition: c})
	}
	flush := func() bool {
		if len(batch) == 0 {
			return true
		}
		tick := time.NewTicker(time.Second)
		defer tick.Stop()
		for {
			select {
			case s.events <- batch:
				batch = nil
				return true
			case <-ctx.Done():
				return false
			case <-tick.C:
				// Kafka is slow: keep answering the server meanwhile.
				if err := status(false); err != nil {
					fail(err)
					return false
				}
			}
		}
	}
	for ctx.Err() == nil {
		if err := status(false); err != nil {
			fail(err)
			return
		}
		if s.Heartbeat > 0 && time.Now().After(nextBeat) && cur == nil {
			nextBeat = time.Now().Add(s.Heartbeat)
			at := max(lastEnd, s.pos.get())
			if at > 0 {
				batch = append(batch, s.HeartbeatRecord(s.partition,
					map[string]any{offLSNCommit: int64(at), offLSN: int64(at), offTsUsec: time.Now().UnixMicro()}, time.Now()))
				s.pos.sent(at, at)
			}
		}
		if cur == nil && !flush() {
			return
		}
		rctx := wait.next(ctx, len(batch) > 0)
		msg, err := s.repl.ReceiveMessage(rctx)
		if err != nil {
			if pgconn.Timeout(err) || rctx.Err() != nil && ctx.Err() == nil {
				if !flush() {
					return
				}
				// pgconn keeps the connection after a read timeout;
				// should it be closed, the stream starts over.
				if s.repl.IsClosed() {
					fail(errors.New("connection closed"))
					return
				}
				continue
			}
			if ctx.Err() == nil {
				fail(err)
			}
			return
		}
		switch m := msg.(type) {
		case *pgproto3.ErrorResponse:
			fail(pgconn.ErrorResponseToPgError(m))
			return
		case *pgproto3.CopyData:
			switch m.Data[0] {
			case pglogrepl.PrimaryKeepaliveMessageByteID:
				ka, err := pglogrepl.ParsePrimaryKeepaliveMessage(m.Data[1:])
				if err != nil {
					fail(err)
					return
				}
				if cur == nil {
					s.pos.idle(ka.ServerWALEnd)
					lastEnd = max(lastEnd, ka.ServerWALEnd)
				}
				if ka.ReplyRequested {
					if err := status(true); err != nil {
						fail(err)
						return
					}
				}
			case pglogrepl.XLogDataByteID:
				xld, err := pglogrepl.ParseXLogData(m.Data[1:])
				if err != nil {
					fail(err)
					return
				}
				lm, err := pglogrepl.Parse(xld.WALData)
				if err != nil {
					fail(err)
					return
				}
				switch lm := lm.(type) {
				case *pglogrepl.RelationMessage:
					if err := s.relationChanged(ctx, lm); err != nil {
						fail(err)
						return
					}
				case *pglogrepl.BeginMessage:
					cur, curLast = lm, 0
				case *pglogrepl.CommitMessage:
					s.pos.committed(txn{commit: lm.CommitLSN, end: lm.TransactionEndLSN, last: curLast})
					lastEnd = max(lastEnd, lm.TransactionEndLSN)
					cur = nil
					if len(batch) > 0 && !flush() {
						return
					}
				case *pglogrepl.InsertMessage, *pglogrepl.UpdateMessage, *pglogrepl.DeleteMessage, *pglogrepl.TruncateMessage:
					if cur == nil {
						continue
					}
					if s.pos.skip(cur.FinalLSN, xld.WALStart) {
						continue
					}
					n := len(batch)
					batch, err = s.change(batch, lm, cur, xld.WALStart)
					if err != nil {
						fail(err)
						return
					}
					if len(batch) > n {
						curLast = xld.WALStart
						s.pos.sent(cur.FinalLSN, xld.WALStart)
					}
					if len(batch) >= s.Batch && !flush() {
						return
					}
				}
			}
		}
	}
}

// receiveWait bounds the reader's wait for the next message: a second, or
// 50 ms while a partial batch waits for more. One wait serves every message
// that comes within it: a context and a timer per message were a tenth of
// the reader's time while it drained a backlog.
type receiveWait struct {
	ctx    context.Context
	cancel context.CancelFunc
	short  bool
}

func (w *receiveWait) next(parent context.Context, short bool) context.Context {
	if w.ctx == nil || w.ctx.Err() != nil || short && !w.short {
		w.stop()
		w.short = short
		d := time.Second
		if short {
			d = 50 * time.Millisecond
		}
		w.ctx, w.cancel = context.WithTimeout(parent, d)
	}
	return w.ctx
}

func (w *receiveWait) stop() {
	if w.cancel != nil {
		w.cancel()
	}
}

// relationChanged learns a table's columns from the stream (they come
// before its first change, and again after a schema change).
func (s *source) relationChanged(ctx context.Context, m *pglogrepl.RelationMessage) error {
	names := make([]string, len(m.Columns))
	oids := make([]uint32, len(m.Columns))
	typmods := make([]int32, len(m.Columns))
	for i, c := range m.Columns {
		names[i], oids[i], typmods[i] = c.Name, c.DataType, c.TypeModifier
	}
	var cat []catalogColumn
	if s.allows(m.Namespace, m.RelationName) {
		var err error
		// The meta connection is the reader's once streaming: Poll no
		// longer uses it.
		if cat, err = tableColumns(ctx, s.meta, m.Namespace, m.RelationName); err != nil {
			return fmt.Errorf("describe %s.%s: %w", m.Namespace, m.RelationName, err)
		}
	}
	r, err := s.newRelation(m.Namespace, m.RelationName, names, oids, typmods, cat)
	if err != nil {
		return err
	}
	s.relations[m.RelationID] = r
	return nil
}

func tupleText(t *pglogrepl.TupleData) func(i int) (string, bool) {
	return func(i int) (string, bool) {
		if t == nil || i >= len(t.Columns) {
			return "", false
		}
		c := t.Columns[i]
		if c.DataType != pglogrepl.TupleDataTypeText && c.DataType != pglogrepl.TupleDataTypeBinary {
			return "", false
		}
		return string(c.Data), true
	}
}

// change turns one change message into records.
func (s *source) change(out []connectors.Record, m pglogrepl.Message, tx *pglogrepl.BeginMessage, lsn pglogrepl.LSN) ([]connectors.Record, error) {
	offset := map[string]any{offLSNCommit: int64(tx.FinalLSN), offLSN: int64(lsn), offLSNProc: int64(lsn), offTxID: int64(tx.Xid),
		offTsUsec: tx.CommitTime.UnixMicro()}
	event := func(relID uint32, op cdc.Op, old, new *pglogrepl.TupleData, keyOnly bool) error {
		r := s.relations[relID]
		if r == nil {
			return fmt.Errorf("a change to relation %d before its description", relID)
		}
		if !r.captured || s.Skipped[op] {
			return nil
		}
		var before, after []any
		var err error
		if old != nil {
			if before, err = r.row(tupleText(old)); err != nil {
				return err
			}
		}
		if new != nil {
			if after, err = r.row(tupleText(new)); err != nil {
				return err
			}
		}
		src := s.sourceBlock(r, cdc.SnapshotFalse, tx.CommitTime, tx.Xid, lsn)
		// A changed key is a delete of the old key and a create of the new,
		// as Debezium writes it.
		if op == cdc.Update && before != nil && r.table.Key != nil && !r.table.SameKey(before, after) {
			out = s.appendEvent(out, r, cdc.Delete, before, nil, src, offset)
			out = s.appendEvent(out, r, cdc.Create, nil, after, src, offset)
			return nil
		}
		if op == cdc.Update && old != nil && new != nil && old.Columns != nil {
			// An unchanged TOASTed value is not sent again: take it from
			// the old row when the table sends one (REPLICA IDENTITY FULL).
			for j, i := range r.keep {
				if i < len(new.Columns) && new.Columns[i].DataType == pglogrepl.TupleDataTypeToast {
					after[j] = before[j]
				}
			}
		}
		if op == cdc.Update && keyOnly {
			before = nil // only the key: Debezium leaves before empty
		}
		out = s.appendEvent(out, r, op, before, after, src, offset)
		return nil
	}
	var err error
	switch m := m.(type) {
	case *pglogrepl.InsertMessage:
		err = event(m.RelationID, cdc.Create, nil, m.Tuple, false)
	case *pglogrepl.UpdateMessage:
		err = event(m.RelationID, cdc.Update, m.OldTuple, m.NewTuple, m.OldTupleType == pglogrepl.UpdateMessageTupleTypeKey)
	case *pglogrepl.DeleteMessage:
		err = event(m.RelationID, cdc.Delete, m.OldTuple, nil, false)
	case *pglogrepl.TruncateMessage:
		if s.Skipped[cdc.Truncate] {
			return out, nil
		}
		for _, id := range m.RelationIDs {
			r := s.relations[id]
			if r == nil || !r.captured {
				continue
			}
			src := s.sourceBlock(r, cdc.SnapshotFalse, tx.CommitTime, tx.Xid, lsn)
			v := schema.NewStruct(r.table.Envelope)
			v.Values[2], v.Values[4], v.Values[5] = src, string(cdc.Truncate), time.Now().UnixMilli()
			out = append(out, connectors.Record{Topic: r.table.Topic, Partition: -1, ValueSchema: r.table.Envelope, ValueData: v,
				SourcePartition: s.partition, SourceOffset: offset})
		}
	}
	return out, err
}
