package converter

import (
	"bytes"
	"encoding/json"
	"math/big"
	"net/http/httptest"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/hamba/avro/v2"
	"github.com/twmb/franz-go/pkg/sr"
	"github.com/twmb/franz-go/pkg/sr/srfake"

	"github.com/sluicehq/sluice/connectors/converter/schemaregistry"
	"github.com/sluicehq/sluice/connectors/schema"
)

// fakeRegistry starts franz-go's in-memory implementation of the Confluent
// Schema Registry API (tests that need a real server use testenv.Registry).
func fakeRegistry(t *testing.T, opts ...srfake.Option) (*srfake.Registry, string) {
	t.Helper()
	reg := srfake.NewRegistry(opts...)
	srv := httptest.NewServer(reg.Handler())
	t.Cleanup(srv.Close)
	return reg, srv.URL
}

func avroConv(t *testing.T, url string, isKey bool, opts map[string]string) Converter {
	t.Helper()
	o := map[string]string{"schema.registry.url": url}
	for k, v := range opts {
		o[k] = v
	}
	c, err := New(AvroClass, o, isKey)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func jsonEqual(t *testing.T, got, want string) {
	t.Helper()
	var g, w any
	if err := json.Unmarshal([]byte(got), &g); err != nil {
		t.Fatalf("%s: %v", got, err)
	}
	if err := json.Unmarshal([]byte(want), &w); err != nil {
		t.Fatalf("%s: %v", want, err)
	}
	if !reflect.DeepEqual(g, w) {
		t.Errorf("got  %s\nwant %s", got, want)
	}
}

// The Avro schemas are what Confluent's AvroData writes for the same
// Connect schemas.
func TestAvroSchemaMapping(t *testing.T) {
	t.Parallel()
	dec := schema.DecimalSchema(2)
	dec.Parameters[avroPrecisionParam] = "10"
	withDefault := &schema.Schema{Type: schema.Int32, Default: int32(5)}
	tests := []struct {
		name string
		s    *schema.Schema
		want string
	}{
		{"int8", schema.Int8Schema(), `{"type":"int","connect.type":"int8"}`},
		{"int16", schema.Int16Schema(), `{"type":"int","connect.type":"int16"}`},
		{"int32", schema.Int32Schema(), `"int"`},
		{"int64", schema.Int64Schema(), `"long"`},
		{"float", schema.Float32Schema(), `"float"`},
		{"double", schema.Float64Schema(), `"double"`},
		{"boolean", schema.BooleanSchema(), `"boolean"`},
		{"string", schema.StringSchema(), `"string"`},
		{"bytes", schema.BytesSchema(), `"bytes"`},
		{"optional string", schema.OptionalStringSchema(), `["null","string"]`},
		{"decimal", schema.DecimalSchema(2), `{"type":"bytes","scale":2,"precision":64,"connect.version":1,"connect.parameters":{"scale":"2"},"connect.name":"org.apache.kafka.connect.data.Decimal","logicalType":"decimal"}`},
		{"decimal precision", dec, `{"type":"bytes","scale":2,"precision":10,"connect.version":1,"connect.parameters":{"scale":"2","connect.decimal.precision":"10"},"connect.name":"org.apache.kafka.connect.data.Decimal","logicalType":"decimal"}`},
		{"date", schema.DateSchema(), `{"type":"int","connect.version":1,"connect.name":"org.apache.kafka.connect.data.Date","logicalType":"date"}`},
		{"time", schema.TimeSchema(), `{"type":"int","connect.version":1,"connect.name":"org.apache.kafka.connect.data.Time","logicalType":"time-millis"}`},
		{"timestamp", schema.TimestampSchema(), `{"type":"long","connect.version":1,"connect.name":"org.apache.kafka.connect.data.Timestamp","logicalType":"timestamp-millis"}`},
		{"array", schema.ArraySchema(schema.Int32Schema()), `{"type":"array","items":"int"}`},
		{"map", schema.MapSchema(schema.StringSchema(), schema.Int64Schema()), `{"type":"map","values":"long"}`},
		{"map int keys", schema.MapSchema(schema.Int32Schema(), schema.StringSchema()),
			`{"type":"array","items":{"type":"record","name":"MapEntry","namespace":"io.confluent.connect.avro","fields":[{"name":"key","type":"int"},{"name":"value","type":"string"}]}}`},
		{"struct", schema.NewStructBuilder().Name("com.example.User").
			Field("id", schema.Int64Schema()).
			Field("email", schema.OptionalStringSchema()).
			Field("n", withDefault).Build(),
			`{"type":"record","name":"User","namespace":"com.example","fields":[{"name":"id","type":"long"},{"name":"email","type":["null","string"],"default":null},{"name":"n","type":{"type":"int","connect.default":5},"default":5}],"connect.name":"com.example.User"}`},
		{"unnamed nested", schema.NewStructBuilder().
			Field("inner", schema.NewStructBuilder().Field("x", schema.BooleanSchema()).Build()).Build(),
			`{"type":"record","name":"ConnectDefault","namespace":"io.confluent.connect.avro","fields":[{"name":"inner","type":{"type":"record","name":"ConnectDefault2","namespace":"io.confluent.connect.avro","fields":[{"name":"x","type":"boolean"}]}}]}`},
		{"optional with a default", (&schema.Schema{Type: schema.Int64, Default: int64(7)}).AsOptional(),
			`["null",{"type":"long","connect.default":7}]`},
		{"decimal beyond precision", &schema.Schema{Type: schema.Bytes, Name: schema.DecimalName, Version: 1,
			Parameters: map[string]string{"scale": "5", avroPrecisionParam: "3"}},
			`{"type":"bytes","scale":5,"precision":3,"connect.version":1,"connect.parameters":{"scale":"5","connect.decimal.precision":"3"},"connect.name":"org.apache.kafka.connect.data.Decimal"}`},
		{"struct doc", &schema.Schema{Type: schema.Struct, Name: "a.B", Doc: "a record", Version: 2,
			Fields: []schema.Field{{Name: "x", Schema: schema.StringSchema()}}},
			`{"type":"record","name":"B","namespace":"a","fields":[{"name":"x","type":"string"}],"connect.doc":"a record","connect.version":2,"connect.name":"a.B"}`},
		{"named with version and doc", &schema.Schema{Type: schema.String, Name: "my.Str", Version: 3, Doc: "a string"},
			`{"type":"string","connect.name":"my.Str","connect.version":3,"connect.doc":"a string"}`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			got, err := connectToAvro(tt.s, true, false)
			if err != nil {
				t.Fatal(err)
			}
			jsonEqual(t, got, tt.want)
			parsed, err := parseAvro(got)
			if err != nil {
				t.Fatalf("hamba cannot parse %s: %v", got, err)
			}
			back, err := avroToConnect(parsed)
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(back, tt.s) {
				t.Errorf("back to Connect:\n got  %+v\n want %+v", back, tt.s)
			}
		})
	}
}

