package pgcdc

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
	"github.com/sluicehq/sluice/connectors/schema"
	"github.com/sluicehq/sluice/internal/testenv"
)

type offsets map[string]map[string]any

func (o offsets) Offset(p map[string]any) map[string]any { return o[fmt.Sprint(p)] }

func config(t *testing.T, db *testenv.Database, extra map[string]string) connectors.Config {
	t.Helper()
	raw := map[string]string{keyHost: db.Host, keyPort: db.Port, keyUser: "sluice", keyPassword: "sluice", keyDBName: db.Name,
		keyTopicPrefix: "inv", keySlot: "s_" + db.Name[len(db.Name)-8:], keyPublication: "p_" + db.Name[len(db.Name)-8:],
		keySSLMode: "disable", keyMaxBatch: "100"}
	maps.Copy(raw, extra)
	p := Plugin()
	if errs := p.Spec.Validate(raw); len(errs) > 0 {
		t.Fatalf("config: %v", errs)
	}
	return connectors.NewConfig(p.FullSpec(), raw)
}

// task is a running source, its offsets committed as the runtime would.
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

// read polls until n records came, committing each batch, and returns them
// as JSON (key, value) with JsonConverter's schemas.enable=false.
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
		var last map[string]any
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
			last = r.SourceOffset
		}
		if last != nil {
			tk.off[fmt.Sprint(tk.s.partition)] = last
			_ = tk.s.Commit(context.Background(), []connectors.Offset{{Partition: tk.s.partition, Offset: last}})
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

// field reads a JSON path like after.qty of a record line.
func field(t *testing.T, line, path string) any {
	t.Helper()
	parts := strings.SplitN(line, " ", 3)
	var v any
	if parts[2] == "" {
		return nil // a tombstone
	}
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

func TestSnapshotThenStream(t *testing.T) {
	db := testenv.Postgres(t)
	db.Exec(t, `CREATE TABLE products (id INT PRIMARY KEY, name TEXT NOT NULL, price NUMERIC(8,2), added DATE, seen TIMESTAMP, meta JSONB, tags TEXT[])`,
		`CREATE TABLE other (id INT PRIMARY KEY)`,
		`INSERT INTO products VALUES (1, 'apple', 1.50, '2024-01-02', '2024-01-02 03:04:05.123456', '{"a":1}', '{x,y}'), (2, 'pear', NULL, NULL, NULL, NULL, NULL)`,
		`INSERT INTO other VALUES (1)`)
	cfg := config(t, db, map[string]string{keyTableInclude: `public\.prod.*`})
	tk := open(t, cfg, offsets{})
	recs := tk.read(2)
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
	recs = tk.read(4)
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
	tk.quiet()
	// The slot moved past what Kafka has.
	var flushed string
	testenv.WaitFor(t, 15*time.Second, "the slot to move", func() bool {
		_ = db.DB.QueryRow(`SELECT confirmed_flush_lsn::text FROM pg_replication_slots WHERE slot_name = $1`, cfg.String(keySlot)).Scan(&flushed)
		return lsnOf(flushed) >= lsnOf(tk.off[fmt.Sprint(tk.s.partition)][offLSNCommit])
	})
	// A restart from the offsets repeats nothing and misses nothing.
	tk.s.Close()
	db.Exec(t, `INSERT INTO products (id, name) VALUES (4, 'kiwi')`)
	tk = open(t, cfg, tk.off)
	recs = tk.read(1)
	if field(t, recs[0], "after.id") != float64(4) || field(t, recs[0], "op") != "c" {
		t.Fatalf("after restart: %v", recs)
	}
	tk.quiet()
}

func TestRestartMidTransactionRepeatsNothingKafkaHas(t *testing.T) {
	db := testenv.Postgres(t)
	db.Exec(t, `CREATE TABLE t (id INT PRIMARY KEY)`)
	cfg := config(t, db, map[string]string{keySnapshotMode: "no_data"})
	tk := open(t, cfg, offsets{})
	db.Exec(t, `INSERT INTO t SELECT generate_series(1, 250)`)
	// Read part of the transaction, as if the task died with the rest in
	// flight: only what was committed counts.
	recs, err := tk.s.Poll(context.Background())
	for err == nil && len(recs) == 0 {
		recs, err = tk.s.Poll(context.Background())
	}
	if err != nil {
		t.Fatal(err)
	}
	off := recs[len(recs)-1].SourceOffset
	got := len(recs)
	tk.s.Close()
	tk = open(t, cfg, offsets{fmt.Sprint(map[string]any{"server": "inv"}): off})
	rest := tk.read(250 - got)
	if first := field(t, rest[0], "after.id"); first != float64(got+1) {
		t.Fatalf("resumed at id %v, want %d", first, got+1)
	}
	tk.quiet()
}

func TestTypesAndKeylessTables(t *testing.T) {
	db := testenv.Postgres(t)
	db.Exec(t, `CREATE TABLE log (msg TEXT, n NUMERIC, at TIMESTAMPTZ, u UUID)`)
	tk := open(t, config(t, db, map[string]string{keySnapshotMode: "never"}), offsets{})
	db.Exec(t, `INSERT INTO log VALUES ('hi', 3.25, '2024-01-02 03:04:05+02', 'a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11')`)
	recs := tk.read(1)
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
	errs := Plugin().Spec.Validate(map[string]string{keyHost: "h", keyUser: "u", keyDBName: "d", keyTopicPrefix: "p", keyPlugin: "decoderbufs"})
	if len(errs) != 1 || errs[0].Field != keyPlugin {
		t.Fatalf("errs = %v", errs)
	}
	_ = schema.Int32
}

func TestSchemaChangeAndLargeTransaction(t *testing.T) {
	db := testenv.Postgres(t)
	db.Exec(t, `CREATE TABLE items (id INT PRIMARY KEY, name TEXT)`)
	tk := open(t, config(t, db, map[string]string{keySnapshotMode: "no_data"}), offsets{})
	db.Exec(t, `INSERT INTO items VALUES (1, 'a')`)
	if recs := tk.read(1); field(t, recs[0], "after.name") != "a" {
		t.Fatalf("%v", recs)
	}
	// A column added mid-stream: the next events carry it.
	db.Exec(t, `ALTER TABLE items ADD COLUMN qty INT NOT NULL DEFAULT 7`, `INSERT INTO items VALUES (2, 'b', 3)`,
		`UPDATE items SET name = 'a2' WHERE id = 1`)
	recs := tk.read(2)
	if field(t, recs[0], "after.qty") != float64(3) || field(t, recs[1], "after.qty") != float64(7) || field(t, recs[1], "after.name") != "a2" {
		t.Fatalf("after ALTER: %v", recs)
	}
	// One transaction of 25,000 rows, many batches: all of it, in order.
	db.Exec(t, `INSERT INTO items SELECT i, 'x', i FROM generate_series(3, 25002) i`)
	recs = tk.read(25000)
	for i, r := range recs {
		if id := field(t, r, "after.id"); id != float64(i+3) {
			t.Fatalf("event %d has id %v", i, id)
		}
	}
	tk.quiet()
}
