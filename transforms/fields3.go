package transforms

import (
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"

	"github.com/sluicehq/sluice/connectors"
	"github.com/sluicehq/sluice/connectors/schema"
)

// evenMorePlugins are TimestampRouter, Flatten and Cast.
func evenMorePlugins() []Plugin {
	out := []Plugin{{
		Name: "TimestampRouter", Class: kafkaTransforms + "TimestampRouter", Kind: KindTransform,
		Description: "Renames the topic with the record's timestamp, for example to one topic (or index) per day.",
		Spec: connectors.Spec{Fields: []connectors.Field{
			{Name: "topic.format", Type: connectors.TypeString, Default: "${topic}-${timestamp}", Importance: connectors.High,
				Doc: "Format string which can contain ${topic} and ${timestamp} as placeholders for the topic and timestamp, respectively."},
			{Name: "timestamp.format", Type: connectors.TypeString, Default: "yyyyMMdd", Importance: connectors.High,
				Doc:      "Format string for the timestamp that is compatible with java.text.SimpleDateFormat (UTC).",
				Validate: func(v string) error { _, err := javaDateLayout(v); return err }},
		}},
		NewTransform: func(cfg connectors.Config) (Transform, error) {
			date, err := javaDateLayout(cfg.String("timestamp.format"))
			if err != nil {
				return nil, err
			}
			return &timestampRouter{format: cfg.String("topic.format"), date: date}, nil
		},
	}}
	out = append(out, keyValue("Flatten", "Flattens nested structs and maps into one level, joining field names with the delimiter.", connectors.Spec{Fields: []connectors.Field{
		{Name: "delimiter", Type: connectors.TypeString, Default: ".", Importance: connectors.Medium,
			Doc: "Delimiter to insert between field names from the input record when generating field names for the output record."},
	}}, func(cfg connectors.Config, key bool) (Transform, error) {
		return &flatten{key: key, delim: cfg.String("delimiter")}, nil
	})...)
	out = append(out, keyValue("Cast", "Casts fields, or the whole key or value, to int8, int16, int32, int64, float32, float64, boolean or string.", connectors.Spec{Fields: []connectors.Field{
		{Name: "spec", Type: connectors.TypeList, Required: true, Importance: connectors.High,
			Doc: "List of fields and the type to cast them to of the form field1:type,field2:type to cast fields of Maps or Structs. A single type to cast the entire value. " +
				"With field.syntax.version=V2 the fields are paths to nested fields: parent.child.k2:int64.",
			Validate: func(v string) error { _, _, err := parseCastSpec(v); return err }},
		fieldSyntaxField,
		replaceNullField,
	}}, func(cfg connectors.Config, key bool) (Transform, error) {
		whole, fields, err := parseCastSpec(cfg.String("spec"))
		if err != nil {
			return nil, err
		}
		t := &cast{key: key, whole: whole, fields: fields, defaults: replaceNull(cfg)}
		if whole == "" && syntaxV2(cfg) {
			if err := t.parsePaths(cfg); err != nil {
				return nil, err
			}
		}
		return t, nil
	})...)
	return out
}

// javaDate is a java.text.SimpleDateFormat pattern, for the letters
// Kafka users put in topic names: y, M, d, H, m, s, S and quoted text.
type javaDate []dateToken

type dateToken struct {
	letter byte // 0: literal
	n      int
	lit    string
}

func javaDateLayout(p string) (javaDate, error) {
	var out javaDate
	for i := 0; i < len(p); {
		c := p[i]
		if c == '\'' {
			j := strings.IndexByte(p[i+1:], '\'')
			if j < 0 {
				return nil, fmt.Errorf("timestamp.format %q: unclosed quote", p)
			}
			lit := p[i+1 : i+1+j]
			if j == 0 {
				lit = "'" // '' is a quote
			}
			out = append(out, dateToken{lit: lit})
			i += j + 2
			continue
		}
		n := 1
		for i+n < len(p) && p[i+n] == c {
			n++
		}
		switch {
		case strings.IndexByte("yMdHmsS", c) >= 0:
			out = append(out, dateToken{letter: c, n: n})
		case c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z':
			return nil, fmt.Errorf("timestamp.format %q: pattern letter %q is not supported (y, M, d, H, m, s, S and quoted text are)", p, p[i:i+n])
		default:
			out = append(out, dateToken{lit: p[i : i+n]})
		}
		i += n
	}
	return out, nil
}

func pad(v, n int) string {
	s := strconv.Itoa(v)
	for len(s) < n {
		s = "0" + s
	}
	return s
}

