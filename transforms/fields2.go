package transforms

import (
	"fmt"
	"maps"
	"slices"
	"strconv"
	"strings"

	"github.com/sluicehq/sluice/connectors"
	"github.com/sluicehq/sluice/connectors/schema"
)

// morePlugins are ExtractField, ReplaceField, MaskField and
// SetSchemaMetadata (each $Key and $Value) and ValueToKey.
func morePlugins() []Plugin {
	out := []Plugin{{
		Name: "ValueToKey", Class: kafkaTransforms + "ValueToKey", Kind: KindTransform,
		Description: "Replaces the key with a struct or map of fields taken from the value.",
		Spec: connectors.Spec{Fields: []connectors.Field{
			{Name: "fields", Type: connectors.TypeList, Required: true, Importance: connectors.High,
				Doc: "Field names on the record value to extract as the record key; with field.syntax.version=V2 paths to nested fields, " +
					"each a key field named by its path as written (after.id)."},
			fieldSyntaxField,
			replaceNullField,
		}},
		NewTransform: func(cfg connectors.Config) (Transform, error) {
			fields := cfg.List("fields")
			paths, err := parseFieldPaths(cfg, "fields", fields)
			if err != nil {
				return nil, err
			}
			return &valueToKey{fields: fields, paths: paths, defaults: replaceNull(cfg)}, nil
		},
	}}
	out = append(out, keyValue("ExtractField", "Replaces the data with one of its fields (a struct with a schema, a map without).", connectors.Spec{Fields: []connectors.Field{
		{Name: "field", Type: connectors.TypeString, Required: true, Importance: connectors.Medium,
			Doc: "Field name to extract; with field.syntax.version=V2 a path to a nested field, for example after.id."},
		fieldSyntaxField,
		replaceNullField,
	}}, func(cfg connectors.Config, key bool) (Transform, error) {
		path, err := parseFieldPath(cfg, "field", cfg.String("field"))
		if err != nil {
			return nil, err
		}
		return &extractField{key: key, field: cfg.String("field"), path: path, defaults: replaceNull(cfg)}, nil
	})...)
	out = append(out, keyValue("ReplaceField", "Keeps (include), drops (exclude) and renames (renames, from:to) fields.", connectors.Spec{Fields: []connectors.Field{
		{Name: "exclude", Type: connectors.TypeList, Importance: connectors.Medium, Doc: "Fields to exclude. This takes precedence over the fields to include."},
		{Name: "include", Type: connectors.TypeList, Importance: connectors.Medium, Doc: "Fields to include. If specified, only these fields will be used."},
		{Name: "renames", Type: connectors.TypeList, Importance: connectors.Medium, Doc: "Field rename mappings, as from:to pairs separated by commas. " +
			"With field.syntax.version=V2 from is a path and to the field's new name in the same struct or map: after.name:full_name.",
			Validate: func(v string) error { _, err := parseRenames(v); return err }},
		{Name: "blacklist", Type: connectors.TypeList, Importance: connectors.Low, Doc: "Deprecated. Use exclude instead."},
		{Name: "whitelist", Type: connectors.TypeList, Importance: connectors.Low, Doc: "Deprecated. Use include instead."},
		fieldSyntaxField,
		replaceNullField,
	}}, func(cfg connectors.Config, key bool) (Transform, error) {
		renames, _ := parseRenames(cfg.String("renames"))
		t := &replaceField{key: key, exclude: append(cfg.List("exclude"), cfg.List("blacklist")...),
			include: append(cfg.List("include"), cfg.List("whitelist")...), renames: renames, defaults: replaceNull(cfg)}
		if syntaxV2(cfg) {
			if err := t.parsePaths(cfg); err != nil {
				return nil, err
			}
		}
		return t, nil
	})...)
	out = append(out, keyValue("MaskField", "Replaces the value of fields with the empty value of their type (0, false, \"\", an empty array or map), or with replacement.", connectors.Spec{Fields: []connectors.Field{
		{Name: "fields", Type: connectors.TypeList, Required: true, Importance: connectors.High,
			Doc: "Names of fields to mask; with field.syntax.version=V2 paths to nested fields."},
		{Name: "replacement", Type: connectors.TypeString, Importance: connectors.Low, Doc: "Custom value replacement, that will be applied to all 'fields' values (numeric or non-empty string values only).",
			Validate: func(v string) error {
				if v == "" {
					return fmt.Errorf("String must be non-empty")
				}
				return nil
			}},
		fieldSyntaxField,
		replaceNullField,
	}}, func(cfg connectors.Config, key bool) (Transform, error) {
		r, set := cfg.Lookup("replacement")
		t := &maskField{key: key, fields: cfg.List("fields"), replacement: r, hasReplacement: set, defaults: replaceNull(cfg)}
		if syntaxV2(cfg) {
			paths, err := parseFieldPaths(cfg, "fields", t.fields)
			if err != nil {
				return nil, err
			}
			t.tree = newPathTree(paths)
		}
		return t, nil
	})...)
	out = append(out, keyValue("SetSchemaMetadata", "Sets the name and/or version of the data's schema.", connectors.Spec{Fields: []connectors.Field{
		{Name: "schema.name", Type: connectors.TypeString, Importance: connectors.High, Doc: "Schema name to set."},
		{Name: "schema.version", Type: connectors.TypeInt, Importance: connectors.High, Doc: "Schema version to set."},
		replaceNullField,
	}}, func(cfg connectors.Config, key bool) (Transform, error) {
		t := &setSchemaMetadata{key: key, name: cfg.String("schema.name"), defaults: replaceNull(cfg)}
		if v, ok := cfg.Lookup("schema.version"); ok && strings.TrimSpace(v) != "" {
			n, _ := strconv.Atoi(strings.TrimSpace(v))
			t.version, t.setVersion = int32(n), true
		}
		if t.name == "" && !t.setVersion {
			return nil, fmt.Errorf("set schema.name or schema.version")
		}
		return t, nil
	})...)
	return out
}

