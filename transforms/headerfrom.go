package transforms

import (
	"encoding/json"
	"fmt"
	"maps"
	"slices"
	"strings"
	"time"

	"github.com/sluicehq/sluice/connectors"
	"github.com/sluicehq/sluice/connectors/schema"
)

// HeaderFrom$Key/$Value: copies or moves fields of the key or value into
// headers, as Kafka's, each header value written as SimpleHeaderConverter
// writes it (text for strings, numbers and booleans, JSON for the rest).
func headerFromPlugins() []Plugin {
	var out []Plugin
	out = append(out, keyValue("HeaderFrom", "Copies or moves fields of the key or value into headers.", connectors.Spec{Fields: []connectors.Field{
		{Name: "fields", Type: connectors.TypeList, Required: true, Importance: connectors.High,
			Doc: "Field names in the record whose values are to be copied or moved to headers; with field.syntax.version=V2 paths to nested fields."},
		{Name: "headers", Type: connectors.TypeList, Required: true, Importance: connectors.High,
			Doc: "Header names, in the same order as the field names listed in the fields configuration property."},
		{Name: "operation", Type: connectors.TypeString, Required: true, Importance: connectors.High, Allowed: []string{"copy", "move"},
			Doc: "Either move if the fields are to be moved to the headers (removed from the key/value), or copy if the fields are to be copied to the headers (retained in the key/value)."},
		fieldSyntaxField,
		replaceNullField,
	}}, func(cfg connectors.Config, key bool) (Transform, error) {
		fields, headers := cfg.List("fields"), cfg.List("headers")
		if len(fields) != len(headers) {
			return nil, fmt.Errorf("'fields' config must have the same number of elements as 'headers' config")
		}
		t := &headerFrom{key: key, fields: fields, headers: headers,
			move: strings.EqualFold(cfg.String("operation"), "move"), defaults: replaceNull(cfg)}
		if syntaxV2(cfg) {
			paths, err := parseFieldPaths(cfg, "fields", fields)
			if err != nil {
				return nil, err
			}
			t.paths, t.tree = paths, newPathTree(paths)
		}
		return t, nil
	})...)
	return out
}

type headerFrom struct {
	key             bool
	fields, headers []string
	move            bool
	paths           []fieldPath // field.syntax.version=V2 only
	tree            *pathTree   // the paths merged; nil under V1
	// defaults (replace.null.with.default) reads the header values and,
	// with move, the fields kept; copy leaves the value as it is.
	defaults nullDefaults
	schemas  schemaCache
}

func (t *headerFrom) NeedsStructure() bool { return true }

// headerText is a value as SimpleHeaderConverter writes it.
func headerText(v any) []byte {
	switch x := v.(type) {
	case nil:
		return nil
	case string:
		return []byte(x)
	case []byte:
		return x
	case time.Time:
		return []byte(x.UTC().Format("2006-01-02T15:04:05.000Z"))
	case *schema.StructValue:
		m := map[string]any{}
		for _, f := range x.Schema.Fields {
			m[f.Name] = x.Values[f.Index]
		}
		b, _ := json.Marshal(m)
		return b
	case map[string]any, []any:
		b, _ := json.Marshal(x)
		return b
	}
	return []byte(fmt.Sprint(v))
}

func (t *headerFrom) Apply(r *connectors.Record) (bool, error) {
	side := sideOf(t.key)
	s, v := side.get(r)
	if v == nil {
		return true, nil
	}
	if t.tree != nil {
		return t.applyPaths(r, s, v)
	}
	if s == nil {
		m, err := requireMap(v, "header from field")
		if err != nil {
			return false, err
		}
		out := maps.Clone(m)
		for i, f := range t.fields {
			r.Headers = append(r.Headers, connectors.Header{Key: t.headers[i], Value: headerText(m[f])})
			if t.move {
				delete(out, f)
			}
		}
		side.set(r, nil, out)
		return true, nil
	}
	st, err := requireStruct(s, v, "header from field")
	if err != nil {
		return false, err
	}
	for i, name := range t.fields {
		f := s.Field(name)
		if f == nil {
			return false, fmt.Errorf("unknown field: %s", name)
		}
		r.Headers = append(r.Headers, connectors.Header{Key: t.headers[i], Value: headerText(t.defaults.of(st.Get(name), f.Schema))})
	}
	if !t.move {
		return true, nil
	}
	ns, err := t.schemas.get(s, func() (*schema.Schema, error) {
		ns := copyBasics(s)
		for _, f := range s.Fields {
			if !slices.Contains(t.fields, f.Name) {
				addField(ns, f.Name, f.Schema)
			}
		}
		return ns, nil
	})
	if err != nil {
		return false, err
	}
	out := schema.NewStruct(ns)
	for _, f := range ns.Fields {
		out.Values[f.Index] = t.defaults.of(st.Get(f.Name), f.Schema)
	}
	side.set(r, ns, out)
	return true, nil
}

// applyPaths is HeaderFrom under field.syntax.version=V2: each header takes
// the value its path names (null when a parent is missing or null); move
// then removes those fields from the structs or maps they are nested in.
// A path that is not in the schema is an error, as a field name is under V1.
func (t *headerFrom) applyPaths(r *connectors.Record, s *schema.Schema, v any) (bool, error) {
	side := sideOf(t.key)
	if s == nil {
		m, err := requireMap(v, "header from field")
		if err != nil {
			return false, err
		}
		for i, p := range t.paths {
			x, err := p.mapValue(m)
			if err != nil {
				return false, err
			}
			r.Headers = append(r.Headers, connectors.Header{Key: t.headers[i], Value: headerText(x)})
		}
		if !t.move {
			return true, nil
		}
		out, err := t.tree.updateMap(m, func(int, any, bool) (any, bool, error) { return nil, false, nil })
		if err != nil {
			return false, err
		}
		side.set(r, nil, out)
		return true, nil
	}
	st, err := requireStruct(s, v, "header from field")
	if err != nil {
		return false, err
	}
	for i, p := range t.paths {
		if fs, _ := p.lookup(s); fs == nil {
			return false, fmt.Errorf("unknown field: %s", t.fields[i])
		}
		r.Headers = append(r.Headers, connectors.Header{Key: t.headers[i], Value: headerText(p.structValue(st, t.defaults))})
	}
	if !t.move {
		return true, nil
	}
	ns, err := t.schemas.get(s, func() (*schema.Schema, error) {
		return t.tree.updateSchema(s, func(int, schema.Field) (*schema.Schema, error) { return nil, nil })
	})
	if err != nil {
		return false, err
	}
	out, err := t.tree.updateStruct(st, ns, t.defaults, func(_ int, _, _ *schema.Schema, x any) (any, error) { return x, nil })
	if err != nil {
		return false, err
	}
	side.set(r, ns, out)
	return true, nil
}
