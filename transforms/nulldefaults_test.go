package transforms

import (
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/sluicehq/sluice/connectors"
	"github.com/sluicehq/sluice/connectors/schema"
)

// replaceNullTransforms are the transforms Kafka gives replace.null.with.default
// (KIP-1040), with a config that parses.
var replaceNullTransforms = map[string]map[string]string{
	"InsertField$Key":          {"topic.field": "t"},
	"InsertField$Value":        {"topic.field": "t"},
	"ExtractField$Key":         {"field": "a"},
	"ExtractField$Value":       {"field": "a"},
	"HeaderFrom$Key":           {"fields": "a", "headers": "h", "operation": "copy"},
	"HeaderFrom$Value":         {"fields": "a", "headers": "h", "operation": "move"},
	"Cast$Key":                 {"spec": "a:int8"},
	"Cast$Value":               {"spec": "int8"},
	"SetSchemaMetadata$Key":    {"schema.name": "n"},
	"SetSchemaMetadata$Value":  {"schema.version": "2"},
	"TimestampConverter$Key":   {"field": "a", "target.type": "unix"},
	"TimestampConverter$Value": {"target.type": "unix"},
	"MaskField$Key":            {"fields": "a"},
	"MaskField$Value":          {"fields": "a"},
	"ValueToKey":               {"fields": "a"},
	"ReplaceField$Key":         {"exclude": "a"},
	"ReplaceField$Value":       {"renames": "a:b"},
}

// TestReplaceNullWithDefaultConfig: the transforms Kafka 3.9+ gives
// replace.null.with.default take it, default true, and refuse a value that
// is not a boolean under its key; the others do not list it.
func TestReplaceNullWithDefaultConfig(t *testing.T) {
	t.Parallel()
	reg := Builtin()
	for _, p := range reg.Plugins() {
		f, has := p.Spec.Field(keyReplaceNull)
		_, want := replaceNullTransforms[p.Name]
		if has != want {
			t.Errorf("%s: has %s %v, want %v", p.Name, keyReplaceNull, has, want)
		}
		if has && (f.Default != "true" || f.Type != connectors.TypeBoolean) {
			t.Errorf("%s: %s is %s with default %q, want a boolean defaulting to true", p.Name, keyReplaceNull, f.Type, f.Default)
		}
	}
	for typ, base := range replaceNullTransforms {
		for _, v := range []string{"true", "false", "TRUE", " false "} {
			cfg := transformConfig(typ, base)
			cfg["transforms.x."+keyReplaceNull] = v
			if _, errs := reg.Parse(cfg); len(errs) > 0 {
				t.Errorf("%s with %q: %v", typ, v, errs)
			}
		}
		cfg := transformConfig(typ, base)
		cfg["transforms.x."+keyReplaceNull] = "yes"
		_, errs := reg.Parse(cfg)
		if len(errs) != 1 || errs[0].Field != "transforms.x."+keyReplaceNull || !strings.Contains(errs[0].Reason, "true or false") {
			t.Errorf("%s with yes: %v, want one error naming %s", typ, errs, keyReplaceNull)
		}
	}
}

// optionalWithDefault makes s optional with the default def and returns it.
func optionalWithDefault(s *schema.Schema, def any) *schema.Schema {
	s.Optional, s.Default = true, def
	return s
}

