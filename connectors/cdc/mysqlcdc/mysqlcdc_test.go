package mysqlcdc

import (
	"context"
	"encoding/json"
	"fmt"
	"maps"
	"strings"
	"testing"
	"time"

	"github.com/sluicehq/sluice/connectors"
	"github.com/sluicehq/sluice/connectors/converter"
	"github.com/sluicehq/sluice/internal/testenv"
)

type offsets map[string]map[string]any

func (o offsets) Offset(p map[string]any) map[string]any { return o[fmt.Sprint(p)] }

func config(t *testing.T, db *testenv.Database, extra map[string]string) connectors.Config {
	t.Helper()
	raw := map[string]string{keyHost: db.Host, keyPort: db.Port, keyUser: "sluice", keyPassword: "sluice",
		keyTopicPrefix: "shop", keyDBInclude: db.Name, keyMaxBatch: "100"}
	maps.Copy(raw, extra)
	p := Plugin()
	if errs := p.Spec.Validate(raw); len(errs) > 0 {
		t.Fatalf("config: %v", errs)
	}
	return connectors.NewConfig(p.FullSpec(), raw)
}

type task struct {
	t   *testing.T
	s   *source
	off offsets
}

func open(t *testing.T, cfg connectors.Config, off offsets) *task {
	t.Helper()
	s := &source{}
	if err := s.Open(context.Background(), connectors.SourceContext{TaskInfo: connectors.TaskInfo{Config: cfg}, Offsets: off}); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return &task{t: t, s: s, off: off}
}

func (tk *task) read(n int) []string {
	tk.t.Helper()
	conv, _ := converter.New(converter.JSONClass, map[string]string{"schemas.enable": "false"}, false)
	var out []string
	deadline := time.Now().Add(20 * time.Second)
	for len(out) < n {
		if time.Now().After(deadline) {
			tk.t.Fatalf("got %d of %d records: %v", len(out), n, out)
		}
		recs, err := tk.s.Poll(context.Background())
		if err != nil {
			tk.t.Fatal(err)
		}
		for _, r := range recs {
			k, err := conv.FromConnect(r.Topic, r.KeySchema, r.KeyData)
			if err != nil {
				tk.t.Fatalf("key: %v", err)
			}
			v, err := conv.FromConnect(r.Topic, r.ValueSchema, r.ValueData)
			if err != nil {
				tk.t.Fatalf("value of %v: %v", r.ValueData, err)
			}
			out = append(out, r.Topic+" "+string(k)+" "+string(v))
			tk.off[fmt.Sprint(tk.s.partition)] = r.SourceOffset
		}
	}
	return out
}

func (tk *task) quiet() {
	tk.t.Helper()
	for end := time.Now().Add(1500 * time.Millisecond); time.Now().Before(end); {
		recs, err := tk.s.Poll(context.Background())
		if err != nil {
			tk.t.Fatal(err)
		}
		if len(recs) > 0 {
			tk.t.Fatalf("unexpected record: %v", recs[0].ValueData)
		}
	}
}

func field(t *testing.T, line, path string) any {
	t.Helper()
	parts := strings.SplitN(line, " ", 3)
	if parts[2] == "" {
		return nil
	}
	var v any
	if err := json.Unmarshal([]byte(parts[2]), &v); err != nil {
		t.Fatalf("%s: %v", parts[2], err)
	}
	for _, p := range strings.Split(path, ".") {
		m, ok := v.(map[string]any)
		if !ok {
			return nil
		}
		v = m[p]
	}
	return v
}

