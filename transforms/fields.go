package transforms

import (
	"fmt"
	"maps"
	"strings"
	"time"

	"github.com/sluicehq/sluice/connectors"
	"github.com/sluicehq/sluice/connectors/schema"
)

// fieldPlugins are the transforms that work on the fields of keys or
// values, each in its $Key and $Value form, as in Kafka.
func fieldPlugins() []Plugin {
	var out []Plugin
	out = append(out, keyValue("HoistField", "Wraps the data in a struct (with a schema) or a map (without) under the field name.", connectors.Spec{Fields: []connectors.Field{
		{Name: "field", Type: connectors.TypeString, Required: true, Importance: connectors.Medium,
			Doc: "Field name for the single field that will be created in the resulting Struct or Map."},
	}}, func(cfg connectors.Config, key bool) (Transform, error) {
		return &hoistField{key: key, field: cfg.String("field")}, nil
	})...)
	out = append(out, keyValue("InsertField", "Inserts fields from the record's metadata (topic, partition, offset, timestamp) or a static value. "+
		"A field name ending in ! is required, ? (the default) optional.", connectors.Spec{Fields: []connectors.Field{
		{Name: "topic.field", Type: connectors.TypeString, Importance: connectors.Medium, Doc: "Field name for Kafka topic."},
		{Name: "partition.field", Type: connectors.TypeString, Importance: connectors.Medium, Doc: "Field name for Kafka partition."},
		{Name: "offset.field", Type: connectors.TypeString, Importance: connectors.Medium, Doc: "Field name for Kafka offset - only applicable to sink connectors."},
		{Name: "timestamp.field", Type: connectors.TypeString, Importance: connectors.Medium, Doc: "Field name for record timestamp."},
		{Name: "static.field", Type: connectors.TypeString, Importance: connectors.Medium, Doc: "Field name for static data field."},
		{Name: "static.value", Type: connectors.TypeString, Importance: connectors.Medium, Doc: "Static field value, if field name configured."},
		replaceNullField,
	}}, func(cfg connectors.Config, key bool) (Transform, error) { return newInsertField(cfg, key) })...)
	return out
}

// side reads and writes the key or the value of a record.
type sideOf bool

func (k sideOf) get(r *connectors.Record) (*schema.Schema, any) {
	if k {
		return r.KeySchema, r.KeyData
	}
	return r.ValueSchema, r.ValueData
}

// set replaces the structured form, dropping the raw bytes it came from.
func (k sideOf) set(r *connectors.Record, s *schema.Schema, v any) {
	if k {
		r.KeySchema, r.KeyData, r.Key = s, v, nil
		return
	}
	r.ValueSchema, r.ValueData, r.Value = s, v, nil
}

type hoistField struct {
	key     bool
	field   string
	schemas schemaCache
}

func (t *hoistField) NeedsStructure() bool { return true }

func (t *hoistField) Apply(r *connectors.Record) (bool, error) {
	side := sideOf(t.key)
	s, v := side.get(r)
	if s == nil {
		side.set(r, nil, map[string]any{t.field: v})
		return true, nil
	}
	hs, err := t.schemas.get(s, func() (*schema.Schema, error) {
		hs := schema.NewStructBuilder().Field(t.field, s).Build()
		return hs, nil
	})
	if err != nil {
		return false, err
	}
	st := schema.NewStruct(hs)
	st.Values[0] = v
	side.set(r, hs, st)
	return true, nil
}

// insertField is InsertField.
type insertField struct {
	key                                         bool
	topic, partition, offset, timestamp, static fieldName
	staticValue                                 string
	defaults                                    nullDefaults // replace.null.with.default, for the fields copied
	schemas                                     schemaCache
}

// fieldName is an InsertField field: a name, optional unless it ended in !.
type fieldName struct {
	name     string
	optional bool
}

func parseFieldName(v string) fieldName {
	v = strings.TrimSpace(v)
	switch {
	case v == "":
		return fieldName{}
	case strings.HasSuffix(v, "!"):
		return fieldName{name: strings.TrimSuffix(v, "!")}
	case strings.HasSuffix(v, "?"):
		return fieldName{name: strings.TrimSuffix(v, "?"), optional: true}
	}
	return fieldName{name: v, optional: true}
}

