// Package mysqlcdc is mysql-cdc: change data capture from MySQL or MariaDB
// by reading the binary log (go-mysql), with Debezium's MySQL connector's
// config names, topics and change events.
package mysqlcdc

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"hash/fnv"
	"log/slog"
	"strconv"
	"strings"
	"time"

	"github.com/go-mysql-org/go-mysql/mysql"
	"github.com/go-mysql-org/go-mysql/replication"
	gomysql "github.com/go-sql-driver/mysql"

	"github.com/sluicehq/sluice/connectors"
	"github.com/sluicehq/sluice/connectors/cdc"
	"github.com/sluicehq/sluice/connectors/schema"
)

// Config keys, with Debezium's names.
const (
	keyHost         = "database.hostname"
	keyPort         = "database.port"
	keyUser         = "database.user"
	keyPassword     = "database.password"
	keyServerID     = "database.server.id"
	keyDBInclude    = "database.include.list"
	keyDBExclude    = "database.exclude.list"
	keySnapshotLock = "snapshot.locking.mode"
	keyIncludeQuery = "include.query"
)

// Offset keys, as Debezium's MySQL connector names them: file and pos are
// where the transaction being read began, event how many of its rows events
// were written whole, row how many rows of the next.
const (
	offFile     = "file"
	offPos      = "pos"
	offEvent    = "event"
	offRow      = "row"
	offGTIDs    = "gtids"
	offTsSec    = "ts_sec"
	offSnapshot = "snapshot"
)

// Plugin describes mysql-cdc.
func Plugin() *connectors.Plugin {
	const g = "MySQL"
	return &connectors.Plugin{
		Name:    "mysql-cdc",
		Class:   "io.debezium.connector.mysql.MySqlConnector",
		Aliases: []string{"MySqlConnector", "io.debezium.connector.mariadb.MariaDbConnector", "MariaDbConnector"},
		Type:    connectors.SourceType,
		Version: "1.0.0",
		Description: "Captures row changes from MySQL or MariaDB by reading the binary log (ROW format): a consistent snapshot, " +
			"then every insert, update and delete, as Debezium's change events on PREFIX.DATABASE.TABLE topics.",
		Spec: connectors.Spec{Fields: append([]connectors.Field{
			{Name: keyHost, Type: connectors.TypeString, Required: true, Importance: connectors.High, Group: g, Doc: "Host of the server."},
			{Name: keyPort, Type: connectors.TypeInt, Default: "3306", Importance: connectors.High, Group: g, Doc: "Port of the server."},
			{Name: keyUser, Type: connectors.TypeString, Required: true, Importance: connectors.High, Group: g,
				Doc: "User to connect as; it needs SELECT, RELOAD (for the snapshot's lock), REPLICATION SLAVE and REPLICATION CLIENT."},
			{Name: keyPassword, Type: connectors.TypePassword, Importance: connectors.High, Group: g,
				Doc: "Password of the user; use a config provider to keep it out of the config."},
			{Name: keyServerID, Type: connectors.TypeLong, Importance: connectors.Medium, Group: g,
				Doc: "The replica server id this connector reads the binary log as; unique among the server's replicas. Default: one derived from topic.prefix, between 5400 and 6399."},
			{Name: keyDBInclude, Type: connectors.TypeList, Importance: connectors.Medium, Group: g, Validate: cdc.ValidateRegexList,
				Doc: "Regular expressions of the databases to capture; empty captures all but the system's."},
			{Name: keyDBExclude, Type: connectors.TypeList, Importance: connectors.Medium, Group: g, Validate: cdc.ValidateRegexList,
				Doc: "Regular expressions of databases not to capture."},
			{Name: keySnapshotLock, Type: connectors.TypeString, Default: "minimal", Importance: connectors.Low, Group: g,
				Allowed: []string{"minimal", "none"},
				Doc:     "minimal holds a global read lock only while the snapshot's binary log position is read; none takes no lock (consistent only if nothing changes meanwhile)."},
			{Name: keyIncludeQuery, Type: connectors.TypeBoolean, Default: "false", Importance: connectors.Low, Group: g,
				Doc: "Accepted for Debezium configs; the statement is not recorded."},
		}, cdc.CommonFields(g, "database", "adaptive_time_microseconds")...)},
		TaskConfigs: cdc.OneTask,
		NewSource:   func() connectors.Source { return &source{} },
	}
}

