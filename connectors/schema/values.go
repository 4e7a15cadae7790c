package schema

import (
	"fmt"
	"math/big"
	"strconv"
	"strings"
	"time"
)

// Go values of Connect data, by schema type:
//
//	int8, int16, int32, int64   int8, int16, int32, int64
//	float, double               float32, float64
//	boolean                     bool
//	string                      string
//	bytes                       []byte
//	array                       []any
//	map                         map[string]any (string keys) or []MapEntry
//	struct                      *StructValue
//
// Logical types: Decimal is a Decimal, Date, Time and Timestamp are
// time.Time (UTC). Schemaless data (a nil schema) uses the same Go types,
// with integral numbers as int64 and others as float64, objects as
// map[string]any and arrays as []any.

// Logical type names, as Kafka Connect spells them.
const (
	DecimalName   = "org.apache.kafka.connect.data.Decimal"
	DateName      = "org.apache.kafka.connect.data.Date"
	TimeName      = "org.apache.kafka.connect.data.Time"
	TimestampName = "org.apache.kafka.connect.data.Timestamp"
	// DecimalScaleParam is the Decimal schema parameter holding the scale.
	DecimalScaleParam = "scale"
)

// MapEntry is one entry of a map whose keys are not strings.
type MapEntry struct {
	Key, Value any
}

// Decimal is an arbitrary-precision decimal: Unscaled × 10^-Scale.
type Decimal struct {
	Unscaled *big.Int
	Scale    int32
}

// String renders the decimal in plain notation, as Java's
// BigDecimal.toPlainString does.
func (d Decimal) String() string {
	if d.Unscaled == nil {
		return "0"
	}
	s := d.Unscaled.String()
	if d.Scale <= 0 {
		return s + strings.Repeat("0", int(-d.Scale))
	}
	neg := strings.HasPrefix(s, "-")
	s = strings.TrimPrefix(s, "-")
	if len(s) <= int(d.Scale) {
		s = strings.Repeat("0", int(d.Scale)-len(s)+1) + s
	}
	out := s[:len(s)-int(d.Scale)] + "." + s[len(s)-int(d.Scale):]
	if neg {
		out = "-" + out
	}
	return out
}

// ParseDecimal parses a plain or scientific decimal number.
func ParseDecimal(s string) (Decimal, error) {
	f, ok := new(big.Float).SetPrec(0).SetString(s)
	if !ok || f == nil {
		return Decimal{}, fmt.Errorf("%q is not a decimal number", s)
	}
	mant, exp := s, 0
	if i := strings.IndexAny(s, "eE"); i >= 0 {
		mant = s[:i]
		e, err := strconv.Atoi(s[i+1:])
		if err != nil {
			return Decimal{}, fmt.Errorf("%q is not a decimal number", s)
		}
		exp = e
	}
	scale := 0
	if i := strings.IndexByte(mant, '.'); i >= 0 {
		scale = len(mant) - i - 1
		mant = mant[:i] + mant[i+1:]
	}
	u, ok := new(big.Int).SetString(mant, 10)
	if !ok {
		return Decimal{}, fmt.Errorf("%q is not a decimal number", s)
	}
	return Decimal{Unscaled: u, Scale: int32(scale - exp)}, nil
}

// DecimalScale returns the scale of a Decimal schema.
func DecimalScale(s *Schema) (int32, error) {
	v, ok := s.Parameters[DecimalScaleParam]
	if !ok {
		return 0, fmt.Errorf("decimal schema without the %q parameter", DecimalScaleParam)
	}
	n, err := strconv.ParseInt(v, 10, 32)
	if err != nil {
		return 0, fmt.Errorf("decimal schema scale %q: %w", v, err)
	}
	return int32(n), nil
}

// StructValue is a value of a struct schema: one value per field, in the
// schema's field order.
type StructValue struct {
	Schema *Schema
	Values []any
}

// NewStruct returns an empty struct of schema s.
func NewStruct(s *Schema) *StructValue {
	return &StructValue{Schema: s, Values: make([]any, len(s.Fields))}
}

// Get returns a field's value, or nil when the field does not exist.
func (v *StructValue) Get(name string) any {
	if f := v.Schema.Field(name); f != nil {
		return v.Values[f.Index]
	}
	return nil
}

// Put sets a field's value. It fails when the schema has no such field.
func (v *StructValue) Put(name string, x any) error {
	f := v.Schema.Field(name)
	if f == nil {
		return fmt.Errorf("struct %s has no field %q", v.Schema.Name, name)
	}
	v.Values[f.Index] = x
	return nil
}

