package jdbc

import (
	"context"
	"fmt"
	"maps"
	"strings"
	"testing"
	"time"

	"github.com/sluicehq/sluice/connectors"
	"github.com/sluicehq/sluice/connectors/schema"
	"github.com/sluicehq/sluice/internal/sourcetest"
	"github.com/sluicehq/sluice/internal/testenv"
)

type offsets = sourcetest.Offsets

func sourceConfig(t *testing.T, db *testenv.Database, extra map[string]string) connectors.Config {
	t.Helper()
	raw := map[string]string{keyURL: db.JDBC, keyUser: "sluice", keyPassword: "sluice", keyTopicPrefix: "t-",
		keyPollInterval: "50", "tasks.max": "1"}
	maps.Copy(raw, extra)
	p := SourcePlugin()
	if errs := p.Spec.Validate(raw); len(errs) > 0 {
		t.Fatalf("config: %v", errs)
	}
	if errs := p.Check(connectors.NewConfig(p.FullSpec(), raw)); len(errs) > 0 {
		t.Fatalf("config: %v", errs)
	}
	return connectors.NewConfig(p.FullSpec(), raw)
}

func openSource(t *testing.T, cfg connectors.Config, off offsets) *source {
	t.Helper()
	s := &source{}
	if err := s.Open(context.Background(), connectors.SourceContext{TaskInfo: connectors.TaskInfo{Config: cfg}, Offsets: off}); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

// quiet polls for a while and fails if any record comes.
func quiet(t *testing.T, s *source) {
	t.Helper()
	for end := time.Now().Add(300 * time.Millisecond); time.Now().Before(end); {
		recs, err := s.Poll(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		if len(recs) > 0 {
			t.Fatalf("unexpected records: %v", recs[0].ValueData)
		}
	}
}

func field(r connectors.Record, name string) any {
	return r.ValueData.(*schema.StructValue).Get(name)
}

func databases(t *testing.T) map[string]func(testing.TB) *testenv.Database {
	return map[string]func(testing.TB) *testenv.Database{"postgres": testenv.Postgres, "mariadb": testenv.MariaDB}
}

func TestSourceIncrementingResumesFromItsOffset(t *testing.T) {
	for name, newDB := range databases(t) {
		t.Run(name, func(t *testing.T) {
			db := newDB(t)
			db.Exec(t, "CREATE TABLE orders (id INT NOT NULL PRIMARY KEY, item VARCHAR(20))",
				"INSERT INTO orders VALUES (1,'a'),(2,'b'),(3,'c')")
			cfg := sourceConfig(t, db, map[string]string{keyMode: modeIncrementing, keyIncColumn: "id", keyTableWhitelist: "orders", keyBatchMaxRows: "2"})
			off := offsets{}
			s := openSource(t, cfg, off)
			recs := sourcetest.Drain(t, s, 3)
			if len(recs) != 3 || field(recs[2], "item") != "c" || recs[0].Topic != "t-orders" {
				t.Fatalf("records: %+v", recs)
			}
			if got := recs[2].SourceOffset[offIncrementing]; got != int64(3) {
				t.Fatalf("offset %v", recs[2].SourceOffset)
			}
			off.Commit(recs)
			quiet(t, s)
			s.Close()
			// A restart reads only what is new.
			db.Exec(t, "INSERT INTO orders VALUES (4,'d')")
			s = openSource(t, cfg, off)
			recs = sourcetest.Drain(t, s, 1)
			if field(recs[0], "id") != int32(4) {
				t.Fatalf("after restart: %v", recs[0].ValueData)
			}
			quiet(t, s)
		})
	}
}

func TestSourceTimestampIncrementingSeesUpdates(t *testing.T) {
	for name, newDB := range databases(t) {
		t.Run(name, func(t *testing.T) {
			db := newDB(t)
			ts := "TIMESTAMP(3)"
			if name == "mariadb" {
				ts = "DATETIME(3)"
			}
			db.Exec(t, "CREATE TABLE orders (id INT NOT NULL PRIMARY KEY, qty INT, updated_at "+ts+" NOT NULL)",
				"INSERT INTO orders VALUES (1, 10, '2024-01-01 00:00:00'), (2, 20, '2024-01-01 00:00:00'), (3, 30, '2024-01-01 00:00:01')")
			cfg := sourceConfig(t, db, map[string]string{keyMode: modeTimestampInc, keyIncColumn: "id", keyTSColumn: "updated_at",
				keyTableWhitelist: "orders", keyBatchMaxRows: "1"})
			off := offsets{}
			s := openSource(t, cfg, off)
			recs := sourcetest.Drain(t, s, 3)
			for i, r := range recs {
				if field(r, "id") != int32(i+1) {
					t.Fatalf("record %d: %v", i, r.ValueData)
				}
			}
			off.Commit(recs)
			if got := recs[2].SourceOffset; got[offTimestamp] != time.Date(2024, 1, 1, 0, 0, 1, 0, time.UTC).UnixMilli() || got[offIncrementing] != int64(3) {
				t.Fatalf("offset %v", got)
			}
			// An update moves the timestamp: the row comes again.
			db.Exec(t, "UPDATE orders SET qty = 11, updated_at = '2024-01-02 00:00:00' WHERE id = 1")
			recs = sourcetest.Drain(t, s, 1)
			if field(recs[0], "qty") != int32(11) {
				t.Fatalf("update: %v", recs[0].ValueData)
			}
			off.Commit(recs)
			quiet(t, s)
			// Restarted from the offset, nothing repeats.
			s.Close()
			s = openSource(t, cfg, off)
			quiet(t, s)
		})
	}
}

func TestSourceBulkAndQuery(t *testing.T) {
	db := testenv.Postgres(t)
	db.Exec(t, "CREATE TABLE a (id INT NOT NULL)", "INSERT INTO a VALUES (1),(2)")
	s := openSource(t, sourceConfig(t, db, map[string]string{keyMode: modeBulk, keyTableWhitelist: "a"}), offsets{})
	// Bulk reads the whole table each poll interval.
	recs := sourcetest.Drain(t, s, 4)
	if recs[0].SourceOffset != nil || field(recs[3], "id") != int32(2) {
		t.Fatalf("bulk: %+v", recs)
	}
	q := openSource(t, sourceConfig(t, db, map[string]string{keyMode: modeIncrementing, keyIncColumn: "id",
		keyQuery: "SELECT id, id * 10 AS tenfold FROM a"}), offsets{})
	recs = sourcetest.Drain(t, q, 2)
	if recs[0].Topic != "t-" || field(recs[1], "tenfold") != int32(20) || recs[0].SourcePartition[partQuery] != partQuery {
		t.Fatalf("query: %+v", recs)
	}
}

func TestSourceTypesPostgres(t *testing.T) {
	db := testenv.Postgres(t)
	db.Exec(t, `CREATE TABLE types (id SERIAL PRIMARY KEY, s SMALLINT, b BIGINT, r REAL, d DOUBLE PRECISION, n NUMERIC(10,3),
		u NUMERIC, ok BOOLEAN, txt TEXT, bin BYTEA, day DATE, tod TIME, ts TIMESTAMP, tstz TIMESTAMPTZ, j JSONB, uid UUID,
		arr INT[], tags TEXT[])`,
		`INSERT INTO types (s,b,r,d,n,u,ok,txt,bin,day,tod,ts,tstz,j,uid,arr,tags) VALUES (1, 9000000000, 1.5, 2.25, 12.345,
		3.14159265358979323846, true, 'héllo', '\x0102', '2024-02-29', '12:34:56.789', '2024-02-29 01:02:03.456',
		'2024-02-29 01:02:03.456+02', '{"a": [1, 2]}', 'a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11', '{1,NULL,3}', '{x,"y z"}')`,
		`INSERT INTO types (s) VALUES (NULL)`)
	s := openSource(t, sourceConfig(t, db, map[string]string{keyMode: modeIncrementing, keyIncColumn: "id", keyTableWhitelist: "types"}), offsets{})
	recs := sourcetest.Drain(t, s, 2)
	v := recs[0].ValueData.(*schema.StructValue)
	want := map[string]any{
		"s": int16(1), "b": int64(9000000000), "r": float32(1.5), "d": 2.25, "ok": true, "txt": "héllo",
		"u": "3.14159265358979323846", "day": time.Date(2024, 2, 29, 0, 0, 0, 0, time.UTC),
		"tod": time.Date(1970, 1, 1, 12, 34, 56, 789e6, time.UTC), "ts": time.Date(2024, 2, 29, 1, 2, 3, 456e6, time.UTC),
		"tstz": time.Date(2024, 2, 28, 23, 2, 3, 456e6, time.UTC), "j": `{"a": [1, 2]}`, "uid": "a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11",
	}
	for k, w := range want {
		if got := v.Get(k); fmt.Sprint(got) != fmt.Sprint(w) || fmt.Sprintf("%T", got) != fmt.Sprintf("%T", w) {
			t.Errorf("%s = %T %v, want %T %v", k, got, got, w, w)
		}
	}
	if d := v.Get("n").(schema.Decimal); d.String() != "12.345" || d.Scale != 3 {
		t.Errorf("n = %v", d)
	}
	if got := fmt.Sprint(v.Get("arr")); got != "[1 <nil> 3]" {
		t.Errorf("arr = %s", got)
	}
	if got := fmt.Sprint(v.Get("tags")); got != "[x y z]" {
		t.Errorf("tags = %s", got)
	}
	if b := v.Get("bin").([]byte); len(b) != 2 || b[1] != 2 {
		t.Errorf("bin = %v", b)
	}
	sc := recs[0].ValueSchema
	if sc.Name != "types" || sc.Field("id").Schema.Optional || !sc.Field("s").Schema.Optional ||
		sc.Field("n").Schema.Name != schema.DecimalName || sc.Field("arr").Schema.Elem.Type != schema.Int32 {
		t.Errorf("schema: %+v", sc)
	}
	if recs[1].ValueData.(*schema.StructValue).Get("s") != nil {
		t.Errorf("null s: %v", recs[1].ValueData)
	}
}

func TestSourceTypesMariaDB(t *testing.T) {
	db := testenv.MariaDB(t)
	db.Exec(t, `CREATE TABLE types (id INT AUTO_INCREMENT PRIMARY KEY, t TINYINT, s SMALLINT, b BIGINT, ub BIGINT UNSIGNED,
		f FLOAT, d DOUBLE, n DECIMAL(10,3), txt VARCHAR(20), bin VARBINARY(4), day DATE, tod TIME(3), dt DATETIME(3), j JSON, bit1 BIT(1))`,
		`INSERT INTO types (t,s,b,ub,f,d,n,txt,bin,day,tod,dt,j,bit1) VALUES (-1, 2, 9000000000, 18446744073709551615, 1.5, 2.25, 12.345,
		'héllo', x'0102', '2024-02-29', '12:34:56.789', '2024-02-29 01:02:03.456', '{"a":1}', b'1')`)
	s := openSource(t, sourceConfig(t, db, map[string]string{keyMode: modeIncrementing, keyIncColumn: "id", keyTableWhitelist: "types"}), offsets{})
	v := sourcetest.Drain(t, s, 1)[0].ValueData.(*schema.StructValue)
	want := map[string]any{
		"t": int8(-1), "s": int16(2), "b": int64(9000000000), "f": float32(1.5), "d": 2.25, "txt": "héllo",
		"day": time.Date(2024, 2, 29, 0, 0, 0, 0, time.UTC), "tod": time.Date(1970, 1, 1, 12, 34, 56, 789e6, time.UTC),
		"dt": time.Date(2024, 2, 29, 1, 2, 3, 456e6, time.UTC), "bit1": true,
	}
	for k, w := range want {
		if got := v.Get(k); fmt.Sprint(got) != fmt.Sprint(w) || fmt.Sprintf("%T", got) != fmt.Sprintf("%T", w) {
			t.Errorf("%s = %T %v, want %T %v", k, got, got, w, w)
		}
	}
	if d := v.Get("ub").(schema.Decimal); d.String() != "18446744073709551615" {
		t.Errorf("ub = %v", d)
	}
	if d := v.Get("n").(schema.Decimal); d.String() != "12.345" {
		t.Errorf("n = %v", d)
	}
	if j := v.Get("j"); !strings.Contains(fmt.Sprint(j), `"a"`) {
		t.Errorf("j = %v", j)
	}
}

func TestSourceSpreadsTablesOverTasks(t *testing.T) {
	db := testenv.Postgres(t)
	for _, n := range []string{"t1", "t2", "t3"} {
		db.Exec(t, "CREATE TABLE "+n+" (id INT NOT NULL)", "INSERT INTO "+n+" VALUES (1)")
	}
	// Listed tables are split by the task configs.
	p := SourcePlugin()
	raw := map[string]string{keyURL: db.JDBC, keyMode: modeBulk, keyTopicPrefix: "x-", keyTableWhitelist: "t1,t2,t3"}
	tasks, err := p.TaskConfigs(connectors.NewConfig(p.FullSpec(), raw), 2)
	if err != nil || len(tasks) != 2 || tasks[0][keyTaskTables] != "t1,t3" || tasks[1][keyTaskTables] != "t2" {
		t.Fatalf("tasks %v, %v", tasks, err)
	}
	// Without a list each task takes its share of what it finds.
	seen := map[string]int{}
	for i := range 2 {
		cfg := sourceConfig(t, db, map[string]string{keyMode: modeBulk, keyTaskIndex: fmt.Sprint(i), keyTaskCount: "2", keyTableExclude: "t3"})
		s := openSource(t, cfg, offsets{})
		for _, q := range s.queriers {
			seen[q.table.name]++
		}
	}
	if len(seen) != 2 || seen["t1"] != 1 || seen["t2"] != 1 {
		t.Fatalf("tables per task: %v", seen)
	}
}

func TestSourceRefusesNullableOffsetColumn(t *testing.T) {
	db := testenv.Postgres(t)
	db.Exec(t, "CREATE TABLE n (id INT)")
	cfg := sourceConfig(t, db, map[string]string{keyMode: modeIncrementing, keyIncColumn: "id", keyTableWhitelist: "n"})
	err := (&source{}).Open(context.Background(), connectors.SourceContext{TaskInfo: connectors.TaskInfo{Config: cfg}, Offsets: offsets{}})
	if err == nil || !strings.Contains(err.Error(), "incrementing.column.name") || !strings.Contains(err.Error(), "nullable") {
		t.Fatalf("err = %v", err)
	}
	cfg = sourceConfig(t, db, map[string]string{keyMode: modeIncrementing, keyIncColumn: "nope", keyTableWhitelist: "n"})
	err = (&source{}).Open(context.Background(), connectors.SourceContext{TaskInfo: connectors.TaskInfo{Config: cfg}, Offsets: offsets{}})
	if err == nil || !strings.Contains(err.Error(), `no column "nope"`) {
		t.Fatalf("err = %v", err)
	}
}

func TestConfigChecks(t *testing.T) {
	p := SourcePlugin()
	check := func(raw map[string]string) string {
		cfg := connectors.NewConfig(p.FullSpec(), raw)
		if errs := p.Spec.Validate(raw); len(errs) > 0 {
			return errs[0].Error()
		}
		if errs := p.Check(cfg); len(errs) > 0 {
			return errs[0].Error()
		}
		return ""
	}
	base := map[string]string{keyURL: "jdbc:postgresql://h/db", keyTopicPrefix: "p"}
	with := func(kv ...string) map[string]string {
		m := maps.Clone(base)
		for i := 0; i < len(kv); i += 2 {
			m[kv[i]] = kv[i+1]
		}
		return m
	}
	for raw, want := range map[*map[string]string]string{
		ptr(with(keyMode, "incrementing")):                                       "incrementing.column.name: is required with mode=incrementing",
		ptr(with(keyMode, "timestamp")):                                          "timestamp.column.name: is required",
		ptr(with(keyMode, "bulk", keyURL, "postgresql://h/db")):                  "connection.url: \"postgresql://h/db\" is not a JDBC URL",
		ptr(with(keyMode, "bulk", keyURL, "jdbc:oracle:thin:@h:1")):              "not supported",
		ptr(with(keyMode, "bulk", keyQuery, "select 1", keyTableWhitelist, "a")): "table.whitelist: cannot be set with query",
		ptr(with(keyMode, "sometimes")):                                          "mode: \"sometimes\" is not one of",
		ptr(with(keyMode, "bulk")):                                               "",
	} {
		if got := check(*raw); (want == "") != (got == "") || !strings.Contains(got, want) {
			t.Errorf("%v: got %q, want %q", *raw, got, want)
		}
	}
	sp := SinkPlugin()
	errs := sp.Check(connectors.NewConfig(sp.FullSpec(), map[string]string{keyURL: "jdbc:mysql://h/db", keyInsertMode: "upsert", keyDeleteEnabled: "true"}))
	if len(errs) != 2 || errs[0].Field != keyPKMode || errs[1].Field != keyDeleteEnabled {
		t.Errorf("sink checks: %v", errs)
	}
}

func ptr[T any](v T) *T { return &v }

func TestParseURL(t *testing.T) {
	e, err := parseURL("jdbc:postgresql://db.example:6543/shop?user=u&password=p&sslmode=require", "", "")
	if err != nil || e.dialect != pgDialect || e.host != "db.example" || e.port != "6543" || e.database != "shop" || e.user != "u" || e.password != "p" {
		t.Fatalf("%+v %v", e, err)
	}
	if dsn := e.dsn(); !strings.Contains(dsn, "sslmode=require") || !strings.Contains(dsn, "u:p@db.example:6543/shop") {
		t.Fatalf("dsn %s", dsn)
	}
	e, err = parseURL("jdbc:mariadb://h/db", "me", "secret")
	if err != nil || e.dialect != mysqlDialect || e.port != "3306" || e.user != "me" {
		t.Fatalf("%+v %v", e, err)
	}
	if strings.Contains(e.String(), "secret") {
		t.Fatalf("String shows the password: %s", e)
	}
	if _, err := parseURL("jdbc:postgresql://h:5432/", "", ""); err == nil || !strings.Contains(err.Error(), "names no database") {
		t.Fatalf("err = %v", err)
	}
}
