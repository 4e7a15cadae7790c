package converter

import (
	"encoding/json"
	"fmt"
	"strconv"
	"strings"

	"github.com/hamba/avro/v2"

	"github.com/sluicehq/sluice/connectors/schema"
)

// The Connect ↔ Avro schema mapping, as Confluent's AvroData does it:
//
//	int8, int16           int with "connect.type": "int8" / "int16"
//	int32, int64          int, long
//	float, double         float, double
//	boolean, string       boolean, string
//	bytes                 bytes
//	Decimal               bytes, logicalType decimal, precision (the
//	                      connect.decimal.precision parameter, else 64), scale
//	Date, Time            int, logicalType date / time-millis
//	Timestamp             long, logicalType timestamp-millis
//	array                 array
//	map, string keys      map
//	map, other keys       array of io.confluent.connect.avro.MapEntry
//	                      records {key, value}
//	struct                record named by the schema's name, else
//	                      io.confluent.connect.avro.ConnectDefault (then 2, 3…)
//	optional              union ["null", T], and a field's default null
//
// A schema's name, version, doc and parameters go into connect.name,
// connect.version, connect.doc and connect.parameters, and come back.

const (
	avroNamespace      = "io.confluent.connect.avro"
	avroDefaultName    = "ConnectDefault"
	avroMapEntry       = "MapEntry"
	avroPrecisionParam = "connect.decimal.precision"
	avroDefaultPrec    = 64
)

// avroGen turns a Connect schema into an Avro schema (as JSON values).
type avroGen struct {
	meta bool
	// scrub makes record and field names valid Avro names
	// (scrub.invalid.names; see scrubAvroName).
	scrub    bool
	defaults int
	entries  int
	records  map[string]string // full name → its definition's JSON
}

func connectToAvro(s *schema.Schema, meta, scrub bool) (string, error) {
	g := &avroGen{meta: meta, scrub: scrub, records: map[string]string{}}
	j, err := g.schema(s)
	if err != nil {
		return "", err
	}
	b, err := json.Marshal(j)
	return string(b), err
}

// schema is s as Avro, a union with null when s is optional.
func (g *avroGen) schema(s *schema.Schema) (any, error) {
	t, err := g.plain(s)
	if err != nil || !s.Optional {
		return t, err
	}
	return []any{"null", t}, nil
}

// plain is s as Avro, ignoring whether it is optional.
func (g *avroGen) plain(s *schema.Schema) (any, error) {
	if s == nil {
		return nil, fmt.Errorf("avro: a schema is required")
	}
	m := map[string]any{}
	switch s.Type {
	case schema.Int8, schema.Int16:
		m["type"] = "int"
		m["connect.type"] = string(s.Type)
	case schema.Int32:
		m["type"] = "int"
	case schema.Int64:
		m["type"] = "long"
	case schema.Float32:
		m["type"] = "float"
	case schema.Float64:
		m["type"] = "double"
	case schema.Boolean, schema.String, schema.Bytes:
		m["type"] = string(s.Type)
	case schema.Array:
		items, err := g.schema(s.Elem)
		if err != nil {
			return nil, err
		}
		m["type"] = "array"
		m["items"] = items
	case schema.Map:
		if s.Key == nil || s.Value == nil {
			return nil, fmt.Errorf("avro: map schema without key or value schema")
		}
		values, err := g.schema(s.Value)
		if err != nil {
			return nil, err
		}
		if s.Key.Type == schema.String && !s.Key.Optional {
			m["type"] = "map"
			m["values"] = values
			break
		}
		key, err := g.schema(s.Key)
		if err != nil {
			return nil, err
		}
		g.entries++
		name := avroMapEntry
		if g.entries > 1 {
			name += strconv.Itoa(g.entries)
		}
		m["type"] = "array"
		m["items"] = map[string]any{"type": "record", "name": name, "namespace": avroNamespace,
			"fields": []any{
				map[string]any{"name": "key", "type": key},
				map[string]any{"name": "value", "type": values},
			}}
	case schema.Struct:
		return g.record(s)
	default:
		return nil, fmt.Errorf("avro: unknown schema type %q", s.Type)
	}
	switch s.Name {
	case schema.DecimalName:
		scale, err := schema.DecimalScale(s)
		if err != nil {
			return nil, err
		}
		prec := avroDefaultPrec
		if p, ok := s.Parameters[avroPrecisionParam]; ok {
			if prec, err = strconv.Atoi(p); err != nil {
				return nil, fmt.Errorf("avro: decimal %s %q: %w", avroPrecisionParam, p, err)
			}
		}
		m["precision"] = prec
		m["scale"] = scale
		if scale >= 0 && int(scale) <= prec {
			m["logicalType"] = "decimal"
		}
	case schema.DateName:
		m["logicalType"] = "date"
	case schema.TimeName:
		m["logicalType"] = "time-millis"
	case schema.TimestampName:
		m["logicalType"] = "timestamp-millis"
	}
	if g.meta {
		if s.Name != "" {
			m["connect.name"] = s.Name
		}
		g.addMeta(m, s)
	}
	if len(m) == 1 {
		return m["type"], nil // a bare primitive, as "string"
	}
	return m, nil
}

