package transforms

import (
	"fmt"
	"maps"
	"strings"

	"github.com/sluicehq/sluice/connectors"
	"github.com/sluicehq/sluice/connectors/schema"
)

// Kafka Connect's field.syntax.version (KIP-821, Apache Kafka 3.8): with V1
// (the default) a field config names a top-level field, dots and all; with
// V2 it is a path into nested structs and maps, a.b.c. A step holding dots
// is written in backticks (`a.b`.c); a backtick followed by a dot inside
// such a step is escaped with a backslash (`a\`.b`), as Kafka's
// SingleFieldPath reads it, and a trailing dot names an empty last step.
//
// Reading a path (get) gives null when a parent is missing or null (a null
// parent with a default is read as its default, as Kafka's ExtractField
// does; the last step follows replace.null.with.default). Changing
// the fields paths name (update, for Cast, MaskField, TimestampConverter and
// HeaderFrom's move) rebuilds the structs and maps along the paths and leaves
// a path that is not there alone; the derived schema is cached per input
// schema by the transform's schemaCache.

const keyFieldSyntax = "field.syntax.version"

// fieldSyntaxField is the config field of the transforms that take paths.
var fieldSyntaxField = connectors.Field{Name: keyFieldSyntax, Type: connectors.TypeString, Default: "V1", Importance: connectors.High,
	Allowed: []string{"V1", "V2"},
	Doc: "Defines the version of the syntax to access fields. If set to V1, then the field paths are limited to access the elements at the " +
		"root level of the struct or map. If set to V2, the syntax supports accessing nested elements: a.b.c, with `a.b` for a name that holds dots."}

// configError is a configure-time error about one config key of a
// transform; Registry.Parse reports it under that key.
type configError struct {
	key    string
	reason string
}

func (e *configError) Error() string { return e.key + ": " + e.reason }

// syntaxV2 reports whether the transform's field.syntax.version is V2.
func syntaxV2(cfg connectors.Config) bool {
	return strings.EqualFold(strings.TrimSpace(cfg.String(keyFieldSyntax)), "V2")
}

// fieldPath is a parsed field config: one step under V1.
type fieldPath []string

// parseFieldPath reads a field config under the transform's syntax
// version; key names the config for errors.
func parseFieldPath(cfg connectors.Config, key, text string) (fieldPath, error) {
	if !syntaxV2(cfg) {
		return fieldPath{text}, nil
	}
	return parseV2(key, text)
}

// parseV2 splits a V2 path into its steps.
func parseV2(key, text string) (fieldPath, error) {
	incomplete := func(open int) error {
		return &configError{key: key, reason: fmt.Sprintf("incomplete backtick pair in path %q: the backtick at position %d opens a quoted name "+
			"that no backtick closes (before a dot or at the end of the path)", text, open)}
	}
	var steps fieldPath
	for i := 0; i < len(text); {
		if text[i] != '`' {
			j := strings.IndexByte(text[i:], '.')
			if j < 0 {
				steps = append(steps, text[i:])
				break
			}
			steps = append(steps, text[i:i+j])
			i += j + 1
			continue
		}
		open := i
		var b strings.Builder
		start := i + 1
		for j := start; ; j++ {
			k := strings.IndexByte(text[j:], '`')
			if k < 0 {
				return nil, incomplete(open)
			}
			j += k
			escaped := text[j-1] == '\\'
			if j == len(text)-1 { // the path's last character
				if escaped {
					return nil, incomplete(open)
				}
				b.WriteString(text[start:j])
				i = len(text)
				break
			}
			if text[j+1] != '.' {
				continue // a backtick inside the name
			}
			if escaped {
				b.WriteString(text[start : j-1])
				b.WriteByte('`')
				start = j + 1
				continue
			}
			b.WriteString(text[start:j])
			i = j + 2
			break
		}
		steps = append(steps, b.String())
	}
	if strings.HasSuffix(text, ".") {
		steps = append(steps, "")
	}
	if len(steps) == 0 {
		steps = fieldPath{""}
	}
	return steps, nil
}

