package converter

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"sort"
	"strconv"
	"strings"

	"github.com/sluicehq/sluice/connectors/converter/schemaregistry"
	"github.com/sluicehq/sluice/connectors/schema"
)

// jsonSchemaConverter is Confluent's JsonSchemaConverter: Connect data as
// plain JSON in Confluent's wire format, described by a JSON Schema kept
// in a Schema Registry.
//
// The schema mapping is Confluent's JsonSchemaData's:
//
//	int8 … int64     {"type":"integer","connect.type":"int8"} (int16, int32, int64)
//	float, double    {"type":"number","connect.type":"float32"} (float64)
//	boolean, string  {"type":"boolean"}, {"type":"string"}
//	bytes            {"type":"string","connect.type":"bytes"}, base64
//	Decimal          {"type":"string","connect.type":"bytes","title":"org.apache.kafka.connect.data.Decimal",…}
//	                 base64 (decimal.format=NUMERIC: "type":"number", a JSON number)
//	Date, Time       {"type":"integer","connect.type":"int32","title":…}
//	Timestamp        {"type":"integer","connect.type":"int64","title":…}
//	array            {"type":"array","items":…}
//	map, string keys {"type":"object","additionalProperties":…,"connect.type":"map"}
//	map, other keys  {"type":"array","items":{"type":"object","properties":{"key":…,"value":…}},"connect.type":"map"}
//	struct           {"type":"object","title":name,"properties":{…, each with "connect.index"}}
//	                 (and "additionalProperties":false with object.additional.properties=false)
//	optional         {"oneOf":[{"type":"null"},T]}; properties not "required" are
//	                 optional on reading only with use.optional.for.nonrequired
type jsonSchemaConverter struct {
	sr *srConfig
	// style is how Connect schemas are written as JSON Schemas.
	style jsonSchemaStyle
	// nonRequiredOptional reads properties not listed in "required" as
	// optional (use.optional.for.nonrequired).
	nonRequiredOptional bool

	written memo[*schema.Schema, string]
	read    memo[int32, *schema.Schema]
	latest  memo[string, int32]
}

func newJSONSchema(opts map[string]string, isKey bool) (Converter, error) {
	sr, err := parseSRConfig(opts, isKey)
	if err != nil {
		return nil, err
	}
	c := &jsonSchemaConverter{sr: sr}
	switch f := strings.ToUpper(strings.TrimSpace(opts["decimal.format"])); f {
	case "", "BASE64":
	case "NUMERIC":
		c.style.numeric = true
	default:
		return nil, &optionError{"decimal.format", fmt.Sprintf("%q is not BASE64 or NUMERIC", opts["decimal.format"])}
	}
	if c.nonRequiredOptional, err = boolOption(opts, "use.optional.for.nonrequired", false); err != nil {
		return nil, err
	}
	open, err := boolOption(opts, "object.additional.properties", true)
	if err != nil {
		return nil, err
	}
	c.style.closed = !open
	return c, nil
}

func (c *jsonSchemaConverter) PassesThrough(*schema.Schema) bool { return false }

func (c *jsonSchemaConverter) FromConnect(topic string, s *schema.Schema, data any) ([]byte, error) {
	if data == nil {
		return nil, nil
	}
	if s == nil {
		return nil, errors.New("JsonSchemaConverter needs a schema: the record has schemaless data")
	}
	text, err := c.written.get(s, func() (string, error) {
		j, err := connectToJSONSchema(s, c.style)
		if err != nil {
			return "", err
		}
		b, err := json.Marshal(j)
		return string(b), err
	})
	if err != nil {
		return nil, err
	}
	name := ""
	if s.Type == schema.Struct {
		name = s.Name
	}
	subject, err := c.sr.subject(topic, name)
	if err != nil {
		return nil, err
	}
	ctx, cancel := context.WithTimeout(context.Background(), registryTimeout)
	defer cancel()
	var id int32
	switch {
	case c.sr.useLatest && !c.sr.autoRegister: // Confluent registers first when both are on
		id, err = c.latest.get(subject, func() (int32, error) {
			got, err := c.sr.client.Latest(ctx, subject)
			return got.ID, err
		})
	case c.sr.autoRegister:
		id, err = c.sr.client.Register(ctx, subject, schemaregistry.JSONSchema, text)
	default:
		id, err = c.sr.client.Lookup(ctx, subject, schemaregistry.JSONSchema, text)
	}
	if err != nil {
		return nil, err
	}
	tree, err := jsonTree(s, data, c.style.numeric)
	if err != nil {
		return nil, err
	}
	payload, err := json.Marshal(tree)
	if err != nil {
		return nil, err
	}
	return append(schemaregistry.AppendHeader(make([]byte, 0, len(payload)+5), id), payload...), nil
}

