package pgcdc

import (
	"context"
	"fmt"
	"maps"
	"strings"
	"testing"
	"time"

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
	raw := map[string]string{keyHost: db.Host, keyPort: db.Port, keyUser: "sluice", keyPassword: "sluice", keyDBName: db.Name,
		cdc.KeyTopicPrefix: "inv", keySlot: "s_" + db.Name[len(db.Name)-8:], keyPublication: "p_" + db.Name[len(db.Name)-8:],
		keySSLMode: "disable", cdc.KeyMaxBatch: "100"}
	maps.Copy(raw, extra)
	p := Plugin()
	if errs := p.Spec.Validate(raw); len(errs) > 0 {
		t.Fatalf("config: %v", errs)
	}
	return connectors.NewConfig(p.FullSpec(), raw)
}

func TestSnapshotThenStream(t *testing.T) {
	db := testenv.Postgres(t)
	db.Exec(t, `CREATE TABLE products (id INT PRIMARY KEY, name TEXT NOT NULL, price NUMERIC(8,2), added DATE, seen TIMESTAMP, meta JSONB, tags TEXT[])`,
		`CREATE TABLE other (id INT PRIMARY KEY)`,
		`INSERT INTO products VALUES (1, 'apple', 1.50, '2024-01-02', '2024-01-02 03:04:05.123456', '{"a":1}', '{x,y}'), (2, 'pear', NULL, NULL, NULL, NULL, NULL)`,
		`INSERT INTO other VALUES (1)`)
	cfg := config(t, db, map[string]string{cdc.KeyTableInclude: `public\.prod.*`})
	tk := open(t, cfg, offsets{})
	recs := tk.Read(2)
	if !strings.HasPrefix(recs[0], `inv.public.products {"id":1} `) || field(t, recs[0], "op") != "r" ||
		field(t, recs[0], "source.snapshot") != "first" || field(t, recs[1], "source.snapshot") != "last" {
		t.Fatalf("snapshot: %v", recs)
	}
	for path, want := range map[string]any{"after.name": "apple", "after.price": "AJY=", // 150, scale 2: JsonConverter's decimal.format=BASE64 "after.added": float64(19724),
		"after.seen": float64(1704164645123456), "after.meta": `{"a": 1}`, "after.tags": []any{"x", "y"},
		"source.connector": "postgresql", "source.name": "inv", "source.db": db.Name, "source.schema": "public", "source.table": "products"} {
		if got := field(t, recs[0], path); fmt.Sprint(got) != fmt.Sprint(want) {
			t.Errorf("%s = %v, want %v", path, got, want)
		}
	}
	// Streaming: insert, update, delete (with its tombstone), in order.
	db.Exec(t, `INSERT INTO products (id, name) VALUES (3, 'fig')`, `UPDATE products SET name = 'green apple' WHERE id = 1`,
		`DELETE FROM products WHERE id = 2`, `INSERT INTO other VALUES (2)`)
	recs = tk.Read(4)
	ops := []string{}
	for _, r := range recs {
		op, _ := field(t, r, "op").(string)
		ops = append(ops, op)
	}
	if fmt.Sprint(ops) != "[c u d ]" || field(t, recs[1], "after.name") != "green apple" || field(t, recs[2], "before.id") != float64(2) ||
		!strings.HasSuffix(recs[3], `{"id":2} `) {
		t.Fatalf("stream: %v", recs)
	}
	if lsn := field(t, recs[0], "source.lsn"); lsn == nil || field(t, recs[0], "source.txId") == nil {
		t.Fatalf("source block: %v", recs[0])
	}
	tk.Quiet()
	// The slot moved past what Kafka has.
	var flushed string
	testenv.WaitFor(t, 15*time.Second, "the slot to move", func() bool {
		_ = db.DB.QueryRow(`SELECT confirmed_flush_lsn::text FROM pg_replication_slots WHERE slot_name = $1`, cfg.String(keySlot)).Scan(&flushed)
		return lsnOf(flushed) >= lsnOf(tk.Offsets[fmt.Sprint(tk.S.partition)][offLSNCommit])
	})
	// A restart from the offsets repeats nothing and misses nothing.
	tk.S.Close()
	db.Exec(t, `INSERT INTO products (id, name) VALUES (4, 'kiwi')`)
	tk = open(t, cfg, tk.Offsets)
	recs = tk.Read(1)
	if field(t, recs[0], "after.id") != float64(4) || field(t, recs[0], "op") != "c" {
		t.Fatalf("after restart: %v", recs)
	}
	tk.Quiet()
}