func TestSnapshotThenBinlog(t *testing.T) {
	db := testenv.MariaDB(t)
	db.Exec(t, "CREATE TABLE customers (id INT PRIMARY KEY, name VARCHAR(40) NOT NULL, credit DECIMAL(8,2), born DATE, seen DATETIME(6), kind ENUM('a','b'), big BIGINT UNSIGNED, flag BIT(1))",
		"INSERT INTO customers VALUES (1, 'ada', 12.50, '1815-12-10', '2024-01-02 03:04:05.123456', 'b', 7, b'1'), (2, 'bob', NULL, NULL, NULL, NULL, NULL, NULL)")
	cfg := config(t, db, nil)
	tk := open(t, cfg, offsets{})
	recs := tk.read(2)
	prefix := "shop." + db.Name + ".customers "
	if !strings.HasPrefix(recs[0], prefix+`{"id":1} `) || field(t, recs[0], "op") != "r" || field(t, recs[1], "source.snapshot") != "last" {
		t.Fatalf("snapshot: %v", recs)
	}
	for path, want := range map[string]any{"after.name": "ada", "after.credit": "BOI=", "after.born": float64(-56270),
		"after.seen": float64(1704164645123456), "after.kind": "b", "after.big": float64(7), "after.flag": true,
		"source.connector": "mysql", "source.db": db.Name, "source.table": "customers"} {
		if got := field(t, recs[0], path); fmt.Sprint(got) != fmt.Sprint(want) {
			t.Errorf("%s = %v, want %v", path, got, want)
		}
	}
	db.Exec(t, "INSERT INTO customers (id, name, kind) VALUES (3, 'cy', 'a')", "UPDATE customers SET name = 'ada l.' WHERE id = 1",
		"DELETE FROM customers WHERE id = 2")
	recs = tk.read(4)
	var ops []string
	for _, r := range recs {
		op, _ := field(t, r, "op").(string)
		ops = append(ops, op)
	}
	if fmt.Sprint(ops) != "[c u d ]" || field(t, recs[0], "after.kind") != "a" || field(t, recs[1], "before.name") != "ada" ||
		field(t, recs[1], "after.name") != "ada l." || field(t, recs[2], "before.id") != float64(2) {
		t.Fatalf("binlog: %v", recs)
	}
	if f, _ := field(t, recs[0], "source.file").(string); f == "" {
		t.Fatalf("source block: %v", recs[0])
	}
	tk.quiet()
	// Restarted from its offsets, it repeats nothing.
	tk.s.Close()
	db.Exec(t, "INSERT INTO customers (id, name) VALUES (4, 'di')")
	tk = open(t, cfg, tk.off)
	recs = tk.read(1)
	if field(t, recs[0], "after.id") != float64(4) {
		t.Fatalf("after restart: %v", recs)
	}
	tk.quiet()
}

func TestRestartInsideATransaction(t *testing.T) {
	db := testenv.MariaDB(t)
	db.Exec(t, "CREATE TABLE t (id INT PRIMARY KEY)")
	cfg := config(t, db, map[string]string{keySnapshotMode: "no_data", keyMaxBatch: "30"})
	tk := open(t, cfg, offsets{})
	// One transaction, several rows events (a multi-row insert per statement).
	tx, err := db.DB.Begin()
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i < 5; i++ {
		var vals []string
		for j := 1; j <= 20; j++ {
			vals = append(vals, fmt.Sprintf("(%d)", i*20+j))
		}
		if _, err := tx.Exec("INSERT INTO t VALUES " + strings.Join(vals, ",")); err != nil {
			t.Fatal(err)
		}
	}
	if err := tx.Commit(); err != nil {
		t.Fatal(err)
	}
	got := tk.read(45) // some of the transaction, as if the task died then
	last := got[len(got)-1]
	n := int(field(t, last, "after.id").(float64))
	tk.s.Close()
	tk = open(t, cfg, tk.off)
	rest := tk.read(100 - n)
	if first := field(t, rest[0], "after.id"); first != float64(n+1) {
		t.Fatalf("resumed at %v, want %d", first, n+1)
	}
	tk.quiet()
}

func TestHeartbeatsCarryThePosition(t *testing.T) {
	db := testenv.MariaDB(t)
	db.Exec(t, "CREATE TABLE quiet (id INT PRIMARY KEY)")
	tk := open(t, config(t, db, map[string]string{keySnapshotMode: "no_data", keyHeartbeat: "200"}), offsets{})
	start := tk.s.txPos
	// Changes elsewhere move the binary log; the captured table stays quiet.
	other := testenv.MariaDB(t)
	other.Exec(t, "CREATE TABLE busy (id INT PRIMARY KEY)", "INSERT INTO busy VALUES (1), (2)")
	deadline := time.Now().Add(15 * time.Second)
	for {
		if time.Now().After(deadline) {
			t.Fatal("no heartbeat past the other database's changes")
		}
		recs, err := tk.s.Poll(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		for _, r := range recs {
			if r.Topic != "__debezium-heartbeat.shop" {
				t.Fatalf("unexpected record on %s", r.Topic)
			}
			if pos := r.SourceOffset[offPos].(int64); pos > int64(start) {
				return
			}
		}
	}
}
