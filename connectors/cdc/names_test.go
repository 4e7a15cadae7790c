package cdc

import (
	"bytes"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/sluicehq/sluice/connectors"
	"github.com/sluicehq/sluice/connectors/cdc/avroname"
	"github.com/sluicehq/sluice/connectors/schema"
)

func options(t *testing.T, raw map[string]string) Options {
	t.Helper()
	spec := connectors.Spec{Fields: CommonFields("Events", "schema", "adaptive")}
	if raw[KeyTopicPrefix] == "" {
		raw[KeyTopicPrefix] = "shop-orders"
	}
	if errs := spec.Validate(raw); len(errs) > 0 {
		t.Fatalf("config: %v", errs)
	}
	o, err := ReadOptions(connectors.NewConfig(spec, raw))
	if err != nil {
		t.Fatal(err)
	}
	return o
}

func TestNameAdjustmentSettings(t *testing.T) {
	spec := connectors.Spec{Fields: CommonFields("Events", "schema", "adaptive")}
	for _, key := range []string{KeySchemaNameAdjustment, KeyFieldNameAdjustment} {
		f, ok := spec.Field(key)
		if !ok || f.Default != "none" || strings.Join(f.Allowed, ",") != "none,avro,avro_unicode" {
			t.Errorf("%s: %+v", key, f)
		}
		errs := spec.Validate(map[string]string{KeyTopicPrefix: "p", key: "avro-unicode"})
		if len(errs) != 1 || errs[0].Field != key || !strings.Contains(errs[0].Reason, "none, avro, avro_unicode") {
			t.Errorf("%s=avro-unicode: %v", key, errs)
		}
		if _, err := ReadNames(connectors.NewConfig(spec, map[string]string{key: "bogus"})); err == nil ||
			!strings.Contains(err.Error(), key) || !strings.Contains(err.Error(), "none, avro, avro_unicode") {
			t.Errorf("%s=bogus: %v", key, err)
		}
	}
	for _, c := range []struct {
		raw           map[string]string
		schema, field avroname.Mode
	}{
		{map[string]string{}, avroname.None, avroname.None},
		{map[string]string{KeySchemaNameAdjustment: " AVRO", KeyFieldNameAdjustment: "Avro_Unicode"}, avroname.Avro, avroname.AvroUnicode},
		// An Avro converter in the connector's config makes field names
		// Avro's under none, as in Debezium; schema names are left alone.
		{map[string]string{connectors.KeyValueConverter: "io.confluent.connect.avro.AvroConverter"}, avroname.None, avroname.Avro},
		{map[string]string{connectors.KeyKeyConverter: "io.apicurio.registry.utils.converter.AvroConverter"}, avroname.None, avroname.Avro},
		{map[string]string{connectors.KeyValueConverter: "avro", KeyFieldNameAdjustment: "none"}, avroname.None, avroname.Avro},
		{map[string]string{connectors.KeyValueConverter: "avro", KeyFieldNameAdjustment: "avro_unicode"}, avroname.None, avroname.AvroUnicode},
		{map[string]string{connectors.KeyValueConverter: "json"}, avroname.None, avroname.None},
	} {
		o := options(t, c.raw)
		if o.Names.SchemaMode != c.schema || o.Names.FieldMode != c.field {
			t.Errorf("%v: schema %s, field %s; want %s, %s", c.raw, o.Names.SchemaMode, o.Names.FieldMode, c.schema, c.field)
		}
	}
}