func parseRenames(v string) (map[string]string, error) {
	out := map[string]string{}
	for _, p := range list(v) {
		from, to, ok := strings.Cut(p, ":")
		if !ok || strings.TrimSpace(from) == "" || strings.TrimSpace(to) == "" {
			return nil, fmt.Errorf("invalid rename mapping %q: write from:to", p)
		}
		out[strings.TrimSpace(from)] = strings.TrimSpace(to)
	}
	return out, nil
}

// copyBasics returns a struct schema with s's name, version, doc,
// parameters and optionality, and no fields.
func copyBasics(s *schema.Schema) *schema.Schema {
	return &schema.Schema{Type: s.Type, Optional: s.Optional, Name: s.Name, Version: s.Version, Doc: s.Doc,
		Parameters: s.Parameters, Default: s.Default, Key: s.Key, Value: s.Value, Elem: s.Elem}
}

func requireStruct(s *schema.Schema, v any, what string) (*schema.StructValue, error) {
	st, ok := v.(*schema.StructValue)
	if !ok || s.Type != schema.Struct {
		return nil, fmt.Errorf("only Struct objects supported for [%s], found: %T", what, v)
	}
	return st, nil
}

func requireMap(v any, what string) (map[string]any, error) {
	m, ok := v.(map[string]any)
	if !ok {
		return nil, fmt.Errorf("only Map objects supported in absence of schema for [%s], found: %T", what, v)
	}
	if m == nil {
		m = map[string]any{} // callers copy and write into it
	}
	return m, nil
}

type extractField struct {
	key      bool
	field    string
	path     fieldPath // one step unless field.syntax.version=V2
	defaults nullDefaults
	schemas  schemaCache
}

func (t *extractField) NeedsStructure() bool { return true }

