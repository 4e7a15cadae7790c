package mysqlcdc

import (
	"fmt"
	"testing"

	"github.com/sluicehq/sluice/connectors/cdc"
	"github.com/sluicehq/sluice/connectors/cdc/cdctest"
	"github.com/sluicehq/sluice/connectors/schema"
	"github.com/sluicehq/sluice/internal/sourcetest"
	"github.com/sluicehq/sluice/internal/testenv"
)

// TestAvroNames: with a hyphen in topic.prefix and in the table's and
// columns' names (Debezium's SchemaNameAdjustmentModeIT uses a table
// name-adjustment), schema.name.adjustment.mode=avro and
// field.name.adjustment.mode=avro give the key, envelope and row schemas
// names that are valid Avro full names, and AvroConverter writes the
// events; the topic keeps the names as they are. avro_unicode escapes the
// hyphens and underscores instead.
func TestAvroNames(t *testing.T) {
	db := testenv.MariaDB(t)
	db.Exec(t, "CREATE TABLE `name-adjustment` (id INT PRIMARY KEY, `unit-price` DECIMAL(8,2), `qty.ordered` INT NOT NULL)",
		"INSERT INTO `name-adjustment` VALUES (1, 2.50, 3)")
	tk := open(t, config(t, db, map[string]string{cdc.KeyTopicPrefix: "shop-orders",
		cdc.KeySchemaNameAdjustment: "avro", cdc.KeyFieldNameAdjustment: "avro"}), offsets{})
	recs := sourcetest.Drain(t, tk.S, 1)
	db.Exec(t, "INSERT INTO `name-adjustment` VALUES (2, NULL, 1)", "UPDATE `name-adjustment` SET `qty.ordered` = 4 WHERE id = 1",
		"DELETE FROM `name-adjustment` WHERE id = 2")
	recs = append(recs, sourcetest.Drain(t, tk.S, 4)...) // c, u, d and its tombstone
	cdctest.CheckAvroNames(t, recs)
	base := "shop_orders." + db.Name + ".name_adjustment"
	r := recs[0]
	if r.Topic != "shop-orders."+db.Name+".name-adjustment" || r.KeySchema.Name != base+".Key" || r.ValueSchema.Name != base+".Envelope" ||
		r.ValueSchema.Field("after").Schema.Name != base+".Value" {
		t.Fatalf("topic %s, key %s, envelope %s", r.Topic, r.KeySchema.Name, r.ValueSchema.Name)
	}
	var fields, ops []string
	for _, f := range r.ValueSchema.Field("after").Schema.Fields {
		fields = append(fields, f.Name)
	}
	for _, r := range recs {
		if r.ValueData != nil {
			ops = append(ops, r.ValueData.(*schema.StructValue).Get("op").(string))
		}
	}
	if fmt.Sprint(fields) != "[id unit_price qty_ordered]" || fmt.Sprint(ops) != "[r c u d]" {
		t.Fatalf("row fields %v, ops %v", fields, ops)
	}
	tk.Quiet()
	tk.S.Close()

	// avro_unicode, from the same database.
	tk = open(t, config(t, db, map[string]string{cdc.KeyTopicPrefix: "shop-orders",
		cdc.KeySchemaNameAdjustment: "avro_unicode", cdc.KeyFieldNameAdjustment: "avro_unicode"}), offsets{})
	recs = sourcetest.Drain(t, tk.S, 1)
	cdctest.CheckAvroNames(t, recs)
	r = recs[0]
	base = "shop_u002dorders." + avroUnicode(db.Name) + ".name_u002dadjustment"
	fields = nil
	for _, f := range r.ValueSchema.Field("after").Schema.Fields {
		fields = append(fields, f.Name)
	}
	if r.KeySchema.Name != base+".Key" || fmt.Sprint(fields) != "[id unit_u002dprice qty_u002eordered]" {
		t.Fatalf("key %s, row fields %v", r.KeySchema.Name, fields)
	}
}

// avroUnicode escapes the underscores of a test database's name.
func avroUnicode(name string) string {
	out := ""
	for _, c := range name {
		if c == '_' {
			out += "_u005f"
		} else {
			out += string(c)
		}
	}
	return out
}