type table struct {
	db, name string
	captured bool
	cols     []column
	keep     []int
	t        *cdc.Table

	// When the binary log names its columns (binlog_row_metadata=FULL), a
	// row logged before an ALTER TABLE is read by name: from maps the
	// live columns to the logged ones (-1: not logged, null).
	mappedFor *replication.TableMapEvent
	from      []int
}

type source struct {
	log *slog.Logger
	cfg connectors.Config
	cdc.Options
	dbs      *cdc.Filter
	opts     typeOptions
	flavor   string
	progress func(string)

	db        *sql.DB
	srcSchema *schema.Schema
	partition map[string]any
	cache     map[string]*table

	snap      *snapshot
	idleOnly  bool
	syncer    *replication.BinlogSyncer
	streamer  *replication.BinlogStreamer
	streaming bool

	// Where the transaction being read began, and how far into it Kafka has
	// been given events (to skip after a restart).
	file         string
	txFile       string
	txPos        uint32
	events, rows int
	skipEvents   int
	skipRows     int
	skipFile     string
	skipPos      uint32
	inTx         bool
	gtid         string
	nextBeat     time.Time
	out          []connectors.Record
}

func (s *source) Open(ctx context.Context, sc connectors.SourceContext) error {
	s.log, s.cfg, s.progress = sc.Logger, sc.Config, sc.Progress
	if s.log == nil {
		s.log = slog.Default()
	}
	cfg := s.cfg
	var err error
	if s.Options, err = cdc.ReadOptions(cfg); err != nil {
		return err
	}
	s.Names.Log = s.log
	if s.dbs, err = cdc.NewFilter(keyDBInclude, cfg.String(keyDBInclude), keyDBExclude, cfg.String(keyDBExclude)); err != nil {
		return err
	}
	s.opts = typeOptions{timePrecision: s.TimePrecision, decimals: s.Decimals}
	s.nextBeat = time.Now().Add(s.Heartbeat)
	s.srcSchema = cdc.SourceSchema("io.debezium.connector.mysql.Source",
		schema.Field{Name: "table", Schema: &schema.Schema{Type: schema.String, Optional: true}},
		schema.Field{Name: "server_id", Schema: schema.Int64Schema()},
		schema.Field{Name: "gtid", Schema: &schema.Schema{Type: schema.String, Optional: true}},
		schema.Field{Name: "file", Schema: schema.StringSchema()},
		schema.Field{Name: "pos", Schema: schema.Int64Schema()},
		schema.Field{Name: "row", Schema: schema.Int32Schema()},
		schema.Field{Name: "thread", Schema: &schema.Schema{Type: schema.Int64, Optional: true}},
		schema.Field{Name: "query", Schema: &schema.Schema{Type: schema.String, Optional: true}})
	s.partition = map[string]any{"server": s.Prefix}
	s.cache = map[string]*table{}

	mc := gomysql.NewConfig()
	mc.User, mc.Passwd, mc.Net = cfg.String(keyUser), cfg.String(keyPassword), "tcp"
	mc.Addr = cfg.String(keyHost) + ":" + cfg.String(keyPort)
	mc.Params = map[string]string{"time_zone": "'+00:00'"}
	mc.Loc = time.UTC
	if s.db, err = sql.Open("mysql", mc.FormatDSN()); err != nil {
		return err
	}
	s.db.SetMaxOpenConns(3)
	var version, binlogFormat string
	if err := s.db.QueryRowContext(ctx, "SELECT VERSION(), @@GLOBAL.binlog_format").Scan(&version, &binlogFormat); err != nil {
		return dbErr(fmt.Sprintf("connect to %s", mc.Addr), err)
	}
	if !strings.EqualFold(binlogFormat, "ROW") {
		return fmt.Errorf("the server has binlog_format=%s; change data capture needs binlog_format=ROW", binlogFormat)
	}
	var metadata string
	if s.db.QueryRowContext(ctx, "SELECT @@GLOBAL.binlog_row_metadata").Scan(&metadata) == nil && !strings.EqualFold(metadata, "FULL") {
		s.log.Warn("the server has binlog_row_metadata=" + metadata + ": rows logged before an ALTER TABLE that adds or drops a column cannot be read once the table has changed; set binlog_row_metadata=FULL")
	}
	s.flavor = mysql.MySQLFlavor
	if strings.Contains(strings.ToLower(version), "mariadb") {
		s.flavor = mysql.MariaDBFlavor
	}

	off := sc.Offsets.Offset(s.partition)
	// Snapshot rows carry snapshot=true; the last one, and every offset
	// after it, does not.
	snapshotDone := off != nil && off[offSnapshot] != true
	if off != nil {
		s.skipFile, _ = off[offFile].(string)
		pos, _ := connectors.Int64(off[offPos])
		events, _ := connectors.Int64(off[offEvent])
		rows, _ := connectors.Int64(off[offRow])
		s.skipPos, s.skipEvents, s.skipRows = uint32(pos), int(events), int(rows)
		s.txFile, s.txPos = s.skipFile, s.skipPos
	}
	mode := s.SnapshotMode
	if cdc.WantsSnapshot(mode, off != nil, snapshotDone) {
		return s.startSnapshot(ctx)
	}
	if mode == cdc.SnapshotInitialOnly {
		s.idleOnly = true
		return nil
	}
	if off == nil {
		// No data snapshot: from the binary log's end.
		if s.txFile, s.txPos, err = s.masterStatus(ctx, s.db); err != nil {
			return err
		}
	}
	return nil
}

