package transforms

import (
	"sync"

	"github.com/sluicehq/sluice/connectors"
	"github.com/sluicehq/sluice/connectors/schema"
)

// keyValue returns a transform's $Key and $Value plugins, as Kafka names
// them; newT makes the transform for the key (key true) or the value.
func keyValue(name, description string, spec connectors.Spec, newT func(cfg connectors.Config, key bool) (Transform, error)) []Plugin {
	var out []Plugin
	for _, side := range []struct {
		suffix string
		key    bool
	}{{"$Key", true}, {"$Value", false}} {
		out = append(out, Plugin{
			Name: name + side.suffix, Class: kafkaTransforms + name + side.suffix, Kind: KindTransform,
			Description: description, Spec: spec,
			NewTransform: func(cfg connectors.Config) (Transform, error) { return newT(cfg, side.key) },
		})
	}
	return out
}

// schemaCache remembers the schema a transform derived from each input
// schema, so that records of one schema share one derived schema. The zero
// value is ready.
type schemaCache struct {
	mu sync.Mutex
	m  map[*schema.Schema]*schema.Schema
}

func (c *schemaCache) get(in *schema.Schema, derive func() (*schema.Schema, error)) (*schema.Schema, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if out, ok := c.m[in]; ok {
		return out, nil
	}
	out, err := derive()
	if err != nil {
		return nil, err
	}
	if c.m == nil {
		c.m = map[*schema.Schema]*schema.Schema{}
	}
	c.m[in] = out
	return out, nil
}

// addField appends a field to a struct schema being built.
func addField(s *schema.Schema, name string, fs *schema.Schema) {
	s.Fields = append(s.Fields, schema.Field{Name: name, Index: len(s.Fields), Schema: fs})
}

// Kafka Connect's replace.null.with.default (KIP-1040, Apache Kafka 3.9):
// InsertField, ExtractField, HeaderFrom, Cast, SetSchemaMetadata,
// TimestampConverter, MaskField, ValueToKey and ReplaceField read the
// fields of a struct with it. True, the default, reads a null field whose
// schema has a default as that default, as Kafka's Struct.get; false keeps
// the null, as Struct.getWithoutDefault. Values without a schema have no
// defaults, so it changes nothing there.
const keyReplaceNull = "replace.null.with.default"

// replaceNullField is the config field of the transforms that take it.
var replaceNullField = connectors.Field{Name: keyReplaceNull, Type: connectors.TypeBoolean, Default: "true", Importance: connectors.Medium,
	Doc: "Whether to replace fields that have a default value and that are null to the default value. " +
		"When set to true, the default value is used, otherwise null is used."}

// nullDefaults is a transform's replace.null.with.default.
type nullDefaults bool

// replaceNull reads the transform's replace.null.with.default.
func replaceNull(cfg connectors.Config) nullDefaults { return nullDefaults(cfg.Bool(keyReplaceNull)) }

// of is v, the value of a struct field of schema s, as the transform reads
// it: s's default when v is null and d is true.
func (d nullDefaults) of(v any, s *schema.Schema) any {
	if v == nil && d && s != nil {
		return s.Default
	}
	return v
}

// copyValues sets dst[i] to st's i-th value, read by of; dst holds at least
// as many values as st.
func (d nullDefaults) copyValues(dst []any, st *schema.StructValue) {
	for _, f := range st.Schema.Fields {
		dst[f.Index] = d.of(st.Values[f.Index], f.Schema)
	}
}
