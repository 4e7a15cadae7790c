package transforms

import (
	"testing"

	"github.com/sluicehq/sluice/connectors"
	"github.com/sluicehq/sluice/connectors/schema"
)

func TestExtractNewRecordState(t *testing.T) {
	row := schema.NewStructBuilder().Name("inventory.public.products.Value").Field("id", schema.Int32Schema()).
		Field("name", schema.StringSchema()).Optional().Build()
	source := schema.NewStructBuilder().Name("io.debezium.connector.postgresql.Source").Field("ts_ms", schema.Int64Schema()).
		Field("table", schema.StringSchema()).Build()
	env := schema.NewStructBuilder().Name("inventory.public.products.Envelope").Field("before", row).Field("after", row).
		Field("source", source).Field("op", schema.StringSchema()).Field("ts_ms", schema.Int64Schema().AsOptional()).Build()
	rowOf := func(id int32, name string) *schema.StructValue {
		v := schema.NewStruct(row)
		v.Values = []any{id, name}
		return v
	}
	event := func(op string, before, after *schema.StructValue) connectors.Record {
		src := schema.NewStruct(source)
		src.Values = []any{int64(1700000000000), "products"}
		e := schema.NewStruct(env)
		var b, a any
		if before != nil {
			b = before
		}
		if after != nil {
			a = after
		}
		e.Values = []any{b, a, src, op, int64(1700000000001)}
		return connectors.Record{Topic: "inventory.public.products", ValueSchema: env, ValueData: e}
	}
	// The shared Kafka Connect config's settings, plus added fields.
	c := chainOf(t, map[string]string{"transforms": "unwrap", "transforms.unwrap.type": "io.debezium.transforms.ExtractNewRecordState",
		"transforms.unwrap.drop.tombstones": "false", "transforms.unwrap.delete.handling.mode": "rewrite",
		"transforms.unwrap.add.fields": "op,source.ts_ms", "transforms.unwrap.add.headers": "table"})

	r := event("u", rowOf(1, "old"), rowOf(1, "new"))
	if keep, err := c.Apply(&r); err != nil || !keep {
		t.Fatalf("update: %v %v", keep, err)
	}
	v := r.ValueData.(*schema.StructValue)
	if v.Get("name") != "new" || v.Get("__op") != "u" || v.Get("__source_ts_ms") != int64(1700000000000) || v.Get("__deleted") != "false" ||
		r.ValueSchema.Name != "inventory.public.products.Value" || r.ValueSchema.Field("__source_ts_ms").Schema.Type != schema.Int64 {
		t.Fatalf("update unwrapped to %#v (schema %+v)", v.Values, r.ValueSchema.Fields)
	}
	if len(r.Headers) != 0 {
		t.Fatalf("headers %v: table is not an envelope field at the top", r.Headers)
	}

	d := event("d", rowOf(2, "gone"), nil)
	if keep, err := c.Apply(&d); err != nil || !keep {
		t.Fatalf("delete: %v %v", keep, err)
	}
	if v := d.ValueData.(*schema.StructValue); v.Get("id") != int32(2) || v.Get("__deleted") != "true" || v.Get("__op") != "d" {
		t.Fatalf("rewritten delete %#v", v.Values)
	}
	tomb := connectors.Record{Topic: "inventory.public.products"}
	if keep, _ := c.Apply(&tomb); !keep {
		t.Fatal("drop.tombstones=false dropped the tombstone")
	}

	// Defaults: deletes and tombstones dropped, no added fields.
	def := chainOf(t, map[string]string{"transforms": "u", "transforms.u.type": "ExtractNewRecordState"})
	d = event("d", rowOf(2, "gone"), nil)
	if keep, _ := def.Apply(&d); keep {
		t.Fatal("a delete passed with delete.handling.mode=drop")
	}
	tomb = connectors.Record{Topic: "x"}
	if keep, _ := def.Apply(&tomb); keep {
		t.Fatal("a tombstone passed with drop.tombstones=true")
	}
	cr := event("c", nil, rowOf(3, "fresh"))
	if _, err := def.Apply(&cr); err != nil || cr.ValueSchema != row || cr.ValueData.(*schema.StructValue).Get("name") != "fresh" {
		t.Fatalf("create: %v %#v", err, cr.ValueData)
	}
	// Schemaless envelopes (JsonConverter without schemas) and non-events.
	m := connectors.Record{ValueData: map[string]any{"before": nil, "after": map[string]any{"id": float64(4)}, "op": "r",
		"source": map[string]any{"lsn": float64(99)}}}
	lsn := chainOf(t, map[string]string{"transforms": "u", "transforms.u.type": "ExtractNewRecordState", "transforms.u.add.fields": "source.lsn"})
	if _, err := lsn.Apply(&m); err != nil || m.ValueData.(map[string]any)["__source_lsn"] != float64(99) || m.ValueData.(map[string]any)["id"] != float64(4) {
		t.Fatalf("schemaless: %v %#v", err, m.ValueData)
	}
	hb := connectors.Record{ValueData: map[string]any{"ts_ms": float64(1)}}
	if keep, err := def.Apply(&hb); err != nil || !keep || hb.ValueData.(map[string]any)["ts_ms"] != float64(1) {
		t.Fatalf("a heartbeat changed: %v %v %#v", keep, err, hb.ValueData)
	}
}