// parseFieldPaths reads a list config (fields, include, ...) of paths.
func parseFieldPaths(cfg connectors.Config, key string, texts []string) ([]fieldPath, error) {
	out := make([]fieldPath, 0, len(texts))
	for _, text := range texts {
		p, err := parseFieldPath(cfg, key, text)
		if err != nil {
			return nil, err
		}
		out = append(out, p)
	}
	return out, nil
}

// String writes the path back in V2 syntax, so that parseV2 reads the same
// steps: steps joined by dots, a step holding a dot or starting with a
// backtick in backticks.
func (p fieldPath) String() string {
	parts := make([]string, len(p))
	for i, s := range p {
		if strings.Contains(s, ".") || strings.HasPrefix(s, "`") {
			s = "`" + strings.ReplaceAll(s, "`.", "\\`.") + "`"
		}
		parts[i] = s
	}
	return strings.Join(parts, ".")
}

// lookup returns the schema of the field the path names in s (nil when a
// step is missing or goes through a field that is not a struct) and whether
// a struct along the way, below the top, is optional. It does not allocate,
// so a transform can check a path on every record.
func (p fieldPath) lookup(s *schema.Schema) (fs *schema.Schema, underOptional bool) {
	for i, step := range p {
		if s == nil || s.Type != schema.Struct {
			return nil, false
		}
		if i > 0 && s.Optional {
			underOptional = true
		}
		f := s.Field(step)
		if f == nil {
			return nil, false
		}
		s = f.Schema
	}
	return s, underOptional
}

// fieldOf returns the schema of the field the path names in s, or nil. A
// field under an optional struct can be null, so its schema is made
// optional (a copy) when a parent along the path is; callers cache it per
// input schema.
func (p fieldPath) fieldOf(s *schema.Schema) *schema.Schema {
	fs, underOptional := p.lookup(s)
	if fs != nil && underOptional && !fs.Optional {
		c := *fs
		c.Optional = true
		fs = &c
	}
	return fs
}

// structValue returns the value the path names in st (nil when a step is
// missing or null), the last step read by d (replace.null.with.default). A
// null parent whose schema has a default is read as that default whatever
// d says, as Kafka's ExtractField reads a path.
func (p fieldPath) structValue(st *schema.StructValue, d nullDefaults) any {
	var v any = st
	for i, step := range p {
		cur, ok := v.(*schema.StructValue)
		if !ok || cur == nil {
			return nil
		}
		f := cur.Schema.Field(step)
		if f == nil {
			return nil
		}
		if i < len(p)-1 {
			v = nullDefaults(true).of(cur.Values[f.Index], f.Schema)
		} else {
			v = d.of(cur.Values[f.Index], f.Schema)
		}
	}
	return v
}

// mapValue returns the value the path names in a schemaless map: nil when
// a step is missing or null, an error when a parent is neither a map nor
// null, as Kafka's nested field access.
func (p fieldPath) mapValue(m map[string]any) (any, error) {
	var v any = m
	for i, step := range p {
		if v == nil {
			return nil, nil
		}
		cur, err := nestedMap(v, p[:i])
		if err != nil {
			return nil, err
		}
		v = cur[step]
	}
	return v, nil
}

// nestedMap is v, the value of parent, as a map.
func nestedMap(v any, parent fieldPath) (map[string]any, error) {
	cur, ok := v.(map[string]any)
	if !ok {
		return nil, fmt.Errorf("only Map objects supported in absence of schema for [nested field access], found: %T at %s", v, parent)
	}
	return cur, nil
}

// pathTree is a set of paths merged by their common steps, so that one walk
// of a struct or map reaches every path.
type pathTree struct {
	kids  map[string]*pathTree
	order []string // kids' steps, in the order the config gave them
	// end is the index of the path that ends at this node, or -1.
	end int
}

