package transforms

import (
	"fmt"
	"maps"
	"strings"
	"time"

	"github.com/sluicehq/sluice/connectors"
	"github.com/sluicehq/sluice/connectors/schema"
)

// TimestampConverter$Key/$Value: converts a timestamp field (or the whole
// key or value) between string, unix, Date, Time and Timestamp, as Kafka's.
func timestampPlugins() []Plugin {
	var out []Plugin
	out = append(out, keyValue("TimestampConverter", "Converts timestamps between string, unix, Date, Time and Timestamp.", connectors.Spec{Fields: []connectors.Field{
		{Name: "field", Type: connectors.TypeString, Importance: connectors.High,
			Doc: "The field containing the timestamp, or empty if the entire value is a timestamp; with field.syntax.version=V2 a path to a nested field."},
		fieldSyntaxField,
		{Name: "target.type", Type: connectors.TypeString, Required: true, Importance: connectors.High,
			Allowed: []string{"string", "unix", "Date", "Time", "Timestamp"},
			Doc:     "The desired timestamp representation: string, unix, Date, Time, or Timestamp."},
		{Name: "format", Type: connectors.TypeString, Importance: connectors.Medium,
			Doc: "A SimpleDateFormat-compatible format for the timestamp, used to write a string or to parse one.",
			Validate: func(v string) error {
				if strings.TrimSpace(v) == "" {
					return nil
				}
				_, err := javaDateLayout(v)
				return err
			}},
		{Name: "unix.precision", Type: connectors.TypeString, Default: "milliseconds", Importance: connectors.Low,
			Allowed: []string{"seconds", "milliseconds", "microseconds", "nanoseconds"},
			Doc:     "The desired Unix precision for the timestamp: seconds, milliseconds, microseconds, or nanoseconds."},
		replaceNullField,
	}}, func(cfg connectors.Config, key bool) (Transform, error) {
		t := &timestampConverter{key: key, field: strings.TrimSpace(cfg.String("field")),
			target: strings.ToLower(cfg.String("target.type")), precision: cfg.String("unix.precision"), defaults: replaceNull(cfg)}
		if f := cfg.String("format"); strings.TrimSpace(f) != "" {
			d, err := javaDateLayout(f)
			if err != nil {
				return nil, err
			}
			t.format = d
		} else if t.target == "string" {
			return nil, fmt.Errorf("format is required to convert to a string")
		}
		if t.field != "" && syntaxV2(cfg) {
			p, err := parseFieldPath(cfg, "field", t.field)
			if err != nil {
				return nil, err
			}
			t.path, t.tree = p, newPathTree([]fieldPath{p})
		}
		return t, nil
	})...)
	return out
}

type timestampConverter struct {
	key       bool
	field     string
	target    string
	format    javaDate
	precision string
	path      fieldPath // field.syntax.version=V2 only
	tree      *pathTree // path as a tree; nil under V1
	defaults  nullDefaults
	schemas   schemaCache
}

func (t *timestampConverter) NeedsStructure() bool { return true }

func (t *timestampConverter) unitNanos() int64 {
	switch t.precision {
	case "seconds":
		return 1e9
	case "microseconds":
		return 1e3
	case "nanoseconds":
		return 1
	}
	return 1e6
}

// toTime reads a timestamp of any representation.
func (t *timestampConverter) toTime(s *schema.Schema, v any) (time.Time, error) {
	switch x := v.(type) {
	case time.Time:
		return x.UTC(), nil
	case int64:
		return time.Unix(0, x*t.unitNanos()).UTC(), nil
	case int32:
		return time.Unix(0, int64(x)*t.unitNanos()).UTC(), nil
	case int:
		return time.Unix(0, int64(x)*t.unitNanos()).UTC(), nil
	case float64:
		return time.Unix(0, int64(x)*t.unitNanos()).UTC(), nil
	case string:
		if t.format == nil {
			return time.Time{}, fmt.Errorf("a string timestamp needs format to be parsed")
		}
		return t.format.parse(x)
	}
	return time.Time{}, fmt.Errorf("cannot read a timestamp from a %T", v)
}

// from converts a timestamp to the target representation.
func (t *timestampConverter) from(ts time.Time, optional bool) (*schema.Schema, any) {
	var s *schema.Schema
	var v any
	switch t.target {
	case "string":
		s, v = schema.StringSchema(), t.format.format(ts)
	case "unix":
		s, v = schema.Int64Schema(), ts.UnixNano()/t.unitNanos()
	case "date":
		s, v = schema.DateSchema(), time.Date(ts.Year(), ts.Month(), ts.Day(), 0, 0, 0, 0, time.UTC)
	case "time":
		s, v = schema.TimeSchema(), time.Unix(0, int64(ts.Hour()*3600+ts.Minute()*60+ts.Second())*1e9+int64(ts.Nanosecond()/1e6*1e6)).UTC()
	default:
		s, v = schema.TimestampSchema(), ts
	}
	s.Optional = optional
	return s, v
}

