package mysqlcdc

import (
	"context"
	"fmt"
	"maps"
	"strings"
	"testing"
	"time"

	"github.com/go-mysql-org/go-mysql/replication"
	"github.com/sluicehq/sluice/connectors"
	"github.com/sluicehq/sluice/connectors/cdc"
	"github.com/sluicehq/sluice/internal/sourcetest"
	"github.com/sluicehq/sluice/internal/testenv"
)

type offsets = sourcetest.Offsets

var field = sourcetest.Field

func open(t *testing.T, cfg connectors.Config, off offsets) *sourcetest.Task[*source] {
	t.Helper()
	return sourcetest.Open(t, &source{}, cfg, off)
}

func config(t *testing.T, db *testenv.Database, extra map[string]string) connectors.Config {
	t.Helper()
	raw := map[string]string{keyHost: db.Host, keyPort: db.Port, keyUser: "sluice", keyPassword: "sluice",
		cdc.KeyTopicPrefix: "shop", keyDBInclude: db.Name, cdc.KeyMaxBatch: "100"}
	maps.Copy(raw, extra)
	p := Plugin()
	if errs := p.Spec.Validate(raw); len(errs) > 0 {
		t.Fatalf("config: %v", errs)
	}
	return connectors.NewConfig(p.FullSpec(), raw)
}

func TestSnapshotThenBinlog(t *testing.T) {
	db := testenv.MariaDB(t)
	db.Exec(t, "CREATE TABLE customers (id INT PRIMARY KEY, name VARCHAR(40) NOT NULL, credit DECIMAL(8,2), born DATE, seen DATETIME(6), kind ENUM('a','b'), big BIGINT UNSIGNED, flag BIT(1))",
		"INSERT INTO customers VALUES (1, 'ada', 12.50, '1815-12-10', '2024-01-02 03:04:05.123456', 'b', 7, b'1'), (2, 'bob', NULL, NULL, NULL, NULL, NULL, NULL)")
	cfg := config(t, db, nil)
	tk := open(t, cfg, offsets{})
	recs := tk.Read(2)
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
	recs = tk.Read(4)
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
	tk.Quiet()
	// Restarted from its offsets, it repeats nothing.
	tk.S.Close()
	db.Exec(t, "INSERT INTO customers (id, name) VALUES (4, 'di')")
	tk = open(t, cfg, tk.Offsets)
	recs = tk.Read(1)
	if field(t, recs[0], "after.id") != float64(4) {
		t.Fatalf("after restart: %v", recs)
	}
	tk.Quiet()
}

func TestRestartInsideATransaction(t *testing.T) {
	db := testenv.MariaDB(t)
	db.Exec(t, "CREATE TABLE t (id INT PRIMARY KEY)")
	cfg := config(t, db, map[string]string{cdc.KeySnapshotMode: "no_data", cdc.KeyMaxBatch: "30"})
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
	got := tk.Read(45) // some of the transaction, as if the task died then
	last := got[len(got)-1]
	n := int(field(t, last, "after.id").(float64))
	tk.S.Close()
	tk = open(t, cfg, tk.Offsets)
	rest := tk.Read(100 - n)
	if first := field(t, rest[0], "after.id"); first != float64(n+1) {
		t.Fatalf("resumed at %v, want %d", first, n+1)
	}
	tk.Quiet()
}

func TestHeartbeatsCarryThePosition(t *testing.T) {
	db := testenv.MariaDB(t)
	db.Exec(t, "CREATE TABLE quiet (id INT PRIMARY KEY)")
	tk := open(t, config(t, db, map[string]string{cdc.KeySnapshotMode: "no_data", cdc.KeyHeartbeat: "200"}), offsets{})
	start := tk.S.txPos
	// Changes elsewhere move the binary log; the captured table stays quiet.
	other := testenv.MariaDB(t)
	other.Exec(t, "CREATE TABLE busy (id INT PRIMARY KEY)", "INSERT INTO busy VALUES (1), (2)")
	deadline := time.Now().Add(15 * time.Second)
	for {
		if time.Now().After(deadline) {
			t.Fatal("no heartbeat past the other database's changes")
		}
		recs, err := tk.S.Poll(context.Background())
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

func TestSchemaChangeMidStreamAndAcrossARestart(t *testing.T) {
	db := testenv.MariaDB(t)
	db.Exec(t, "CREATE TABLE items (id INT PRIMARY KEY, name VARCHAR(20), note VARCHAR(20))")
	cfg := config(t, db, map[string]string{cdc.KeySnapshotMode: "no_data"})
	tk := open(t, cfg, offsets{})
	db.Exec(t, "INSERT INTO items VALUES (1, 'a', 'x')")
	if recs := tk.Read(1); field(t, recs[0], "after.note") != "x" {
		t.Fatalf("%v", recs)
	}
	// A column added while streaming: the next events carry it.
	db.Exec(t, "ALTER TABLE items ADD COLUMN qty INT NOT NULL DEFAULT 7", "INSERT INTO items VALUES (2, 'b', 'y', 3)",
		"UPDATE items SET name = 'a2' WHERE id = 1")
	recs := tk.Read(2)
	if field(t, recs[0], "after.qty") != float64(3) || field(t, recs[1], "after.qty") != float64(7) || field(t, recs[1], "before.name") != "a" {
		t.Fatalf("after ADD COLUMN: %v", recs)
	}
	tk.Quiet()

	// Stopped while rows are written on both sides of two more ALTERs: on
	// restart the live table no longer has the logged shape, and the rows are
	// read by column name (binlog_row_metadata=FULL), none lost.
	tk.S.Close()
	db.Exec(t, "INSERT INTO items VALUES (3, 'c', 'z', 4)",
		"ALTER TABLE items DROP COLUMN note",
		"INSERT INTO items VALUES (4, 'd', 5)",
		"ALTER TABLE items ADD COLUMN price DECIMAL(6,2)",
		"INSERT INTO items VALUES (5, 'e', 6, 1.25)")
	tk = open(t, cfg, tk.Offsets)
	recs = tk.Read(3)
	for i, want := range []struct {
		id, qty float64
		price   any
	}{{3, 4, nil}, {4, 5, nil}, {5, 6, "fQ=="}} { // price 1.25: unscaled 125, two's complement
		if field(t, recs[i], "after.id") != want.id || field(t, recs[i], "after.qty") != want.qty || field(t, recs[i], "after.price") != want.price {
			t.Errorf("event %d: %s", i, recs[i])
		}
		if strings.Contains(recs[i], `"note"`) {
			t.Errorf("event %d still has the dropped column: %s", i, recs[i])
		}
	}
	tk.Quiet()
}

func TestRowsOfAnotherShapeWithoutColumnNamesSayWhy(t *testing.T) {
	tb := &table{db: "shop", name: "items", cols: []column{{name: "id"}, {name: "qty"}}}
	err := tb.mapColumns(&replication.TableMapEvent{ColumnCount: 3})
	if err == nil || !strings.Contains(err.Error(), "binlog_row_metadata=FULL") || !strings.Contains(err.Error(), "shop.items") {
		t.Fatalf("err = %v", err)
	}
	if err := tb.mapColumns(&replication.TableMapEvent{ColumnCount: 3, ColumnName: [][]byte{[]byte("x"), []byte("QTY"), []byte("id")}}); err != nil {
		t.Fatal(err)
	}
	if fmt.Sprint(tb.from) != "[2 1]" {
		t.Fatalf("from = %v", tb.from)
	}
}