func allTypes() (*schema.Schema, *schema.StructValue) {
	addr := schema.NewStructBuilder().Name("com.example.Address").
		Field("street", schema.StringSchema()).
		Field("zip", schema.OptionalStringSchema()).Build()
	s := schema.NewStructBuilder().Name("com.example.Everything").
		Field("i8", schema.Int8Schema()).
		Field("i16", schema.Int16Schema()).
		Field("i32", schema.Int32Schema()).
		Field("i64", schema.Int64Schema()).
		Field("f32", schema.Float32Schema()).
		Field("f64", schema.Float64Schema()).
		Field("b", schema.BooleanSchema()).
		Field("s", schema.StringSchema()).
		Field("raw", schema.BytesSchema()).
		Field("dec", schema.DecimalSchema(3)).
		Field("date", schema.DateSchema()).
		Field("time", schema.TimeSchema()).
		Field("ts", schema.TimestampSchema()).
		Field("opt", schema.OptionalStringSchema()).
		Field("optset", (&schema.Schema{Type: schema.Int64}).AsOptional()).
		Field("tags", schema.ArraySchema(schema.StringSchema())).
		Field("counts", schema.MapSchema(schema.StringSchema(), schema.Int32Schema())).
		Field("byid", schema.MapSchema(schema.Int64Schema(), schema.OptionalStringSchema())).
		Field("home", addr).
		Field("work", (&schema.Schema{Type: schema.Struct, Name: "com.example.Address", Fields: addr.Fields}).AsOptional()).
		Field("past", schema.ArraySchema(addr)).
		Build()
	a := schema.NewStruct(addr)
	_ = a.Put("street", "1 Main St")
	v := schema.NewStruct(s)
	put := func(k string, x any) {
		if err := v.Put(k, x); err != nil {
			panic(err)
		}
	}
	put("i8", int8(-8))
	put("i16", int16(1600))
	put("i32", int32(-320000))
	put("i64", int64(1)<<40)
	put("f32", float32(1.5))
	put("f64", -2.25)
	put("b", true)
	put("s", "héllo")
	put("raw", []byte{0, 1, 255})
	put("dec", schema.Decimal{Unscaled: big.NewInt(-123456), Scale: 3})
	put("date", time.Date(2024, 2, 29, 0, 0, 0, 0, time.UTC))
	put("time", time.Date(1970, 1, 1, 13, 14, 15, 16e6, time.UTC))
	put("ts", time.UnixMilli(1700000000123).UTC())
	put("optset", int64(7))
	put("tags", []any{"a", "b"})
	put("counts", map[string]any{"x": int32(1), "y": int32(2)})
	put("byid", []schema.MapEntry{{Key: int64(1), Value: "one"}, {Key: int64(2), Value: nil}})
	put("home", a)
	put("past", []any{a, a})
	return s, v
}