func dbErr(what string, err error) error {
	var me *gomysql.MySQLError
	if errors.As(err, &me) && (me.Number == 1045 || me.Number == 1044 || me.Number == 1227 || me.Number == 1049) {
		return fmt.Errorf("%s: %w", what, err) // access denied, unknown database: not going to pass
	}
	return fmt.Errorf("%s: %w: %w", what, connectors.ErrRetriable, err)
}

type querier interface {
	QueryContext(ctx context.Context, q string, args ...any) (*sql.Rows, error)
}

func (s *source) masterStatus(ctx context.Context, q querier) (string, uint32, error) {
	rows, err := q.QueryContext(ctx, "SHOW MASTER STATUS")
	if err != nil {
		rows, err = q.QueryContext(ctx, "SHOW BINARY LOG STATUS") // MySQL 8.4
	}
	if err != nil {
		return "", 0, dbErr("read the binary log position", err)
	}
	defer rows.Close()
	cols, _ := rows.Columns()
	if !rows.Next() {
		return "", 0, errors.New("the server's binary log is off: start it with log_bin (and binlog_format=ROW)")
	}
	vals := make([]any, len(cols))
	ptrs := make([]any, len(cols))
	for i := range vals {
		ptrs[i] = &vals[i]
	}
	if err := rows.Scan(ptrs...); err != nil {
		return "", 0, err
	}
	pos, _ := strconv.ParseUint(text(vals[1]), 10, 32)
	return text(vals[0]), uint32(pos), nil
}

// describe reads a table's columns (cached until a DDL statement).
func (s *source) describe(ctx context.Context, db, name string) (*table, error) {
	k := db + "." + name
	if t, ok := s.cache[k]; ok {
		return t, nil
	}
	t := &table{db: db, name: name, captured: s.dbs.Allows(db) && s.Tables.Allows(k) && !systemDB(db)}
	if t.captured {
		rows, err := s.db.QueryContext(ctx, `SELECT column_name, data_type, column_type, is_nullable, column_key,
				coalesce(numeric_precision, 0), coalesce(numeric_scale, 0), coalesce(datetime_precision, 0)
			FROM information_schema.columns WHERE table_schema = ? AND table_name = ? ORDER BY ordinal_position`, db, name)
		if err != nil {
			return nil, dbErr("describe "+k, err)
		}
		defer rows.Close()
		for rows.Next() {
			var c column
			var nullable, key string
			if err := rows.Scan(&c.name, &c.dataType, &c.colType, &nullable, &key, &c.precision, &c.scale, &c.dtPrec); err != nil {
				return nil, err
			}
			c.dataType, c.colType = strings.ToLower(c.dataType), strings.ToLower(c.colType)
			c.nullable, c.key = nullable == "YES", key == "PRI"
			if c.dataType == "bit" {
				c.precision = bitWidth(c.colType)
			}
			c.mapType(s.opts)
			t.cols = append(t.cols, c)
		}
		if err := rows.Err(); err != nil {
			return nil, err
		}
		var cols []cdc.Column
		var keys []string
		for i, c := range t.cols {
			if !s.Columns.Allows(k + "." + c.name) {
				continue
			}
			t.keep = append(t.keep, i)
			cols = append(cols, cdc.Column{Name: c.name, Schema: c.schema})
			if c.key {
				keys = append(keys, c.name)
			}
		}
		if t.t, err = s.NewTable(db, name, cols, keys, s.srcSchema); err != nil {
			return nil, err
		}
	}
	s.cache[k] = t
	return t, nil
}