func newInsertField(cfg connectors.Config, key bool) (Transform, error) {
	t := &insertField{key: key,
		topic: parseFieldName(cfg.String("topic.field")), partition: parseFieldName(cfg.String("partition.field")),
		offset: parseFieldName(cfg.String("offset.field")), timestamp: parseFieldName(cfg.String("timestamp.field")),
		static: parseFieldName(cfg.String("static.field")), staticValue: cfg.String("static.value"), defaults: replaceNull(cfg)}
	if t.topic.name == "" && t.partition.name == "" && t.offset.name == "" && t.timestamp.name == "" && t.static.name == "" {
		return nil, fmt.Errorf("set at least one of topic.field, partition.field, offset.field, timestamp.field and static.field")
	}
	// Kafka refuses a static field without a value; an empty value is one.
	if _, set := cfg.Lookup("static.value"); t.static.name != "" && !set {
		return nil, &configError{key: "static.value", reason: "No value specified for static field: " + t.static.name}
	}
	return t, nil
}

func (t *insertField) NeedsStructure() bool { return true }

// values are the fields to insert, in Kafka's order, with their schemas;
// a field whose value the record does not have is left out (nil value).
func (t *insertField) values(r *connectors.Record) []struct {
	f fieldName
	s *schema.Schema
	v any
} {
	type fv = struct {
		f fieldName
		s *schema.Schema
		v any
	}
	opt := func(s *schema.Schema, f fieldName) *schema.Schema {
		s.Optional = f.optional
		return s
	}
	var out []fv
	if t.topic.name != "" {
		out = append(out, fv{t.topic, opt(schema.StringSchema(), t.topic), r.Topic})
	}
	if t.partition.name != "" {
		var v any
		if r.Partition >= 0 {
			v = r.Partition
		}
		out = append(out, fv{t.partition, opt(schema.Int32Schema(), t.partition), v})
	}
	// The offset is a sink record's alone.
	if t.offset.name != "" && r.SourcePartition == nil {
		out = append(out, fv{t.offset, opt(schema.Int64Schema(), t.offset), r.Offset})
	}
	if t.timestamp.name != "" {
		var v any
		if !r.Timestamp.IsZero() {
			v = r.Timestamp
		}
		out = append(out, fv{t.timestamp, opt(schema.TimestampSchema(), t.timestamp), v})
	}
	if t.static.name != "" {
		out = append(out, fv{t.static, opt(schema.StringSchema(), t.static), t.staticValue})
	}
	return out
}

func (t *insertField) Apply(r *connectors.Record) (bool, error) {
	side := sideOf(t.key)
	s, v := side.get(r)
	if v == nil {
		return true, nil // a tombstone passes as it is
	}
	fields := t.values(r)
	if s == nil {
		m, err := requireMap(v, "field insertion")
		if err != nil {
			return false, err
		}
		out := maps.Clone(m)
		for _, f := range fields {
			if f.v == nil {
				continue
			}
			if ts, ok := f.v.(time.Time); ok {
				f.v = ts.UnixMilli() // schemaless: the timestamp in milliseconds, as Kafka
			}
			out[f.f.name] = f.v
		}
		side.set(r, nil, out)
		return true, nil
	}
	st, err := requireStruct(s, v, "field insertion")
	if err != nil {
		return false, err
	}
	ns, err := t.schemas.get(s, func() (*schema.Schema, error) {
		ns := copyBasics(s)
		for _, f := range s.Fields {
			addField(ns, f.Name, f.Schema)
		}
		for _, f := range fields {
			addField(ns, f.f.name, f.s)
		}
		return ns, nil
	})
	if err != nil {
		return false, err
	}
	out := schema.NewStruct(ns)
	t.defaults.copyValues(out.Values, st)
	for i, f := range fields {
		if f.v == nil && !f.f.optional {
			return false, fmt.Errorf("field %s is required but the record has no %s", f.f.name, f.f.name)
		}
		out.Values[len(s.Fields)+i] = f.v
	}
	side.set(r, ns, out)
	return true, nil
}