func (c *jsonSchemaConverter) ToConnect(_ string, b []byte) (*schema.Schema, any, error) {
	if b == nil {
		return nil, nil, nil
	}
	id, payload, err := schemaregistry.SplitHeader(b)
	if err != nil {
		return nil, nil, err
	}
	s, err := c.read.get(id, func() (*schema.Schema, error) {
		ctx, cancel := context.WithTimeout(context.Background(), registryTimeout)
		defer cancel()
		got, err := c.sr.client.ByID(ctx, id)
		if err != nil {
			return nil, err
		}
		if got.Type != schemaregistry.JSONSchema {
			return nil, fmt.Errorf("schema id %d is %s, not JSON", id, got.Type)
		}
		doc, err := decodeOrdered([]byte(got.Schema))
		if err != nil {
			return nil, fmt.Errorf("schema id %d: %w", id, err)
		}
		s, err := jsonSchemaToConnect(doc, false, c.nonRequiredOptional)
		if err != nil {
			return nil, fmt.Errorf("schema id %d: %w", id, err)
		}
		return s, nil
	})
	if err != nil {
		return nil, nil, err
	}
	dec := json.NewDecoder(bytes.NewReader(payload))
	dec.UseNumber()
	var j any
	if err := dec.Decode(&j); err != nil {
		return nil, nil, fmt.Errorf("JSON data of schema id %d: %w", id, err)
	}
	v, err := fromJSONTree(s, j)
	if err != nil {
		return nil, nil, fmt.Errorf("JSON data of schema id %d: %w", id, err)
	}
	return s, v, nil
}

// jsonSchemaStyle is how the converter writes a Connect schema as a JSON
// Schema, from its options.
type jsonSchemaStyle struct {
	// numeric writes decimals as JSON numbers (decimal.format=NUMERIC)
	// instead of base64 text.
	numeric bool
	// closed writes structs with "additionalProperties":false
	// (object.additional.properties=false): a closed content model, under
	// which a registry's BACKWARD check lets a later schema add an optional
	// field; under the open model (Confluent's default) it refuses that
	// (PROPERTY_ADDED_TO_OPEN_CONTENT_MODEL).
	closed bool
}

// connectToJSONSchema is s as a JSON Schema (JSON values).
func connectToJSONSchema(s *schema.Schema, st jsonSchemaStyle) (any, error) {
	t, err := jsonSchemaPlain(s, st)
	if err != nil || !s.Optional {
		return t, err
	}
	return map[string]any{"oneOf": []any{map[string]any{"type": "null"}, t}}, nil
}

func jsonSchemaPlain(s *schema.Schema, st jsonSchemaStyle) (map[string]any, error) {
	if s == nil {
		return nil, errors.New("json schema: a schema is required")
	}
	m := map[string]any{}
	switch s.Type {
	case schema.Int8, schema.Int16, schema.Int32, schema.Int64:
		m["type"] = "integer"
		m["connect.type"] = string(s.Type)
	case schema.Float32:
		m["type"], m["connect.type"] = "number", "float32"
	case schema.Float64:
		m["type"], m["connect.type"] = "number", "float64"
	case schema.Boolean, schema.String:
		m["type"] = string(s.Type)
	case schema.Bytes:
		m["type"], m["connect.type"] = "string", "bytes"
		if s.Name == schema.DecimalName && st.numeric {
			m["type"] = "number"
		}
	case schema.Array:
		items, err := connectToJSONSchema(s.Elem, st)
		if err != nil {
			return nil, err
		}
		m["type"], m["items"] = "array", items
	case schema.Map:
		v, err := connectToJSONSchema(s.Value, st)
		if err != nil {
			return nil, err
		}
		m["connect.type"] = "map"
		if s.Key.Type == schema.String && !s.Key.Optional {
			m["type"], m["additionalProperties"] = "object", v
			break
		}
		k, err := connectToJSONSchema(s.Key, st)
		if err != nil {
			return nil, err
		}
		m["type"] = "array"
		m["items"] = map[string]any{"type": "object", "properties": map[string]any{"key": k, "value": v}}
	case schema.Struct:
		m["type"] = "object"
		props := map[string]any{}
		for i, f := range s.Fields {
			p, err := connectToJSONSchema(f.Schema, st)
			if err != nil {
				return nil, fmt.Errorf("field %s: %w", f.Name, err)
			}
			pm := p.(map[string]any)
			pm["connect.index"] = i
			props[f.Name] = pm
		}
		m["properties"] = props
		if st.closed {
			m["additionalProperties"] = false
		}
	default:
		return nil, fmt.Errorf("json schema: unknown schema type %q", s.Type)
	}
	if s.Name != "" {
		m["title"] = s.Name
	}
	if s.Version != 0 {
		m["connect.version"] = s.Version
	}
	if s.Doc != "" {
		m["description"] = s.Doc
	}
	if len(s.Parameters) > 0 {
		m["connect.parameters"] = s.Parameters
	}
	if s.Default != nil {
		if d, err := jsonTree(&schema.Schema{Type: s.Type, Name: s.Name, Parameters: s.Parameters,
			Fields: s.Fields, Key: s.Key, Value: s.Value, Elem: s.Elem}, s.Default, st.numeric); err == nil {
			m["default"] = d
		}
	}
	return m, nil
}