func (t *extractField) Apply(r *connectors.Record) (bool, error) {
	side := sideOf(t.key)
	s, v := side.get(r)
	if v == nil {
		return true, nil
	}
	if s == nil {
		m, err := requireMap(v, "field extraction")
		if err != nil {
			return false, err
		}
		x, err := t.path.mapValue(m)
		if err != nil {
			return false, err
		}
		side.set(r, nil, x)
		return true, nil
	}
	st, err := requireStruct(s, v, "field extraction")
	if err != nil {
		return false, err
	}
	fs, err := t.schemas.get(s, func() (*schema.Schema, error) {
		if fs := t.path.fieldOf(s); fs != nil {
			return fs, nil
		}
		return nil, fmt.Errorf("unknown field: %s", t.field)
	})
	if err != nil {
		return false, err
	}
	side.set(r, fs, t.path.structValue(st, t.defaults))
	return true, nil
}

type valueToKey struct {
	// fields name the key's fields; paths are where their values are in
	// the value, one step each under V1.
	fields   []string
	paths    []fieldPath
	defaults nullDefaults
	schemas  schemaCache
}

func (t *valueToKey) NeedsStructure() bool { return true }

// Apply builds the key as Kafka's ValueToKey does: one field per configured
// field, named as configured. Under field.syntax.version=V2 a field is a
// path and the key stays flat, as in Kafka (fields=after.id,op gives the
// key {"after.id": ..., "op": ...}); a missing or null parent gives null.
func (t *valueToKey) Apply(r *connectors.Record) (bool, error) {
	if r.ValueSchema == nil {
		m, err := requireMap(r.ValueData, "copying fields from value to key")
		if err != nil {
			return false, err
		}
		key := make(map[string]any, len(t.fields))
		for i, p := range t.paths {
			x, err := p.mapValue(m)
			if err != nil {
				return false, err
			}
			key[t.fields[i]] = x
		}
		sideOf(true).set(r, nil, key)
		return true, nil
	}
	st, err := requireStruct(r.ValueSchema, r.ValueData, "copying fields from value to key")
	if err != nil {
		return false, err
	}
	ks, err := t.schemas.get(r.ValueSchema, func() (*schema.Schema, error) {
		b := schema.NewStructBuilder()
		for i, p := range t.paths {
			fs := p.fieldOf(r.ValueSchema)
			if fs == nil {
				return nil, fmt.Errorf("field does not exist: %s", t.fields[i])
			}
			b.Field(t.fields[i], fs)
		}
		return b.Build(), nil
	})
	if err != nil {
		return false, err
	}
	key := schema.NewStruct(ks)
	for i, p := range t.paths {
		key.Values[i] = p.structValue(st, t.defaults)
	}
	sideOf(true).set(r, ks, key)
	return true, nil
}

type replaceField struct {
	key              bool
	exclude, include []string
	renames          map[string]string
	// Under field.syntax.version=V2 (v2 true): the paths merged, and the
	// new names by rename path index. include is nil when no include is
	// configured.
	v2                         bool
	excludeT, includeT, renamT *pathTree
	renameTo                   []string
	defaults                   nullDefaults
	schemas                    schemaCache
}

// parsePaths reads exclude, include and the renames' from sides as V2
// paths.
func (t *replaceField) parsePaths(cfg connectors.Config) error {
	t.v2 = true
	ex, err := parseFieldPaths(cfg, "exclude", t.exclude)
	if err != nil {
		return err
	}
	t.excludeT = newPathTree(ex)
	if len(t.include) > 0 {
		in, err := parseFieldPaths(cfg, "include", t.include)
		if err != nil {
			return err
		}
		t.includeT = newPathTree(in)
	}
	var from []fieldPath
	for _, p := range list(cfg.String("renames")) {
		f, to, _ := strings.Cut(p, ":")
		path, err := parseFieldPath(cfg, "renames", strings.TrimSpace(f))
		if err != nil {
			return err
		}
		// to is the new name, or the same path with the last step changed.
		toPath, err := parseFieldPath(cfg, "renames", strings.TrimSpace(to))
		if err != nil {
			return err
		}
		if len(toPath) > 1 && (len(toPath) != len(path) || !slices.Equal(toPath[:len(path)-1], path[:len(path)-1])) {
			return &configError{key: "renames", reason: fmt.Sprintf("%q: a field is renamed within its struct or map: write %s:newname", p, path)}
		}
		from = append(from, path)
		t.renameTo = append(t.renameTo, toPath[len(toPath)-1])
	}
	t.renamT = newPathTree(from)
	return nil
}