func TestAvroRoundTrip(t *testing.T) {
	t.Parallel()
	_, url := fakeRegistry(t)
	s, v := allTypes()
	c := avroConv(t, url, false, nil)
	b, err := c.FromConnect("orders", s, v)
	if err != nil {
		t.Fatal(err)
	}
	// A second converter (a sink's) reads it with the schema from the registry.
	gs, got, err := avroConv(t, url, false, nil).ToConnect("orders", b)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(gs, s) {
		t.Errorf("schema:\n got  %+v\n want %+v", gs, s)
	}
	// The struct values refer to their own schemas: compare them apart.
	gv := got.(*schema.StructValue)
	for i, f := range s.Fields {
		want, have := v.Values[i], gv.Values[i]
		if ws, ok := want.(*schema.StructValue); ok {
			want, have = ws.Values, have.(*schema.StructValue).Values
		}
		if wa, ok := want.([]any); ok && f.Name == "past" {
			for j := range wa {
				if !reflect.DeepEqual(wa[j].(*schema.StructValue).Values, have.([]any)[j].(*schema.StructValue).Values) {
					t.Errorf("past[%d]: %v", j, have)
				}
			}
			continue
		}
		if !reflect.DeepEqual(have, want) {
			t.Errorf("field %s: got %#v, want %#v", f.Name, have, want)
		}
	}
	// The same bytes again: the schema's id comes from the cache.
	b2, err := c.FromConnect("orders", s, v)
	if err != nil || !bytes.Equal(b, b2) {
		t.Fatalf("second write differs: %v", err)
	}
}

// The bytes are Confluent's wire format: magic byte, schema id, Avro binary.
func TestAvroGoldenBytes(t *testing.T) {
	t.Parallel()
	_, url := fakeRegistry(t)
	s := schema.NewStructBuilder().Name("User").
		Field("id", schema.Int32Schema()).
		Field("name", schema.OptionalStringSchema()).
		Field("score", schema.DecimalSchema(2)).Build()
	v := schema.NewStruct(s)
	_ = v.Put("id", int32(-3))
	_ = v.Put("name", "Ada")
	_ = v.Put("score", schema.Decimal{Unscaled: big.NewInt(12345), Scale: 2})
	b, err := avroConv(t, url, false, nil).FromConnect("t", s, v)
	if err != nil {
		t.Fatal(err)
	}
	want := []byte{0, 0, 0, 0, 1, // magic byte, schema id 1
		0x05,                      // id -3, zigzag
		0x02, 0x06, 'A', 'd', 'a', // union branch 1 (string), length 3
		0x04, 0x30, 0x39, // decimal 123.45: two bytes 0x3039
	}
	if !bytes.Equal(b, want) {
		t.Errorf("got  % x\nwant % x", b, want)
	}
	// hamba/avro, an independent decoder, reads the payload.
	text, _ := connectToAvro(s, true, false)
	var out map[string]any
	if err := avro.Unmarshal(avro.MustParse(text), b[5:], &out); err != nil {
		t.Fatal(err)
	}
	if out["id"] != -3 || out["score"].(*big.Rat).FloatString(2) != "123.45" {
		t.Errorf("hamba read %v", out)
	}
}