func (g *avroGen) addMeta(m map[string]any, s *schema.Schema) {
	if s.Version != 0 {
		m["connect.version"] = s.Version
	}
	if s.Doc != "" {
		m["connect.doc"] = s.Doc
	}
	if len(s.Parameters) > 0 {
		m["connect.parameters"] = s.Parameters
	}
	if s.Default != nil {
		if d, ok := avroDefault(s, s.Default); ok {
			m["connect.default"] = d
		}
	}
}

func (g *avroGen) record(s *schema.Schema) (any, error) {
	full := s.Name
	if full == "" {
		g.defaults++
		full = avroNamespace + "." + avroDefaultName
		if g.defaults > 1 {
			full += strconv.Itoa(g.defaults)
		}
	}
	if g.scrub {
		full = scrubAvroFullName(full)
	}
	ns, name := "", full
	if i := strings.LastIndexByte(full, '.'); i >= 0 {
		ns, name = full[:i], full[i+1:]
	}
	m := map[string]any{"type": "record", "name": name}
	if ns != "" {
		m["namespace"] = ns
	}
	fields := make([]any, 0, len(s.Fields))
	for _, f := range s.Fields {
		ft, err := g.schema(f.Schema)
		if err != nil {
			return nil, fmt.Errorf("field %s: %w", f.Name, err)
		}
		fname := f.Name
		if g.scrub {
			fname = scrubAvroName(fname)
		}
		fm := map[string]any{"name": fname, "type": ft}
		switch {
		case f.Schema.Optional && f.Schema.Default == nil:
			fm["default"] = nil
		case f.Schema.Default != nil && !f.Schema.Optional:
			if d, ok := avroDefault(f.Schema, f.Schema.Default); ok {
				fm["default"] = d
			}
		}
		fields = append(fields, fm)
	}
	m["fields"] = fields
	if g.meta {
		g.addMeta(m, s)
		if s.Name != "" {
			m["connect.name"] = s.Name
		}
	}
	b, _ := json.Marshal(m)
	if prev, ok := g.records[full]; ok {
		if prev != string(b) {
			return nil, fmt.Errorf("avro: two different structs are named %s", full)
		}
		return full, nil // defined already: refer to it by name
	}
	g.records[full] = string(b)
	return m, nil
}

// scrubAvroFullName scrubs each dot-separated part of a full name.
func scrubAvroFullName(full string) string {
	parts := strings.Split(full, ".")
	for i, p := range parts {
		parts[i] = scrubAvroName(p)
	}
	return strings.Join(parts, ".")
}

// scrubAvroName is a name as Confluent's AvroData scrubs it under
// scrub.invalid.names=true (see scrubIdentifier): "shop-orders" becomes
// "shop_orders", "1st" "x1st", "prix €" "prix__E2_82_AC".
func scrubAvroName(name string) string { return scrubIdentifier(name, true) }

// avroDefault is a Connect default as an Avro JSON default, for the
// primitive and logical types (others get no default).
func avroDefault(s *schema.Schema, v any) (any, bool) {
	switch x := v.(type) {
	case schema.Decimal:
		return latin1(schema.TwosComplement(x.Unscaled)), true
	case []byte:
		return latin1(x), true
	case int8, int16, int32, int64, float32, float64, bool, string:
		return x, true
	}
	if n, err := avroInt(s, v); err == nil {
		return n, true
	}
	return nil, false
}

