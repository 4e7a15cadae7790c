package pgcdc

import (
	"fmt"
	"testing"

	"github.com/sluicehq/sluice/connectors/cdc"
	"github.com/sluicehq/sluice/connectors/cdc/cdctest"
	"github.com/sluicehq/sluice/connectors/converter"
	"github.com/sluicehq/sluice/connectors/schema"
	"github.com/sluicehq/sluice/internal/sourcetest"
	"github.com/sluicehq/sluice/internal/testenv"
)

// TestAvroNames: with a hyphen in topic.prefix and in the table's and
// columns' names, schema.name.adjustment.mode=avro and
// field.name.adjustment.mode=avro give the key, envelope and row schemas
// names that are valid Avro full names, and AvroConverter writes the
// events; the topic keeps the names as they are. Without the settings
// (Debezium's default, none) the names keep the hyphen and AvroConverter
// refuses them.
func TestAvroNames(t *testing.T) {
	const table = `CREATE TABLE "order-items" (id INT PRIMARY KEY, "unit-price" NUMERIC(8,2), "qty.ordered" INT NOT NULL)`
	db := testenv.Postgres(t)
	db.Exec(t, table, `INSERT INTO "order-items" VALUES (1, 2.50, 3)`)
	tk := open(t, config(t, db, map[string]string{cdc.KeyTopicPrefix: "shop-orders",
		cdc.KeySchemaNameAdjustment: "avro", cdc.KeyFieldNameAdjustment: "avro"}), offsets{})
	recs := sourcetest.Drain(t, tk.S, 1)
	db.Exec(t, `INSERT INTO "order-items" VALUES (2, NULL, 1)`, `UPDATE "order-items" SET "qty.ordered" = 4 WHERE id = 1`,
		`DELETE FROM "order-items" WHERE id = 2`)
	recs = append(recs, sourcetest.Drain(t, tk.S, 4)...) // c, u, d and its tombstone
	cdctest.CheckAvroNames(t, recs)
	r := recs[0]
	const base = "shop_orders.public.order_items"
	if r.Topic != "shop-orders.public.order-items" || r.KeySchema.Name != base+".Key" || r.ValueSchema.Name != base+".Envelope" ||
		r.ValueSchema.Field("after").Schema.Name != base+".Value" {
		t.Fatalf("topic %s, key %s, envelope %s", r.Topic, r.KeySchema.Name, r.ValueSchema.Name)
	}
	var fields []string
	for _, f := range r.ValueSchema.Field("after").Schema.Fields {
		fields = append(fields, f.Name)
	}
	if fmt.Sprint(fields) != "[id unit_price qty_ordered]" {
		t.Fatalf("row fields %v", fields)
	}
	var ops []string
	for _, r := range recs {
		if r.ValueData != nil {
			ops = append(ops, r.ValueData.(*schema.StructValue).Get("op").(string))
		}
	}
	if fmt.Sprint(ops) != "[r c u d]" {
		t.Fatalf("ops %v", ops)
	}
	tk.Quiet()

	// Debezium's default: the names as they are, which Avro refuses.
	db = testenv.Postgres(t)
	db.Exec(t, table, `INSERT INTO "order-items" VALUES (1, 2.50, 3)`)
	tk = open(t, config(t, db, map[string]string{cdc.KeyTopicPrefix: "shop-orders"}), offsets{})
	r = sourcetest.Drain(t, tk.S, 1)[0]
	if r.KeySchema.Name != "shop-orders.public.order-items.Key" || r.ValueSchema.Field("after").Schema.Fields[1].Name != "unit-price" {
		t.Fatalf("key %s, row %v", r.KeySchema.Name, r.ValueSchema.Field("after").Schema.Fields)
	}
	conv, err := converter.New(converter.AvroClass, map[string]string{"schema.registry.url": testenv.Registry(t)}, true)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := conv.FromConnect(r.Topic, r.KeySchema, r.KeyData); err == nil {
		t.Fatalf("AvroConverter took the key schema %s", r.KeySchema.Name)
	}
}
