package converter

import (
	"math/big"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/sluicehq/sluice/connectors/schema"
)

func mustNew(t *testing.T, class string, opts map[string]string) Converter {
	t.Helper()
	c, err := New(class, opts, false)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// The expected bytes are what Kafka's JsonConverter writes for the same data.
func TestJSONGolden(t *testing.T) {
	t.Parallel()
	person := schema.NewStructBuilder().Name("person").
		Field("id", schema.Int32Schema()).
		Field("name", schema.OptionalStringSchema()).
		Build()
	p := schema.NewStruct(person)
	_ = p.Put("id", int32(7))
	_ = p.Put("name", "Ada")
	tests := []struct {
		name string
		opts map[string]string
		s    *schema.Schema
		v    any
		want string
	}{
		{"int32", nil, schema.Int32Schema(), int32(42), `{"schema":{"type":"int32","optional":false},"payload":42}`},
		{"string", nil, schema.StringSchema(), "a\"b", `{"schema":{"type":"string","optional":false},"payload":"a\"b"}`},
		{"double", nil, schema.Float64Schema(), 12.0, `{"schema":{"type":"double","optional":false},"payload":12.0}`},
		{"double exp", nil, schema.Float64Schema(), 1e10, `{"schema":{"type":"double","optional":false},"payload":1.0E10}`},
		{"bytes", nil, schema.BytesSchema(), []byte("hi"), `{"schema":{"type":"bytes","optional":false},"payload":"aGk="}`},
		{"struct", nil, person, p, `{"schema":{"type":"struct","fields":[{"type":"int32","optional":false,"field":"id"},{"type":"string","optional":true,"field":"name"}],"optional":false,"name":"person"},"payload":{"id":7,"name":"Ada"}}`},
		{"array", nil, schema.ArraySchema(schema.Int64Schema()), []any{int64(1), int64(2)}, `{"schema":{"type":"array","items":{"type":"int64","optional":false},"optional":false},"payload":[1,2]}`},
		{"map", nil, schema.MapSchema(schema.StringSchema(), schema.BooleanSchema()), map[string]any{"b": true, "a": false}, `{"schema":{"type":"map","keys":{"type":"string","optional":false},"values":{"type":"boolean","optional":false},"optional":false},"payload":{"a":false,"b":true}}`},
		{"map int keys", nil, schema.MapSchema(schema.Int32Schema(), schema.StringSchema()), []schema.MapEntry{{Key: int32(1), Value: "x"}}, `{"schema":{"type":"map","keys":{"type":"int32","optional":false},"values":{"type":"string","optional":false},"optional":false},"payload":[[1,"x"]]}`},
		{"decimal base64", nil, schema.DecimalSchema(2), schema.Decimal{Unscaled: big.NewInt(12345), Scale: 2}, `{"schema":{"type":"bytes","optional":false,"name":"org.apache.kafka.connect.data.Decimal","version":1,"parameters":{"scale":"2"}},"payload":"MDk="}`},
		{"decimal numeric", map[string]string{"decimal.format": "NUMERIC"}, schema.DecimalSchema(2), schema.Decimal{Unscaled: big.NewInt(-12345), Scale: 2}, `{"schema":{"type":"bytes","optional":false,"name":"org.apache.kafka.connect.data.Decimal","version":1,"parameters":{"scale":"2"}},"payload":-123.45}`},
		{"timestamp", nil, schema.TimestampSchema(), time.UnixMilli(1700000000123), `{"schema":{"type":"int64","optional":false,"name":"org.apache.kafka.connect.data.Timestamp","version":1},"payload":1700000000123}`},
		{"date", nil, schema.DateSchema(), time.Date(1970, 1, 11, 0, 0, 0, 0, time.UTC), `{"schema":{"type":"int32","optional":false,"name":"org.apache.kafka.connect.data.Date","version":1},"payload":10}`},
		{"optional null", nil, schema.OptionalStringSchema(), nil, `{"schema":{"type":"string","optional":true},"payload":null}`},
		{"null with default", nil, &schema.Schema{Type: schema.Int32, Optional: true, Default: int32(5)}, nil, `{"schema":{"type":"int32","optional":true,"default":5},"payload":5}`},
		{"null kept", map[string]string{"replace.null.with.default": "false"}, &schema.Schema{Type: schema.Int32, Optional: true, Default: int32(5)}, nil, `{"schema":{"type":"int32","optional":true,"default":5},"payload":null}`},
		{"schemaless in envelope", nil, nil, map[string]any{"a": int64(1)}, `{"schema":null,"payload":{"a":1}}`},
		{"schemas disabled", map[string]string{"schemas.enable": "false"}, schema.StringSchema(), "x", `"x"`},
		{"schemas disabled struct", map[string]string{"schemas.enable": "false"}, person, p, `{"id":7,"name":"Ada"}`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := mustNew(t, "json", tt.opts)
			b, err := c.FromConnect("t", tt.s, tt.v)
			if err != nil {
				t.Fatal(err)
			}
			if string(b) != tt.want {
				t.Fatalf("got  %s\nwant %s", b, tt.want)
			}
			// And back.
			s, v, err := c.ToConnect("t", b)
			if err != nil {
				t.Fatal(err)
			}
			if tt.opts["schemas.enable"] == "false" || tt.s == nil {
				return
			}
			if s.Type != tt.s.Type || s.Name != tt.s.Name || s.Optional != tt.s.Optional {
				t.Fatalf("schema back: %+v, want %+v", s, tt.s)
			}
			want := tt.v
			if want == nil && tt.s.Default != nil && tt.opts["replace.null.with.default"] != "false" {
				want = tt.s.Default
			}
			if tm, ok := want.(time.Time); ok {
				want = tm.UTC()
			}
			if d, ok := want.(schema.Decimal); ok {
				if got := v.(schema.Decimal); got.String() != d.String() {
					t.Fatalf("decimal back %s, want %s", got, d)
				}
				return
			}
			if sv, ok := v.(*schema.StructValue); ok {
				if !reflect.DeepEqual(sv.Values, want.(*schema.StructValue).Values) {
					t.Fatalf("struct back %v", sv.Values)
				}
				return
			}
			if !reflect.DeepEqual(v, want) {
				t.Fatalf("value back %#v, want %#v", v, want)
			}
		})
	}
}