// format renders t (in UTC) as the pattern says.
func (d javaDate) format(t time.Time) string {
	t = t.UTC()
	var b strings.Builder
	for _, k := range d {
		switch k.letter {
		case 0:
			b.WriteString(k.lit)
		case 'y':
			if k.n == 2 {
				b.WriteString(pad(t.Year()%100, 2))
			} else {
				b.WriteString(pad(t.Year(), k.n))
			}
		case 'M':
			switch {
			case k.n >= 4:
				b.WriteString(t.Month().String())
			case k.n == 3:
				b.WriteString(t.Month().String()[:3])
			default:
				b.WriteString(pad(int(t.Month()), k.n))
			}
		case 'd':
			b.WriteString(pad(t.Day(), k.n))
		case 'H':
			b.WriteString(pad(t.Hour(), k.n))
		case 'm':
			b.WriteString(pad(t.Minute(), k.n))
		case 's':
			b.WriteString(pad(t.Second(), k.n))
		case 'S':
			b.WriteString(pad(t.Nanosecond()/1e6, k.n))
		}
	}
	return b.String()
}

type timestampRouter struct {
	format string
	date   javaDate
}

func (t *timestampRouter) Apply(r *connectors.Record) (bool, error) {
	if r.Timestamp.IsZero() {
		return false, fmt.Errorf("timestamp missing on record: %s", r.Topic)
	}
	r.Topic = strings.ReplaceAll(strings.ReplaceAll(t.format, "${topic}", r.Topic), "${timestamp}", t.date.format(r.Timestamp))
	return true, nil
}

type flatten struct {
	key     bool
	delim   string
	schemas schemaCache
}

func (t *flatten) NeedsStructure() bool { return true }

func (t *flatten) Apply(r *connectors.Record) (bool, error) {
	side := sideOf(t.key)
	s, v := side.get(r)
	if v == nil {
		return true, nil
	}
	if s == nil {
		m, err := requireMap(v, "flattening")
		if err != nil {
			return false, err
		}
		out := map[string]any{}
		t.flattenMap("", m, out)
		side.set(r, nil, out)
		return true, nil
	}
	st, err := requireStruct(s, v, "flattening")
	if err != nil {
		return false, err
	}
	ns, err := t.schemas.get(s, func() (*schema.Schema, error) {
		ns := copyBasics(s)
		top, _ := s.Default.(*schema.StructValue)
		t.flattenSchema("", s, s.Optional, top, ns)
		return ns, nil
	})
	if err != nil {
		return false, err
	}
	out := schema.NewStruct(ns)
	t.flattenStruct("", st, out)
	side.set(r, ns, out)
	return true, nil
}

func (t *flatten) name(prefix, field string) string {
	if prefix == "" {
		return field
	}
	return prefix + t.delim + field
}

func (t *flatten) flattenMap(prefix string, m map[string]any, out map[string]any) {
	for k, v := range m {
		if sub, ok := v.(map[string]any); ok {
			t.flattenMap(t.name(prefix, k), sub, out)
			continue
		}
		out[t.name(prefix, k)] = v
	}
}

// flattenSchema adds s's fields to out, flattened. As in Kafka's Flatten, a
// field under an optional struct is optional, and a field without a default
// of its own takes its value in the default of the struct it is in (parent),
// if that struct has one.
func (t *flatten) flattenSchema(prefix string, s *schema.Schema, optional bool, parent *schema.StructValue, out *schema.Schema) {
	for _, f := range s.Fields {
		def := f.Schema.Default
		fromParent := def == nil && parent != nil
		if fromParent {
			def = parent.Get(f.Name)
			fromParent = def != nil
		}
		if f.Schema.Type == schema.Struct {
			pd, _ := def.(*schema.StructValue)
			t.flattenSchema(t.name(prefix, f.Name), f.Schema, optional || f.Schema.Optional, pd, out)
			continue
		}
		fs := f.Schema
		if optional && !fs.Optional || fromParent {
			c := *fs
			c.Optional = c.Optional || optional
			c.Default = def
			fs = &c
		}
		out.Fields = append(out.Fields, schema.Field{Name: t.name(prefix, f.Name), Index: len(out.Fields), Schema: fs})
	}
}

// flattenStruct puts st's fields into out, flattened. As Kafka's Flatten
// reads them (it has no replace.null.with.default), a null field whose
// schema has a default is that default; the fields of a struct that is
// still null stay null.
func (t *flatten) flattenStruct(prefix string, st *schema.StructValue, out *schema.StructValue) {
	for _, f := range st.Schema.Fields {
		v := nullDefaults(true).of(st.Values[f.Index], f.Schema)
		if f.Schema.Type == schema.Struct {
			if sub, _ := v.(*schema.StructValue); sub != nil {
				t.flattenStruct(t.name(prefix, f.Name), sub, out)
			}
			continue
		}
		_ = out.Put(t.name(prefix, f.Name), v)
	}
}

