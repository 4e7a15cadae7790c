package converter

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"
	"unicode/utf8"

	"github.com/sluicehq/sluice/connectors/schema"
)

// jsonConverter is Kafka Connect's JsonConverter, byte for byte: the same
// {"schema":...,"payload":...} envelope when schemas.enable is true (the
// default), plain JSON otherwise.
type jsonConverter struct {
	schemasEnable    bool
	decimalNumeric   bool
	replaceNullValue bool

	// schemas caches each schema's rendered JSON (schemas.cache.size, as
	// Kafka's JsonConverter does): a record's schema is most of its bytes,
	// and records of one source share one schema object. Keyed by the
	// schema's identity: a schema does not change once records carry it.
	mu        sync.Mutex
	schemas   map[*schema.Schema][]byte
	cacheSize int
	// lastLen sizes the next record's buffer.
	lastLen atomic.Int64
}

func newJSON(opts map[string]string, _ bool) (Converter, error) {
	c := &jsonConverter{}
	var err error
	if c.schemasEnable, err = boolOption(opts, "schemas.enable", true); err != nil {
		return nil, err
	}
	if c.replaceNullValue, err = boolOption(opts, "replace.null.with.default", true); err != nil {
		return nil, err
	}
	switch f := strings.ToUpper(strings.TrimSpace(opts["decimal.format"])); f {
	case "", "BASE64":
	case "NUMERIC":
		c.decimalNumeric = true
	default:
		return nil, &optionError{"decimal.format", fmt.Sprintf("%q is not BASE64 or NUMERIC", opts["decimal.format"])}
	}
	c.cacheSize = 1000
	if v, ok := opts["schemas.cache.size"]; ok {
		n, err := strconv.Atoi(strings.TrimSpace(v))
		if err != nil || n < 0 {
			return nil, &optionError{"schemas.cache.size", fmt.Sprintf("%q is not a whole number of 0 or more", v)}
		}
		c.cacheSize = n
	}
	return c, nil
}

// PassesThrough is always false: JsonConverter quotes a string and wraps it
// in the envelope, so the bytes it writes are never the raw payload.
func (c *jsonConverter) PassesThrough(*schema.Schema) bool { return false }

// FromConnect serializes data described by s.
func (c *jsonConverter) FromConnect(_ string, s *schema.Schema, data any) ([]byte, error) {
	if s == nil && data == nil {
		return nil, nil
	}
	buf := make([]byte, 0, max(64, c.lastLen.Load()+c.lastLen.Load()/8))
	var err error
	if c.schemasEnable {
		buf = append(buf, `{"schema":`...)
		if buf, err = c.appendCachedSchema(buf, s); err != nil {
			return nil, err
		}
		buf = append(buf, `,"payload":`...)
		if buf, err = c.appendValue(buf, s, data); err != nil {
			return nil, err
		}
		buf = append(buf, '}')
	} else if buf, err = c.appendValue(buf, s, data); err != nil {
		return nil, err
	}
	c.lastLen.Store(int64(len(buf)))
	return buf, nil
}

// appendCachedSchema writes s's JSON, rendered once per schema object.
func (c *jsonConverter) appendCachedSchema(buf []byte, s *schema.Schema) ([]byte, error) {
	if s == nil || c.cacheSize == 0 {
		return appendSchema(buf, s)
	}
	c.mu.Lock()
	js, ok := c.schemas[s]
	c.mu.Unlock()
	if ok {
		return append(buf, js...), nil
	}
	start := len(buf)
	buf, err := appendSchema(buf, s)
	if err != nil {
		return nil, err
	}
	c.mu.Lock()
	if c.schemas == nil || len(c.schemas) >= c.cacheSize {
		c.schemas = make(map[*schema.Schema][]byte, min(c.cacheSize, 64))
	}
	c.schemas[s] = append([]byte(nil), buf[start:]...)
	c.mu.Unlock()
	return buf, nil
}