// omap is a JSON object that keeps its keys' order.
type omap struct {
	keys []string
	m    map[string]any
}

// decodeOrdered decodes JSON with objects as *omap and numbers as json.Number.
func decodeOrdered(b []byte) (any, error) {
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.UseNumber()
	return decodeValue(dec)
}

func decodeValue(dec *json.Decoder) (any, error) {
	tok, err := dec.Token()
	if err != nil {
		return nil, err
	}
	switch d := tok.(type) {
	case json.Delim:
		switch d {
		case '{':
			o := &omap{m: map[string]any{}}
			for dec.More() {
				kt, err := dec.Token()
				if err != nil {
					return nil, err
				}
				k, _ := kt.(string)
				v, err := decodeValue(dec)
				if err != nil {
					return nil, err
				}
				if _, dup := o.m[k]; !dup {
					o.keys = append(o.keys, k)
				}
				o.m[k] = v
			}
			_, err := dec.Token()
			return o, err
		case '[':
			arr := []any{}
			for dec.More() {
				v, err := decodeValue(dec)
				if err != nil {
					return nil, err
				}
				arr = append(arr, v)
			}
			_, err := dec.Token()
			return arr, err
		}
	}
	return tok, nil
}

// jsonSchemaToConnect turns a JSON Schema into a Connect schema.
func jsonSchemaToConnect(n any, optional, nonRequiredOptional bool) (*schema.Schema, error) {
	o, ok := n.(*omap)
	if !ok {
		return nil, fmt.Errorf("json schema: %T is not a schema object", n)
	}
	for _, k := range []string{"oneOf", "anyOf"} {
		if alts, ok := o.m[k].([]any); ok {
			var other any
			hasNull := false
			for _, a := range alts {
				if ao, ok := a.(*omap); ok && ao.m["type"] == "null" {
					hasNull = true
				} else {
					other = a
				}
			}
			if !hasNull || len(alts) != 2 {
				return nil, fmt.Errorf("json schema: only %s of null and one schema maps to Connect", k)
			}
			return jsonSchemaToConnect(other, true, nonRequiredOptional)
		}
	}
	typ := o.m["type"]
	if ts, ok := typ.([]any); ok { // ["null", "string"]
		typ = nil
		for _, t := range ts {
			if t == "null" {
				optional = true
			} else {
				typ = t
			}
		}
	}
	ct, _ := o.m["connect.type"].(string)
	s := &schema.Schema{Optional: optional}
	if t, ok := o.m["title"].(string); ok {
		s.Name = t
	}
	if d, ok := o.m["description"].(string); ok {
		s.Doc = d
	}
	if v, ok := o.m["connect.version"].(json.Number); ok {
		n, _ := v.Int64()
		s.Version = int32(n)
	}
	if ps, ok := o.m["connect.parameters"].(*omap); ok {
		s.Parameters = map[string]string{}
		for _, k := range ps.keys {
			s.Parameters[k] = fmt.Sprint(ps.m[k])
		}
	}
	switch typ {
	case "integer":
		s.Type = schema.Int64
		switch ct {
		case "int8", "int16", "int32":
			s.Type = schema.Type(ct)
		}
	case "number":
		s.Type = schema.Float64
		switch {
		case ct == "float32":
			s.Type = schema.Float32
		case ct == "bytes" || s.Name == schema.DecimalName:
			s.Type = schema.Bytes
		}
	case "boolean":
		s.Type = schema.Boolean
	case "string":
		s.Type = schema.String
		if ct == "bytes" {
			s.Type = schema.Bytes
		}
	case "array":
		if ct == "map" {
			items, _ := o.m["items"].(*omap)
			var props *omap
			if items != nil {
				props, _ = items.m["properties"].(*omap)
			}
			if props == nil || props.m["key"] == nil || props.m["value"] == nil {
				return nil, errors.New("json schema: a map array without key and value properties")
			}
			var err error
			if s.Key, err = jsonSchemaToConnect(props.m["key"], false, nonRequiredOptional); err != nil {
				return nil, err
			}
			if s.Value, err = jsonSchemaToConnect(props.m["value"], false, nonRequiredOptional); err != nil {
				return nil, err
			}
			s.Type = schema.Map
			break
		}
		elem, err := jsonSchemaToConnect(o.m["items"], false, nonRequiredOptional)
		if err != nil {
			return nil, err
		}
		s.Type, s.Elem = schema.Array, elem
	case "object":
		props, _ := o.m["properties"].(*omap)
		if add, ok := o.m["additionalProperties"].(*omap); ok && (ct == "map" || props == nil) {
			v, err := jsonSchemaToConnect(add, false, nonRequiredOptional)
			if err != nil {
				return nil, err
			}
			s.Type, s.Key, s.Value = schema.Map, schema.StringSchema(), v
			break
		}
		s.Type = schema.Struct
		required := map[string]bool{}
		req, _ := o.m["required"].([]any)
		for _, r := range req {
			if name, ok := r.(string); ok {
				required[name] = true
			}
		}
		if props == nil {
			break
		}
		names := append([]string(nil), props.keys...)
		index := func(name string) int64 {
			if p, ok := props.m[name].(*omap); ok {
				if n, ok := p.m["connect.index"].(json.Number); ok {
					i, _ := n.Int64()
					return i
				}
			}
			return 1 << 40
		}
		sort.SliceStable(names, func(a, b int) bool { return index(names[a]) < index(names[b]) })
		for i, name := range names {
			fs, err := jsonSchemaToConnect(props.m[name], false, nonRequiredOptional)
			if err != nil {
				return nil, fmt.Errorf("property %s: %w", name, err)
			}
			fs.Optional = fs.Optional || nonRequiredOptional && !required[name]
			s.Fields = append(s.Fields, schema.Field{Name: name, Index: i, Schema: fs})
		}
	default:
		if _, ok := o.m["enum"]; ok {
			s.Type = schema.String
			break
		}
		return nil, fmt.Errorf("json schema: type %v has no Connect type", typ)
	}
	if d, ok := o.m["default"]; ok && d != nil {
		if v, err := fromJSONTree(&schema.Schema{Type: s.Type, Name: s.Name, Parameters: s.Parameters,
			Fields: s.Fields, Key: s.Key, Value: s.Value, Elem: s.Elem, Optional: true}, plain(d)); err == nil {
			s.Default = v
		}
	}
	return s, nil
}