var castTypes = map[string]schema.Type{"int8": schema.Int8, "int16": schema.Int16, "int32": schema.Int32, "int64": schema.Int64,
	"float32": schema.Float32, "float64": schema.Float64, "boolean": schema.Boolean, "string": schema.String}

func parseCastSpec(v string) (schema.Type, map[string]schema.Type, error) {
	parts := list(v)
	if len(parts) == 0 {
		return "", nil, fmt.Errorf("must specify at least one field to cast")
	}
	if len(parts) == 1 && !strings.Contains(parts[0], ":") {
		t, ok := castTypes[strings.ToLower(parts[0])]
		if !ok {
			return "", nil, fmt.Errorf("invalid type %q: one of int8, int16, int32, int64, float32, float64, boolean, string", parts[0])
		}
		return t, nil, nil
	}
	fields := map[string]schema.Type{}
	for _, p := range parts {
		f, ty, ok := strings.Cut(p, ":")
		t, known := castTypes[strings.ToLower(strings.TrimSpace(ty))]
		if !ok || !known || strings.TrimSpace(f) == "" {
			return "", nil, fmt.Errorf("invalid cast mapping %q: write field:type with type one of int8, int16, int32, int64, float32, float64, boolean, string", p)
		}
		fields[strings.TrimSpace(f)] = t
	}
	return "", fields, nil
}

type cast struct {
	key    bool
	whole  schema.Type
	fields map[string]schema.Type
	// Under field.syntax.version=V2: the spec's paths, their types (by
	// path index) and the paths merged; tree is nil under V1.
	paths    []fieldPath
	types    []schema.Type
	tree     *pathTree
	defaults nullDefaults // replace.null.with.default, for every field copied
	schemas  schemaCache
}

// castSchema is the schema of a value of schema s cast to type to: s's
// optionality, and its default cast too, as Kafka's Cast keeps both.
func castSchema(s *schema.Schema, to schema.Type) (*schema.Schema, error) {
	out := &schema.Schema{Type: to, Optional: s.Optional}
	if s.Default != nil {
		d, err := castValue(s.Default, to)
		if err != nil {
			return nil, fmt.Errorf("default value: %w", err)
		}
		out.Default = d
	}
	return out, nil
}

// parsePaths reads the spec's fields as V2 paths, in the spec's order; the
// field is what comes before the first colon, as in Kafka's spec.
func (t *cast) parsePaths(cfg connectors.Config) error {
	for _, p := range list(cfg.String("spec")) {
		f, ty, _ := strings.Cut(p, ":")
		path, err := parseFieldPath(cfg, "spec", strings.TrimSpace(f))
		if err != nil {
			return err
		}
		t.paths = append(t.paths, path)
		t.types = append(t.types, castTypes[strings.ToLower(strings.TrimSpace(ty))])
	}
	t.tree = newPathTree(t.paths)
	return nil
}

// applyPaths is Cast under field.syntax.version=V2: the fields the paths
// name are cast wherever they are nested, the structs along the paths get
// new schemas (derived once per input schema); a path that is not there (a
// missing field or key, a null parent) is left alone.
func (t *cast) applyPaths(r *connectors.Record, s *schema.Schema, v any) (bool, error) {
	side := sideOf(t.key)
	if s == nil {
		m, err := requireMap(v, "casting")
		if err != nil {
			return false, err
		}
		out, err := t.tree.updateMap(m, func(i int, x any, present bool) (any, bool, error) {
			if !present {
				return nil, false, nil
			}
			cx, err := castValue(x, t.types[i])
			if err != nil {
				return nil, false, fmt.Errorf("field %s: %w", t.paths[i], err)
			}
			return cx, true, nil
		})
		if err != nil {
			return false, err
		}
		side.set(r, nil, out)
		return true, nil
	}
	st, err := requireStruct(s, v, "casting")
	if err != nil {
		return false, err
	}
	ns, err := t.schemas.get(s, func() (*schema.Schema, error) {
		return t.tree.updateSchema(s, func(i int, f schema.Field) (*schema.Schema, error) {
			switch f.Schema.Type {
			case schema.Struct, schema.Array, schema.Map:
				return nil, fmt.Errorf("field %s: cannot cast a %s: only primitive types are supported", t.paths[i], f.Schema.Type)
			}
			cs, err := castSchema(f.Schema, t.types[i])
			if err != nil {
				return nil, fmt.Errorf("field %s: %w", t.paths[i], err)
			}
			return cs, nil
		})
	})
	if err != nil {
		return false, err
	}
	out, err := t.tree.updateStruct(st, ns, t.defaults, func(i int, _, _ *schema.Schema, x any) (any, error) {
		cx, err := castValue(x, t.types[i])
		if err != nil {
			return nil, fmt.Errorf("field %s: %w", t.paths[i], err)
		}
		return cx, nil
	})
	if err != nil {
		return false, err
	}
	side.set(r, ns, out)
	return true, nil
}

