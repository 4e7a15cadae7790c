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