// plain turns *omap values back into map[string]any.
func plain(v any) any {
	switch x := v.(type) {
	case *omap:
		m := make(map[string]any, len(x.m))
		for k, e := range x.m {
			m[k] = plain(e)
		}
		return m
	case []any:
		for i := range x {
			x[i] = plain(x[i])
		}
	}
	return v
}

// jsonTree is Connect data as a value encoding/json writes; numeric
// writes decimals as numbers, else as base64 of their unscaled bytes.
func jsonTree(s *schema.Schema, v any, numeric bool) (any, error) {
	if v == nil {
		if s != nil && s.Default != nil {
			v = s.Default
		} else {
			return nil, nil
		}
	}
	switch s.Name {
	case schema.DecimalName:
		d, ok := v.(schema.Decimal)
		if !ok {
			return nil, fmt.Errorf("%T is not a decimal", v)
		}
		if scale, err := schema.DecimalScale(s); err == nil {
			d = d.Rescale(scale)
		}
		if numeric {
			return json.Number(d.String()), nil
		}
		return base64.StdEncoding.EncodeToString(schema.TwosComplement(d.Unscaled)), nil
	case schema.DateName, schema.TimeName, schema.TimestampName:
		return avroInt(s, v)
	}
	switch s.Type {
	case schema.Float32:
		f, ok := v.(float32)
		if !ok {
			return nil, fmt.Errorf("%T is not a float", v)
		}
		return json.Number(strconv.FormatFloat(float64(f), 'g', -1, 32)), nil
	case schema.Bytes:
		b, ok := v.([]byte)
		if !ok {
			return nil, fmt.Errorf("%T is not bytes", v)
		}
		return base64.StdEncoding.EncodeToString(b), nil
	case schema.Array:
		items, ok := v.([]any)
		if !ok {
			return nil, fmt.Errorf("%T is not an array", v)
		}
		out := make([]any, len(items))
		for i, it := range items {
			x, err := jsonTree(s.Elem, it, numeric)
			if err != nil {
				return nil, err
			}
			out[i] = x
		}
		return out, nil
	case schema.Map:
		stringKeys := s.Key.Type == schema.String && !s.Key.Optional
		var entries []schema.MapEntry
		switch m := v.(type) {
		case map[string]any:
			for _, k := range sortedKeys(m) {
				entries = append(entries, schema.MapEntry{Key: k, Value: m[k]})
			}
		case []schema.MapEntry:
			entries = m
		default:
			return nil, fmt.Errorf("%T is not a map", v)
		}
		if stringKeys {
			out := make(map[string]any, len(entries))
			for _, e := range entries {
				x, err := jsonTree(s.Value, e.Value, numeric)
				if err != nil {
					return nil, err
				}
				out[fmt.Sprint(e.Key)] = x
			}
			return out, nil
		}
		out := make([]any, 0, len(entries))
		for _, e := range entries {
			k, err := jsonTree(s.Key, e.Key, numeric)
			if err != nil {
				return nil, err
			}
			x, err := jsonTree(s.Value, e.Value, numeric)
			if err != nil {
				return nil, err
			}
			out = append(out, map[string]any{"key": k, "value": x})
		}
		return out, nil
	case schema.Struct:
		sv, ok := v.(*schema.StructValue)
		if !ok {
			return nil, fmt.Errorf("%T is not a struct", v)
		}
		out := make(map[string]any, len(s.Fields))
		for _, f := range s.Fields {
			fv := sv.Get(f.Name)
			if fv == nil && !f.Schema.Optional && f.Schema.Default == nil {
				return nil, fmt.Errorf("field %s: null for a required %s", f.Name, f.Schema.Type)
			}
			x, err := jsonTree(f.Schema, fv, numeric)
			if err != nil {
				return nil, fmt.Errorf("field %s: %w", f.Name, err)
			}
			out[f.Name] = x
		}
		return out, nil
	}
	return v, nil
}

