package converter

import (
	"bytes"
	"fmt"
	"math"
	"math/big"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/sr"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protoreflect"
	"google.golang.org/protobuf/types/dynamicpb"

	"github.com/sluicehq/sluice/connectors/converter/schemaregistry"
	"github.com/sluicehq/sluice/connectors/schema"
	"github.com/sluicehq/sluice/internal/testenv"
)

func protoConv(t *testing.T, url string, isKey bool, opts map[string]string) Converter {
	t.Helper()
	o := map[string]string{"schema.registry.url": url}
	for k, v := range opts {
		o[k] = v
	}
	c, err := New(ProtobufClass, o, isKey)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func decimalOf(t *testing.T, s string) schema.Decimal {
	t.Helper()
	d, err := schema.ParseDecimal(s)
	if err != nil {
		t.Fatal(err)
	}
	return d
}

func protoTypes() (*schema.Schema, *schema.StructValue) {
	addr := schema.NewStructBuilder().Name("shop.Address").Field("street", schema.StringSchema()).Optional().Build()
	price := schema.DecimalSchema(2)
	price.Parameters[decimalPrecision] = "10"
	s := schema.NewStructBuilder().Name("shop.Order").
		Field("id", schema.Int64Schema()).
		Field("qty", schema.Int32Schema()).
		Field("tiny", schema.Int8Schema()).
		Field("small", schema.Int16Schema().AsOptional()).
		Field("f32", schema.Float32Schema()).
		Field("f64", schema.Float64Schema().AsOptional()).
		Field("ok", schema.BooleanSchema()).
		Field("note", schema.OptionalStringSchema()).
		Field("raw", schema.BytesSchema()).
		Field("price", price).
		Field("day", schema.DateSchema()).
		Field("at", schema.TimeSchema().AsOptional()).
		Field("ts", schema.TimestampSchema().AsOptional()).
		Field("tags", schema.ArraySchema(schema.StringSchema())).
		Field("attrs", schema.MapSchema(schema.StringSchema(), schema.Int64Schema())).
		Field("ship", addr).
		Field("past", schema.ArraySchema(&schema.Schema{Type: schema.Struct, Name: "shop.Address", Fields: addr.Fields})).
		Field("extra", schema.NewStructBuilder().Field("n", schema.Int32Schema()).Build()).
		Field("item", schema.NewStructBuilder().Name("shop.item").Field("sku", schema.StringSchema()).Build()).
		Build()
	a := schema.NewStruct(addr)
	_ = a.Put("street", "1 Main St")
	extra := schema.NewStruct(s.Fields[17].Schema)
	_ = extra.Put("n", int32(7))
	item := schema.NewStruct(s.Fields[18].Schema)
	_ = item.Put("sku", "P-1")
	v := schema.NewStruct(s)
	for k, x := range map[string]any{
		"id": int64(-5), "qty": int32(3), "tiny": int8(-2), "small": int16(300), "f32": float32(1.5), "f64": 2.25,
		"ok": true, "note": "gift", "raw": []byte{1, 2},
		"price": schema.Decimal{Unscaled: big.NewInt(123456), Scale: 2},
		"day":   time.Date(2017, 12, 31, 0, 0, 0, 0, time.UTC),
		"at":    time.Date(1970, 1, 1, 11, 12, 13, 14e6, time.UTC),
		"ts":    time.UnixMilli(1700000000123).UTC(),
		"tags":  []any{"a", "b"}, "attrs": map[string]any{"x": int64(1), "y": int64(2)},
		"ship": a, "past": []any{a}, "extra": extra, "item": item,
	} {
		if err := v.Put(k, x); err != nil {
			panic(err)
		}
	}
	return s, v
}

// The schema Confluent's ProtobufData builds for protoTypes, printed as its
// Schema Registry client prints it: field_meta for int8, int16 and
// Decimal's precision and scale (value first), imports in the order of
// first use, maps as ConnectDefaultNEntry messages, unnamed structs as
// ConnectDefaultN, a struct named as its field suffixed with Message, a
// blank line before nested types.
const protoTypesText = `syntax = "proto3";
package shop;

import "confluent/type/decimal.proto";
import "google/type/date.proto";
import "google/type/timeofday.proto";
import "google/protobuf/timestamp.proto";

message Order {
  int64 id = 1;
  int32 qty = 2;
  int32 tiny = 3 [(confluent.field_meta) = {
    params: [
      {
        key: "connect.type",
        value: "int8"
      }
    ]
  }];
  optional int32 small = 4 [(confluent.field_meta) = {
    params: [
      {
        key: "connect.type",
        value: "int16"
      }
    ]
  }];
  float f32 = 5;
  optional double f64 = 6;
  bool ok = 7;
  optional string note = 8;
  bytes raw = 9;
  confluent.type.Decimal price = 10 [(confluent.field_meta) = {
    params: [
      {
        value: "10",
        key: "precision"
      },
      {
        value: "2",
        key: "scale"
      }
    ]
  }];
  google.type.Date day = 11;
  optional google.type.TimeOfDay at = 12;
  optional google.protobuf.Timestamp ts = 13;
  repeated string tags = 14;
  repeated ConnectDefault1Entry attrs = 15;
  optional Address ship = 16;
  repeated Address past = 17;
  ConnectDefault2 extra = 18;
  itemMessage item = 19;

  message ConnectDefault1Entry {
    string key = 1;
    int64 value = 2;
  }
  message Address {
    string street = 1;
  }
  message ConnectDefault2 {
    int32 n = 1;
  }
  message itemMessage {
    string sku = 1;
  }
}
`

func TestProtobufSchema(t *testing.T) {
	t.Parallel()
	s, _ := protoTypes()
	opts, _ := parseProtoOptions(nil)
	text, full, err := connectToProto(s, &opts)
	if err != nil {
		t.Fatal(err)
	}
	if text != protoTypesText || full != "shop.Order" {
		t.Errorf("got %s\n%s\nwant\n%s", full, text, protoTypesText)
	}
	fd, err := compileProto(protoRootFile, text, nil)
	if err != nil {
		t.Fatal(err)
	}
	back, err := protoRootSchema(fd.Messages().Get(0), &opts)
	if err != nil {
		t.Fatal(err)
	}
	byName := map[string]*schema.Schema{}
	for _, f := range back.Fields {
		byName[f.Name] = f.Schema
	}
	// What reads back as written; messages, arrays and maps read as
	// optional, and nested structs by their full names.
	for _, c := range []struct {
		field    string
		typ      schema.Type
		name     string
		optional bool
	}{
		{"id", schema.Int64, "", false}, {"tiny", schema.Int8, "", false}, {"small", schema.Int16, "", true},
		{"f64", schema.Float64, "", true}, {"note", schema.String, "", true}, {"raw", schema.Bytes, "", false},
		{"price", schema.Bytes, schema.DecimalName, true}, {"day", schema.Int32, schema.DateName, true},
		{"at", schema.Int32, schema.TimeName, true}, {"ts", schema.Int64, schema.TimestampName, true},
		{"tags", schema.Array, "", true}, {"attrs", schema.Map, "", true}, {"ship", schema.Struct, "shop.Order.Address", true},
		{"extra", schema.Struct, "", true}, {"item", schema.Struct, "shop.Order.itemMessage", true},
	} {
		got := byName[c.field]
		if got == nil || got.Type != c.typ || got.Name != c.name || got.Optional != c.optional || len(got.Parameters) > 0 && got.Name == "" {
			t.Errorf("field %s: %+v", c.field, got)
		}
	}
	if back.Name != "shop.Order" || len(back.Fields) != len(s.Fields) ||
		byName["price"].Parameters[schema.DecimalScaleParam] != "2" || byName["price"].Parameters[decimalPrecision] != "10" ||
		byName["attrs"].Key.Type != schema.String || byName["attrs"].Key.Optional || byName["tags"].Elem.Type != schema.String {
		t.Errorf("back: %+v", back)
	}
}

// The settings Confluent has: without optional.for.nullables no field is
// labelled optional and every field reads as optional; with
// wrapper.for.nullables optional primitives are wrappers.
func TestProtobufSchemaOptions(t *testing.T) {
	t.Parallel()
	s := schema.NewStructBuilder().
		Field("id", schema.Int64Schema()).
		Field("note", schema.OptionalStringSchema()).
		Field("n", schema.Int8Schema().AsOptional()).
		Field("tags", schema.ArraySchema(schema.Int32Schema())).
		Build()
	for _, c := range []struct {
		opts map[string]string
		text string
		// optional after reading: id, note, n, tags
		optional [4]bool
		n        schema.Type // n read back: a wrapper reads as int32
	}{
		{map[string]string{"optional.for.nullables": "false"}, `syntax = "proto3";

message ConnectDefault1 {
  int64 id = 1;
  string note = 2;
  int32 n = 3 [(confluent.field_meta) = {
    params: [
      {
        key: "connect.type",
        value: "int8"
      }
    ]
  }];
  repeated int32 tags = 4;
}
`, [4]bool{true, true, true, true}, schema.Int8},
		{map[string]string{"optional.for.nullables": "false", "wrapper.for.nullables": "true"}, `syntax = "proto3";

import "google/protobuf/wrappers.proto";

message ConnectDefault1 {
  int64 id = 1;
  google.protobuf.StringValue note = 2;
  google.protobuf.Int32Value n = 3 [(confluent.field_meta) = {
    params: [
      {
        key: "connect.type",
        value: "int8"
      }
    ]
  }];
  repeated int32 tags = 4;
}
`, [4]bool{false, true, true, true}, schema.Int32},
	} {
		opts, err := parseProtoOptions(c.opts)
		if err != nil {
			t.Fatal(err)
		}
		text, full, err := connectToProto(s, &opts)
		if err != nil || text != c.text || full != "ConnectDefault1" {
			t.Errorf("%v: %v %s\n%s", c.opts, err, full, text)
			continue
		}
		fd, err := compileProto(protoRootFile, text, nil)
		if err != nil {
			t.Fatal(err)
		}
		back, err := protoRootSchema(fd.Messages().Get(0), &opts)
		if err != nil {
			t.Fatal(err)
		}
		var got [4]bool
		for i, f := range back.Fields {
			got[i] = f.Schema.Optional
		}
		if got != c.optional || back.Name != "" || back.Fields[1].Schema.Type != schema.String || back.Fields[2].Schema.Type != c.n {
			t.Errorf("%v: read %+v", c.opts, back)
		}
	}
}

// One field of each logical type, written and read back, and its exact
// bytes: header, message indexes [0], then field 1 of Confluent's types.
func TestProtobufLogicalBytes(t *testing.T) {
	t.Parallel()
	_, url := fakeRegistry(t)
	dec := func(scale int32) *schema.Schema { return schema.DecimalSchema(scale) }
	for _, c := range []struct {
		name  string
		s     *schema.Schema
		v     any
		bytes []byte // the message after the header and indexes
	}{
		// confluent.type.Decimal {value: 00 bc 61 4e, precision: 8, scale: 3}
		{"decimal", dec(3), decimalOf(t, "12345.678"), []byte{0x0a, 0x0a, 0x0a, 0x04, 0x00, 0xbc, 0x61, 0x4e, 0x10, 0x08, 0x18, 0x03}},
		// -1.5: value f1, precision 2, scale 1
		{"negative decimal", dec(1), decimalOf(t, "-1.5"), []byte{0x0a, 0x07, 0x0a, 0x01, 0xf1, 0x10, 0x02, 0x18, 0x01}},
		// 0.00: value 00, precision 1, scale 2
		{"zero decimal", dec(2), schema.Decimal{Unscaled: new(big.Int), Scale: 2}, []byte{0x0a, 0x07, 0x0a, 0x01, 0x00, 0x10, 0x01, 0x18, 0x02}},
		// 1200 with scale -2: unscaled 12, scale -2 (a ten-byte varint)
		{"negative scale", dec(-2), schema.Decimal{Unscaled: big.NewInt(12), Scale: -2},
			[]byte{0x0a, 0x10, 0x0a, 0x01, 0x0c, 0x10, 0x02, 0x18, 0xfe, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01}},
		// google.type.Date {year: 2017, month: 12, day: 31}
		{"date", schema.DateSchema(), time.Date(2017, 12, 31, 0, 0, 0, 0, time.UTC), []byte{0x0a, 0x07, 0x08, 0xe1, 0x0f, 0x10, 0x0c, 0x18, 0x1f}},
		// The epoch: 1970-01-01
		{"epoch date", schema.DateSchema(), time.Unix(0, 0).UTC(), []byte{0x0a, 0x07, 0x08, 0xb2, 0x0f, 0x10, 0x01, 0x18, 0x01}},
		// Before the Gregorian reform, Java's calendar is Julian: the day
		// 1500-03-10 (proleptic Gregorian) is 1500-02-29.
		{"julian date", schema.DateSchema(), time.Date(1500, 3, 10, 0, 0, 0, 0, time.UTC), []byte{0x0a, 0x07, 0x08, 0xdc, 0x0b, 0x10, 0x02, 0x18, 0x1d}},
		// google.type.TimeOfDay {hours: 11, minutes: 12, seconds: 13, nanos: 14000000}
		{"time", schema.TimeSchema(), time.Date(1970, 1, 1, 11, 12, 13, 14e6, time.UTC),
			[]byte{0x0a, 0x0b, 0x08, 0x0b, 0x10, 0x0c, 0x18, 0x0d, 0x20, 0x80, 0xbf, 0xd6, 0x06}},
		// Midnight: every field zero, an empty message
		{"midnight", schema.TimeSchema(), time.Unix(0, 0).UTC(), []byte{0x0a, 0x00}},
		// google.protobuf.Timestamp {seconds: 1700000000, nanos: 123000000}
		{"timestamp", schema.TimestampSchema(), time.UnixMilli(1700000000123).UTC(),
			[]byte{0x0a, 0x0b, 0x08, 0x80, 0xe2, 0xcf, 0xaa, 0x06, 0x10, 0xc0, 0xa9, 0xd3, 0x3a}},
		// One millisecond before the epoch: seconds -1, nanos 999000000
		{"before the epoch", schema.TimestampSchema(), time.UnixMilli(-1).UTC(),
			[]byte{0x0a, 0x11, 0x08, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01, 0x10, 0xc0, 0x8f, 0xae, 0xdc, 0x03}},
	} {
		t.Run(c.name, func(t *testing.T) {
			s := schema.NewStructBuilder().Name("t.Logical").Field("v", c.s).Build()
			v := schema.NewStruct(s)
			if err := v.Put("v", c.v); err != nil {
				t.Fatal(err)
			}
			w := protoConv(t, url, false, nil)
			b, err := w.FromConnect("logical-"+strings.ReplaceAll(c.name, " ", "-"), s, v)
			if err != nil {
				t.Fatal(err)
			}
			if len(b) < 6 || b[0] != 0 || b[5] != 0 || !bytes.Equal(b[6:], c.bytes) {
				t.Fatalf("bytes % x, want % x", b, c.bytes)
			}
			gs, gv, err := protoConv(t, url, false, nil).ToConnect("t", b)
			if err != nil {
				t.Fatal(err)
			}
			got := gv.(*schema.StructValue).Values[0]
			switch want := c.v.(type) {
			case schema.Decimal:
				g := got.(schema.Decimal)
				if g.Unscaled.Cmp(want.Unscaled) != 0 || g.Scale != want.Scale {
					t.Errorf("read %v, want %v", g, want)
				}
			default:
				if !reflect.DeepEqual(got, want) {
					t.Errorf("read %v, want %v", got, want)
				}
			}
			if f := gs.Fields[0].Schema; f.Name != c.s.Name || f.Type != c.s.Type || !f.Optional {
				t.Errorf("read schema %+v", f)
			}
		})
	}
}

// Values Kafka Connect refuses are refused, and so are protobuf values
// that are not dates or times.
func TestProtobufLogicalErrors(t *testing.T) {
	t.Parallel()
	for _, c := range []struct {
		s *schema.Schema
		v time.Time
	}{
		{schema.DateSchema(), time.Date(2020, 1, 1, 1, 0, 0, 0, time.UTC)},       // a time of day in a Date
		{schema.TimeSchema(), time.Date(1970, 1, 2, 1, 0, 0, 0, time.UTC)},       // beyond one day
		{schema.TimestampSchema(), time.Date(10000, 1, 1, 0, 0, 0, 0, time.UTC)}, // beyond Timestamp's range
	} {
		var f []namedInt
		var err error
		switch c.s.Name {
		case schema.DateName:
			f, err = dateFields(c.v)
		case schema.TimeName:
			f, err = timeOfDayFields(c.v)
		default:
			f, err = timestampFields(c.v)
		}
		if err == nil {
			t.Errorf("%s %v: %v", c.s.Name, c.v, f)
		}
	}
	for _, d := range [][3]int64{{1582, 10, 10}, {1900, 2, 29}, {0, 1, 1}, {2017, 0, 1}, {2023, 4, 31}} {
		if days, err := javaCalendarDays(d[0], d[1], d[2]); err == nil {
			t.Errorf("date %v read as %d", d, days)
		}
	}
	// Java's calendar, both ways (values from java.util.GregorianCalendar).
	for _, c := range []struct {
		days    int64
		y, m, d int64
	}{{0, 1970, 1, 1}, {-141427, 1582, 10, 15}, {-141428, 1582, 10, 4}, {-171596, 1500, 2, 29}, {-719164, 1, 1, 1}, {19782, 2024, 2, 29}} {
		y, m, d := javaCalendarDate(c.days)
		days, err := javaCalendarDays(c.y, c.m, c.d)
		if y != c.y || m != c.m || d != c.d || err != nil || days != c.days {
			t.Errorf("%d: %d-%d-%d, back %d %v", c.days, y, m, d, days, err)
		}
	}
	// Decimals are rounded half up to the precision they carry, as
	// BigDecimal with a MathContext rounds them.
	for _, c := range []struct {
		unscaled  int64
		precision uint64
		scale     int64
		want      string
	}{{12345, 0, 2, "123.45"}, {12345, 3, 2, "123"}, {12355, 3, 1, "1240"}, {-12355, 3, 1, "-1240"}, {999, 2, 0, "1000"}} {
		got := readDecimal(schema.TwosComplement(big.NewInt(c.unscaled)), c.precision, c.scale)
		if got.String() != c.want {
			t.Errorf("%d/%d/%d: %s, want %s", c.unscaled, c.precision, c.scale, got, c.want)
		}
	}
}

func TestProtobufRoundTrip(t *testing.T) {
	t.Parallel()
	reg, url := fakeRegistry(t)
	s, v := protoTypes()
	w := protoConv(t, url, false, nil)
	b, err := w.FromConnect("orders", s, v)
	if err != nil {
		t.Fatal(err)
	}
	// Header, message indexes [0], then the message: field 1 (id) first.
	if !bytes.HasPrefix(b, []byte{0, 0, 0, 0, 1, 0, 0x08}) {
		t.Errorf("wire bytes % x", b[:8])
	}
	if got, ok := reg.GetSchema("orders-value", 1); !ok || got.Schema.Schema != protoTypesText || len(got.Schema.References) != 0 {
		t.Errorf("registered %+v", got)
	}
	r, _ := New("protobuf", map[string]string{"schema.registry.url": url}, false)
	gs, got, err := r.ToConnect("orders", b)
	if err != nil {
		t.Fatal(err)
	}
	gv := got.(*schema.StructValue)
	for i, f := range gs.Fields {
		want, have := v.Values[i], gv.Values[i]
		switch w := want.(type) {
		case *schema.StructValue:
			want, have = w.Values, have.(*schema.StructValue).Values
		case schema.Decimal:
			want, have = w.String(), have.(schema.Decimal).String()
		case []any:
			if f.Name == "past" {
				want, have = w[0].(*schema.StructValue).Values, have.([]any)[0].(*schema.StructValue).Values
			}
		}
		if !reflect.DeepEqual(have, want) {
			t.Errorf("field %s: got %#v, want %#v", f.Name, have, want)
		}
	}
	// An unset optional field reads as null; an unset plain one as its
	// zero, a message as null.
	_ = v.Put("note", nil)
	_ = v.Put("qty", nil)
	_ = v.Put("ts", nil)
	b, _ = w.FromConnect("orders", s, v)
	_, got, _ = r.ToConnect("orders", b)
	if gv := got.(*schema.StructValue); gv.Get("note") != nil || gv.Get("qty") != int32(0) || gv.Get("ts") != nil {
		t.Errorf("note %v qty %v ts %v", gv.Get("note"), gv.Get("qty"), gv.Get("ts"))
	}
}

// A schema as Kafka Connect's ProtobufConverter registers it, with
// Confluent's options used without importing confluent/meta.proto, and
// data as it writes it, read as Kafka Connect reads it.
func TestProtobufConfluentWritten(t *testing.T) {
	t.Parallel()
	reg, url := fakeRegistry(t)
	text := `syntax = "proto3";

import "confluent/type/decimal.proto";

message ConnectDefault1 {
  int32 tiny = 1 [(confluent.field_meta) = {
    params: [
      {
        key: "connect.type",
        value: "int8"
      }
    ]
  }];
  confluent.type.Decimal amount = 2 [(confluent.field_meta) = {
    params: [
      {
        value: "5",
        key: "precision"
      },
      {
        value: "1",
        key: "scale"
      }
    ]
  }];
  repeated ConnectDefault2Entry counts = 3;

  message ConnectDefault2Entry {
    int32 key = 1;
    string value = 2;
  }
}
`
	id, _, err := reg.RegisterSchema("confluent-value", sr.Schema{Schema: text, Type: sr.TypeProtobuf})
	if err != nil {
		t.Fatal(err)
	}
	// tiny = -3; amount = {value: 04 d2 (1234), precision 4, scale 1};
	// counts = [{key 2, value "b"}, {key 1, value "a"}]
	payload := []byte{0x08, 0xfd, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01,
		0x12, 0x08, 0x0a, 0x02, 0x04, 0xd2, 0x10, 0x04, 0x18, 0x01,
		0x1a, 0x05, 0x08, 0x02, 0x12, 0x01, 'b', 0x1a, 0x05, 0x08, 0x01, 0x12, 0x01, 'a'}
	msg := append(schemaregistry.AppendHeader(nil, int32(id)), 0)
	msg = append(msg, payload...)
	// Confluent's default: no field labelled optional, all read optional.
	confluent := map[string]string{"optional.for.nullables": "false"}
	c := protoConv(t, url, false, confluent)
	s, v, err := c.ToConnect("confluent", msg)
	if err != nil {
		t.Fatal(err)
	}
	sv := v.(*schema.StructValue)
	amount := s.Fields[1].Schema
	if s.Name != "" || s.Fields[0].Schema.Type != schema.Int8 || sv.Get("tiny") != int8(-3) ||
		amount.Name != schema.DecimalName || amount.Parameters[schema.DecimalScaleParam] != "1" || amount.Parameters[decimalPrecision] != "5" ||
		sv.Get("amount").(schema.Decimal).String() != "123.4" || s.Fields[2].Schema.Type != schema.Map {
		t.Errorf("read %+v %v", s, sv.Values)
	}
	if got := sv.Get("counts"); !reflect.DeepEqual(got, []schema.MapEntry{{Key: int32(1), Value: "a"}, {Key: int32(2), Value: "b"}}) {
		t.Errorf("counts %#v", got)
	}
	// Written back: the same schema (so the same id), the same bytes but
	// for the map's entries, which Sluice writes in key order.
	confluent["auto.register.schemas"] = "false"
	w := protoConv(t, url, false, confluent)
	b, err := w.FromConnect("confluent", s, v)
	if err != nil {
		t.Fatal(err)
	}
	want := append(msg[:len(msg)-14:len(msg)-14], 0x1a, 0x05, 0x08, 0x01, 0x12, 0x01, 'a', 0x1a, 0x05, 0x08, 0x02, 0x12, 0x01, 'b')
	if !bytes.Equal(b, want) {
		t.Errorf("written % x\nwant    % x", b, want)
	}
}

// A message written by the protobuf runtime under a registered schema with
// two messages, read with message indexes [1]; its enum and oneof read as
// ProtobufData reads them.
func TestProtobufForeign(t *testing.T) {
	t.Parallel()
	reg, url := fakeRegistry(t)
	text := `syntax = "proto3";
package ev;
message Other { string x = 1; }
message Click {
  enum Kind { UNKNOWN = 0; LEFT = 1; RIGHT = 2; }
  Kind kind = 1;
  uint32 n = 2;
  oneof target {
    string url = 5;
    int64 button = 6;
  }
  sint32 delta = 7;
}
`
	id, _, err := reg.RegisterSchema("clicks-value", sr.Schema{Schema: text, Type: sr.TypeProtobuf})
	if err != nil {
		t.Fatal(err)
	}
	fd, err := compileProto("clicks.proto", text, nil)
	if err != nil {
		t.Fatal(err)
	}
	md := fd.Messages().Get(1)
	m := dynamicpb.NewMessage(md)
	m.Set(md.Fields().ByName("kind"), protoreflect.ValueOfEnum(2))
	m.Set(md.Fields().ByName("n"), protoreflect.ValueOfUint32(7))
	m.Set(md.Fields().ByName("button"), protoreflect.ValueOfInt64(3))
	m.Set(md.Fields().ByName("delta"), protoreflect.ValueOfInt32(-4))
	payload, _ := proto.Marshal(m)
	msg := append(schemaregistry.AppendHeader(nil, int32(id)), 2, 2) // indexes: count 1, index 1 (zigzag)
	msg = append(msg, payload...)
	c := protoConv(t, url, false, nil)
	s, v, err := c.ToConnect("clicks", msg)
	if err != nil {
		t.Fatal(err)
	}
	sv := v.(*schema.StructValue)
	// The oneof first, as a struct named for it; the enum as a string
	// with its values; unsigned and zigzag types kept as parameters; a
	// field whose number is not its place carries it.
	var names []string
	for _, f := range s.Fields {
		names = append(names, f.Name)
	}
	kind, target, delta := s.Fields[1].Schema, s.Fields[0].Schema, s.Fields[3].Schema
	if s.Name != "ev.Click" || strings.Join(names, ",") != "target_0,kind,n,delta" ||
		kind.Name != "ev.Click.Kind" || kind.Parameters[protoTagParam] != "1" || kind.Parameters[protoEnumParam] != "Kind" || kind.Parameters[protoEnumParam+".RIGHT"] != "2" ||
		target.Name != protoUnionName+".ev.Click.target" || target.Fields[1].Schema.Parameters[protoTagParam] != "6" ||
		s.Fields[2].Schema.Parameters[protoTypeParam] != "uint32" || s.Fields[2].Schema.Parameters[protoTagParam] != "" ||
		delta.Parameters[protoTypeParam] != "sint32" || delta.Parameters[protoTagParam] != "7" {
		t.Errorf("read %+v", s)
	}
	if sv.Get("kind") != "RIGHT" || sv.Get("n") != int64(7) || sv.Get("delta") != int32(-4) ||
		sv.Get("target_0").(*schema.StructValue).Get("button") != int64(3) || sv.Get("target_0").(*schema.StructValue).Get("url") != nil {
		t.Errorf("read %v", sv.Values)
	}
	// Written back, the message keeps its field numbers and types; the
	// schema has the oneof and the enum.
	text2, _, err := connectToProto(s, &protobufOpts)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(text2, "  oneof target {\n    string url = 5;\n    int64 button = 6;\n  }\n") ||
		!strings.Contains(text2, "  optional Kind kind = 1;\n  uint32 n = 2;\n  sint32 delta = 7;\n") ||
		!strings.Contains(text2, "  enum Kind {\n    UNKNOWN = 0;\n    LEFT = 1;\n    RIGHT = 2;\n  }\n") {
		t.Errorf("rewritten:\n%s", text2)
	}
	b, err := c.FromConnect("clicks2", s, v)
	if err != nil {
		t.Fatal(err)
	}
	_, v2, err := c.ToConnect("clicks2", b)
	if err != nil || !reflect.DeepEqual(v2.(*schema.StructValue).Values[1:], sv.Values[1:]) {
		t.Errorf("round trip %v: %v", err, v2)
	}
	if _, err := c.FromConnect("t", schema.ArraySchema(schema.StringSchema()), []any{"x"}); err == nil || !strings.Contains(err.Error(), "top-level") {
		t.Errorf("an array: %v", err)
	}
}

var protobufOpts, _ = parseProtoOptions(nil)

// Fields are written in the order of their numbers, as Java's runtime
// writes them, whatever order the schema declares them in; a repeated
// number is packed, -0.0 is not a default.
func TestProtobufFieldOrder(t *testing.T) {
	t.Parallel()
	_, url := fakeRegistry(t)
	tag := func(s *schema.Schema, n string) *schema.Schema {
		s.Parameters = map[string]string{protoTagParam: n}
		return s
	}
	s := schema.NewStructBuilder().Name("o.R").
		Field("b", tag(schema.Int32Schema(), "8")).
		Field("a", tag(schema.StringSchema(), "2")).
		Field("z", tag(schema.Float64Schema(), "3")).
		Field("r", tag(schema.ArraySchema(schema.Int32Schema()), "1")).
		Build()
	v := schema.NewStruct(s)
	_ = v.Put("b", int32(1))
	_ = v.Put("a", "x")
	_ = v.Put("z", math.Copysign(0, -1))
	_ = v.Put("r", []any{int32(1), int32(2)})
	b, err := protoConv(t, url, false, nil).FromConnect("order", s, v)
	if err != nil {
		t.Fatal(err)
	}
	// As protobuf-java's DynamicMessage writes this message.
	want := []byte{0x0a, 0x02, 0x01, 0x02, 0x12, 0x01, 'x', 0x19, 0, 0, 0, 0, 0, 0, 0, 0x80, 0x40, 0x01}
	if !bytes.Equal(b[6:], want) {
		t.Errorf("% x, want % x", b[6:], want)
	}
	// Zeros of fields without presence are left out.
	_ = v.Put("b", int32(0))
	_ = v.Put("z", 0.0)
	_ = v.Put("r", []any{})
	b, _ = protoConv(t, url, false, nil).FromConnect("order", s, v)
	if want := []byte{0x12, 0x01, 'x'}; !bytes.Equal(b[6:], want) {
		t.Errorf("% x, want % x", b[6:], want)
	}
}

// A primitive is written as its wrapper message, as ProtobufData writes
// it: wrappers.proto is the schema, the indexes point at the wrapper.
func TestProtobufPrimitive(t *testing.T) {
	t.Parallel()
	reg, url := fakeRegistry(t)
	c := protoConv(t, url, true, nil)
	b, err := c.FromConnect("keys", schema.StringSchema(), "abc")
	if err != nil {
		t.Fatal(err)
	}
	// indexes [7] (StringValue): count 1 and 7, zigzag; then value = "abc"
	if want := []byte{0, 0, 0, 0, 1, 0x02, 0x0e, 0x0a, 0x03, 'a', 'b', 'c'}; !bytes.Equal(b, want) {
		t.Errorf("% x, want % x", b, want)
	}
	if got, _ := reg.GetSchema("keys-key", 1); got.Schema.Schema != wrappersProto {
		t.Errorf("registered %s", got.Schema.Schema)
	}
	s, v, err := c.ToConnect("keys", b)
	if err != nil || s.Type != schema.String || v != "abc" {
		t.Errorf("read %+v %v %v", s, v, err)
	}
	b, _ = c.FromConnect("keys", schema.Int64Schema(), int64(0))
	if want := []byte{0, 0, 0, 0, 1, 0x02, 0x04}; !bytes.Equal(b, want) {
		t.Errorf("% x, want % x", b, want)
	}
	if _, v, err := c.ToConnect("keys", b); err != nil || v != int64(0) {
		t.Errorf("read %v %v", v, err)
	}
	if _, err := c.FromConnect("keys", schema.DateSchema(), time.Unix(0, 0)); err == nil {
		t.Error("a top-level Date was written")
	}
}

// A schema importing others through schema references (a reference with
// its own reference) next to the known types, which need none.
func TestProtobufReferences(t *testing.T) {
	t.Parallel()
	url := testenv.Registry(t)
	cl, err := sr.NewClient(sr.URLs(url))
	if err != nil {
		t.Fatal(err)
	}
	ctx := t.Context()
	pre := fmt.Sprintf("sluice-refs-%d", time.Now().UnixNano())
	unit := `syntax = "proto3";
package ` + "common" + `;
enum Unit { UNIT_UNSPECIFIED = 0; CENT = 1; }
`
	money := `syntax = "proto3";
package common;
import "unit.proto";
message Money { int64 amount = 1; Unit unit = 2; }
`
	order := `syntax = "proto3";
package shop;
import "money.proto";
import "google/type/date.proto";
message Order {
  common.Money total = 1;
  google.type.Date due = 2;
}
`
	u, err := cl.CreateSchema(ctx, pre+"-unit", sr.Schema{Schema: unit, Type: sr.TypeProtobuf})
	if err != nil {
		t.Fatal(err)
	}
	m, err := cl.CreateSchema(ctx, pre+"-money", sr.Schema{Schema: money, Type: sr.TypeProtobuf,
		References: []sr.SchemaReference{{Name: "unit.proto", Subject: u.Subject, Version: u.Version}}})
	if err != nil {
		t.Fatal(err)
	}
	// A known type may be a reference too (a registry that does not know
	// google/type/date.proto needs it to be).
	d, err := cl.CreateSchema(ctx, pre+"-date", sr.Schema{Schema: knownReferences["google/type/date.proto"], Type: sr.TypeProtobuf})
	if err != nil {
		t.Fatal(err)
	}
	o, err := cl.CreateSchema(ctx, pre+"-value", sr.Schema{Schema: order, Type: sr.TypeProtobuf,
		References: []sr.SchemaReference{{Name: "money.proto", Subject: m.Subject, Version: m.Version},
			{Name: "google/type/date.proto", Subject: d.Subject, Version: d.Version}}})
	if err != nil {
		t.Fatal(err)
	}
	// total = {amount: 250, unit: CENT}; due = 2024-02-29
	payload := []byte{0x0a, 0x05, 0x08, 0xfa, 0x01, 0x10, 0x01, 0x12, 0x07, 0x08, 0xe8, 0x0f, 0x10, 0x02, 0x18, 0x1d}
	msg := append(schemaregistry.AppendHeader(nil, int32(o.ID)), 0)
	msg = append(msg, payload...)
	c := protoConv(t, url, false, nil)
	s, v, err := c.ToConnect(pre, msg)
	if err != nil {
		t.Fatal(err)
	}
	sv := v.(*schema.StructValue)
	total := sv.Get("total").(*schema.StructValue)
	if s.Fields[0].Schema.Name != "common.Money" || total.Get("amount") != int64(250) || total.Get("unit") != "CENT" ||
		s.Fields[1].Schema.Name != schema.DateName || !sv.Get("due").(time.Time).Equal(time.Date(2024, 2, 29, 0, 0, 0, 0, time.UTC)) {
		t.Errorf("read %+v %v", s, sv.Values)
	}
	// use.latest.version writes with the referencing schema.
	w := protoConv(t, url, false, map[string]string{"auto.register.schemas": "false", "use.latest.version": "true"})
	b, err := w.FromConnect(pre, s, v)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(b, msg) {
		t.Errorf("written % x\nwant    % x", b, msg)
	}
}

// A Connect struct standing for a oneof (as ProtobufData reads one) is
// written as the oneof, its members numbered by their tag parameters.
func TestProtobufUnion(t *testing.T) {
	t.Parallel()
	_, url := fakeRegistry(t)
	tag := func(s *schema.Schema, n string) *schema.Schema {
		s.Parameters = map[string]string{protoTagParam: n}
		return s.AsOptional()
	}
	u := schema.NewStructBuilder().Name(protoUnionName+".pay").
		Field("card", tag(schema.StringSchema(), "3")).
		Field("cash", tag(schema.Int64Schema(), "4")).Optional().Build()
	s := schema.NewStructBuilder().Name("p.Payment").Field("pay_0", u).Field("id", tag(schema.Int32Schema(), "2")).Build()
	opts, _ := parseProtoOptions(nil)
	text, _, err := connectToProto(s, &opts)
	want := `syntax = "proto3";
package p;

message Payment {
  optional int32 id = 2;

  oneof pay {
    string card = 3;
    int64 cash = 4;
  }
}
`
	if err != nil || text != want {
		t.Errorf("%v\n%s", err, text)
	}
	uv := schema.NewStruct(u)
	_ = uv.Put("cash", int64(5))
	v := schema.NewStruct(s)
	_ = v.Put("pay_0", uv)
	c := protoConv(t, url, false, nil)
	b, err := c.FromConnect("pay", s, v)
	if err != nil {
		t.Fatal(err)
	}
	if want := []byte{0x20, 0x05}; !bytes.Equal(b[6:], want) {
		t.Errorf("% x", b)
	}
	gs, gv, err := c.ToConnect("pay", b)
	if err != nil {
		t.Fatal(err)
	}
	if gs.Fields[0].Name != "pay_0" || gv.(*schema.StructValue).Get("pay_0").(*schema.StructValue).Get("cash") != int64(5) ||
		gv.(*schema.StructValue).Get("id") != nil {
		t.Errorf("read %+v %v", gs, gv)
	}
}

// scrub.invalid.names makes field and struct names protobuf identifiers
// as Confluent does.
func TestProtobufScrub(t *testing.T) {
	t.Parallel()
	for in, want := range map[string]string{"ok_name": "ok_name", "a-b": "a_b", "1st": "x1st", "_x": "x_x", "a b": "a_b",
		"é": "_C3_A9", "a~b": "a_7Eb", "a*b": "a_b"} {
		if got := scrubName(in); got != want {
			t.Errorf("%q: %q, want %q", in, got, want)
		}
	}
	_, url := fakeRegistry(t)
	s := schema.NewStructBuilder().Name("my-ns.the record").Field("first-name", schema.StringSchema()).Build()
	v := schema.NewStruct(s)
	_ = v.Put("first-name", "Ann")
	if _, err := protoConv(t, url, false, nil).FromConnect("scrub", s, v); err == nil {
		t.Error("invalid names written without scrub.invalid.names")
	}
	c := protoConv(t, url, false, map[string]string{"scrub.invalid.names": "true"})
	b, err := c.FromConnect("scrub", s, v)
	if err != nil {
		t.Fatal(err)
	}
	gs, gv, err := c.ToConnect("scrub", b)
	if err != nil || gs.Name != "my_ns.the_record" || gv.(*schema.StructValue).Get("first_name") != "Ann" {
		t.Errorf("read %+v %v %v", gs, gv, err)
	}
}

func TestProtobufMapNames(t *testing.T) {
	t.Parallel()
	for _, c := range [][2]string{{"ConnectDefault2", "ConnectDefault2Entry"}, {"connect_default2", "ConnectDefault2Entry"},
		{"attrs", "attrsEntry"}, {"foo_bAR", "FooBarEntry"}} {
		if got := toMapEntry(c[0]); got != c[1] {
			t.Errorf("toMapEntry(%q) = %q, want %q", c[0], got, c[1])
		}
	}
	for _, c := range [][2]string{{"ConnectDefault2Entry", "connect_default2"}, {"a.b.AttrsEntry", "a.b.attrs"},
		{"HTTPEntry", "h_t_t_p"}, {"Other", "Other"}} {
		if got := toMapField(c[0]); got != c[1] {
			t.Errorf("toMapField(%q) = %q, want %q", c[0], got, c[1])
		}
	}
}

// With skip.known.types=false the known types a schema imports are
// registered first, under subjects of their names, and the schema with
// references to them, as Confluent's serializer does: how a registry that
// does not know them takes a schema with Decimal, Date, Time and
// Timestamp.
func TestProtobufSkipKnownTypes(t *testing.T) {
	t.Parallel()
	reg, url := fakeRegistry(t)
	s, v := protoTypes()
	b, err := protoConv(t, url, false, map[string]string{"skip.known.types": "false"}).FromConnect("known", s, v)
	if err != nil {
		t.Fatal(err)
	}
	got, _ := reg.GetSchema("known-value", 1)
	var refs []string
	for _, r := range got.Schema.References {
		refs = append(refs, fmt.Sprintf("%s=%s@%d", r.Name, r.Subject, r.Version))
		if dep, ok := reg.GetSchema(r.Subject, r.Version); !ok || dep.Schema.Schema != knownReferences[r.Name] {
			t.Errorf("reference %s: %q", r.Name, dep.Schema.Schema)
		}
	}
	if got.Schema.Schema != protoTypesText || strings.Join(refs, ",") != "confluent/type/decimal.proto=confluent/type/decimal.proto@1,"+
		"google/type/date.proto=google/type/date.proto@1,google/type/timeofday.proto=google/type/timeofday.proto@1,"+
		"google/protobuf/timestamp.proto=google/protobuf/timestamp.proto@1" {
		t.Errorf("registered %s with %v", got.Schema.Schema, refs)
	}
	// Found again without registering.
	b2, err := protoConv(t, url, false, map[string]string{"skip.known.types": "false", "auto.register.schemas": "false"}).FromConnect("known", s, v)
	if err != nil || !bytes.Equal(b2, b) {
		t.Errorf("looked up: %v % x", err, b2)
	}
}

// Against the registry at SLUICE_TEST_REGISTRY (the in-memory one without
// it): a schema with Date, Time and Timestamp registered with its known
// types as references, read back, and a primitive. (Decimal, int8 and
// int16 carry (confluent.field_meta) options, which Confluent's registry
// keeps but a registry without confluent/meta.proto may refuse or drop.)
func TestProtobufRegistryServer(t *testing.T) {
	t.Parallel()
	url := testenv.Registry(t)
	topic := fmt.Sprintf("sluice-pb-known-%d", time.Now().UnixNano())
	full, fv := protoTypes()
	s := &schema.Schema{Type: schema.Struct, Name: "shop.Order"}
	v := schema.NewStruct(s)
	for _, f := range full.Fields {
		switch f.Name {
		case "id", "note", "day", "at", "ts", "tags", "attrs", "ship":
			s.Fields = append(s.Fields, schema.Field{Name: f.Name, Index: len(s.Fields), Schema: f.Schema})
			v.Values = append(v.Values, fv.Get(f.Name))
		}
	}
	w := protoConv(t, url, false, map[string]string{"skip.known.types": "false"})
	b, err := w.FromConnect(topic, s, v)
	if err != nil {
		t.Fatal(err)
	}
	gs, gv, err := protoConv(t, url, false, nil).ToConnect(topic, b)
	if err != nil {
		t.Fatal(err)
	}
	g := gv.(*schema.StructValue)
	for _, f := range []string{"id", "note", "day", "at", "ts", "tags", "attrs"} {
		if !reflect.DeepEqual(g.Get(f), v.Get(f)) {
			t.Errorf("%s: %v, want %v", f, g.Get(f), v.Get(f))
		}
	}
	if gs.Fields[2].Schema.Name != schema.DateName || g.Get("ship").(*schema.StructValue).Get("street") != "1 Main St" {
		t.Errorf("read %+v %v", gs, g.Values)
	}
	kc := protoConv(t, url, true, map[string]string{"skip.known.types": "false"})
	k, err := kc.FromConnect(topic, schema.StringSchema(), "abc")
	if err != nil {
		t.Fatal(err)
	}
	if _, kv, err := kc.ToConnect(topic, k); err != nil || kv != "abc" {
		t.Errorf("primitive: %v %v", kv, err)
	}
}