// kid returns the subtree under step, nil-safe.
func (t *pathTree) kid(step string) *pathTree {
	if t == nil {
		return nil
	}
	return t.kids[step]
}

// decide is ReplaceField's V2 rule for one field, given the trees at its
// parent (in nil: no include filter at this level): its new name, "" when
// it is dropped, and the trees for its own fields. An exclude path drops
// the field it names; include keeps the fields include paths name, whole,
// and their parents with only their included fields; a rename path renames
// the field it names, in place.
func (t *replaceField) decide(name string, ex, in, rn *pathTree) (string, *pathTree, *pathTree, *pathTree) {
	exK := ex.kid(name)
	if exK != nil && exK.end >= 0 {
		return "", nil, nil, nil
	}
	var inK *pathTree
	if in != nil {
		if inK = in.kid(name); inK == nil {
			return "", nil, nil, nil
		}
		if inK.end >= 0 {
			inK = nil // included whole
		}
	}
	rnK := rn.kid(name)
	if rnK != nil && rnK.end >= 0 {
		name = t.renameTo[rnK.end]
	}
	return name, exK, inK, rnK
}

func (t *replaceField) pathsSchema(s *schema.Schema, ex, in, rn *pathTree) *schema.Schema {
	out := copyBasics(s)
	for _, f := range s.Fields {
		name, exK, inK, rnK := t.decide(f.Name, ex, in, rn)
		if name == "" {
			continue
		}
		fs := f.Schema
		if inK != nil && fs.Type != schema.Struct {
			continue // include names fields under it, and it has none
		}
		if fs.Type == schema.Struct && (exK != nil || inK != nil || rnK != nil) {
			fs = t.pathsSchema(fs, exK, inK, rnK)
		}
		addField(out, name, fs)
	}
	return out
}

func (t *replaceField) pathsStruct(st *schema.StructValue, out *schema.Schema, ex, in, rn *pathTree) *schema.StructValue {
	nv := schema.NewStruct(out)
	i := 0
	for _, f := range st.Schema.Fields {
		name, exK, inK, rnK := t.decide(f.Name, ex, in, rn)
		if name == "" || inK != nil && f.Schema.Type != schema.Struct {
			continue // as pathsSchema
		}
		v := t.defaults.of(st.Values[f.Index], f.Schema)
		if sub, ok := v.(*schema.StructValue); ok && sub != nil && f.Schema.Type == schema.Struct && (exK != nil || inK != nil || rnK != nil) {
			v = t.pathsStruct(sub, out.Fields[i].Schema, exK, inK, rnK)
		}
		nv.Values[i] = v
		i++
	}
	return nv
}

func (t *replaceField) pathsMap(m map[string]any, ex, in, rn *pathTree) map[string]any {
	out := make(map[string]any, len(m))
	for k, v := range m {
		name, exK, inK, rnK := t.decide(k, ex, in, rn)
		if name == "" {
			continue
		}
		if _, isMap := v.(map[string]any); inK != nil && v != nil && !isMap {
			continue // include names entries under it, and it has none; a null parent stays
		}
		if sub, ok := v.(map[string]any); ok && sub != nil && (exK != nil || inK != nil || rnK != nil) {
			v = t.pathsMap(sub, exK, inK, rnK)
		}
		out[name] = v
	}
	return out
}

