package converter

import (
	"bytes"
	"encoding/json"
	"math/big"
	"reflect"
	"strings"
	"testing"

	"github.com/twmb/franz-go/pkg/sr"

	"github.com/sluicehq/sluice/connectors/converter/schemaregistry"
	"github.com/sluicehq/sluice/connectors/schema"
)

func TestJSONSchemaMapping(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		s    *schema.Schema
		want string
	}{
		{"int32", schema.Int32Schema(), `{"type":"integer","connect.type":"int32"}`},
		{"float", schema.Float32Schema(), `{"type":"number","connect.type":"float32"}`},
		{"bytes", schema.BytesSchema(), `{"type":"string","connect.type":"bytes"}`},
		{"optional string", schema.OptionalStringSchema(), `{"oneOf":[{"type":"null"},{"type":"string"}]}`},
		{"decimal", schema.DecimalSchema(2), `{"type":"string","connect.type":"bytes","title":"org.apache.kafka.connect.data.Decimal","connect.version":1,"connect.parameters":{"scale":"2"}}`},
		{"timestamp", schema.TimestampSchema(), `{"type":"integer","connect.type":"int64","title":"org.apache.kafka.connect.data.Timestamp","connect.version":1}`},
		{"map", schema.MapSchema(schema.StringSchema(), schema.BooleanSchema()), `{"type":"object","connect.type":"map","additionalProperties":{"type":"boolean"}}`},
		{"map int keys", schema.MapSchema(schema.Int32Schema(), schema.StringSchema()),
			`{"type":"array","connect.type":"map","items":{"type":"object","properties":{"key":{"type":"integer","connect.type":"int32"},"value":{"type":"string"}}}}`},
		{"struct", schema.NewStructBuilder().Name("User").Field("id", schema.Int64Schema()).Field("email", schema.OptionalStringSchema()).Build(),
			`{"type":"object","title":"User","properties":{"id":{"type":"integer","connect.type":"int64","connect.index":0},"email":{"oneOf":[{"type":"null"},{"type":"string"}],"connect.index":1}}}`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			j, err := connectToJSONSchema(tt.s, jsonSchemaStyle{})
			if err != nil {
				t.Fatal(err)
			}
			b, _ := json.Marshal(j)
			jsonEqual(t, string(b), tt.want)
			doc, err := decodeOrdered(b)
			if err != nil {
				t.Fatal(err)
			}
			back, err := jsonSchemaToConnect(doc, false, false)
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(back, tt.s) {
				t.Errorf("back to Connect:\n got  %+v\n want %+v", back, tt.s)
			}
		})
	}
}

func TestJSONSchemaRoundTrip(t *testing.T) {
	t.Parallel()
	_, url := fakeRegistry(t)
	s, v := allTypes()
	c, err := New(JSONSchemaClass, map[string]string{"schema.registry.url": url}, false)
	if err != nil {
		t.Fatal(err)
	}
	b, err := c.FromConnect("orders", s, v)
	if err != nil {
		t.Fatal(err)
	}
	r, _ := New("jsonschema", map[string]string{"schema.registry.url": url}, false)
	gs, got, err := r.ToConnect("orders", b)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(gs, s) {
		t.Errorf("schema:\n got  %+v\n want %+v", gs, s)
	}
	gv := got.(*schema.StructValue)
	for i, f := range s.Fields {
		want, have := v.Values[i], gv.Values[i]
		switch w := want.(type) {
		case *schema.StructValue:
			want, have = w.Values, have.(*schema.StructValue).Values
		case []any:
			if f.Name == "past" {
				want, have = w[0].(*schema.StructValue).Values, have.([]any)[1].(*schema.StructValue).Values
			}
		}
		if !reflect.DeepEqual(have, want) {
			t.Errorf("field %s: got %#v, want %#v", f.Name, have, want)
		}
	}
}

