package jdbc

import (
	"context"
	"fmt"
	"maps"
	"math/big"
	"strings"
	"testing"
	"time"

	"github.com/sluicehq/sluice/connectors"
	"github.com/sluicehq/sluice/connectors/converter"
	"github.com/sluicehq/sluice/connectors/schema"
	"github.com/sluicehq/sluice/internal/sourcetest"
	"github.com/sluicehq/sluice/internal/testenv"
)

func openSink(t *testing.T, db *testenv.Database, extra map[string]string) *sink {
	t.Helper()
	raw := map[string]string{keyURL: db.JDBC, keyUser: "sluice", keyPassword: "sluice", keyRetryBackoff: "10"}
	maps.Copy(raw, extra)
	p := SinkPlugin()
	if errs := p.Spec.Validate(raw); len(errs) > 0 {
		t.Fatalf("config: %v", errs)
	}
	cfg := connectors.NewConfig(p.FullSpec(), raw)
	if errs := p.Check(cfg); len(errs) > 0 {
		t.Fatalf("config: %v", errs)
	}
	s := &sink{}
	if err := s.Open(context.Background(), connectors.SinkContext{TaskInfo: connectors.TaskInfo{Config: cfg}}); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

var orderSchema = &schema.Schema{Type: schema.Struct, Name: "orders", Fields: []schema.Field{
	{Name: "id", Index: 0, Schema: schema.Int32Schema()},
	{Name: "item", Index: 1, Schema: &schema.Schema{Type: schema.String, Optional: true}},
	{Name: "price", Index: 2, Schema: &schema.Schema{Type: schema.Bytes, Name: schema.DecimalName, Version: 1,
		Parameters: map[string]string{"scale": "2"}, Optional: true}},
	{Name: "at", Index: 3, Schema: &schema.Schema{Type: schema.Int64, Name: schema.TimestampName, Version: 1, Optional: true}},
}}

func order(id int32, item string, cents int64) *schema.StructValue {
	v := schema.NewStruct(orderSchema)
	v.Values = []any{id, item, schema.Decimal{Unscaled: big.NewInt(cents), Scale: 2}, time.Date(2024, 5, 6, 7, 8, 9, 123e6, time.UTC)}
	return v
}

// keyed is a record with a primitive key and an order (nil: a tombstone).
func keyed(topic string, offset int64, id int32, v *schema.StructValue) connectors.Record {
	r := connectors.Record{Topic: topic, Partition: 0, Offset: offset, KeySchema: schema.Int32Schema(), KeyData: id}
	if v != nil {
		r.ValueSchema, r.ValueData = orderSchema, v
	}
	return r
}

func put(t *testing.T, s *sink, recs ...connectors.Record) {
	t.Helper()
	if err := s.Put(context.Background(), recs); err != nil {
		t.Fatal(err)
	}
	if err := s.Flush(context.Background()); err != nil {
		t.Fatal(err)
	}
}

func rows(t *testing.T, db *testenv.Database, q string) []string {
	t.Helper()
	out, err := db.Rows(q)
	if err != nil {
		t.Fatal(err)
	}
	return out
}

func TestSinkUpsertsAndDeletesByKey(t *testing.T) {
	for name, newDB := range databases(t) {
		t.Run(name, func(t *testing.T) {
			db := newDB(t)
			s := openSink(t, db, map[string]string{keyInsertMode: insertUpsert, keyPKMode: pkRecordKey, keyPKFields: "id",
				keyDeleteEnabled: "true", keyAutoCreate: "true", keyTableFormat: "orders_copy", keyBatchSize: "2"})
			put(t, s, keyed("o", 0, 1, order(1, "apple", 150)), keyed("o", 1, 2, order(2, "pear", 99)),
				keyed("o", 2, 1, order(1, "apple", 175)),                    // the same key twice in one batch
				keyed("o", 3, 3, order(3, "fig", 1)), keyed("o", 4, 3, nil)) // and a delete after an insert
			want := []string{"1|apple|1.75|2024-05-06T07:08:09.123", "2|pear|0.99|2024-05-06T07:08:09.123"}
			if got := rows(t, db, "SELECT id, item, price, at FROM orders_copy ORDER BY id"); fmt.Sprint(got) != fmt.Sprint(want) {
				t.Fatalf("rows %v, want %v", got, want)
			}
			// Redelivery changes nothing.
			put(t, s, keyed("o", 0, 1, order(1, "apple", 175)), keyed("o", 1, 2, order(2, "pear", 99)))
			if got := rows(t, db, "SELECT id, item, price, at FROM orders_copy ORDER BY id"); fmt.Sprint(got) != fmt.Sprint(want) {
				t.Fatalf("after redelivery %v", got)
			}
			// A tombstone for a key that is gone, or a table that is not
			// there, is harmless.
			put(t, s, keyed("o", 9, 7, nil))
		})
	}
}

func TestSinkEvolvesTheTable(t *testing.T) {
	for name, newDB := range databases(t) {
		t.Run(name, func(t *testing.T) {
			db := newDB(t)
			db.Exec(t, "CREATE TABLE orders (id INT NOT NULL PRIMARY KEY, item VARCHAR(20))")
			narrow := &schema.Schema{Type: schema.Struct, Fields: []schema.Field{
				{Name: "id", Index: 0, Schema: schema.Int32Schema()}, {Name: "item", Index: 1, Schema: schema.StringSchema()}}}
			wide := &schema.Schema{Type: schema.Struct, Fields: append(append([]schema.Field(nil), narrow.Fields...),
				schema.Field{Name: "qty", Index: 2, Schema: &schema.Schema{Type: schema.Int64, Optional: true}})}
			rec := func(off int64, sc *schema.Schema, vals ...any) connectors.Record {
				v := schema.NewStruct(sc)
				v.Values = vals
				return connectors.Record{Topic: "orders", Offset: off, ValueSchema: sc, ValueData: v}
			}
			// Without auto.evolve a new field is refused, naming it.
			s := openSink(t, db, map[string]string{keyInsertMode: insertUpsert, keyPKMode: pkRecordValue, keyPKFields: "id"})
			_ = s.Put(context.Background(), []connectors.Record{rec(0, wide, int32(1), "a", int64(5))})
			if err := s.Flush(context.Background()); err == nil || !strings.Contains(err.Error(), "no column qty") {
				t.Fatalf("flush without auto.evolve: %v", err)
			}
			s = openSink(t, db, map[string]string{keyInsertMode: insertUpsert, keyPKMode: pkRecordValue, keyPKFields: "id", keyAutoEvolve: "true"})
			put(t, s, rec(0, narrow, int32(1), "a"), rec(1, wide, int32(2), "b", int64(5)))
			if got := rows(t, db, "SELECT id, item, qty FROM orders ORDER BY id"); fmt.Sprint(got) != "[1|a|<nil> 2|b|5]" {
				t.Fatalf("rows %v", got)
			}
		})
	}
}

func TestSinkKafkaKeysAndSchemalessValues(t *testing.T) {
	db := testenv.Postgres(t)
	s := openSink(t, db, map[string]string{keyPKMode: pkKafka, keyAutoCreate: "true", keyInsertMode: insertUpsert})
	put(t, s, connectors.Record{Topic: "events", Partition: 2, Offset: 7, ValueData: map[string]any{"kind": "click", "n": int64(3), "meta": map[string]any{"a": true}}})
	got := rows(t, db, `SELECT __connect_topic, __connect_partition, __connect_offset, kind, n, meta FROM events`)
	if fmt.Sprint(got) != `[events|2|7|click|3|{"a": true}]` {
		t.Fatalf("rows %v", got)
	}
	// A value that is no struct says what to do.
	err := s.Put(context.Background(), []connectors.Record{{Topic: "events", ValueData: "text"}})
	if err == nil || !strings.Contains(err.Error(), "schemas.enable=true") {
		t.Fatalf("err = %v", err)
	}
}

func TestSinkInsertAndUpdateModes(t *testing.T) {
	db := testenv.MariaDB(t)
	db.Exec(t, "CREATE TABLE orders (id INT NOT NULL PRIMARY KEY, item TEXT, price DECIMAL(10,2), at DATETIME(3))")
	ins := openSink(t, db, map[string]string{keyTableFormat: "orders"})
	put(t, ins, keyed("o", 0, 1, order(1, "a", 100)), keyed("o", 1, 2, order(2, "b", 200)))
	// insert mode refuses a duplicate: the error is not retried for ever.
	err := ins.Put(context.Background(), []connectors.Record{keyed("o", 0, 1, order(1, "a", 100))})
	if err == nil {
		err = ins.Flush(context.Background())
	}
	if err == nil || !strings.Contains(strings.ToLower(err.Error()), "duplicate") {
		t.Fatalf("duplicate insert: %v", err)
	}
	upd := openSink(t, db, map[string]string{keyTableFormat: "orders", keyInsertMode: insertUpdate, keyPKMode: pkRecordValue, keyPKFields: "id"})
	put(t, upd, keyed("o", 5, 2, order(2, "b2", 250)), keyed("o", 6, 3, order(3, "c", 300)))
	if got := rows(t, db, "SELECT id, item, price FROM orders ORDER BY id"); fmt.Sprint(got) != "[1|a|1.00 2|b2|2.50]" {
		t.Fatalf("rows %v", got)
	}
}

func TestSinkMissingTableSaysHow(t *testing.T) {
	db := testenv.Postgres(t)
	s := openSink(t, db, map[string]string{keyTableFormat: "nowhere"})
	_ = s.Put(context.Background(), []connectors.Record{keyed("o", 0, 1, order(1, "a", 1))})
	if err := s.Flush(context.Background()); err == nil || !strings.Contains(err.Error(), "auto.create=true") {
		t.Fatalf("err = %v", err)
	}
}

// TestTypesRoundTrip carries rows of every common type from PostgreSQL
// through jdbc-source, JsonConverter's bytes (as Kafka would hold them) and
// jdbc-sink into MariaDB, and reads them back equal.
func TestTypesRoundTrip(t *testing.T) {
	pg, maria := testenv.Postgres(t), testenv.MariaDB(t)
	pg.Exec(t, `CREATE TABLE t (id INT PRIMARY KEY, s SMALLINT, b BIGINT, r REAL, d DOUBLE PRECISION, n NUMERIC(10,3), ok BOOLEAN,
		txt TEXT, bin BYTEA, day DATE, tod TIME(3), ts TIMESTAMP(3))`,
		`INSERT INTO t VALUES (1, -2, 9000000000, 1.5, 2.25, -12.345, true, 'héllo ✓', '\x00ff', '2024-02-29', '23:59:58.5', '2024-02-29 01:02:03.456'),
			(2, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL)`)
	src := openSource(t, sourceConfig(t, pg, map[string]string{keyMode: modeIncrementing, keyIncColumn: "id", keyTableWhitelist: "t"}), offsets{})
	recs := sourcetest.Drain(t, src, 2)
	conv, err := converter.New(converter.JSONClass, map[string]string{"schemas.enable": "true"}, false)
	if err != nil {
		t.Fatal(err)
	}
	for i := range recs {
		b, err := conv.FromConnect("t", recs[i].ValueSchema, recs[i].ValueData)
		if err != nil {
			t.Fatal(err)
		}
		if recs[i].ValueSchema, recs[i].ValueData, err = conv.ToConnect("t", b); err != nil {
			t.Fatal(err)
		}
	}
	sink := openSink(t, maria, map[string]string{keyPKMode: pkRecordValue, keyPKFields: "id", keyAutoCreate: "true",
		keyInsertMode: insertUpsert, keyTableFormat: "t"})
	put(t, sink, recs...)
	const q = "SELECT id, s, b, r, d, n, ok, txt, bin, day, tod, ts FROM t ORDER BY id"
	got := rows(t, maria, q)
	want := []string{"1|-2|9000000000|1.5|2.25|-12.345|1|héllo ✓|\x00\xff|2024-02-29T00:00:00.000|23:59:58.500|2024-02-29T01:02:03.456",
		"2|<nil>|<nil>|<nil>|<nil>|<nil>|<nil>|<nil>|<nil>|<nil>|<nil>|<nil>"}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Fatalf("MariaDB has\n%q\nwant\n%q", got, want)
	}
}