func bitWidth(colType string) int64 {
	open, end := strings.Index(colType, "("), strings.Index(colType, ")")
	if open < 0 || end < open {
		return 1
	}
	n, _ := strconv.ParseInt(colType[open+1:end], 10, 64)
	return n
}

func systemDB(db string) bool {
	switch strings.ToLower(db) {
	case "mysql", "information_schema", "performance_schema", "sys":
		return true
	}
	return false
}

// mapColumns prepares row for the rows events of one table map: the
// identity when the logged columns are the live ones, a mapping by name when
// the log names them and they differ (columns added or dropped since).
func (t *table) mapColumns(tm *replication.TableMapEvent) error {
	if tm == nil || tm == t.mappedFor {
		return nil
	}
	t.mappedFor, t.from = tm, nil
	names := tm.ColumnName
	same := len(names) == 0 || len(names) == len(t.cols)
	for i := 0; same && i < len(names); i++ {
		same = strings.EqualFold(string(names[i]), t.cols[i].name)
	}
	if same {
		if int(tm.ColumnCount) != len(t.cols) {
			return fmt.Errorf("%s.%s: the binary log has %d columns, the table now has %d: its schema changed after these rows were written, "+
				"and without binlog_row_metadata=FULL the log does not say which columns they are (set it on the server to read such rows by name)",
				t.db, t.name, tm.ColumnCount, len(t.cols))
		}
		return nil
	}
	t.from = make([]int, len(t.cols))
	for i, c := range t.cols {
		t.from[i] = -1
		for k, n := range names {
			if strings.EqualFold(string(n), c.name) {
				t.from[i] = k
				break
			}
		}
	}
	return nil
}

// row decodes a row's values into event order.
func (t *table) row(vals []any) ([]any, error) {
	if t.from == nil && len(vals) != len(t.cols) {
		return nil, fmt.Errorf("%s.%s: the row has %d columns, the table now has %d", t.db, t.name, len(vals), len(t.cols))
	}
	out := make([]any, len(t.keep))
	for j, i := range t.keep {
		k := i
		if t.from != nil {
			k = t.from[i]
		}
		var raw any
		if k >= 0 && k < len(vals) {
			raw = vals[k]
		}
		if raw == nil {
			continue
		}
		v, err := t.cols[i].decode(raw)
		if err != nil {
			return nil, fmt.Errorf("%s.%s column %s: %w", t.db, t.name, t.cols[i].name, err)
		}
		out[j] = v
	}
	return out, nil
}

func (s *source) sourceBlock(t *table, snapshot string, ts time.Time, file string, pos uint32, row int) *schema.StructValue {
	v := cdc.NewSource(s.srcSchema, "mysql", s.Prefix, t.db, snapshot, ts)
	v.Values[9] = t.name
	v.Values[10] = int64(s.serverID())
	if s.gtid != "" {
		v.Values[11] = s.gtid
	}
	v.Values[12], v.Values[13], v.Values[14] = file, int64(pos), int32(row)
	return v
}

func (s *source) serverID() uint32 {
	if id := s.cfg.Int64(keyServerID); id > 0 {
		return uint32(id)
	}
	h := fnv.New32a()
	_, _ = h.Write([]byte(s.Prefix))
	return 5400 + h.Sum32()%1000
}

func (s *source) appendEvent(out []connectors.Record, t *table, op cdc.Op, before, after []any, src *schema.StructValue, off map[string]any) []connectors.Record {
	return t.t.Records(out, op, before, after, src, s.partition, off, s.Tombstones)
}

// snapshot: the tables to read in one consistent-snapshot transaction.
type snapshot struct {
	conn   *sql.Conn
	tx     *sql.Tx
	tables [][2]string
	idx    int
	rows   *sql.Rows
	t      *table
	vals   []any
	ptrs   []any
	done   int64
	total  int64
	marks  cdc.SnapshotRows
	file   string
	pos    uint32
}