// applyPaths is ReplaceField under field.syntax.version=V2 (see decide).
func (t *replaceField) applyPaths(r *connectors.Record, s *schema.Schema, v any) (bool, error) {
	side := sideOf(t.key)
	if s == nil {
		m, err := requireMap(v, "field replacement")
		if err != nil {
			return false, err
		}
		side.set(r, nil, t.pathsMap(m, t.excludeT, t.includeT, t.renamT))
		return true, nil
	}
	st, err := requireStruct(s, v, "field replacement")
	if err != nil {
		return false, err
	}
	ns, _ := t.schemas.get(s, func() (*schema.Schema, error) {
		return t.pathsSchema(s, t.excludeT, t.includeT, t.renamT), nil
	})
	side.set(r, ns, t.pathsStruct(st, ns, t.excludeT, t.includeT, t.renamT))
	return true, nil
}

func (t *replaceField) NeedsStructure() bool { return true }

func (t *replaceField) keeps(name string) bool {
	return !slices.Contains(t.exclude, name) && (len(t.include) == 0 || slices.Contains(t.include, name))
}

func (t *replaceField) renamed(name string) string {
	if to, ok := t.renames[name]; ok {
		return to
	}
	return name
}

func (t *replaceField) Apply(r *connectors.Record) (bool, error) {
	side := sideOf(t.key)
	s, v := side.get(r)
	if v == nil {
		return true, nil
	}
	if t.v2 {
		return t.applyPaths(r, s, v)
	}
	if s == nil {
		m, err := requireMap(v, "field replacement")
		if err != nil {
			return false, err
		}
		out := make(map[string]any, len(m))
		for k, x := range m {
			if t.keeps(k) {
				out[t.renamed(k)] = x
			}
		}
		side.set(r, nil, out)
		return true, nil
	}
	st, err := requireStruct(s, v, "field replacement")
	if err != nil {
		return false, err
	}
	ns, err := t.schemas.get(s, func() (*schema.Schema, error) {
		ns := copyBasics(s)
		for _, f := range s.Fields {
			if t.keeps(f.Name) {
				addField(ns, t.renamed(f.Name), f.Schema)
			}
		}
		return ns, nil
	})
	if err != nil {
		return false, err
	}
	out := schema.NewStruct(ns)
	i := 0
	for _, f := range s.Fields {
		if t.keeps(f.Name) {
			out.Values[i] = t.defaults.of(st.Values[f.Index], f.Schema)
			i++
		}
	}
	side.set(r, ns, out)
	return true, nil
}

type maskField struct {
	key            bool
	fields         []string
	tree           *pathTree // field.syntax.version=V2: the fields' paths; nil under V1
	replacement    string
	hasReplacement bool
	defaults       nullDefaults
}

func (t *maskField) NeedsStructure() bool { return true }

// masked is the masked form of x: the replacement where it fits x's type,
// otherwise the empty value of that type.
func (t *maskField) masked(x any) (any, error) {
	if t.hasReplacement {
		switch x.(type) {
		case string:
			return t.replacement, nil
		case int8, int16, int32, int64, int, float32, float64:
			f, err := strconv.ParseFloat(t.replacement, 64)
			if err != nil {
				return nil, fmt.Errorf("unable to convert %s (%T) to number", t.replacement, x)
			}
			switch x.(type) {
			case int8:
				return int8(f), nil
			case int16:
				return int16(f), nil
			case int32:
				return int32(f), nil
			case int64:
				return int64(f), nil
			case int:
				return int(f), nil
			case float32:
				return float32(f), nil
			}
			return f, nil
		}
		return nil, fmt.Errorf("cannot mask value of type %T with custom replacement", x)
	}
	switch v := x.(type) {
	case string:
		return "", nil
	case bool:
		return false, nil
	case int8:
		return int8(0), nil
	case int16:
		return int16(0), nil
	case int32:
		return int32(0), nil
	case int64:
		return int64(0), nil
	case int:
		return 0, nil
	case float32:
		return float32(0), nil
	case float64:
		return float64(0), nil
	case []byte:
		return []byte{}, nil
	case []any:
		return []any{}, nil
	case map[string]any:
		return map[string]any{}, nil
	case nil:
		return nil, nil
	default:
		return nil, fmt.Errorf("cannot mask value of type %T", v)
	}
}