func (t *timestampConverter) Apply(r *connectors.Record) (bool, error) {
	side := sideOf(t.key)
	s, v := side.get(r)
	if v == nil {
		return true, nil
	}
	if t.field == "" {
		ts, err := t.toTime(s, v)
		if err != nil {
			return false, err
		}
		ns, nv := t.from(ts, s != nil && s.Optional)
		if s == nil {
			ns = nil // schemaless stays schemaless
		}
		side.set(r, ns, nv)
		return true, nil
	}
	if t.tree != nil {
		return t.applyPath(r, s, v)
	}
	if s == nil {
		m, err := requireMap(v, "converting timestamp formats")
		if err != nil {
			return false, err
		}
		out := maps.Clone(m)
		if x := m[t.field]; x != nil {
			ts, err := t.toTime(nil, x)
			if err != nil {
				return false, fmt.Errorf("field %s: %w", t.field, err)
			}
			_, out[t.field] = t.from(ts, true)
		}
		side.set(r, nil, out)
		return true, nil
	}
	st, err := requireStruct(s, v, "converting timestamp formats")
	if err != nil {
		return false, err
	}
	// As Kafka's: every field is copied, read by replace.null.with.default
	// (a null field with a default is converted from that default), and a
	// field name the schema does not have changes nothing else.
	f := s.Field(t.field)
	ns, _ := t.schemas.get(s, func() (*schema.Schema, error) {
		ns := copyBasics(s)
		ns.Fields = make([]schema.Field, len(s.Fields))
		copy(ns.Fields, s.Fields)
		if f != nil {
			ns.Fields[f.Index].Schema, _ = t.from(time.Time{}, f.Schema.Optional)
		}
		return ns, nil
	})
	out := schema.NewStruct(ns)
	t.defaults.copyValues(out.Values, st)
	if f != nil && out.Values[f.Index] != nil {
		ts, err := t.toTime(f.Schema, out.Values[f.Index])
		if err != nil {
			return false, fmt.Errorf("field %s: %w", t.field, err)
		}
		_, out.Values[f.Index] = t.from(ts, f.Schema.Optional)
	}
	side.set(r, ns, out)
	return true, nil
}

// applyPath is TimestampConverter under field.syntax.version=V2: the field
// the path names is converted wherever it is nested; a null value or parent
// stays null, a missing map key stays missing, and a path that is not in
// the schema changes nothing, as Kafka's TimestampConverter leaves a field
// name the schema does not have.
func (t *timestampConverter) applyPath(r *connectors.Record, s *schema.Schema, v any) (bool, error) {
	side := sideOf(t.key)
	if s == nil {
		m, err := requireMap(v, "converting timestamp formats")
		if err != nil {
			return false, err
		}
		out, err := t.tree.updateMap(m, func(_ int, x any, present bool) (any, bool, error) {
			if x == nil {
				return x, present, nil
			}
			ts, err := t.toTime(nil, x)
			if err != nil {
				return nil, false, fmt.Errorf("field %s: %w", t.path, err)
			}
			_, nx := t.from(ts, true)
			return nx, true, nil
		})
		if err != nil {
			return false, err
		}
		side.set(r, nil, out)
		return true, nil
	}
	st, err := requireStruct(s, v, "converting timestamp formats")
	if err != nil {
		return false, err
	}
	ns, err := t.schemas.get(s, func() (*schema.Schema, error) {
		return t.tree.updateSchema(s, func(_ int, f schema.Field) (*schema.Schema, error) {
			fs, _ := t.from(time.Time{}, f.Schema.Optional)
			return fs, nil
		})
	})
	if err != nil {
		return false, err
	}
	out, err := t.tree.updateStruct(st, ns, t.defaults, func(_ int, old, _ *schema.Schema, x any) (any, error) {
		ts, err := t.toTime(old, x)
		if err != nil {
			return nil, fmt.Errorf("field %s: %w", t.path, err)
		}
		_, nx := t.from(ts, old.Optional)
		return nx, nil
	})
	if err != nil {
		return false, err
	}
	side.set(r, ns, out)
	return true, nil
}

// parse reads s as the pattern says (UTC).
func (d javaDate) parse(s string) (time.Time, error) {
	var b strings.Builder
	for i, k := range d {
		switch k.letter {
		case 0:
			if k.lit == "." && i+1 < len(d) && d[i+1].letter == 'S' {
				continue // written with the fraction below
			}
			b.WriteString(k.lit)
		case 'y':
			if k.n == 2 {
				b.WriteString("06")
			} else {
				b.WriteString("2006")
			}
		case 'M':
			switch {
			case k.n >= 4:
				b.WriteString("January")
			case k.n == 3:
				b.WriteString("Jan")
			case k.n == 2:
				b.WriteString("01")
			default:
				b.WriteString("1")
			}
		case 'd':
			b.WriteString(map[bool]string{true: "02", false: "2"}[k.n >= 2])
		case 'H':
			b.WriteString("15")
		case 'm':
			b.WriteString("04")
		case 's':
			b.WriteString("05")
		case 'S':
			b.WriteString("." + strings.Repeat("0", k.n))
		}
	}
	t, err := time.Parse(b.String(), s)
	if err != nil {
		return time.Time{}, fmt.Errorf("could not parse timestamp %q with the format: %w", s, err)
	}
	return t.UTC(), nil
}