func TestJSONTombstoneAndErrors(t *testing.T) {
	t.Parallel()
	c := mustNew(t, JSONClass, nil)
	if b, err := c.FromConnect("t", nil, nil); err != nil || b != nil {
		t.Fatalf("null without schema: %q %v, want nil bytes", b, err)
	}
	if s, v, err := c.ToConnect("t", nil); s != nil || v != nil || err != nil {
		t.Fatalf("nil bytes: %v %v %v", s, v, err)
	}
	_, _, err := c.ToConnect("t", []byte(`{"a":1}`))
	if err == nil || !strings.Contains(err.Error(), "schemas.enable=false") {
		t.Fatalf("plain JSON with schemas.enable: %v", err)
	}
	if _, err := c.FromConnect("t", schema.Int32Schema(), "x"); err == nil {
		t.Fatal("wrong type accepted")
	}
	plain := mustNew(t, "json", map[string]string{"schemas.enable": "false"})
	_, v, err := plain.ToConnect("t", []byte(`{"a":1,"b":[1.5,"x"]}`))
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]any{"a": int64(1), "b": []any{1.5, "x"}}
	if !reflect.DeepEqual(v, want) {
		t.Fatalf("schemaless %#v", v)
	}
}

func TestFromConfig(t *testing.T) {
	t.Parallel()
	c, err := FromConfig(map[string]string{"value.converter": "org.apache.kafka.connect.storage.StringConverter"}, false)
	if err != nil {
		t.Fatal(err)
	}
	if !c.PassesThrough(schema.StringSchema()) {
		t.Fatal("StringConverter should pass strings through")
	}
	if k, _ := FromConfig(map[string]string{}, true); k.PassesThrough(nil) {
		t.Fatal("default JsonConverter must not pass through")
	}
	_, err = FromConfig(map[string]string{"value.converter": "json", "value.converter.schemas.enable": "maybe"}, false)
	if err == nil || !strings.HasPrefix(err.Error(), "value.converter.schemas.enable:") {
		t.Fatalf("bad option: %v", err)
	}
	_, err = FromConfig(map[string]string{"key.converter": "com.example.Nope"}, true)
	if err == nil || !strings.HasPrefix(err.Error(), "key.converter:") {
		t.Fatalf("unknown class: %v", err)
	}
	for _, name := range []string{"string", "StringConverter", "bytes", ByteArrayClass, "JSON"} {
		if _, err := New(name, nil, false); err != nil {
			t.Errorf("%s: %v", name, err)
		}
	}
}

func TestTwosComplement(t *testing.T) {
	t.Parallel()
	for _, n := range []int64{0, 1, -1, 127, 128, -128, -129, 255, 256, -256, 12345, -12345} {
		b := schema.TwosComplement(big.NewInt(n))
		if got := schema.FromTwosComplement(b).Int64(); got != n {
			t.Errorf("%d -> %x -> %d", n, b, got)
		}
	}
	if b := schema.TwosComplement(big.NewInt(128)); len(b) != 2 || b[0] != 0 {
		t.Errorf("128 -> %x, want 0080", b)
	}
	if b := schema.TwosComplement(big.NewInt(-128)); len(b) != 1 || b[0] != 0x80 {
		t.Errorf("-128 -> %x, want 80", b)
	}
}