func TestTableNames(t *testing.T) {
	cols := []Column{
		{Name: "order-id", Schema: &schema.Schema{Type: schema.Int32, Optional: true}},
		{Name: "unit.price", Schema: &schema.Schema{Type: schema.Float64, Optional: true}},
		{Name: "note_text", Schema: &schema.Schema{Type: schema.String, Optional: true}},
	}
	src := SourceSchema("io.debezium.connector.postgresql.Source")
	for _, c := range []struct {
		schemaMode, fieldMode string
		base                  string
		fields                []string
	}{
		{"none", "none", "shop-orders.public.order-items", []string{"order-id", "unit.price", "note_text"}},
		{"avro", "none", "shop_orders.public.order_items", []string{"order-id", "unit.price", "note_text"}},
		{"avro", "avro", "shop_orders.public.order_items", []string{"order_id", "unit_price", "note_text"}},
		{"avro_unicode", "avro_unicode", "shop_u002dorders.public.order_u002ditems",
			[]string{"order_u002did", "unit_u002eprice", "note_u005ftext"}},
	} {
		o := options(t, map[string]string{KeySchemaNameAdjustment: c.schemaMode, KeyFieldNameAdjustment: c.fieldMode})
		tb, err := o.NewTable("public", "order-items", cols, []string{"order-id"}, src)
		if err != nil {
			t.Fatal(err)
		}
		if tb.Topic != "shop-orders.public.order-items" {
			t.Errorf("%s: topic %s; the topic keeps the names", c.schemaMode, tb.Topic)
		}
		if tb.Key.Name != c.base+".Key" || tb.Value.Name != c.base+".Value" || tb.Envelope.Name != c.base+".Envelope" {
			t.Errorf("%s: %s, %s, %s", c.schemaMode, tb.Key.Name, tb.Value.Name, tb.Envelope.Name)
		}
		if c.schemaMode != "none" {
			for _, n := range []string{tb.Key.Name, tb.Value.Name, tb.Envelope.Name} {
				if !avroname.ValidAvroFullname(n) {
					t.Errorf("%s is not a valid Avro full name", n)
				}
			}
		}
		var got []string
		for _, f := range tb.Value.Fields {
			got = append(got, f.Name)
		}
		if strings.Join(got, " ") != strings.Join(c.fields, " ") || tb.Key.Fields[0].Name != c.fields[0] {
			t.Errorf("%s: value fields %v, key field %s; want %v", c.fieldMode, got, tb.Key.Fields[0].Name, c.fields)
		}
		if strings.Join(tb.Columns, " ") != "order-id unit.price note_text" {
			t.Errorf("columns %v", tb.Columns)
		}
		// The envelope's own fields, the source block and the transaction
		// block keep their names, as in Debezium.
		if tb.Envelope.Fields[2].Schema.Name != "io.debezium.connector.postgresql.Source" || tb.Envelope.Fields[3].Schema.Name != "event.block" {
			t.Errorf("source %s, transaction %s", tb.Envelope.Fields[2].Schema.Name, tb.Envelope.Fields[3].Schema.Name)
		}
		// A row still keys and carries its values.
		rec := tb.Record(Create, nil, []any{int32(7), 1.5, "x"}, nil, nil, nil)
		if k := rec.KeyData.(*schema.StructValue); k.Get(c.fields[0]) != int32(7) {
			t.Errorf("key %v", k.Values)
		}
		if after := rec.ValueData.(*schema.StructValue).Get("after").(*schema.StructValue); after.Get(c.fields[1]) != 1.5 {
			t.Errorf("after %v", after.Values)
		}
	}
}

func TestNameConflicts(t *testing.T) {
	// Two columns that would become one field.
	o := options(t, map[string]string{KeyFieldNameAdjustment: "avro"})
	cols := []Column{{Name: "a-b", Schema: schema.Int32Schema()}, {Name: "a_b", Schema: schema.Int32Schema()}}
	_, err := o.NewTable("public", "t", cols, nil, SourceSchema("s"))
	if err == nil || !strings.Contains(err.Error(), `columns "a-b" and "a_b" would both be the field "a_b"`) ||
		!strings.Contains(err.Error(), "field.name.adjustment.mode=avro") || !strings.Contains(err.Error(), "public.t") {
		t.Fatalf("err = %v", err)
	}
	// Under avro_unicode they stay apart.
	o = options(t, map[string]string{KeyFieldNameAdjustment: "avro_unicode"})
	if _, err := o.NewTable("public", "t", cols, nil, SourceSchema("s")); err != nil {
		t.Fatal(err)
	}

	// Two schema names that would become one, as Debezium's
	// shouldReportConflictReplacement; the same name again is no conflict.
	var logs bytes.Buffer
	n := &Names{SchemaMode: avroname.Avro, Log: slog.New(slog.NewTextHandler(&logs, nil))}
	for range 20 {
		if got, err := n.Schema("some-invalid-fullname$"); err != nil || got != "some_invalid_fullname_" {
			t.Fatalf("%q, %v", got, err)
		}
	}
	if c := strings.Count(logs.String(), "level=WARN"); c != 1 {
		t.Errorf("%d warnings for one name replaced 20 times:\n%s", c, logs.String())
	}
	_, err = n.Schema("some-invalid%fullname_")
	if err == nil || !strings.Contains(err.Error(), `"some-invalid-fullname$" and "some-invalid%fullname_" would both become "some_invalid_fullname_"`) {
		t.Fatalf("err = %v", err)
	}
	// Between tables: public.order-items and public.order$items.
	o = options(t, map[string]string{KeySchemaNameAdjustment: "avro"})
	if _, err := o.NewTable("public", "order-items", cols[:1], nil, SourceSchema("s")); err != nil {
		t.Fatal(err)
	}
	if _, err = o.NewTable("public", "order$items", cols[:1], nil, SourceSchema("s")); err == nil ||
		!strings.Contains(err.Error(), "schema.name.adjustment.mode=avro") || !strings.Contains(err.Error(), "public.order$items") {
		t.Fatalf("err = %v", err)
	}
}

func TestHeartbeatSchemaNames(t *testing.T) {
	// Debezium adjusts the heartbeat's schema names too; they are valid
	// under every mode, so they stay Debezium's.
	for _, mode := range avroname.Modes {
		o := options(t, map[string]string{KeySchemaNameAdjustment: mode})
		rec := o.HeartbeatRecord(nil, nil, time.Now())
		if rec.KeySchema.Name != "io.debezium.connector.common.ServerNameKey" || rec.ValueSchema.Name != "io.debezium.connector.common.Heartbeat" ||
			rec.KeyData.(*schema.StructValue).Schema != rec.KeySchema || rec.Topic != "__debezium-heartbeat.shop-orders" {
			t.Errorf("%s: %+v", mode, rec)
		}
	}
}