func TestJSONSchemaWireAndForeignSchemas(t *testing.T) {
	t.Parallel()
	reg, url := fakeRegistry(t)
	c, _ := New(JSONSchemaClass, map[string]string{"schema.registry.url": url}, false)
	s := schema.NewStructBuilder().Name("User").Field("id", schema.Int32Schema()).Field("name", schema.OptionalStringSchema()).Build()
	v := schema.NewStruct(s)
	_ = v.Put("id", int32(7))
	b, err := c.FromConnect("users", s, v)
	if err != nil {
		t.Fatal(err)
	}
	if want := append([]byte{0, 0, 0, 0, 1}, `{"id":7,"name":null}`...); !bytes.Equal(b, want) {
		t.Errorf("got %q, want %q", b, want)
	}
	if !reg.SubjectExists("users-value") {
		t.Error("subject users-value was not registered")
	}
	// A JSON Schema written by hand, without Connect's hints.
	foreign := `{"type":"object","title":"Event","properties":{"kind":{"type":"string"},"n":{"type":"integer"},"tags":{"type":"array","items":{"type":"string"}}},"required":["kind"]}`
	id, _, err := reg.RegisterSchema("events-value", sr.Schema{Schema: foreign, Type: sr.TypeJSON})
	if err != nil {
		t.Fatal(err)
	}
	msg := append(schemaregistry.AppendHeader(nil, int32(id)), `{"kind":"click","n":3,"tags":["a"]}`...)
	gs, gv, err := c.ToConnect("events", msg)
	if err != nil {
		t.Fatal(err)
	}
	ev := gv.(*schema.StructValue)
	if gs.Name != "Event" || gs.Fields[0].Name != "kind" || gs.Fields[0].Schema.Optional || gs.Fields[1].Schema.Optional ||
		ev.Get("kind") != "click" || ev.Get("n") != int64(3) || !reflect.DeepEqual(ev.Get("tags"), []any{"a"}) {
		t.Errorf("read %+v %+v", gs, ev.Values)
	}
	// With use.optional.for.nonrequired, properties not required are optional.
	opt, _ := New(JSONSchemaClass, map[string]string{"schema.registry.url": url, "use.optional.for.nonrequired": "true"}, false)
	if gs, _, err := opt.ToConnect("events", msg); err != nil || gs.Fields[0].Schema.Optional || !gs.Fields[1].Schema.Optional {
		t.Errorf("use.optional.for.nonrequired: %+v %v", gs, err)
	}
	// Decimals: base64 by default, numbers with decimal.format=NUMERIC.
	ds := schema.NewStructBuilder().Name("Price").Field("p", schema.DecimalSchema(2)).Build()
	dv := schema.NewStruct(ds)
	_ = dv.Put("p", schema.Decimal{Unscaled: big.NewInt(12345), Scale: 2})
	for format, want := range map[string]string{"": `{"p":"MDk="}`, "NUMERIC": `{"p":123.45}`} {
		dc, _ := New(JSONSchemaClass, map[string]string{"schema.registry.url": url, "decimal.format": format}, false)
		b, err := dc.FromConnect("prices", ds, dv)
		if err != nil || string(b[5:]) != want {
			t.Errorf("decimal.format=%s: %s %v", format, b[5:], err)
			continue
		}
		if _, v, err := dc.ToConnect("prices", b); err != nil || v.(*schema.StructValue).Get("p").(schema.Decimal).String() != "123.45" {
			t.Errorf("decimal.format=%s read: %v %v", format, v, err)
		}
	}
	// An Avro schema id is refused by name.
	avroID, _, _ := reg.RegisterSchema("x-value", srSchema(`"string"`))
	if _, _, err := c.ToConnect("x", schemaregistry.AppendHeader(nil, int32(avroID))); err == nil || !strings.Contains(err.Error(), "AVRO") {
		t.Errorf("want an error naming AVRO, got %v", err)
	}
}