func (s *source) startSnapshot(ctx context.Context) error {
	conn, err := s.db.Conn(ctx)
	if err != nil {
		return dbErr("open the snapshot's connection", err)
	}
	lock := s.cfg.String(keySnapshotLock) != "none"
	if lock {
		if _, err := conn.ExecContext(ctx, "FLUSH TABLES WITH READ LOCK"); err != nil {
			conn.Close()
			return dbErr("lock tables for the snapshot (the user needs RELOAD, or set snapshot.locking.mode=none)", err)
		}
	}
	if _, err := conn.ExecContext(ctx, "SET SESSION TRANSACTION ISOLATION LEVEL REPEATABLE READ"); err != nil {
		conn.Close()
		return dbErr("snapshot", err)
	}
	tx, err := conn.BeginTx(ctx, &sql.TxOptions{Isolation: sql.LevelRepeatableRead, ReadOnly: true})
	if err == nil {
		_, err = tx.ExecContext(ctx, "SELECT 1 FROM DUAL") // the snapshot starts at the first read
	}
	if err != nil {
		conn.Close()
		return dbErr("start the snapshot", err)
	}
	file, pos, err := s.masterStatus(ctx, tx)
	if lock {
		_, _ = conn.ExecContext(ctx, "UNLOCK TABLES")
	}
	if err != nil {
		_ = tx.Rollback()
		conn.Close()
		return err
	}
	rows, err := tx.QueryContext(ctx, `SELECT table_schema, table_name FROM information_schema.tables
		WHERE table_type = 'BASE TABLE' ORDER BY 1, 2`)
	if err != nil {
		_ = tx.Rollback()
		conn.Close()
		return dbErr("list tables", err)
	}
	var tables [][2]string
	for rows.Next() {
		var t [2]string
		if err := rows.Scan(&t[0], &t[1]); err != nil {
			rows.Close()
			return err
		}
		if !systemDB(t[0]) && s.dbs.Allows(t[0]) && s.Tables.Allows(t[0]+"."+t[1]) {
			tables = append(tables, t)
		}
	}
	rows.Close()
	s.snap = &snapshot{conn: conn, tx: tx, tables: tables, file: file, pos: pos}
	s.txFile, s.txPos = file, pos
	s.log.Info("snapshot starting", "tables", len(tables), "binlog_file", file, "binlog_pos", pos)
	return nil
}

func (s *source) report(msg string) { cdc.Report(s.log, s.progress, msg) }

func (s *source) pollSnapshot(ctx context.Context) ([]connectors.Record, error) {
	sn := s.snap
	s.out = s.out[:0]
	for len(s.out) < s.Batch {
		if sn.rows == nil {
			if sn.idx >= len(sn.tables) {
				return s.finishSnapshot()
			}
			db, name := sn.tables[sn.idx][0], sn.tables[sn.idx][1]
			t, err := s.describe(ctx, db, name)
			if err != nil {
				return nil, err
			}
			sn.t, sn.done = t, 0
			var estimate int64
			_ = sn.tx.QueryRowContext(ctx, "SELECT coalesce(table_rows, 0) FROM information_schema.tables WHERE table_schema = ? AND table_name = ?", db, name).Scan(&estimate)
			s.report(fmt.Sprintf("snapshot: table %d of %d, %s.%s (about %d rows)", sn.idx+1, len(sn.tables), db, name, estimate))
			rows, err := sn.tx.QueryContext(ctx, "SELECT * FROM `"+strings.ReplaceAll(db, "`", "``")+"`.`"+strings.ReplaceAll(name, "`", "``")+"`")
			if err != nil {
				return nil, dbErr("read "+db+"."+name, err)
			}
			sn.rows = rows
			sn.vals = make([]any, len(t.cols))
			sn.ptrs = make([]any, len(t.cols))
			for i := range sn.vals {
				sn.ptrs[i] = &sn.vals[i]
			}
		}
		if !sn.rows.Next() {
			err := sn.rows.Err()
			sn.rows.Close()
			sn.rows = nil
			if err != nil {
				return nil, dbErr("read a table", err)
			}
			s.report(fmt.Sprintf("snapshot: %s.%s done, %d rows (table %d of %d)", sn.t.db, sn.t.name, sn.done, sn.idx+1, len(sn.tables)))
			sn.idx++
			continue
		}
		for i := range sn.vals {
			sn.vals[i] = nil
		}
		if err := sn.rows.Scan(sn.ptrs...); err != nil {
			return nil, dbErr("read a row", err)
		}
		row, err := sn.t.row(sn.vals)
		if err != nil {
			return nil, err
		}
		src := s.sourceBlock(sn.t, sn.marks.Mark(), time.Now(), sn.file, sn.pos, 0)
		off := map[string]any{offSnapshot: true, offFile: sn.file, offPos: int64(sn.pos), offTsSec: time.Now().Unix()}
		s.out = sn.marks.Push(s.out, sn.t.t.Record(cdc.Read, nil, row, src, s.partition, off))
		sn.done++
		sn.total++
	}
	return s.out, nil
}