// Data written by another Avro encoder (hamba/avro) under a registered
// schema reads back.
func TestAvroReadsForeignData(t *testing.T) {
	t.Parallel()
	reg, url := fakeRegistry(t)
	text := `{"type":"record","name":"Order","namespace":"shop","fields":[
		{"name":"id","type":"long"},
		{"name":"item","type":{"type":"enum","name":"Item","symbols":["A","B"]}},
		{"name":"note","type":["null","string"],"default":null},
		{"name":"at","type":{"type":"long","logicalType":"timestamp-millis"}},
		{"name":"lines","type":{"type":"array","items":"double"}}]}`
	id, _, err := reg.RegisterSchema("orders-value", srSchema(text))
	if err != nil {
		t.Fatal(err)
	}
	payload, err := avro.Marshal(avro.MustParse(text), map[string]any{
		"id": int64(9), "item": "B", "note": nil, "at": time.UnixMilli(1700000000000), "lines": []any{1.5, 2.5},
	})
	if err != nil {
		t.Fatal(err)
	}
	msg := append(schemaregistry.AppendHeader(nil, int32(id)), payload...)
	s, v, err := avroConv(t, url, false, nil).ToConnect("orders", msg)
	if err != nil {
		t.Fatal(err)
	}
	sv := v.(*schema.StructValue)
	if s.Name != "shop.Order" || sv.Get("id") != int64(9) || sv.Get("item") != "B" || sv.Get("note") != nil ||
		!sv.Get("at").(time.Time).Equal(time.UnixMilli(1700000000000)) || !reflect.DeepEqual(sv.Get("lines"), []any{1.5, 2.5}) {
		t.Errorf("read %+v %+v", s, sv.Values)
	}
}

func TestAvroSubjectsAndRegistration(t *testing.T) {
	t.Parallel()
	user := schema.NewStructBuilder().Name("com.example.User").Field("id", schema.Int32Schema()).Build()
	u := schema.NewStruct(user)
	_ = u.Put("id", int32(1))
	tests := []struct {
		name    string
		isKey   bool
		opts    map[string]string
		subject string
	}{
		{"topic value", false, nil, "users-value"},
		{"topic key", true, nil, "users-key"},
		{"record", false, map[string]string{"value.subject.name.strategy": RecordNameStrategy}, "com.example.User"},
		{"topic record key", true, map[string]string{"key.subject.name.strategy": "TopicRecordNameStrategy"}, "users-com.example.User"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			reg, url := fakeRegistry(t)
			if _, err := avroConv(t, url, tt.isKey, tt.opts).FromConnect("users", user, u); err != nil {
				t.Fatal(err)
			}
			if !reg.SubjectExists(tt.subject) {
				t.Errorf("subject %s was not registered", tt.subject)
			}
		})
	}

	t.Run("no auto register", func(t *testing.T) {
		t.Parallel()
		reg, url := fakeRegistry(t)
		c := avroConv(t, url, false, map[string]string{"auto.register.schemas": "false"})
		if _, err := c.FromConnect("users", user, u); err == nil || !strings.Contains(err.Error(), "users-value") {
			t.Fatalf("want a lookup failure naming the subject, got %v", err)
		}
		text, _ := connectToAvro(user, true, false)
		id, _, err := reg.RegisterSchema("users-value", srSchema(text))
		if err != nil {
			t.Fatal(err)
		}
		b, err := c.FromConnect("users", user, u)
		if err != nil {
			t.Fatal(err)
		}
		if got, _, _ := schemaregistry.SplitHeader(b); got != int32(id) {
			t.Errorf("id %d, want %d", got, id)
		}
	})

	t.Run("use latest version", func(t *testing.T) {
		t.Parallel()
		reg, url := fakeRegistry(t)
		// The latest version has a field more, with a default.
		latest := `{"type":"record","name":"User","namespace":"com.example","fields":[{"name":"id","type":"int"},{"name":"tier","type":"string","default":"free"}]}`
		id, _, err := reg.RegisterSchema("users-value", srSchema(latest))
		if err != nil {
			t.Fatal(err)
		}
		c := avroConv(t, url, false, map[string]string{"auto.register.schemas": "false", "use.latest.version": "true"})
		b, err := c.FromConnect("users", user, u)
		if err != nil {
			t.Fatal(err)
		}
		s, v, err := c.ToConnect("users", b)
		if err != nil {
			t.Fatal(err)
		}
		if got, _, _ := schemaregistry.SplitHeader(b); got != int32(id) || len(s.Fields) != 2 || v.(*schema.StructValue).Get("tier") != "free" {
			t.Errorf("id %d (want %d), read %+v", got, id, v)
		}
		// With auto.register.schemas on as well, Confluent's serializers
		// register the record's own schema: use.latest.version applies
		// only when they may not register.
		both := avroConv(t, url, false, map[string]string{"use.latest.version": "true"})
		b, err = both.FromConnect("users", user, u)
		if err != nil {
			t.Fatal(err)
		}
		if got, _, _ := schemaregistry.SplitHeader(b); got == int32(id) {
			t.Errorf("auto.register.schemas=true with use.latest.version=true wrote with the latest schema (id %d), not the record's own", got)
		}
	})

	t.Run("basic auth", func(t *testing.T) {
		t.Parallel()
		_, url := fakeRegistry(t, srfake.WithAuth("Basic dXNlcjpwYXNz")) // user:pass
		if _, err := avroConv(t, url, false, nil).FromConnect("users", user, u); err == nil {
			t.Fatal("no credentials: want an error")
		}
		c := avroConv(t, url, false, map[string]string{"basic.auth.credentials.source": "USER_INFO", "basic.auth.user.info": "user:pass"})
		if _, err := c.FromConnect("users", user, u); err != nil {
			t.Fatal(err)
		}
	})
}