// appendSchema writes s as JsonConverter's asJsonSchema does, in its key
// order: type, fields/items/keys+values, optional, name, version, doc,
// parameters, default.
func appendSchema(buf []byte, s *schema.Schema) ([]byte, error) {
	if s == nil {
		return append(buf, "null"...), nil
	}
	buf = append(buf, `{"type":`...)
	buf = appendString(buf, string(s.Type))
	var err error
	switch s.Type {
	case schema.Struct:
		buf = append(buf, `,"fields":[`...)
		for i, f := range s.Fields {
			if i > 0 {
				buf = append(buf, ',')
			}
			n := len(buf)
			if buf, err = appendSchema(buf, f.Schema); err != nil {
				return nil, err
			}
			// The field's name goes last inside its schema object.
			buf = buf[:len(buf)-1]
			if len(buf) == n { // cannot happen: a field has a schema
				return nil, fmt.Errorf("struct field %q has no schema", f.Name)
			}
			buf = append(buf, `,"field":`...)
			buf = appendString(buf, f.Name)
			buf = append(buf, '}')
		}
		buf = append(buf, ']')
	case schema.Array:
		buf = append(buf, `,"items":`...)
		if buf, err = appendSchema(buf, s.Elem); err != nil {
			return nil, err
		}
	case schema.Map:
		buf = append(buf, `,"keys":`...)
		if buf, err = appendSchema(buf, s.Key); err != nil {
			return nil, err
		}
		buf = append(buf, `,"values":`...)
		if buf, err = appendSchema(buf, s.Value); err != nil {
			return nil, err
		}
	}
	buf = append(buf, `,"optional":`...)
	buf = strconv.AppendBool(buf, s.Optional)
	if s.Name != "" {
		buf = append(buf, `,"name":`...)
		buf = appendString(buf, s.Name)
	}
	if s.Version != 0 {
		buf = append(buf, `,"version":`...)
		buf = strconv.AppendInt(buf, int64(s.Version), 10)
	}
	if s.Doc != "" {
		buf = append(buf, `,"doc":`...)
		buf = appendString(buf, s.Doc)
	}
	if len(s.Parameters) > 0 {
		buf = append(buf, `,"parameters":{`...)
		keys := make([]string, 0, len(s.Parameters))
		for k := range s.Parameters {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		for i, k := range keys {
			if i > 0 {
				buf = append(buf, ',')
			}
			buf = appendString(buf, k)
			buf = append(buf, ':')
			buf = appendString(buf, s.Parameters[k])
		}
		buf = append(buf, '}')
	}
	if s.Default != nil {
		buf = append(buf, `,"default":`...)
		c := &jsonConverter{}
		if buf, err = c.appendValue(buf, s, s.Default); err != nil {
			return nil, fmt.Errorf("default: %w", err)
		}
	}
	return append(buf, '}'), nil
}

// appendValue writes a value described by s (nil: schemaless).
func (c *jsonConverter) appendValue(buf []byte, s *schema.Schema, v any) ([]byte, error) {
	if v == nil {
		if s != nil && s.Default != nil && c.replaceNullValue {
			v = s.Default
		} else {
			if s != nil && !s.Optional && s.Default == nil {
				return nil, fmt.Errorf("conversion error: null value for field that is required and has no default value")
			}
			return append(buf, "null"...), nil
		}
	}
	if s == nil {
		return c.appendSchemaless(buf, v)
	}
	switch s.Name {
	case schema.DecimalName:
		d, ok := v.(schema.Decimal)
		if !ok {
			return nil, fmt.Errorf("invalid type for Decimal: %T", v)
		}
		if c.decimalNumeric {
			return append(buf, d.String()...), nil
		}
		return appendBase64(buf, schema.TwosComplement(d.Unscaled)), nil
	case schema.DateName, schema.TimeName, schema.TimestampName:
		t, ok := v.(time.Time)
		if !ok {
			return nil, fmt.Errorf("invalid type for %s: %T", s.Name, v)
		}
		switch s.Name {
		case schema.DateName:
			return strconv.AppendInt(buf, int64(schema.DateToDays(t)), 10), nil
		case schema.TimeName:
			return strconv.AppendInt(buf, int64(schema.TimeToMillis(t)), 10), nil
		default:
			return strconv.AppendInt(buf, schema.TimestampToMillis(t), 10), nil
		}
	}
	bad := func() ([]byte, error) {
		return nil, fmt.Errorf("invalid type for %s: %T", strings.ToUpper(string(s.Type)), v)
	}
	var err error
	switch s.Type {
	case schema.Int8:
		x, ok := v.(int8)
		if !ok {
			return bad()
		}
		return strconv.AppendInt(buf, int64(x), 10), nil
	case schema.Int16:
		x, ok := v.(int16)
		if !ok {
			return bad()
		}
		return strconv.AppendInt(buf, int64(x), 10), nil
	case schema.Int32:
		x, ok := v.(int32)
		if !ok {
			return bad()
		}
		return strconv.AppendInt(buf, int64(x), 10), nil
	case schema.Int64:
		x, ok := v.(int64)
		if !ok {
			return bad()
		}
		return strconv.AppendInt(buf, x, 10), nil
	case schema.Float32:
		x, ok := v.(float32)
		if !ok {
			return bad()
		}
		return appendJavaFloat(buf, float64(x), 32), nil
	case schema.Float64:
		x, ok := v.(float64)
		if !ok {
			return bad()
		}
		return appendJavaFloat(buf, x, 64), nil
	case schema.Boolean:
		x, ok := v.(bool)
		if !ok {
			return bad()
		}
		return strconv.AppendBool(buf, x), nil
	case schema.String:
		x, ok := v.(string)
		if !ok {
			return bad()
		}
		return appendString(buf, x), nil
	case schema.Bytes:
		x, ok := v.([]byte)
		if !ok {
			return bad()
		}
		return appendBase64(buf, x), nil
	case schema.Array:
		items, ok := v.([]any)
		if !ok {
			return bad()
		}
		buf = append(buf, '[')
		for i, it := range items {
			if i > 0 {
				buf = append(buf, ',')
			}
			if buf, err = c.appendValue(buf, s.Elem, it); err != nil {
				return nil, err
			}
		}
		return append(buf, ']'), nil
	case schema.Map:
		stringKeys := s.Key != nil && s.Key.Type == schema.String
		switch m := v.(type) {
		case map[string]any:
			keys := make([]string, 0, len(m))
			for k := range m {
				keys = append(keys, k)
			}
			sort.Strings(keys)
			if stringKeys {
				buf = append(buf, '{')
				for i, k := range keys {
					if i > 0 {
						buf = append(buf, ',')
					}
					buf = appendString(buf, k)
					buf = append(buf, ':')
					if buf, err = c.appendValue(buf, s.Value, m[k]); err != nil {
						return nil, err
					}
				}
				return append(buf, '}'), nil
			}
			entries := make([]schema.MapEntry, len(keys))
			for i, k := range keys {
				entries[i] = schema.MapEntry{Key: k, Value: m[k]}
			}
			return c.appendEntries(buf, s, entries, stringKeys)
		case []schema.MapEntry:
			return c.appendEntries(buf, s, m, stringKeys)
		}
		return bad()
	case schema.Struct:
		sv, ok := v.(*schema.StructValue)
		if !ok {
			return bad()
		}
		buf = append(buf, '{')
		for i, f := range s.Fields {
			if i > 0 {
				buf = append(buf, ',')
			}
			buf = appendString(buf, f.Name)
			buf = append(buf, ':')
			var fv any
			if i < len(sv.Values) {
				fv = sv.Values[i]
			}
			if buf, err = c.appendValue(buf, f.Schema, fv); err != nil {
				return nil, fmt.Errorf("field %s: %w", f.Name, err)
			}
		}
		return append(buf, '}'), nil
	}
	return nil, fmt.Errorf("unknown schema type %q", s.Type)
}

// appendEntries writes a map as an object (string keys) or, as Kafka does
// for other keys, an array of [key, value] pairs.
func (c *jsonConverter) appendEntries(buf []byte, s *schema.Schema, es []schema.MapEntry, stringKeys bool) ([]byte, error) {
	var err error
	if stringKeys {
		buf = append(buf, '{')
		for i, e := range es {
			if i > 0 {
				buf = append(buf, ',')
			}
			k, _ := e.Key.(string)
			buf = appendString(buf, k)
			buf = append(buf, ':')
			if buf, err = c.appendValue(buf, s.Value, e.Value); err != nil {
				return nil, err
			}
		}
		return append(buf, '}'), nil
	}
	buf = append(buf, '[')
	for i, e := range es {
		if i > 0 {
			buf = append(buf, ',')
		}
		buf = append(buf, '[')
		if buf, err = c.appendValue(buf, s.Key, e.Key); err != nil {
			return nil, err
		}
		buf = append(buf, ',')
		if buf, err = c.appendValue(buf, s.Value, e.Value); err != nil {
			return nil, err
		}
		buf = append(buf, ']')
	}
	return append(buf, ']'), nil
}

// appendSchemaless writes a value without a schema, inferring from its Go type.
func (c *jsonConverter) appendSchemaless(buf []byte, v any) ([]byte, error) {
	var err error
	switch x := v.(type) {
	case nil:
		return append(buf, "null"...), nil
	case bool:
		return strconv.AppendBool(buf, x), nil
	case string:
		return appendString(buf, x), nil
	case []byte:
		return appendBase64(buf, x), nil
	case int:
		return strconv.AppendInt(buf, int64(x), 10), nil
	case int8:
		return strconv.AppendInt(buf, int64(x), 10), nil
	case int16:
		return strconv.AppendInt(buf, int64(x), 10), nil
	case int32:
		return strconv.AppendInt(buf, int64(x), 10), nil
	case int64:
		return strconv.AppendInt(buf, x, 10), nil
	case float32:
		return appendJavaFloat(buf, float64(x), 32), nil
	case float64:
		return appendJavaFloat(buf, x, 64), nil
	case json.Number:
		return append(buf, x...), nil
	case schema.Decimal:
		if c.decimalNumeric {
			return append(buf, x.String()...), nil
		}
		return appendBase64(buf, schema.TwosComplement(x.Unscaled)), nil
	case time.Time:
		return strconv.AppendInt(buf, x.UnixMilli(), 10), nil
	case []any:
		buf = append(buf, '[')
		for i, it := range x {
			if i > 0 {
				buf = append(buf, ',')
			}
			if buf, err = c.appendSchemaless(buf, it); err != nil {
				return nil, err
			}
		}
		return append(buf, ']'), nil
	case map[string]any:
		keys := make([]string, 0, len(x))
		for k := range x {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		buf = append(buf, '{')
		for i, k := range keys {
			if i > 0 {
				buf = append(buf, ',')
			}
			buf = appendString(buf, k)
			buf = append(buf, ':')
			if buf, err = c.appendSchemaless(buf, x[k]); err != nil {
				return nil, err
			}
		}
		return append(buf, '}'), nil
	case []schema.MapEntry:
		buf = append(buf, '[')
		for i, e := range x {
			if i > 0 {
				buf = append(buf, ',')
			}
			buf = append(buf, '[')
			if buf, err = c.appendSchemaless(buf, e.Key); err != nil {
				return nil, err
			}
			buf = append(buf, ',')
			if buf, err = c.appendSchemaless(buf, e.Value); err != nil {
				return nil, err
			}
			buf = append(buf, ']')
		}
		return append(buf, ']'), nil
	case *schema.StructValue:
		return c.appendValue(buf, x.Schema, x)
	}
	return nil, fmt.Errorf("JsonConverter cannot write a value of type %T without a schema", v)
}

// ToConnect reads bytes written by JsonConverter.
func (c *jsonConverter) ToConnect(_ string, b []byte) (*schema.Schema, any, error) {
	if b == nil {
		return nil, nil, nil
	}
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.UseNumber()
	var root any
	if err := dec.Decode(&root); err != nil {
		return nil, nil, fmt.Errorf("converting byte[] to Kafka Connect data failed due to serialization error: %w", err)
	}
	if !c.schemasEnable {
		v, err := c.toConnect(nil, root)
		return nil, v, err
	}
	env, ok := root.(map[string]any)
	_, hasSchema := env["schema"]
	_, hasPayload := env["payload"]
	if !ok || len(env) != 2 || !hasSchema || !hasPayload {
		return nil, nil, errors.New(`JsonConverter with schemas.enable requires "schema" and "payload" fields and may not contain additional fields. If you are trying to deserialize plain JSON data, set schemas.enable=false in your converter configuration`)
	}
	s, err := parseSchema(env["schema"])
	if err != nil {
		return nil, nil, err
	}
	v, err := c.toConnect(s, env["payload"])
	return s, v, err
}

// parseSchema reads a schema in JsonConverter's form.
func parseSchema(j any) (*schema.Schema, error) {
	if j == nil {
		return nil, nil
	}
	m, ok := j.(map[string]any)
	if !ok {
		return nil, fmt.Errorf("schema must be an object, not %T", j)
	}
	t, _ := m["type"].(string)
	s := &schema.Schema{Type: schema.Type(t)}
	switch s.Type {
	case schema.Int8, schema.Int16, schema.Int32, schema.Int64, schema.Float32, schema.Float64,
		schema.Boolean, schema.String, schema.Bytes:
	case schema.Array:
		elem, err := parseSchema(m["items"])
		if err != nil {
			return nil, fmt.Errorf("array items: %w", err)
		}
		if elem == nil {
			return nil, errors.New("array schema did not specify the element type")
		}
		s.Elem = elem
	case schema.Map:
		var err error
		if s.Key, err = parseSchema(m["keys"]); err != nil {
			return nil, fmt.Errorf("map keys: %w", err)
		}
		if s.Value, err = parseSchema(m["values"]); err != nil {
			return nil, fmt.Errorf("map values: %w", err)
		}
		if s.Key == nil || s.Value == nil {
			return nil, errors.New("map schema did not specify the key and value types")
		}
	case schema.Struct:
		fields, _ := m["fields"].([]any)
		for i, fj := range fields {
			fm, ok := fj.(map[string]any)
			if !ok {
				return nil, errors.New("struct field schema must be an object")
			}
			name, _ := fm["field"].(string)
			fs, err := parseSchema(fj)
			if err != nil {
				return nil, fmt.Errorf("field %s: %w", name, err)
			}
			s.Fields = append(s.Fields, schema.Field{Name: name, Index: i, Schema: fs})
		}
	default:
		return nil, fmt.Errorf("unknown schema type: %q", t)
	}
	if o, ok := m["optional"].(bool); ok {
		s.Optional = o
	}
	if n, ok := m["name"].(string); ok {
		s.Name = n
	}
	if v, ok := m["version"].(json.Number); ok {
		n, _ := v.Int64()
		s.Version = int32(n)
	}
	if d, ok := m["doc"].(string); ok {
		s.Doc = d
	}
	if ps, ok := m["parameters"].(map[string]any); ok {
		s.Parameters = map[string]string{}
		for k, v := range ps {
			str, ok := v.(string)
			if !ok {
				return nil, fmt.Errorf("schema parameter %s must be a string", k)
			}
			s.Parameters[k] = str
		}
	}
	if d, ok := m["default"]; ok && d != nil {
		c := &jsonConverter{}
		v, err := c.toConnect(&schema.Schema{Type: s.Type, Name: s.Name, Parameters: s.Parameters, Fields: s.Fields,
			Key: s.Key, Value: s.Value, Elem: s.Elem, Optional: true}, d)
		if err != nil {
			return nil, fmt.Errorf("default: %w", err)
		}
		s.Default = v
	}
	return s, nil
}

// toConnect turns a decoded JSON value into Connect data of schema s.
func (c *jsonConverter) toConnect(s *schema.Schema, j any) (any, error) {
	if j == nil {
		if s != nil && s.Default != nil && c.replaceNullValue {
			return s.Default, nil
		}
		if s != nil && !s.Optional && s.Default == nil {
			return nil, fmt.Errorf("invalid null value for required %s field", strings.ToUpper(string(s.Type)))
		}
		return nil, nil
	}
	if s == nil {
		return schemaless(j), nil
	}
	num := func() (json.Number, error) {
		n, ok := j.(json.Number)
		if !ok {
			return "", fmt.Errorf("expected a number for a %s, got %T", s.Type, j)
		}
		return n, nil
	}
	integer := func(bits int) (int64, error) {
		n, err := num()
		if err != nil {
			return 0, err
		}
		x, err := strconv.ParseInt(string(n), 10, bits)
		if err != nil {
			return 0, fmt.Errorf("%s is not an %s: %w", n, s.Type, err)
		}
		return x, nil
	}
	switch s.Name {
	case schema.DecimalName:
		scale, err := schema.DecimalScale(s)
		if err != nil {
			return nil, err
		}
		switch x := j.(type) {
		case string:
			raw, err := base64.StdEncoding.DecodeString(x)
			if err != nil {
				return nil, fmt.Errorf("decimal: %w", err)
			}
			return schema.Decimal{Unscaled: schema.FromTwosComplement(raw), Scale: scale}, nil
		case json.Number:
			d, err := schema.ParseDecimal(string(x))
			if err != nil {
				return nil, err
			}
			return d.Rescale(scale), nil
		}
		return nil, fmt.Errorf("invalid type for Decimal: %T", j)
	case schema.DateName:
		x, err := integer(32)
		if err != nil {
			return nil, err
		}
		return schema.DaysToDate(int32(x)), nil
	case schema.TimeName:
		x, err := integer(32)
		if err != nil {
			return nil, err
		}
		return schema.MillisToTime(int32(x)), nil
	case schema.TimestampName:
		x, err := integer(64)
		if err != nil {
			return nil, err
		}
		return schema.MillisToTimestamp(x), nil
	}
	switch s.Type {
	case schema.Int8:
		x, err := integer(8)
		return int8(x), err
	case schema.Int16:
		x, err := integer(16)
		return int16(x), err
	case schema.Int32:
		x, err := integer(32)
		return int32(x), err
	case schema.Int64:
		return integer(64)
	case schema.Float32, schema.Float64:
		n, err := num()
		if err != nil {
			return nil, err
		}
		f, err := strconv.ParseFloat(string(n), 64)
		if err != nil {
			return nil, err
		}
		if s.Type == schema.Float32 {
			return float32(f), nil
		}
		return f, nil
	case schema.Boolean:
		b, ok := j.(bool)
		if !ok {
			return nil, fmt.Errorf("expected a boolean, got %T", j)
		}
		return b, nil
	case schema.String:
		str, ok := j.(string)
		if !ok {
			return nil, fmt.Errorf("expected a string, got %T", j)
		}
		return str, nil
	case schema.Bytes:
		str, ok := j.(string)
		if !ok {
			return nil, fmt.Errorf("expected base64 text for bytes, got %T", j)
		}
		return base64.StdEncoding.DecodeString(str)
	case schema.Array:
		items, ok := j.([]any)
		if !ok {
			return nil, fmt.Errorf("expected an array, got %T", j)
		}
		out := make([]any, len(items))
		for i, it := range items {
			v, err := c.toConnect(s.Elem, it)
			if err != nil {
				return nil, err
			}
			out[i] = v
		}
		return out, nil
	case schema.Map:
		if s.Key.Type == schema.String {
			obj, ok := j.(map[string]any)
			if !ok {
				return nil, fmt.Errorf("expected an object for a map with string keys, got %T", j)
			}
			out := make(map[string]any, len(obj))
			for k, x := range obj {
				v, err := c.toConnect(s.Value, x)
				if err != nil {
					return nil, err
				}
				out[k] = v
			}
			return out, nil
		}
		pairs, ok := j.([]any)
		if !ok {
			return nil, fmt.Errorf("expected an array of [key, value] pairs, got %T", j)
		}
		out := make([]schema.MapEntry, 0, len(pairs))
		for _, p := range pairs {
			kv, ok := p.([]any)
			if !ok || len(kv) != 2 {
				return nil, errors.New("found invalid map entry instead of array tuple")
			}
			k, err := c.toConnect(s.Key, kv[0])
			if err != nil {
				return nil, err
			}
			v, err := c.toConnect(s.Value, kv[1])
			if err != nil {
				return nil, err
			}
			out = append(out, schema.MapEntry{Key: k, Value: v})
		}
		return out, nil
	case schema.Struct:
		obj, ok := j.(map[string]any)
		if !ok {
			return nil, fmt.Errorf("expected an object for a struct, got %T", j)
		}
		sv := schema.NewStruct(s)
		for i, f := range s.Fields {
			v, err := c.toConnect(f.Schema, obj[f.Name])
			if err != nil {
				return nil, fmt.Errorf("field %s: %w", f.Name, err)
			}
			sv.Values[i] = v
		}
		return sv, nil
	}
	return nil, fmt.Errorf("unknown schema type %q", s.Type)
}

// schemaless converts decoded JSON to Connect's schemaless values.
func schemaless(j any) any {
	switch x := j.(type) {
	case json.Number:
		if i, err := strconv.ParseInt(string(x), 10, 64); err == nil {
			return i
		}
		f, _ := strconv.ParseFloat(string(x), 64)
		return f
	case []any:
		for i := range x {
			x[i] = schemaless(x[i])
		}
		return x
	case map[string]any:
		for k := range x {
			x[k] = schemaless(x[k])
		}
		return x
	}
	return j
}

func appendBase64(buf, b []byte) []byte {
	buf = append(buf, '"')
	buf = base64.StdEncoding.AppendEncode(buf, b)
	return append(buf, '"')
}

// appendJavaFloat writes a float as Java's Double.toString and
// Float.toString do (what Jackson writes): 1.0, 0.001, 1.0E7, 1.0E-4.
func appendJavaFloat(buf []byte, f float64, bits int) []byte {
	switch {
	case math.IsNaN(f):
		return append(buf, `"NaN"`...)
	case math.IsInf(f, 1):
		return append(buf, `"Infinity"`...)
	case math.IsInf(f, -1):
		return append(buf, `"-Infinity"`...)
	case f == 0:
		if math.Signbit(f) {
			return append(buf, "-0.0"...)
		}
		return append(buf, "0.0"...)
	}
	abs := math.Abs(f)
	if abs >= 1e-3 && abs < 1e7 {
		s := strconv.FormatFloat(f, 'f', -1, bits)
		buf = append(buf, s...)
		if !strings.ContainsRune(s, '.') {
			buf = append(buf, ".0"...)
		}
		return buf
	}
	s := strconv.FormatFloat(f, 'E', -1, bits) // d.dddE+XX
	mant, exp, _ := strings.Cut(s, "E")
	if !strings.ContainsRune(mant, '.') {
		mant += ".0"
	}
	e, _ := strconv.Atoi(exp)
	buf = append(buf, mant...)
	buf = append(buf, 'E')
	return strconv.AppendInt(buf, int64(e), 10)
}

// appendString writes a JSON string as Jackson does: control characters
// escaped, other characters (non-ASCII included) as they are.
func appendString(buf []byte, s string) []byte {
	const hex = "0123456789ABCDEF"
	buf = append(buf, '"')
	start := 0
	for i := 0; i < len(s); {
		c := s[i]
		if c >= 0x20 && c != '"' && c != '\\' {
			if c < utf8.RuneSelf {
				i++
				continue
			}
			r, size := utf8.DecodeRuneInString(s[i:])
			if r == utf8.RuneError && size == 1 {
				buf = append(buf, s[start:i]...)
				buf = append(buf, `\uFFFD`...)
				i++
				start = i
				continue
			}
			i += size
			continue
		}
		buf = append(buf, s[start:i]...)
		switch c {
		case '"':
			buf = append(buf, '\\', '"')
		case '\\':
			buf = append(buf, '\\', '\\')
		case '\n':
			buf = append(buf, '\\', 'n')
		case '\r':
			buf = append(buf, '\\', 'r')
		case '\t':
			buf = append(buf, '\\', 't')
		case '\b':
			buf = append(buf, '\\', 'b')
		case '\f':
			buf = append(buf, '\\', 'f')
		default:
			buf = append(buf, '\\', 'u', '0', '0', hex[c>>4], hex[c&0xF])
		}
		i++
		start = i
	}
	buf = append(buf, s[start:]...)
	return append(buf, '"')
}

// textOf renders a value as Java's toString would, for StringConverter.
func textOf(v any) string {
	switch x := v.(type) {
	case float32:
		return string(appendJavaFloat(nil, float64(x), 32))
	case float64:
		return string(appendJavaFloat(nil, x, 64))
	case schema.Decimal:
		return x.String()
	case *schema.StructValue:
		var b strings.Builder
		b.WriteString("Struct{")
		first := true
		for i, f := range x.Schema.Fields {
			if x.Values[i] == nil {
				continue
			}
			if !first {
				b.WriteByte(',')
			}
			first = false
			b.WriteString(f.Name + "=" + textOf(x.Values[i]))
		}
		b.WriteByte('}')
		return b.String()
	case []any:
		parts := make([]string, len(x))
		for i, it := range x {
			parts[i] = textOf(it)
		}
		return "[" + strings.Join(parts, ", ") + "]"
	case map[string]any:
		keys := make([]string, 0, len(x))
		for k := range x {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		parts := make([]string, len(keys))
		for i, k := range keys {
			parts[i] = k + "=" + textOf(x[k])
		}
		return "{" + strings.Join(parts, ", ") + "}"
	case nil:
		return "null"
	case []byte:
		return string(x)
	}
	return fmt.Sprint(v)
}