// latin1 is bytes as Avro writes them in JSON: one code point per byte.
func latin1(b []byte) string {
	r := make([]rune, len(b))
	for i, c := range b {
		r[i] = rune(c)
	}
	return string(r)
}

// avroToConnect turns a parsed Avro schema into a Connect schema.
func avroToConnect(as avro.Schema) (*schema.Schema, error) {
	switch as.Type() {
	case avro.Union:
		u := as.(*avro.UnionSchema)
		if !u.Nullable() || len(u.Types()) != 2 {
			return nil, fmt.Errorf("avro: only unions of null and one type map to Connect, not %s", as.String())
		}
		for _, t := range u.Types() {
			if t.Type() != avro.Null {
				s, err := avroToConnect(t)
				if err != nil {
					return nil, err
				}
				s.Optional = true
				return s, nil
			}
		}
	case avro.Ref:
		return avroToConnect(as.(*avro.RefSchema).Schema())
	}
	s := &schema.Schema{}
	var props map[string]any
	logical := ""
	if ls, ok := as.(avro.LogicalTypeSchema); ok && ls.Logical() != nil {
		logical = string(ls.Logical().Type())
	}
	switch t := as.(type) {
	case *avro.PrimitiveSchema:
		props = t.Props()
		switch t.Type() {
		case avro.Int:
			s.Type = schema.Int32
			switch props["connect.type"] {
			case "int8":
				s.Type = schema.Int8
			case "int16":
				s.Type = schema.Int16
			}
			switch logical {
			case "date":
				s.Name, s.Version = schema.DateName, 1
			case "time-millis":
				s.Name, s.Version = schema.TimeName, 1
			}
		case avro.Long:
			s.Type = schema.Int64
			if logical == "timestamp-millis" {
				s.Name, s.Version = schema.TimestampName, 1
			}
		case avro.Float:
			s.Type = schema.Float32
		case avro.Double:
			s.Type = schema.Float64
		case avro.Boolean:
			s.Type = schema.Boolean
		case avro.String:
			s.Type = schema.String
		case avro.Bytes:
			s.Type = schema.Bytes
			if logical == "decimal" {
				d := t.Logical().(*avro.DecimalLogicalSchema)
				decimalSchema(s, d)
			}
		default:
			return nil, fmt.Errorf("avro: type %s has no Connect type", t.Type())
		}
	case *avro.FixedSchema:
		props = t.Props()
		s.Type = schema.Bytes
		if logical == "decimal" {
			decimalSchema(s, t.Logical().(*avro.DecimalLogicalSchema))
		}
	case *avro.EnumSchema:
		props = t.Props()
		s.Type = schema.String
	case *avro.ArraySchema:
		props = t.Props()
		if rec, ok := deref(t.Items()).(*avro.RecordSchema); ok && isMapEntry(rec) {
			k, err := avroToConnect(rec.Fields()[0].Type())
			if err != nil {
				return nil, err
			}
			v, err := avroToConnect(rec.Fields()[1].Type())
			if err != nil {
				return nil, err
			}
			s.Type, s.Key, s.Value = schema.Map, k, v
			break
		}
		elem, err := avroToConnect(t.Items())
		if err != nil {
			return nil, err
		}
		s.Type, s.Elem = schema.Array, elem
	case *avro.MapSchema:
		props = t.Props()
		v, err := avroToConnect(t.Values())
		if err != nil {
			return nil, err
		}
		s.Type, s.Key, s.Value = schema.Map, schema.StringSchema(), v
	case *avro.RecordSchema:
		props = t.Props()
		s.Type = schema.Struct
		if !strings.HasPrefix(t.FullName(), avroNamespace+"."+avroDefaultName) {
			s.Name = t.FullName()
		}
		s.Doc = t.Doc()
		for i, f := range t.Fields() {
			fs, err := avroToConnect(f.Type())
			if err != nil {
				return nil, fmt.Errorf("field %s: %w", f.Name(), err)
			}
			if f.HasDefault() && f.Default() != nil {
				if d, err := fromAvroDefault(fs, f.Default()); err == nil {
					fs.Default = d
				}
			}
			s.Fields = append(s.Fields, schema.Field{Name: f.Name(), Index: i, Schema: fs})
		}
	default:
		return nil, fmt.Errorf("avro: type %s has no Connect type", as.Type())
	}
	if n, ok := props["connect.name"].(string); ok && !strings.HasPrefix(n, avroNamespace+"."+avroDefaultName) {
		s.Name = n // as Confluent's AvroData: connect.name over the record's (maybe scrubbed) full name
	}
	if v, ok := props["connect.version"].(float64); ok {
		s.Version = int32(v)
	}
	if d, ok := props["connect.doc"].(string); ok {
		s.Doc = d
	}
	if ps, ok := props["connect.parameters"].(map[string]any); ok {
		s.Parameters = map[string]string{}
		for k, v := range ps {
			s.Parameters[k] = fmt.Sprint(v)
		}
	}
	if d, ok := props["connect.default"]; ok && d != nil {
		if f, ok := d.(float64); ok && f == float64(int64(f)) {
			d = int64(f)
		}
		if str, ok := d.(string); ok && s.Type == schema.Bytes {
			d = fromLatin1(str)
		}
		if v, err := fromAvroDefault(s, d); err == nil {
			s.Default = v
		}
	}
	return s, nil
}

