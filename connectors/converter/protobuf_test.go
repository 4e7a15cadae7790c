package converter

import (
	"bytes"
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
)

func protoTypes() (*schema.Schema, *schema.StructValue) {
	addr := schema.NewStructBuilder().Name("shop.Address").Field("street", schema.StringSchema()).Optional().Build()
	s := schema.NewStructBuilder().Name("shop.Order").
		Field("id", schema.Int64Schema()).
		Field("qty", schema.Int32Schema()).
		Field("f32", schema.Float32Schema()).
		Field("f64", schema.Float64Schema()).
		Field("ok", schema.BooleanSchema()).
		Field("item", schema.StringSchema()).
		Field("raw", schema.BytesSchema()).
		Field("note", schema.OptionalStringSchema()).
		Field("count", (&schema.Schema{Type: schema.Int32}).AsOptional()).
		Field("at", schema.TimestampSchema().AsOptional()).
		Field("tags", schema.ArraySchema(schema.StringSchema())).
		Field("attrs", schema.MapSchema(schema.StringSchema(), schema.Int64Schema())).
		Field("byid", schema.MapSchema(schema.Int32Schema(), schema.StringSchema())).
		Field("ship", addr).
		Field("past", schema.ArraySchema(&schema.Schema{Type: schema.Struct, Name: "shop.Address", Fields: addr.Fields})).
		Build()
	a := schema.NewStruct(addr)
	_ = a.Put("street", "1 Main St")
	v := schema.NewStruct(s)
	for k, x := range map[string]any{
		"id": int64(-5), "qty": int32(3), "f32": float32(1.5), "f64": 2.25, "ok": true, "item": "pen",
		"raw": []byte{1, 2}, "note": "gift", "at": time.UnixMilli(1700000000123).UTC(),
		"tags": []any{"a", "b"}, "attrs": map[string]any{"x": int64(1)},
		"byid": []schema.MapEntry{{Key: int32(1), Value: "one"}, {Key: int32(2), Value: "two"}},
		"ship": a, "past": []any{a},
	} {
		if err := v.Put(k, x); err != nil {
			panic(err)
		}
	}
	return s, v
}

func TestProtobufSchema(t *testing.T) {
	t.Parallel()
	s, _ := protoTypes()
	text, err := connectToProto(s)
	if err != nil {
		t.Fatal(err)
	}
	want := `syntax = "proto3";
package shop;

import "google/protobuf/timestamp.proto";

message Order {
  int64 id = 1;
  int32 qty = 2;
  float f32 = 3;
  double f64 = 4;
  bool ok = 5;
  string item = 6;
  bytes raw = 7;
  optional string note = 8;
  optional int32 count = 9;
  google.protobuf.Timestamp at = 10;
  repeated string tags = 11;
  map<string, int64> attrs = 12;
  map<int32, string> byid = 13;
  Address ship = 14;
  repeated Address past = 15;
  message Address {
    string street = 1;
  }
}
`
	if text != want {
		t.Errorf("got\n%s\nwant\n%s", text, want)
	}
	fd, err := compileProto(text)
	if err != nil {
		t.Fatal(err)
	}
	back, err := protoToConnect(fd.Messages().Get(0))
	if err != nil {
		t.Fatal(err)
	}
	// Messages are optional in Protobuf; the rest maps back as it was.
	if back.Name != "shop.Order" || len(back.Fields) != len(s.Fields) || !back.Fields[13].Schema.Optional ||
		!back.Fields[7].Schema.Optional || back.Fields[0].Schema.Optional || back.Fields[12].Schema.Key.Type != schema.Int32 {
		t.Errorf("back: %+v", back)
	}
}

func TestProtobufRoundTrip(t *testing.T) {
	t.Parallel()
	reg, url := fakeRegistry(t)
	s, v := protoTypes()
	w, err := New(ProtobufClass, map[string]string{"schema.registry.url": url}, false)
	if err != nil {
		t.Fatal(err)
	}
	b, err := w.FromConnect("orders", s, v)
	if err != nil {
		t.Fatal(err)
	}
	// Header, message indexes [0], then the message: field 1 (id) first.
	if !bytes.HasPrefix(b, []byte{0, 0, 0, 0, 1, 0, 0x08}) {
		t.Errorf("wire bytes % x", b[:8])
	}
	if !reg.SubjectExists("orders-value") {
		t.Error("subject orders-value was not registered")
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
		case []any:
			if f.Name == "past" {
				want, have = w[0].(*schema.StructValue).Values, have.([]any)[0].(*schema.StructValue).Values
			}
		}
		if !reflect.DeepEqual(have, want) {
			t.Errorf("field %s: got %#v, want %#v", f.Name, have, want)
		}
	}
	// An unset optional field reads as null; an unset plain one as its zero.
	_ = v.Put("note", nil)
	_ = v.Put("qty", nil)
	b, _ = w.FromConnect("orders", s, v)
	_, got, _ = r.ToConnect("orders", b)
	if gv := got.(*schema.StructValue); gv.Get("note") != nil || gv.Get("qty") != int32(0) {
		t.Errorf("note %v qty %v", gv.Get("note"), gv.Get("qty"))
	}
}

// A message written by the protobuf runtime under a registered schema with
// two messages, read with message indexes [1].
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
}
`
	id, _, err := reg.RegisterSchema("clicks-value", sr.Schema{Schema: text, Type: sr.TypeProtobuf})
	if err != nil {
		t.Fatal(err)
	}
	fd, err := compileProto(text)
	if err != nil {
		t.Fatal(err)
	}
	md := fd.Messages().Get(1)
	m := dynamicpb.NewMessage(md)
	m.Set(md.Fields().ByName("kind"), protoEnum(2))
	m.Set(md.Fields().ByName("n"), protoUint(7))
	payload, _ := proto.Marshal(m)
	msg := append(schemaregistry.AppendHeader(nil, int32(id)), 2, 2) // indexes: count 1, index 1 (zigzag)
	msg = append(msg, payload...)
	c, _ := New(ProtobufClass, map[string]string{"schema.registry.url": url}, false)
	s, v, err := c.ToConnect("clicks", msg)
	if err != nil {
		t.Fatal(err)
	}
	sv := v.(*schema.StructValue)
	if s.Name != "ev.Click" || sv.Get("kind") != "RIGHT" || sv.Get("n") != int64(7) {
		t.Errorf("read %+v %v", s, sv.Values)
	}
	if _, err := c.FromConnect("t", schema.StringSchema(), "x"); err == nil || !strings.Contains(err.Error(), "struct") {
		t.Errorf("a string: %v", err)
	}
}

func protoEnum(n int32) protoreflect.Value {
	return protoreflect.ValueOfEnum(protoreflect.EnumNumber(n))
}
func protoUint(n uint32) protoreflect.Value { return protoreflect.ValueOfUint32(n) }