func (s *source) finishSnapshot() ([]connectors.Record, error) {
	sn := s.snap
	// The last row's offset ends the snapshot: streaming starts at its
	// binary log position.
	s.out = sn.marks.Finish(s.out, map[string]any{offFile: sn.file, offPos: int64(sn.pos), offEvent: int64(0), offRow: int64(0), offTsSec: time.Now().Unix()})
	_ = sn.tx.Commit()
	_ = sn.conn.Close()
	s.snap = nil
	s.skipFile, s.skipPos, s.skipEvents, s.skipRows = sn.file, sn.pos, 0, 0
	s.report(fmt.Sprintf("snapshot done: %d rows from %d tables; reading the binary log from %s:%d", sn.total, len(sn.tables), sn.file, sn.pos))
	if s.SnapshotMode == cdc.SnapshotInitialOnly {
		s.idleOnly = true
	}
	return s.out, nil
}

func (s *source) startStreaming() error {
	host := s.cfg.String(keyHost)
	port, _ := strconv.Atoi(s.cfg.String(keyPort))
	s.syncer = replication.NewBinlogSyncer(replication.BinlogSyncerConfig{
		ServerID: s.serverID(), Flavor: s.flavor, Host: host, Port: uint16(port),
		User: s.cfg.String(keyUser), Password: s.cfg.String(keyPassword),
		UseDecimal: true, ParseTime: false, TimestampStringLocation: time.UTC,
		HeartbeatPeriod: 10 * time.Second, ReadTimeout: 30 * time.Second, Logger: s.log,
	})
	st, err := s.syncer.StartSync(mysql.Position{Name: s.txFile, Pos: s.txPos})
	if err != nil {
		s.syncer.Close()
		return dbErr(fmt.Sprintf("read the binary log from %s:%d", s.txFile, s.txPos), err)
	}
	s.streamer, s.streaming = st, true
	s.file = s.txFile
	s.log.Info("reading the binary log", "file", s.txFile, "pos", s.txPos)
	return nil
}

func (s *source) stopStreaming() {
	if s.streaming {
		s.syncer.Close()
		s.streaming = false
	}
}

func (s *source) Poll(ctx context.Context) ([]connectors.Record, error) {
	if s.snap != nil {
		return s.pollSnapshot(ctx)
	}
	if s.idleOnly {
		<-ctx.Done()
		return nil, nil
	}
	if !s.streaming {
		if err := s.startStreaming(); err != nil {
			return nil, err
		}
	}
	s.out = s.out[:0]
	deadline := time.Now().Add(time.Second)
	for len(s.out) < s.Batch {
		wait := time.Until(deadline)
		if len(s.out) > 0 {
			wait = min(wait, 20*time.Millisecond)
		}
		if wait <= 0 {
			break
		}
		ectx, cancel := context.WithTimeout(ctx, wait)
		ev, err := s.streamer.GetEvent(ectx)
		cancel()
		if err != nil {
			if ctx.Err() != nil || errors.Is(err, context.DeadlineExceeded) {
				break
			}
			s.stopStreaming()
			// Start again where the transaction being read began.
			s.skipFile, s.skipPos = s.txFile, s.txPos
			s.skipEvents, s.skipRows = s.events, s.rows
			return s.out, dbErr("read the binary log", err)
		}
		if err := s.handle(ctx, ev); err != nil {
			return s.out, err
		}
	}
	if s.Heartbeat > 0 && !s.inTx && time.Now().After(s.nextBeat) {
		// Between transactions the position is a clean restart point.
		s.nextBeat = time.Now().Add(s.Heartbeat)
		s.out = append(s.out, s.HeartbeatRecord(s.partition,
			map[string]any{offFile: s.txFile, offPos: int64(s.txPos), offEvent: int64(0), offRow: int64(0), offTsSec: time.Now().Unix()}, time.Now()))
	}
	return s.out, nil
}