func fromLatin1(s string) []byte {
	b := make([]byte, 0, len(s))
	for _, r := range s {
		b = append(b, byte(r))
	}
	return b
}

func decimalSchema(s *schema.Schema, d *avro.DecimalLogicalSchema) {
	s.Name, s.Version = schema.DecimalName, 1
	s.Parameters = map[string]string{schema.DecimalScaleParam: strconv.Itoa(d.Scale())}
	if d.Precision() != avroDefaultPrec {
		s.Parameters[avroPrecisionParam] = strconv.Itoa(d.Precision())
	}
}

func deref(s avro.Schema) avro.Schema {
	if r, ok := s.(*avro.RefSchema); ok {
		return r.Schema()
	}
	return s
}

func isMapEntry(r *avro.RecordSchema) bool {
	fs := r.Fields()
	return r.Namespace() == avroNamespace && strings.HasPrefix(r.Name(), avroMapEntry) &&
		len(fs) == 2 && fs[0].Name() == "key" && fs[1].Name() == "value"
}

// fromAvroDefault turns a field default, as hamba parsed it, into Connect data.
func fromAvroDefault(s *schema.Schema, v any) (any, error) {
	switch s.Name {
	case schema.DateName:
		n, err := toInt64(v)
		return schema.DaysToDate(int32(n)), err
	case schema.TimeName:
		n, err := toInt64(v)
		return schema.MillisToTime(int32(n)), err
	case schema.TimestampName:
		n, err := toInt64(v)
		return schema.MillisToTimestamp(n), err
	case schema.DecimalName:
		b, ok := v.([]byte)
		if !ok {
			return nil, fmt.Errorf("decimal default %T", v)
		}
		scale, err := schema.DecimalScale(s)
		return schema.Decimal{Unscaled: schema.FromTwosComplement(b), Scale: scale}, err
	}
	switch s.Type {
	case schema.Int8, schema.Int16, schema.Int32, schema.Int64:
		n, err := toInt64(v)
		if err != nil {
			return nil, err
		}
		return intOf(s.Type, n), nil
	case schema.Float32:
		f, ok := toFloat(v)
		if !ok {
			return nil, fmt.Errorf("float default %T", v)
		}
		return float32(f), nil
	case schema.Float64:
		f, ok := toFloat(v)
		if !ok {
			return nil, fmt.Errorf("double default %T", v)
		}
		return f, nil
	case schema.Boolean, schema.String, schema.Bytes:
		switch v.(type) {
		case bool, string, []byte:
			return v, nil
		}
	}
	return nil, fmt.Errorf("default of type %T for %s is not supported", v, s.Type)
}

func intOf(t schema.Type, n int64) any {
	switch t {
	case schema.Int8:
		return int8(n)
	case schema.Int16:
		return int16(n)
	case schema.Int32:
		return int32(n)
	}
	return n
}

func toFloat(v any) (float64, bool) {
	switch x := v.(type) {
	case float32:
		return float64(x), true
	case float64:
		return x, true
	}
	if n, err := toInt64(v); err == nil {
		return float64(n), true
	}
	return 0, false
}