// TestReplaceNullWithDefault: Kafka's tests of KIP-1040, one per transform:
// a null field whose schema has a default reads as the default when
// replace.null.with.default is true (the default) or unset, and stays null
// when it is false.
func TestReplaceNullWithDefault(t *testing.T) {
	t.Parallel()
	ts := time.UnixMilli(789).UTC()
	for _, c := range []struct {
		name   string
		typ    string
		cfg    map[string]string
		fields []schema.Field // the value's (or, with key, the key's) struct
		values []any
		key    bool // the transform works on the key
		// check picks what to compare from the result.
		check func(r *connectors.Record) any
		// check's result with true (or unset) and with false.
		wantTrue, wantFalse any
	}{
		{name: "ExtractField$Key", typ: "ExtractField$Key", cfg: map[string]string{"field": "optional_with_default"}, key: true,
			fields: []schema.Field{{Name: "optional_with_default", Schema: optionalWithDefault(schema.Int32Schema(), int32(42))}}, values: []any{nil},
			check:    func(r *connectors.Record) any { return r.KeyData },
			wantTrue: int32(42), wantFalse: nil},
		{name: "ExtractField$Value", typ: "ExtractField$Value", cfg: map[string]string{"field": "optional_with_default"},
			fields: []schema.Field{{Name: "optional_with_default", Schema: optionalWithDefault(schema.Int32Schema(), int32(42))}}, values: []any{nil},
			check:    func(r *connectors.Record) any { return r.ValueData },
			wantTrue: int32(42), wantFalse: nil},
		{name: "InsertField$Value", typ: "InsertField$Value",
			cfg: map[string]string{"topic.field": "topic_field!", "partition.field": "partition_field", "timestamp.field": "timestamp_field?",
				"static.field": "instance_id", "static.value": "my-instance-id"},
			fields: []schema.Field{{Name: "magic_with_default", Schema: optionalWithDefault(schema.Int64Schema(), int64(42))}}, values: []any{nil},
			check: func(r *connectors.Record) any {
				return []any{field(r.ValueData, "magic_with_default"), r.ValueSchema.Field("magic_with_default").Schema.Default,
					field(r.ValueData, "topic_field"), field(r.ValueData, "partition_field"), field(r.ValueData, "timestamp_field"), field(r.ValueData, "instance_id")}
			},
			wantTrue:  []any{int64(42), int64(42), "test", int32(0), ts, "my-instance-id"},
			wantFalse: []any{nil, int64(42), "test", int32(0), ts, "my-instance-id"}},
		// Cast keeps the field's default, cast too, in the new schema.
		{name: "Cast$Value", typ: "Cast$Value", cfg: map[string]string{"spec": "magic:string"},
			fields: []schema.Field{{Name: "magic", Schema: optionalWithDefault(schema.Int32Schema(), int32(10))}}, values: []any{nil},
			check: func(r *connectors.Record) any {
				fs := r.ValueSchema.Field("magic").Schema
				return []any{field(r.ValueData, "magic"), fs.Type, fs.Optional, fs.Default}
			},
			wantTrue: []any{"10", schema.String, true, "10"}, wantFalse: []any{nil, schema.String, true, "10"}},
		// Cast copies every field, not only the ones it casts.
		{name: "Cast$Value other fields", typ: "Cast$Value", cfg: map[string]string{"spec": "n:int64"},
			fields:   []schema.Field{{Name: "n", Schema: schema.Int32Schema()}, {Name: "s", Schema: optionalWithDefault(schema.StringSchema(), "d")}},
			values:   []any{int32(1), nil},
			check:    func(r *connectors.Record) any { return []any{field(r.ValueData, "n"), field(r.ValueData, "s")} },
			wantTrue: []any{int64(1), "d"}, wantFalse: []any{int64(1), nil}},
		// MaskField masks the default: Kafka's MaskFieldTest masks the null
		// withDefault field with false; with true its default is masked.
		{name: "MaskField$Value", typ: "MaskField$Value", cfg: map[string]string{"fields": "withDefault,magic"},
			fields: []schema.Field{{Name: "magic", Schema: schema.Int32Schema()}, {Name: "withDefault", Schema: optionalWithDefault(schema.StringSchema(), "default")},
				{Name: "other", Schema: optionalWithDefault(schema.StringSchema(), "x")}},
			values:   []any{int32(42), nil, nil},
			check:    func(r *connectors.Record) any { return plain(r.ValueData) },
			wantTrue: map[string]any{"magic": int32(0), "withDefault": "", "other": "x"}, wantFalse: map[string]any{"magic": int32(0), "withDefault": nil, "other": nil}},
		{name: "ReplaceField$Value", typ: "ReplaceField$Value", cfg: map[string]string{"include": "abc", "renames": "abc:optional_with_default"},
			fields:   []schema.Field{{Name: "abc", Schema: optionalWithDefault(schema.Int32Schema(), int32(42))}, {Name: "x", Schema: schema.Int32Schema()}},
			values:   []any{nil, int32(1)},
			check:    func(r *connectors.Record) any { return plain(r.ValueData) },
			wantTrue: map[string]any{"optional_with_default": int32(42)}, wantFalse: map[string]any{"optional_with_default": nil}},
		{name: "ReplaceField$Key", typ: "ReplaceField$Key", cfg: map[string]string{"include": "abc", "renames": "abc:optional_with_default"}, key: true,
			fields: []schema.Field{{Name: "abc", Schema: optionalWithDefault(schema.Int32Schema(), int32(42))}}, values: []any{nil},
			check:    func(r *connectors.Record) any { return plain(r.KeyData) },
			wantTrue: map[string]any{"optional_with_default": int32(42)}, wantFalse: map[string]any{"optional_with_default": nil}},
		{name: "SetSchemaMetadata$Value", typ: "SetSchemaMetadata$Value", cfg: map[string]string{"schema.name": "foo", "schema.version": "42"},
			fields: []schema.Field{{Name: "f1", Schema: optionalWithDefault(schema.StringSchema(), "default")}, {Name: "f2", Schema: schema.Int32Schema()}},
			values: []any{nil, int32(1)},
			check: func(r *connectors.Record) any {
				st := r.ValueData.(*schema.StructValue)
				return []any{r.ValueSchema.Name, r.ValueSchema.Version, st.Schema == r.ValueSchema, plain(st)}
			},
			wantTrue:  []any{"foo", int32(42), true, map[string]any{"f1": "default", "f2": int32(1)}},
			wantFalse: []any{"foo", int32(42), true, map[string]any{"f1": nil, "f2": int32(1)}}},
		// TimestampConverter converts the default; the new field schema has
		// no default, as Kafka's.
		{name: "TimestampConverter$Value", typ: "TimestampConverter$Value", cfg: map[string]string{"field": "ts", "target.type": "Timestamp"},
			fields: []schema.Field{{Name: "ts", Schema: optionalWithDefault(schema.Int64Schema(), int64(0))}, {Name: "other", Schema: schema.StringSchema()}},
			values: []any{nil, "test"},
			check: func(r *connectors.Record) any {
				return []any{describe(r.ValueSchema), r.ValueSchema.Fields[0].Schema.Default, plain(r.ValueData)}
			},
			wantTrue:  []any{"struct{ts?:int64(" + schema.TimestampName + "),other:string}", nil, map[string]any{"ts": time.UnixMilli(0).UTC(), "other": "test"}},
			wantFalse: []any{"struct{ts?:int64(" + schema.TimestampName + "),other:string}", nil, map[string]any{"ts": nil, "other": "test"}}},
		{name: "ValueToKey", typ: "ValueToKey", cfg: map[string]string{"fields": "optional_with_default"},
			fields: []schema.Field{{Name: "optional_with_default", Schema: optionalWithDefault(schema.Int32Schema(), int32(42))}}, values: []any{nil},
			check:    func(r *connectors.Record) any { return plain(r.KeyData) },
			wantTrue: map[string]any{"optional_with_default": int32(42)}, wantFalse: map[string]any{"optional_with_default": nil}},
		// HeaderFrom (Kafka's HeaderFromTest "Copy/Move null field without
		// default"): the header takes the default or null; copy leaves the
		// value as it is, move copies the fields it keeps.
		{name: "HeaderFrom$Value copy", typ: "HeaderFrom$Value", cfg: map[string]string{"fields": "field1,field2", "headers": "inserted1,inserted2", "operation": "copy"},
			fields: []schema.Field{{Name: "field1", Schema: optionalWithDefault(schema.StringSchema(), "default")},
				{Name: "field2", Schema: optionalWithDefault(schema.StringSchema(), "default")}, {Name: "other", Schema: optionalWithDefault(schema.StringSchema(), "x")}},
			values: []any{"field1-value", nil, nil},
			check: func(r *connectors.Record) any {
				return []any{headerString(r.Headers), r.Headers[1].Value == nil, plain(r.ValueData)}
			},
			wantTrue:  []any{"inserted1=field1-value,inserted2=default", false, map[string]any{"field1": "field1-value", "field2": nil, "other": nil}},
			wantFalse: []any{"inserted1=field1-value,inserted2=", true, map[string]any{"field1": "field1-value", "field2": nil, "other": nil}}},
		{name: "HeaderFrom$Key move", typ: "HeaderFrom$Key", cfg: map[string]string{"fields": "field1,field2", "headers": "inserted1,inserted2", "operation": "move"}, key: true,
			fields: []schema.Field{{Name: "field1", Schema: optionalWithDefault(schema.StringSchema(), "default")},
				{Name: "field2", Schema: optionalWithDefault(schema.StringSchema(), "default")}, {Name: "other", Schema: optionalWithDefault(schema.StringSchema(), "x")}},
			values: []any{"field1-value", nil, nil},
			check: func(r *connectors.Record) any {
				return []any{headerString(r.Headers), r.Headers[1].Value == nil, plain(r.KeyData)}
			},
			wantTrue:  []any{"inserted1=field1-value,inserted2=default", false, map[string]any{"other": "x"}},
			wantFalse: []any{"inserted1=field1-value,inserted2=", true, map[string]any{"other": nil}}},
	} {
		for _, setting := range []string{"", "true", "false"} {
			t.Run(c.name+"/"+setting, func(t *testing.T) {
				t.Parallel()
				s := &schema.Schema{Type: schema.Struct}
				for _, f := range c.fields {
					addField(s, f.Name, f.Schema)
				}
				st := schema.NewStruct(s)
				copy(st.Values, c.values)
				in := slices.Clone(st.Values)
				r := connectors.Record{Topic: "test", Partition: 0, Timestamp: ts, ValueSchema: s, ValueData: st}
				if c.key {
					r = connectors.Record{Topic: "test", Partition: 0, Timestamp: ts, KeySchema: s, KeyData: st}
				}
				cfg := transformConfig(c.typ, c.cfg)
				if setting != "" {
					cfg["transforms.x."+keyReplaceNull] = setting
				}
				if _, err := chainOf(t, cfg).Apply(&r); err != nil {
					t.Fatal(err)
				}
				want := c.wantTrue
				if setting == "false" {
					want = c.wantFalse
				}
				if got := c.check(&r); !reflect.DeepEqual(got, want) {
					t.Errorf("got  %#v\nwant %#v", got, want)
				}
				if !reflect.DeepEqual(st.Values, in) {
					t.Errorf("the input changed: %#v", st.Values)
				}
			})
		}
	}
}