func (t *maskField) Apply(r *connectors.Record) (bool, error) {
	side := sideOf(t.key)
	s, v := side.get(r)
	if v == nil {
		return true, nil
	}
	if t.tree != nil {
		return t.applyPaths(r, s, v)
	}
	if s == nil {
		m, err := requireMap(v, "masking fields")
		if err != nil {
			return false, err
		}
		out := maps.Clone(m)
		for _, f := range t.fields {
			mv, err := t.masked(m[f])
			if err != nil {
				return false, err
			}
			out[f] = mv
		}
		side.set(r, nil, out)
		return true, nil
	}
	st, err := requireStruct(s, v, "masking fields")
	if err != nil {
		return false, err
	}
	// As Kafka's: every field is copied (read by replace.null.with.default,
	// so a null field with a default is masked as its default), and a name
	// the schema does not have is left alone.
	out := schema.NewStruct(s)
	t.defaults.copyValues(out.Values, st)
	for _, name := range t.fields {
		f := s.Field(name)
		if f == nil {
			continue
		}
		mv, err := t.masked(out.Values[f.Index])
		if err != nil {
			return false, err
		}
		out.Values[f.Index] = mv
	}
	side.set(r, s, out)
	return true, nil
}

// applyPaths is MaskField under field.syntax.version=V2: the fields the
// paths name are masked wherever they are nested; a path that is not there
// (a missing field or key, a null parent) is left alone, as Kafka's
// schema-based MaskField leaves names it does not find. The schema does not
// change.
func (t *maskField) applyPaths(r *connectors.Record, s *schema.Schema, v any) (bool, error) {
	side := sideOf(t.key)
	if s == nil {
		m, err := requireMap(v, "masking fields")
		if err != nil {
			return false, err
		}
		out, err := t.tree.updateMap(m, func(_ int, x any, present bool) (any, bool, error) {
			if !present {
				return nil, false, nil
			}
			mx, err := t.masked(x)
			return mx, true, err
		})
		if err != nil {
			return false, err
		}
		side.set(r, nil, out)
		return true, nil
	}
	st, err := requireStruct(s, v, "masking fields")
	if err != nil {
		return false, err
	}
	out, err := t.tree.updateStruct(st, s, t.defaults, func(_ int, _, _ *schema.Schema, x any) (any, error) { return t.masked(x) })
	if err != nil {
		return false, err
	}
	side.set(r, s, out)
	return true, nil
}

type setSchemaMetadata struct {
	key        bool
	name       string
	version    int32
	setVersion bool
	defaults   nullDefaults // for the fields of a struct copied to the new schema
}

func (t *setSchemaMetadata) NeedsStructure() bool { return true }

func (t *setSchemaMetadata) Apply(r *connectors.Record) (bool, error) {
	side := sideOf(t.key)
	s, v := side.get(r)
	if s == nil && v == nil {
		return true, nil // a null without a schema passes, as in Kafka
	}
	if s == nil {
		return false, fmt.Errorf("schema required for [updating schema metadata]")
	}
	ns := copyBasics(s)
	ns.Fields = s.Fields
	if t.name != "" {
		ns.Name = t.name
	}
	if t.setVersion {
		ns.Version = t.version
	}
	if st, ok := v.(*schema.StructValue); ok && st != nil {
		nv := &schema.StructValue{Schema: ns, Values: st.Values}
		if t.defaults {
			nv.Values = make([]any, len(st.Values))
			t.defaults.copyValues(nv.Values, st)
		}
		v = nv
	}
	side.set(r, ns, v)
	return true, nil
}