func newPathTree(paths []fieldPath) *pathTree {
	root := &pathTree{end: -1}
	for i, p := range paths {
		n := root
		for _, step := range p {
			k := n.kids[step]
			if k == nil {
				if n.kids == nil {
					n.kids = map[string]*pathTree{}
				}
				k = &pathTree{end: -1}
				n.kids[step] = k
				n.order = append(n.order, step)
			}
			n = k
		}
		if n.end < 0 {
			n.end = i
		}
	}
	return root
}

// leafSchema gives the new schema of a field a path names; nil drops the
// field.
type leafSchema func(path int, f schema.Field) (*schema.Schema, error)

// leafValue gives the new value of a field a path names, with its old and
// new schemas.
type leafValue func(path int, old, updated *schema.Schema, v any) (any, error)

// leafMapValue gives the new value of a map entry a path names; present is
// false when the key is missing, and keep false drops the key.
type leafMapValue func(path int, v any, present bool) (out any, keep bool, err error)

// updateSchema rebuilds the struct schema s with the fields the paths name
// changed by leaf; the structs along the paths are rebuilt too, keeping
// their name, version, optionality and other fields. A path that is not in
// s, or that goes through a field that is not a struct, changes nothing.
func (t *pathTree) updateSchema(s *schema.Schema, leaf leafSchema) (*schema.Schema, error) {
	out := copyBasics(s)
	for _, f := range s.Fields {
		fs := f.Schema
		if k := t.kids[f.Name]; k != nil {
			var err error
			switch {
			case k.end >= 0:
				fs, err = leaf(k.end, f)
			case fs.Type == schema.Struct:
				fs, err = k.updateSchema(fs, leaf)
			}
			if err != nil {
				return nil, err
			}
			if fs == nil {
				continue
			}
		}
		addField(out, f.Name, fs)
	}
	return out, nil
}

// updateStruct builds the value of schema out (made by updateSchema from
// in's schema) from in, with the fields the paths name changed by leaf.
// Every field of the structs it rebuilds is read by d
// (replace.null.with.default), as Kafka's transforms copy fields, so leaf
// gets a null field's default when d is true; a struct along a path that is
// still null stays null.
func (t *pathTree) updateStruct(in *schema.StructValue, out *schema.Schema, d nullDefaults, leaf leafValue) (*schema.StructValue, error) {
	nv := schema.NewStruct(out)
	j := 0 // out's fields are in's, in order, less the dropped ones
	for _, f := range in.Schema.Fields {
		if j >= len(out.Fields) || out.Fields[j].Name != f.Name {
			continue // dropped
		}
		of := &out.Fields[j]
		j++
		v := d.of(in.Values[f.Index], f.Schema)
		if k := t.kids[f.Name]; k != nil && v != nil {
			var err error
			switch {
			case k.end >= 0:
				v, err = leaf(k.end, f.Schema, of.Schema, v)
			case f.Schema.Type == schema.Struct:
				if sub, ok := v.(*schema.StructValue); ok {
					v, err = k.updateStruct(sub, of.Schema, d, leaf)
				}
			}
			if err != nil {
				return nil, err
			}
		}
		nv.Values[of.Index] = v
	}
	return nv, nil
}

// updateMap returns a copy of the schemaless map m with the entries the
// paths name changed by leaf; the maps along the paths are copied, the
// input is not changed. A path through a missing key or a value that is not
// a map changes nothing.
func (t *pathTree) updateMap(m map[string]any, leaf leafMapValue) (map[string]any, error) {
	out := maps.Clone(m)
	if out == nil {
		out = map[string]any{}
	}
	for _, step := range t.order {
		k := t.kids[step]
		v, present := m[step]
		if k.end >= 0 {
			nv, keep, err := leaf(k.end, v, present)
			if err != nil {
				return nil, err
			}
			if keep {
				out[step] = nv
			} else {
				delete(out, step)
			}
			continue
		}
		if sub, ok := v.(map[string]any); ok && sub != nil {
			nv, err := k.updateMap(sub, leaf)
			if err != nil {
				return nil, err
			}
			out[step] = nv
		}
	}
	return out, nil
}