// field is the named field of a struct value, nil when v is not a struct.
func field(v any, name string) any {
	st, ok := v.(*schema.StructValue)
	if !ok {
		return nil
	}
	return st.Get(name)
}

// TestReplaceNullWithDefaultPaths: under field.syntax.version=V2 the fields
// a path names and the fields of the structs rebuilt along it are read the
// same way; a path's null parent with a default reads as that default
// whatever the setting, as Kafka's ExtractField reads a path.
func TestReplaceNullWithDefaultPaths(t *testing.T) {
	t.Parallel()
	row := &schema.Schema{Type: schema.Struct, Optional: true, Name: "row"}
	addField(row, "id", schema.Int64Schema())
	addField(row, "name", optionalWithDefault(schema.StringSchema(), "none"))
	addField(row, "n", optionalWithDefault(schema.Int32Schema(), int32(5)))
	rowDefault := schema.NewStruct(row)
	rowDefault.Values = []any{int64(-1), "anon", nil}
	withDefault := *row
	withDefault.Default = rowDefault
	env := &schema.Schema{Type: schema.Struct, Name: "envelope"}
	addField(env, "before", &withDefault)
	addField(env, "after", row)
	addField(env, "op", optionalWithDefault(schema.StringSchema(), "r"))
	value := func() *schema.StructValue {
		after := schema.NewStruct(row)
		after.Values = []any{int64(7), nil, nil}
		v := schema.NewStruct(env)
		v.Values = []any{nil, after, nil}
		return v
	}
	for _, c := range []struct {
		name, typ           string
		cfg                 map[string]string
		key                 bool
		wantTrue, wantFalse any
	}{
		{name: "extract", typ: "ExtractField$Value", cfg: map[string]string{"field": "after.name"}, wantTrue: "none", wantFalse: nil},
		{name: "extract under a null parent with a default", typ: "ExtractField$Value", cfg: map[string]string{"field": "before.name"},
			wantTrue: "anon", wantFalse: "anon"},
		{name: "extract a default's null field", typ: "ExtractField$Value", cfg: map[string]string{"field": "before.n"},
			wantTrue: int32(5), wantFalse: nil},
		{name: "value to key", typ: "ValueToKey", cfg: map[string]string{"fields": "after.n,op"}, key: true,
			wantTrue: map[string]any{"after.n": int32(5), "op": "r"}, wantFalse: map[string]any{"after.n": nil, "op": nil}},
		{name: "mask", typ: "MaskField$Value", cfg: map[string]string{"fields": "after.name"},
			wantTrue:  map[string]any{"before": map[string]any{"id": int64(-1), "name": "anon", "n": nil}, "after": map[string]any{"id": int64(7), "name": "", "n": int32(5)}, "op": "r"},
			wantFalse: map[string]any{"before": nil, "after": map[string]any{"id": int64(7), "name": nil, "n": nil}, "op": nil}},
		{name: "cast", typ: "Cast$Value", cfg: map[string]string{"spec": "after.n:string"},
			wantTrue:  map[string]any{"before": map[string]any{"id": int64(-1), "name": "anon", "n": nil}, "after": map[string]any{"id": int64(7), "name": "none", "n": "5"}, "op": "r"},
			wantFalse: map[string]any{"before": nil, "after": map[string]any{"id": int64(7), "name": nil, "n": nil}, "op": nil}},
		{name: "replace", typ: "ReplaceField$Value", cfg: map[string]string{"include": "after.n,op"},
			wantTrue: map[string]any{"after": map[string]any{"n": int32(5)}, "op": "r"}, wantFalse: map[string]any{"after": map[string]any{"n": nil}, "op": nil}},
	} {
		for _, setting := range []string{"true", "false"} {
			t.Run(c.name+"/"+setting, func(t *testing.T) {
				t.Parallel()
				cfg := transformConfig(c.typ, c.cfg)
				cfg["transforms.x.field.syntax.version"] = "V2"
				cfg["transforms.x."+keyReplaceNull] = setting
				r := connectors.Record{ValueSchema: env, ValueData: value()}
				if _, err := chainOf(t, cfg).Apply(&r); err != nil {
					t.Fatal(err)
				}
				got := plain(r.ValueData)
				if c.key {
					got = plain(r.KeyData)
				}
				want := c.wantTrue
				if setting == "false" {
					want = c.wantFalse
				}
				if !reflect.DeepEqual(got, want) {
					t.Errorf("got  %#v\nwant %#v", got, want)
				}
			})
		}
	}
	// Cast keeps a nested field's default, cast.
	r := connectors.Record{ValueSchema: env, ValueData: value()}
	if _, err := chainOf(t, map[string]string{"transforms": "x", "transforms.x.type": "Cast$Value", "transforms.x.spec": "after.n:string",
		"transforms.x.field.syntax.version": "V2"}).Apply(&r); err != nil {
		t.Fatal(err)
	}
	if fs := r.ValueSchema.Field("after").Schema.Field("n").Schema; fs.Type != schema.String || !fs.Optional || fs.Default != "5" {
		t.Errorf("cast field schema %+v, want an optional string with default \"5\"", fs)
	}
}