// handle turns one binary log event into records.
func (s *source) handle(ctx context.Context, ev *replication.BinlogEvent) error {
	h := ev.Header
	switch e := ev.Event.(type) {
	case *replication.RotateEvent:
		s.file = string(e.NextLogName)
		if !s.inTx {
			s.txFile, s.txPos = s.file, uint32(e.Position)
		}
	case *replication.GTIDEvent:
		if g, err := e.GTIDNext(); err == nil {
			s.gtid = g.String()
		}
	case *replication.MariadbGTIDEvent:
		s.gtid = e.GTID.String()
		if !e.IsStandalone() {
			s.beginTx()
		}
	case *replication.QueryEvent:
		q := strings.TrimSpace(strings.ToUpper(string(e.Query)))
		switch {
		case q == "BEGIN":
			s.beginTx()
		case q == "COMMIT":
			s.endTx(h)
		default:
			// A DDL statement: read the catalog afresh.
			clear(s.cache)
			if !s.inTx {
				s.txFile, s.txPos = s.file, h.LogPos
			}
		}
	case *replication.XIDEvent:
		s.endTx(h)
	case *replication.RowsEvent:
		return s.rowsEvent(ctx, h, e)
	}
	return nil
}

func (s *source) beginTx() {
	if s.inTx {
		return
	}
	s.inTx, s.events, s.rows = true, 0, 0
	// txFile/txPos stay where the previous transaction ended: the start of
	// this one's first event.
}

func (s *source) endTx(h *replication.EventHeader) {
	s.inTx = false
	s.txFile, s.txPos, s.events, s.rows = s.file, h.LogPos, 0, 0
	s.skipFile = "" // past the restart point: skip nothing more
}

func (s *source) rowsEvent(ctx context.Context, h *replication.EventHeader, e *replication.RowsEvent) error {
	defer func() { s.events++; s.rows = 0 }()
	t, err := s.describe(ctx, string(e.Table.Schema), string(e.Table.Table))
	if err != nil {
		return err
	}
	if t.captured {
		if err := t.mapColumns(e.Table); err != nil {
			return err
		}
	}
	skipping := s.skipFile != "" && s.skipFile == s.txFile && s.skipPos == s.txPos
	if skipping && s.events < s.skipEvents {
		return nil
	}
	ts := time.Unix(int64(h.Timestamp), 0)
	step := 1
	op := cdc.Create
	switch e.Type() {
	case replication.EnumRowsEventTypeUpdate:
		op, step = cdc.Update, 2
	case replication.EnumRowsEventTypeDelete:
		op = cdc.Delete
	case replication.EnumRowsEventTypeUnknown:
		return nil
	}
	for i := 0; i+step <= len(e.Rows); i += step {
		n := i / step
		if skipping && s.events == s.skipEvents && n < s.skipRows {
			continue
		}
		s.rows = n + 1
		if !t.captured || s.Skipped[op] {
			continue
		}
		off := map[string]any{offFile: s.txFile, offPos: int64(s.txPos), offEvent: int64(s.events), offRow: int64(n + 1), offTsSec: ts.Unix()}
		if s.gtid != "" {
			off[offGTIDs] = s.gtid
		}
		src := s.sourceBlock(t, cdc.SnapshotFalse, ts, s.file, h.LogPos-h.EventSize, n)
		var before, after []any
		switch op {
		case cdc.Create:
			after, err = t.row(e.Rows[i])
		case cdc.Delete:
			before, err = t.row(e.Rows[i])
		case cdc.Update:
			if before, err = t.row(e.Rows[i]); err == nil {
				after, err = t.row(e.Rows[i+1])
			}
		}
		if err != nil {
			return err
		}
		if op == cdc.Update && t.t.Key != nil && !t.t.SameKey(before, after) {
			s.out = s.appendEvent(s.out, t, cdc.Delete, before, nil, src, off)
			s.out = s.appendEvent(s.out, t, cdc.Create, nil, after, src, off)
			continue
		}
		s.out = s.appendEvent(s.out, t, op, before, after, src, off)
	}
	return nil
}

func (s *source) Close() error {
	s.stopStreaming()
	if s.snap != nil {
		if s.snap.rows != nil {
			s.snap.rows.Close()
		}
		_ = s.snap.tx.Rollback()
		_ = s.snap.conn.Close()
	}
	if s.db != nil {
		return s.db.Close()
	}
	return nil
}