// fromJSONTree reads decoded JSON (numbers as json.Number) as Connect data.
func fromJSONTree(s *schema.Schema, j any) (any, error) {
	if s.Type == schema.Map && !(s.Key.Type == schema.String && !s.Key.Optional) && j != nil {
		pairs, ok := j.([]any)
		if !ok {
			return nil, fmt.Errorf("expected an array of key/value objects, got %T", j)
		}
		out := make([]schema.MapEntry, 0, len(pairs))
		for _, p := range pairs {
			kv, ok := p.(map[string]any)
			if !ok {
				return nil, errors.New("map entry is not a key/value object")
			}
			k, err := fromJSONTree(s.Key, kv["key"])
			if err != nil {
				return nil, err
			}
			v, err := fromJSONTree(s.Value, kv["value"])
			if err != nil {
				return nil, err
			}
			out = append(out, schema.MapEntry{Key: k, Value: v})
		}
		return out, nil
	}
	switch s.Type {
	case schema.Array:
		if items, ok := j.([]any); ok {
			out := make([]any, len(items))
			for i, it := range items {
				v, err := fromJSONTree(s.Elem, it)
				if err != nil {
					return nil, err
				}
				out[i] = v
			}
			return out, nil
		}
	case schema.Map:
		if obj, ok := j.(map[string]any); ok {
			out := make(map[string]any, len(obj))
			for k, x := range obj {
				v, err := fromJSONTree(s.Value, x)
				if err != nil {
					return nil, err
				}
				out[k] = v
			}
			return out, nil
		}
	case schema.Struct:
		if obj, ok := j.(map[string]any); ok {
			sv := schema.NewStruct(s)
			for i, f := range s.Fields {
				v, err := fromJSONTree(f.Schema, obj[f.Name])
				if err != nil {
					return nil, fmt.Errorf("field %s: %w", f.Name, err)
				}
				sv.Values[i] = v
			}
			return sv, nil
		}
	}
	// Primitives and logical types read as JsonConverter reads them, with
	// decimals as numbers.
	return (&jsonConverter{decimalNumeric: true, replaceNullValue: true}).toConnect(s, j)
}