// TestReplaceNullWithDefaultSchemaless: without a schema there are no
// defaults, and a null stays null whatever the setting.
func TestReplaceNullWithDefaultSchemaless(t *testing.T) {
	t.Parallel()
	for _, setting := range []string{"true", "false"} {
		r := connectors.Record{ValueData: map[string]any{"a": nil, "b": int64(1)}}
		if _, err := chainOf(t, map[string]string{"transforms": "x,k", "transforms.x.type": "MaskField$Value", "transforms.x.fields": "a",
			"transforms.x." + keyReplaceNull: setting, "transforms.k.type": "ValueToKey", "transforms.k.fields": "a,b",
			"transforms.k." + keyReplaceNull: setting}).Apply(&r); err != nil {
			t.Fatal(err)
		}
		if want := map[string]any{"a": nil, "b": int64(1)}; !reflect.DeepEqual(r.ValueData, want) || !reflect.DeepEqual(r.KeyData, want) {
			t.Errorf("%s: value %#v key %#v", setting, r.ValueData, r.KeyData)
		}
	}
}

// TestFlattenDefaults: Kafka's Flatten has no replace.null.with.default; it
// always reads a null field as its default, and a flattened field takes the
// default of an optional parent struct (FlattenTest's
// testOptionalAndDefaultValuesNested).
func TestFlattenDefaults(t *testing.T) {
	t.Parallel()
	child := &schema.Schema{Type: schema.Struct, Optional: true}
	addField(child, "req_field", schema.StringSchema())
	addField(child, "opt_field", optionalWithDefault(schema.StringSchema(), "child_default"))
	childDefault := schema.NewStruct(child)
	childDefault.Values = []any{"req_default", nil}
	child.Default = childDefault

	// The top-level struct itself, optional with a default, as in Kafka's test.
	r := connectors.Record{ValueSchema: child, ValueData: schema.NewStruct(child)}
	if _, err := chainOf(t, map[string]string{"transforms": "f", "transforms.f.type": "Flatten$Value"}).Apply(&r); err != nil {
		t.Fatal(err)
	}
	for _, f := range []struct {
		name string
		def  string
	}{{"req_field", "req_default"}, {"opt_field", "child_default"}} {
		fs := r.ValueSchema.Field(f.name).Schema
		if fs.Type != schema.String || !fs.Optional || fs.Default != f.def {
			t.Errorf("%s: %+v, want an optional string with default %q", f.name, fs, f.def)
		}
	}
	if got := plain(r.ValueData); !reflect.DeepEqual(got, map[string]any{"req_field": nil, "opt_field": "child_default"}) {
		t.Errorf("value %#v", got)
	}

	// Nested: a null struct with a default flattens to its default's
	// fields, each read with its own default.
	env := &schema.Schema{Type: schema.Struct}
	addField(env, "nested", child)
	addField(env, "none", &schema.Schema{Type: schema.Struct, Optional: true, Fields: []schema.Field{{Name: "x", Schema: optionalWithDefault(schema.Int32Schema(), int32(1))}}})
	r = connectors.Record{ValueSchema: env, ValueData: schema.NewStruct(env)}
	if _, err := chainOf(t, map[string]string{"transforms": "f", "transforms.f.type": "Flatten$Value", "transforms.f.delimiter": "_"}).Apply(&r); err != nil {
		t.Fatal(err)
	}
	if got, want := describe(r.ValueSchema), "struct{nested_req_field?:string,nested_opt_field?:string,none_x?:int32}"; got != want {
		t.Errorf("schema %s, want %s", got, want)
	}
	if d := r.ValueSchema.Field("nested_req_field").Schema.Default; d != "req_default" {
		t.Errorf("nested_req_field default %v", d)
	}
	want := map[string]any{"nested_req_field": "req_default", "nested_opt_field": "child_default", "none_x": nil}
	if got := plain(r.ValueData); !reflect.DeepEqual(got, want) {
		t.Errorf("value %#v, want %#v", got, want)
	}
	if err := schema.Validate(r.ValueSchema, r.ValueData); err != nil {
		t.Error(err)
	}
}