func TestRestartMidTransactionRepeatsNothingKafkaHas(t *testing.T) {
	db := testenv.Postgres(t)
	db.Exec(t, `CREATE TABLE t (id INT PRIMARY KEY)`)
	cfg := config(t, db, map[string]string{cdc.KeySnapshotMode: "no_data"})
	tk := open(t, cfg, offsets{})
	db.Exec(t, `INSERT INTO t SELECT generate_series(1, 250)`)
	// Read part of the transaction, as if the task died with the rest in
	// flight: only what was committed counts.
	recs, err := tk.S.Poll(context.Background())
	for err == nil && len(recs) == 0 {
		recs, err = tk.S.Poll(context.Background())
	}
	if err != nil {
		t.Fatal(err)
	}
	off := recs[len(recs)-1].SourceOffset
	got := len(recs)
	tk.S.Close()
	tk = open(t, cfg, offsets{fmt.Sprint(map[string]any{"server": "inv"}): off})
	rest := tk.Read(250 - got)
	if first := field(t, rest[0], "after.id"); first != float64(got+1) {
		t.Fatalf("resumed at id %v, want %d", first, got+1)
	}
	tk.Quiet()
}

func TestTypesAndKeylessTables(t *testing.T) {
	db := testenv.Postgres(t)
	db.Exec(t, `CREATE TABLE log (msg TEXT, n NUMERIC, at TIMESTAMPTZ, u UUID)`)
	tk := open(t, config(t, db, map[string]string{cdc.KeySnapshotMode: "never"}), offsets{})
	db.Exec(t, `INSERT INTO log VALUES ('hi', 3.25, '2024-01-02 03:04:05+02', 'a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11')`)
	recs := tk.Read(1)
	if !strings.HasPrefix(recs[0], "inv.public.log  ") || field(t, recs[0], "after.at") != "2024-01-02T01:04:05Z" ||
		field(t, recs[0], "after.u") != "a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11" {
		t.Fatalf("%v", recs)
	}
	n, _ := field(t, recs[0], "after.n").(map[string]any)
	if n["scale"] != float64(2) {
		t.Fatalf("variable scale decimal: %v", n)
	}
}

func TestConfigErrorsSayWhy(t *testing.T) {
	db := testenv.Postgres(t)
	cfg := config(t, db, map[string]string{keyPubAutocreate: "disabled"})
	err := (&source{}).Open(context.Background(), connectors.SourceContext{TaskInfo: connectors.TaskInfo{Config: cfg}, Offsets: offsets{}})
	if err == nil || !strings.Contains(err.Error(), "publication.autocreate.mode=disabled") {
		t.Fatalf("err = %v", err)
	}
	errs := Plugin().Spec.Validate(map[string]string{keyHost: "h", keyUser: "u", keyDBName: "d", cdc.KeyTopicPrefix: "p", keyPlugin: "decoderbufs"})
	if len(errs) != 1 || errs[0].Field != keyPlugin {
		t.Fatalf("errs = %v", errs)
	}
}

func TestSchemaChangeAndLargeTransaction(t *testing.T) {
	db := testenv.Postgres(t)
	db.Exec(t, `CREATE TABLE items (id INT PRIMARY KEY, name TEXT)`)
	tk := open(t, config(t, db, map[string]string{cdc.KeySnapshotMode: "no_data"}), offsets{})
	db.Exec(t, `INSERT INTO items VALUES (1, 'a')`)
	if recs := tk.Read(1); field(t, recs[0], "after.name") != "a" {
		t.Fatalf("%v", recs)
	}
	// A column added mid-stream: the next events carry it.
	db.Exec(t, `ALTER TABLE items ADD COLUMN qty INT NOT NULL DEFAULT 7`, `INSERT INTO items VALUES (2, 'b', 3)`,
		`UPDATE items SET name = 'a2' WHERE id = 1`)
	recs := tk.Read(2)
	if field(t, recs[0], "after.qty") != float64(3) || field(t, recs[1], "after.qty") != float64(7) || field(t, recs[1], "after.name") != "a2" {
		t.Fatalf("after ALTER: %v", recs)
	}
	// One transaction of 25,000 rows, many batches: all of it, in order.
	db.Exec(t, `INSERT INTO items SELECT i, 'x', i FROM generate_series(3, 25002) i`)
	recs = tk.Read(25000)
	for i, r := range recs {
		if id := field(t, r, "after.id"); id != float64(i+3) {
			t.Fatalf("event %d has id %v", i, id)
		}
	}
	tk.Quiet()
}