func TestAvroNullsAndErrors(t *testing.T) {
	t.Parallel()
	_, url := fakeRegistry(t)
	c := avroConv(t, url, false, nil)
	// A tombstone stays null both ways.
	if b, err := c.FromConnect("t", schema.StringSchema(), nil); b != nil || err != nil {
		t.Errorf("tombstone: %v %v", b, err)
	}
	if s, v, err := c.ToConnect("t", nil); s != nil || v != nil || err != nil {
		t.Errorf("null read: %v %v %v", s, v, err)
	}
	// A primitive value: its Avro schema is "string".
	b, err := c.FromConnect("t", schema.StringSchema(), "plain")
	if err != nil {
		t.Fatal(err)
	}
	if s, v, err := c.ToConnect("t", b); err != nil || s.Type != schema.String || v != "plain" {
		t.Errorf("string: %v %v %v", s, v, err)
	}
	if _, _, err := c.ToConnect("t", []byte("not avro")); err == nil || !strings.Contains(err.Error(), "magic byte") {
		t.Errorf("want a magic byte error, got %v", err)
	}
	if _, err := c.FromConnect("t", nil, map[string]any{"a": 1}); err == nil {
		t.Error("schemaless data: want an error")
	}
	req := schema.NewStructBuilder().Field("x", schema.StringSchema()).Build()
	if _, err := c.FromConnect("t", req, schema.NewStruct(req)); err == nil || !strings.Contains(err.Error(), "field x") {
		t.Errorf("null for a required field: got %v", err)
	}
	for _, opts := range []map[string]string{
		{},
		{"schema.registry.url": url, "value.subject.name.strategy": "Nope"},
		{"schema.registry.url": url, "auto.register.schemas": "maybe"},
		{"schema.registry.url": url, "basic.auth.credentials.source": "USER_INFO"},
	} {
		if _, err := New("avro", opts, false); err == nil {
			t.Errorf("%v: want a config error", opts)
		}
	}
	if _, err := FromConfig(map[string]string{"value.converter": AvroClass}, false); err == nil ||
		!strings.Contains(err.Error(), "value.converter.schema.registry.url") {
		t.Errorf("want the error to name value.converter.schema.registry.url, got %v", err)
	}
}

func srSchema(text string) sr.Schema { return sr.Schema{Schema: text, Type: sr.TypeAvro} }

// A source that builds a new schema for every record still writes one
// schema id, and parses the Avro schema once.
func TestAvroSchemaPerRecord(t *testing.T) {
	t.Parallel()
	_, url := fakeRegistry(t)
	c := avroConv(t, url, false, nil).(*avroConverter)
	var first []byte
	for i := range 50 {
		s := schema.NewStructBuilder().Name("Row").Field("n", schema.Int32Schema()).Build()
		v := schema.NewStruct(s)
		_ = v.Put("n", int32(i))
		b, err := c.FromConnect("rows", s, v)
		if err != nil {
			t.Fatal(err)
		}
		if first == nil {
			first = b
		}
		if !bytes.Equal(b[:5], first[:5]) {
			t.Fatalf("record %d: header % x, want % x", i, b[:5], first[:5])
		}
	}
	if len(c.byText) != 1 {
		t.Errorf("%d parsed schemas, want 1", len(c.byText))
	}
}