// Field returns the struct field named name, or nil.
func (s *Schema) Field(name string) *Field {
	if s == nil {
		return nil
	}
	for i := range s.Fields {
		if s.Fields[i].Name == name {
			return &s.Fields[i]
		}
	}
	return nil
}

// Schemas for the primitive types. Each call returns a new schema.
func Int8Schema() *Schema    { return &Schema{Type: Int8} }
func Int16Schema() *Schema   { return &Schema{Type: Int16} }
func Int32Schema() *Schema   { return &Schema{Type: Int32} }
func Int64Schema() *Schema   { return &Schema{Type: Int64} }
func Float32Schema() *Schema { return &Schema{Type: Float32} }
func Float64Schema() *Schema { return &Schema{Type: Float64} }
func BooleanSchema() *Schema { return &Schema{Type: Boolean} }
func StringSchema() *Schema  { return &Schema{Type: String} }
func BytesSchema() *Schema   { return &Schema{Type: Bytes} }

// OptionalStringSchema and OptionalBytesSchema are the schemas of
// StringConverter's and ByteArrayConverter's values.
func OptionalStringSchema() *Schema { return &Schema{Type: String, Optional: true} }
func OptionalBytesSchema() *Schema  { return &Schema{Type: Bytes, Optional: true} }

// DecimalSchema is Kafka Connect's Decimal logical type with a scale.
func DecimalSchema(scale int32) *Schema {
	return &Schema{Type: Bytes, Name: DecimalName, Version: 1,
		Parameters: map[string]string{DecimalScaleParam: strconv.Itoa(int(scale))}}
}

// DateSchema is Kafka Connect's Date logical type (days since the epoch).
func DateSchema() *Schema { return &Schema{Type: Int32, Name: DateName, Version: 1} }

// TimeSchema is Kafka Connect's Time logical type (milliseconds of the day).
func TimeSchema() *Schema { return &Schema{Type: Int32, Name: TimeName, Version: 1} }

// TimestampSchema is Kafka Connect's Timestamp logical type (milliseconds
// since the epoch).
func TimestampSchema() *Schema { return &Schema{Type: Int64, Name: TimestampName, Version: 1} }

// ArraySchema is an array of elem.
func ArraySchema(elem *Schema) *Schema { return &Schema{Type: Array, Elem: elem} }

// MapSchema is a map from key to value.
func MapSchema(key, value *Schema) *Schema { return &Schema{Type: Map, Key: key, Value: value} }

// AsOptional marks s optional and returns it.
func (s *Schema) AsOptional() *Schema { s.Optional = true; return s }

// StructBuilder builds a struct schema field by field.
type StructBuilder struct{ s *Schema }

// NewStructBuilder starts a struct schema.
func NewStructBuilder() *StructBuilder { return &StructBuilder{s: &Schema{Type: Struct}} }

// Name sets the schema's name.
func (b *StructBuilder) Name(n string) *StructBuilder { b.s.Name = n; return b }

// Optional makes the struct optional.
func (b *StructBuilder) Optional() *StructBuilder { b.s.Optional = true; return b }

// Field adds a field.
func (b *StructBuilder) Field(name string, s *Schema) *StructBuilder {
	b.s.Fields = append(b.s.Fields, Field{Name: name, Index: len(b.s.Fields), Schema: s})
	return b
}

// Build returns the schema.
func (b *StructBuilder) Build() *Schema { return b.s }

// IsLogical reports whether s is the logical type name.
func (s *Schema) IsLogical(name string) bool { return s != nil && s.Name == name }

// Days, millisecond-of-day and epoch-millisecond conversions of the
// logical types.
func DateToDays(t time.Time) int32 { return int32(t.UTC().Unix() / 86400) }
func DaysToDate(d int32) time.Time { return time.Unix(int64(d)*86400, 0).UTC() }
func TimeToMillis(t time.Time) int32 {
	t = t.UTC()
	return int32((t.Hour()*3600+t.Minute()*60+t.Second())*1000 + t.Nanosecond()/1e6)
}
func MillisToTime(ms int32) time.Time      { return time.UnixMilli(int64(ms)).UTC() }
func TimestampToMillis(t time.Time) int64  { return t.UnixMilli() }
func MillisToTimestamp(ms int64) time.Time { return time.UnixMilli(ms).UTC() }

// Validate checks that v is a value of schema s; its error names the
// field path.
func Validate(s *Schema, v any) error { return validate("", s, v) }