// TestKafkaConfigAndEdgeBehaviour: what Kafka's transforms do at the edges,
// beyond replace.null.with.default.
func TestKafkaConfigAndEdgeBehaviour(t *testing.T) {
	t.Parallel()
	reg := Builtin()
	// InsertField: a static field needs a value (an empty one is a value).
	_, errs := reg.Parse(transformConfig("InsertField$Value", map[string]string{"static.field": "src"}))
	if len(errs) != 1 || errs[0].Field != "transforms.x.static.value" || errs[0].Reason != "No value specified for static field: src" {
		t.Errorf("static.field without static.value: %v", errs)
	}
	r := connectors.Record{ValueData: map[string]any{}}
	if _, err := chainOf(t, transformConfig("InsertField$Value", map[string]string{"static.field": "src", "static.value": ""})).Apply(&r); err != nil ||
		!reflect.DeepEqual(r.ValueData, map[string]any{"src": ""}) {
		t.Errorf("empty static.value: %#v %v", r.ValueData, err)
	}
	// MaskField: an empty replacement is refused (Kafka's NonEmptyString).
	_, errs = reg.Parse(transformConfig("MaskField$Value", map[string]string{"fields": "a", "replacement": ""}))
	if len(errs) != 1 || errs[0].Field != "transforms.x.replacement" || !strings.Contains(errs[0].Reason, "non-empty") {
		t.Errorf("empty replacement: %v", errs)
	}

	s := &schema.Schema{Type: schema.Struct}
	addField(s, "a", schema.StringSchema())
	addField(s, "ts", schema.Int64Schema())
	rec := func() connectors.Record {
		st := schema.NewStruct(s)
		st.Values = []any{"x", int64(1000)}
		return connectors.Record{ValueSchema: s, ValueData: st}
	}
	// MaskField and TimestampConverter with a schema leave a field name the
	// schema does not have, as Kafka's.
	for _, c := range []struct {
		typ string
		cfg map[string]string
	}{
		{"MaskField$Value", map[string]string{"fields": "nope,a"}},
		{"TimestampConverter$Value", map[string]string{"field": "nope", "target.type": "Timestamp"}},
	} {
		r := rec()
		if _, err := chainOf(t, transformConfig(c.typ, c.cfg)).Apply(&r); err != nil {
			t.Errorf("%s: %v", c.typ, err)
			continue
		}
		want := map[string]any{"a": "x", "ts": int64(1000)}
		if c.typ == "MaskField$Value" {
			want["a"] = ""
		}
		if got := plain(r.ValueData); !reflect.DeepEqual(got, want) || describe(r.ValueSchema) != "struct{a:string,ts:int64}" {
			t.Errorf("%s: %#v %s", c.typ, got, describe(r.ValueSchema))
		}
	}
	// Cast of a whole value keeps the schema's optionality and default, cast.
	r = connectors.Record{KeySchema: optionalWithDefault(schema.Int32Schema(), int32(10)), KeyData: int32(3)}
	if _, err := chainOf(t, transformConfig("Cast$Key", map[string]string{"spec": "string"})).Apply(&r); err != nil ||
		r.KeyData != "3" || r.KeySchema.Type != schema.String || !r.KeySchema.Optional || r.KeySchema.Default != "10" {
		t.Errorf("whole-value cast: %#v %+v %v", r.KeyData, r.KeySchema, err)
	}
	// SetSchemaMetadata passes a null without a schema (KAFKA-8659) and
	// refuses other data without one.
	set := chainOf(t, transformConfig("SetSchemaMetadata$Value", map[string]string{"schema.name": "n"}))
	if _, err := set.Apply(&connectors.Record{}); err != nil {
		t.Errorf("null without a schema: %v", err)
	}
	if _, err := set.Apply(&connectors.Record{ValueData: int64(42)}); err == nil {
		t.Error("SetSchemaMetadata took a value without a schema")
	}
}