func (t *cast) NeedsStructure() bool { return true }

// castValue converts a primitive value to type to.
func castValue(v any, to schema.Type) (any, error) {
	if v == nil {
		return nil, nil
	}
	var f float64
	var isNum bool
	switch n := v.(type) {
	case int8:
		f, isNum = float64(n), true
	case int16:
		f, isNum = float64(n), true
	case int32:
		f, isNum = float64(n), true
	case int64:
		f, isNum = float64(n), true
	case int:
		f, isNum = float64(n), true
	case float32:
		f, isNum = float64(n), true
	case float64:
		f, isNum = n, true
	case bool:
		if n {
			f = 1
		}
		isNum = true
	case string:
		if to == schema.String {
			return n, nil
		}
		if to == schema.Boolean {
			return strconv.ParseBool(n)
		}
		var err error
		if f, err = strconv.ParseFloat(strings.TrimSpace(n), 64); err != nil {
			return nil, fmt.Errorf("cannot cast %q to %s", n, to)
		}
		isNum = true
	}
	if !isNum {
		return nil, fmt.Errorf("cannot cast a %T: only primitive types are supported", v)
	}
	switch to {
	case schema.Int8:
		return int8(f), nil
	case schema.Int16:
		return int16(f), nil
	case schema.Int32:
		return int32(f), nil
	case schema.Int64:
		return int64(f), nil
	case schema.Float32:
		return float32(f), nil
	case schema.Float64:
		return f, nil
	case schema.Boolean:
		return f != 0, nil
	case schema.String:
		switch n := v.(type) {
		case bool:
			return strconv.FormatBool(n), nil
		case float32:
			return strconv.FormatFloat(float64(n), 'f', -1, 32), nil
		case float64:
			if n == math.Trunc(n) && math.Abs(n) < 1e15 {
				return strconv.FormatFloat(n, 'f', 1, 64), nil // Java's Double.toString: 1.0
			}
			return strconv.FormatFloat(n, 'f', -1, 64), nil
		}
		return fmt.Sprint(v), nil
	}
	return nil, fmt.Errorf("cannot cast to %s", to)
}

func (t *cast) Apply(r *connectors.Record) (bool, error) {
	side := sideOf(t.key)
	s, v := side.get(r)
	if v == nil {
		return true, nil
	}
	if t.whole != "" {
		nv, err := castValue(v, t.whole)
		if err != nil {
			return false, err
		}
		var ns *schema.Schema
		if s != nil {
			if ns, err = t.schemas.get(s, func() (*schema.Schema, error) { return castSchema(s, t.whole) }); err != nil {
				return false, err
			}
		}
		side.set(r, ns, nv)
		return true, nil
	}
	if t.tree != nil {
		return t.applyPaths(r, s, v)
	}
	if s == nil {
		m, err := requireMap(v, "casting")
		if err != nil {
			return false, err
		}
		out := make(map[string]any, len(m))
		for k, x := range m {
			if to, ok := t.fields[k]; ok {
				cv, err := castValue(x, to)
				if err != nil {
					return false, fmt.Errorf("field %s: %w", k, err)
				}
				x = cv
			}
			out[k] = x
		}
		side.set(r, nil, out)
		return true, nil
	}
	st, err := requireStruct(s, v, "casting")
	if err != nil {
		return false, err
	}
	ns, err := t.schemas.get(s, func() (*schema.Schema, error) {
		ns := copyBasics(s)
		for _, f := range s.Fields {
			fs := f.Schema
			if to, ok := t.fields[f.Name]; ok {
				var err error
				if fs, err = castSchema(f.Schema, to); err != nil {
					return nil, fmt.Errorf("field %s: %w", f.Name, err)
				}
			}
			addField(ns, f.Name, fs)
		}
		return ns, nil
	})
	if err != nil {
		return false, err
	}
	out := schema.NewStruct(ns)
	for i, f := range s.Fields {
		x := t.defaults.of(st.Values[i], f.Schema)
		if to, ok := t.fields[f.Name]; ok {
			cv, err := castValue(x, to)
			if err != nil {
				return false, fmt.Errorf("field %s: %w", f.Name, err)
			}
			x = cv
		}
		out.Values[i] = x
	}
	side.set(r, ns, out)
	return true, nil
}