func validate(path string, s *Schema, v any) error {
	where := func() string {
		if path == "" {
			return "value"
		}
		return "field " + path
	}
	if s == nil {
		return nil
	}
	if v == nil {
		if s.Optional || s.Default != nil {
			return nil
		}
		return fmt.Errorf("%s: null for a required %s", where(), s.Type)
	}
	ok := false
	switch s.Type {
	case Int8:
		_, ok = v.(int8)
	case Int16:
		_, ok = v.(int16)
	case Int32:
		if s.Name == DateName || s.Name == TimeName {
			_, ok = v.(time.Time)
		} else {
			_, ok = v.(int32)
		}
	case Int64:
		if s.Name == TimestampName {
			_, ok = v.(time.Time)
		} else {
			_, ok = v.(int64)
		}
	case Float32:
		_, ok = v.(float32)
	case Float64:
		_, ok = v.(float64)
	case Boolean:
		_, ok = v.(bool)
	case String:
		_, ok = v.(string)
	case Bytes:
		if s.Name == DecimalName {
			_, ok = v.(Decimal)
		} else {
			_, ok = v.([]byte)
		}
	case Array:
		var items []any
		if items, ok = v.([]any); ok {
			for i, it := range items {
				if err := validate(fmt.Sprintf("%s[%d]", path, i), s.Elem, it); err != nil {
					return err
				}
			}
		}
	case Map:
		switch m := v.(type) {
		case map[string]any:
			ok = true
			for k, x := range m {
				if err := validate(path+"."+k, s.Value, x); err != nil {
					return err
				}
			}
		case []MapEntry:
			ok = true
			for _, e := range m {
				if err := validate(path+".<key>", s.Key, e.Key); err != nil {
					return err
				}
				if err := validate(fmt.Sprintf("%s[%v]", path, e.Key), s.Value, e.Value); err != nil {
					return err
				}
			}
		}
	case Struct:
		var sv *StructValue
		if sv, ok = v.(*StructValue); ok {
			if len(sv.Values) != len(s.Fields) {
				return fmt.Errorf("%s: struct has %d values for %d fields", where(), len(sv.Values), len(s.Fields))
			}
			for i, f := range s.Fields {
				p := f.Name
				if path != "" {
					p = path + "." + f.Name
				}
				if err := validate(p, f.Schema, sv.Values[i]); err != nil {
					return err
				}
			}
		}
	default:
		return fmt.Errorf("%s: unknown schema type %q", where(), s.Type)
	}
	if !ok {
		return fmt.Errorf("%s: %T is not a valid value for schema type %s", where(), v, s.Type)
	}
	return nil
}

// Rescale returns d with the given scale: zeros added, or digits beyond it
// dropped (truncated toward zero).
func (d Decimal) Rescale(scale int32) Decimal {
	if d.Scale == scale || d.Unscaled == nil {
		return Decimal{Unscaled: d.Unscaled, Scale: scale}
	}
	u := new(big.Int).Set(d.Unscaled)
	if scale > d.Scale {
		u.Mul(u, new(big.Int).Exp(big.NewInt(10), big.NewInt(int64(scale-d.Scale)), nil))
	} else {
		u.Quo(u, new(big.Int).Exp(big.NewInt(10), big.NewInt(int64(d.Scale-scale)), nil))
	}
	return Decimal{Unscaled: u, Scale: scale}
}

// TwosComplement is Java's BigInteger.toByteArray, the bytes of Kafka
// Connect's Decimal: big-endian two's complement, minimal length.
func TwosComplement(x *big.Int) []byte {
	if x == nil || x.Sign() == 0 {
		return []byte{0}
	}
	if x.Sign() > 0 {
		b := x.Bytes()
		if b[0]&0x80 != 0 {
			b = append([]byte{0}, b...)
		}
		return b
	}
	// -x = ^(x-1) in two's complement.
	m := new(big.Int).Neg(x)
	m.Sub(m, big.NewInt(1))
	b := m.Bytes()
	for i := range b {
		b[i] = ^b[i]
	}
	if len(b) == 0 || b[0]&0x80 == 0 {
		b = append([]byte{0xff}, b...)
	}
	return b
}

// FromTwosComplement reads TwosComplement's bytes.
func FromTwosComplement(b []byte) *big.Int {
	x := new(big.Int).SetBytes(b)
	if len(b) > 0 && b[0]&0x80 != 0 {
		x.Sub(x, new(big.Int).Lsh(big.NewInt(1), uint(len(b)*8)))
	}
	return x
}
