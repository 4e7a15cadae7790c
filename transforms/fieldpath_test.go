package transforms

import (
	"fmt"
	"os"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/sluicehq/sluice/connectors"
	"github.com/sluicehq/sluice/connectors/schema"
)

// TestFieldPathSyntax: KIP-821's V2 paths as Kafka's SingleFieldPath reads
// them, and V1's literal names.
func TestFieldPathSyntax(t *testing.T) {
	t.Parallel()
	v2 := connectors.NewConfig(connectors.Spec{Fields: []connectors.Field{fieldSyntaxField}}, map[string]string{keyFieldSyntax: "v2"})
	v1 := connectors.NewConfig(connectors.Spec{Fields: []connectors.Field{fieldSyntaxField}}, map[string]string{})
	for _, c := range []struct {
		in   string
		want []string
	}{
		{"a", []string{"a"}},
		{"a.b.c", []string{"a", "b", "c"}},
		{"`a.b`.c", []string{"a.b", "c"}},
		{"a.`b.c`", []string{"a", "b.c"}},
		{"`a`.b", []string{"a", "b"}},
		{"`a`b`.c", []string{"a`b", "c"}},
		{"a`.b", []string{"a`", "b"}},
		{"`a\\`.b`.c", []string{"a`.b", "c"}},
		{"``", []string{""}},
		{"a.", []string{"a", ""}},
		{"a..b", []string{"a", "", "b"}},
		{"", []string{""}},
		// Kafka's FieldPathNotationTest: empty steps, backticks that do
		// not wrap a step, and a backslash escaping a backtick before a dot.
		{"..", []string{"", "", ""}},
		{"foo..", []string{"foo", "", ""}},
		{".bar.", []string{"", "bar", ""}},
		{"..baz", []string{"", "", "baz"}},
		{"foo`bar`baz", []string{"foo`bar`baz"}},
		{"`foo.bar.baz`", []string{"foo.bar.baz"}},
		{"foo.`bar`.baz", []string{"foo", "bar", "baz"}},
		{"foo.``bar.baz`", []string{"foo", "`bar.baz"}},
		{"foo.`bar.baz``", []string{"foo", "bar.baz`"}},
		{"foo.`ba`r.baz`", []string{"foo", "ba`r.baz"}},
		{"foo.ba`r.baz", []string{"foo", "ba`r", "baz"}},
		{"foo.``bar``.baz", []string{"foo", "`bar`", "baz"}},
		{"``foo.bar.baz``", []string{"`foo.bar.baz`"}},
		{"foo.`bar\\`.baz`", []string{"foo", "bar`.baz"}},
		{"foo.`bar.`baz`", []string{"foo", "bar.`baz"}},
		{"foo.`bar\\`.`baz`", []string{"foo", "bar`.`baz"}},
		{"foo.`bar\\\\`.\\`baz`", []string{"foo", "bar\\`.\\`baz"}},
	} {
		got, err := parseFieldPath(v2, "field", c.in)
		if err != nil || fmt.Sprintf("%q", []string(got)) != fmt.Sprintf("%q", c.want) {
			t.Errorf("V2 %q: %q %v, want %q", c.in, []string(got), err, c.want)
		}
	}
	// String writes a path that reads back as the same steps.
	for _, steps := range [][]string{{"a", "b.c"}, {"a`.b", "c"}, {"`x", "y`"}, {"a.b`", ""}, {"", "a", ""}, {"``", "`.`"}} {
		text := fieldPath(steps).String()
		if got, err := parseV2("field", text); err != nil || !reflect.DeepEqual([]string(got), steps) {
			t.Errorf("%q written as %q reads back as %q %v", steps, text, []string(got), err)
		}
	}
	if got, _ := parseFieldPath(v1, "field", "a.`b`.c"); len(got) != 1 || got[0] != "a.`b`.c" {
		t.Errorf("V1 takes the name as written: %q", []string(got))
	}
	for _, c := range []struct {
		in  string
		pos int
	}{{"`a.b", 0}, {"a.`b", 2}, {"`a\\`", 0}, {"x.`a\\`.b", 2}, {"foo.bar.`baz", 8}, {"foo.bar.`baz\\`", 8}} {
		_, err := parseFieldPath(v2, "field", c.in)
		if err == nil || !strings.Contains(err.Error(), "field: incomplete backtick pair") || !strings.Contains(err.Error(), fmt.Sprintf("position %d", c.pos)) {
			t.Errorf("V2 %q: %v, want an incomplete backtick error naming the key and position %d", c.in, err, c.pos)
		}
	}
}

// pathTransforms are the transforms that take field.syntax.version, with a
// minimal config for each.
var pathTransforms = map[string]map[string]string{
	"ExtractField$Value":       {"field": "a"},
	"ExtractField$Key":         {"field": "a"},
	"ValueToKey":               {"fields": "a"},
	"MaskField$Value":          {"fields": "a"},
	"MaskField$Key":            {"fields": "a"},
	"Cast$Value":               {"spec": "a:int32"},
	"Cast$Key":                 {"spec": "a:int32"},
	"ReplaceField$Value":       {"exclude": "a"},
	"ReplaceField$Key":         {"exclude": "a"},
	"HeaderFrom$Value":         {"fields": "a", "headers": "h", "operation": "copy"},
	"HeaderFrom$Key":           {"fields": "a", "headers": "h", "operation": "move"},
	"TimestampConverter$Value": {"field": "a", "target.type": "unix"},
	"TimestampConverter$Key":   {"field": "a", "target.type": "unix"},
}

func transformConfig(typ string, cfg map[string]string) map[string]string {
	out := map[string]string{"transforms": "x", "transforms.x.type": typ}
	for k, v := range cfg {
		out["transforms.x."+k] = v
	}
	return out
}

// TestFieldSyntaxVersionConfig: every transform that takes paths takes V1
// and V2 in any case and refuses anything else, naming the key and the
// allowed values; a bad path is reported under its own key.
func TestFieldSyntaxVersionConfig(t *testing.T) {
	t.Parallel()
	for typ, base := range pathTransforms {
		for _, v := range []string{"V1", "v1", "V2", "v2", " V2 "} {
			cfg := transformConfig(typ, base)
			cfg["transforms.x.field.syntax.version"] = v
			if _, errs := Builtin().Parse(cfg); len(errs) > 0 {
				t.Errorf("%s with %q: %v", typ, v, errs)
			}
		}
		cfg := transformConfig(typ, base)
		cfg["transforms.x.field.syntax.version"] = "V3"
		_, errs := Builtin().Parse(cfg)
		if len(errs) != 1 || errs[0].Field != "transforms.x.field.syntax.version" || !strings.Contains(errs[0].Reason, "V1, V2") {
			t.Errorf("%s with V3: %v, want an error naming field.syntax.version and V1, V2", typ, errs)
		}
		key := "field"
		if _, ok := base["fields"]; ok {
			key = "fields"
		}
		for k := range base {
			if k == "spec" || k == "exclude" {
				key = k
			}
		}
		cfg = transformConfig(typ, base)
		cfg["transforms.x.field.syntax.version"] = "V2"
		cfg["transforms.x."+key] = "`a.b"
		if key == "spec" {
			cfg["transforms.x.spec"] = "`a.b:int32"
		}
		_, errs = Builtin().Parse(cfg)
		if len(errs) != 1 || errs[0].Field != "transforms.x."+key || !strings.Contains(errs[0].Reason, "position 0") {
			t.Errorf("%s with an unclosed backtick in %s: %v", typ, key, errs)
		}
	}
}

// plain turns structs into maps (field name to value) all the way down, so
// that results compare with reflect.DeepEqual.
func plain(v any) any {
	switch x := v.(type) {
	case *schema.StructValue:
		if x == nil {
			return nil
		}
		m := map[string]any{}
		for _, f := range x.Schema.Fields {
			m[f.Name] = plain(x.Values[f.Index])
		}
		return m
	case map[string]any:
		m := map[string]any{}
		for k, e := range x {
			m[k] = plain(e)
		}
		return m
	}
	return v
}

// describe writes a schema compactly: struct{a:int64,b?:struct{...}}, ?
// marking optional fields, the name after the type when there is one.
func describe(s *schema.Schema) string {
	if s == nil {
		return "<none>"
	}
	if s.Type != schema.Struct {
		out := string(s.Type)
		if s.Name != "" {
			out += "(" + s.Name + ")"
		}
		return out
	}
	var parts []string
	for _, f := range s.Fields {
		opt := ""
		if f.Schema.Optional {
			opt = "?"
		}
		parts = append(parts, f.Name+opt+":"+describe(f.Schema))
	}
	name := ""
	if s.Name != "" {
		name = "(" + s.Name + ")"
	}
	return "struct" + name + "{" + strings.Join(parts, ",") + "}"
}

// nestedEnvelope is a Debezium-like value: {before?: row, after?: row, op,
// source: {db, `table.name`}}, row {id, name?, ts?}; before is null.
func nestedEnvelope() (*schema.Schema, *schema.StructValue) {
	row := &schema.Schema{Type: schema.Struct, Optional: true, Name: "row"}
	addField(row, "id", schema.Int64Schema())
	addField(row, "name", schema.OptionalStringSchema())
	addField(row, "ts", schema.Int64Schema().AsOptional())
	src := &schema.Schema{Type: schema.Struct, Name: "source"}
	addField(src, "db", schema.StringSchema())
	addField(src, "table.name", schema.StringSchema())
	env := &schema.Schema{Type: schema.Struct, Name: "envelope"}
	addField(env, "before", row)
	addField(env, "after", row)
	addField(env, "op", schema.StringSchema())
	addField(env, "source", src)

	after := schema.NewStruct(row)
	after.Values = []any{int64(7), "ada", int64(1700000000000)}
	source := schema.NewStruct(src)
	source.Values = []any{"shop", "public.users"}
	val := schema.NewStruct(env)
	val.Values = []any{nil, after, "c", source}
	return env, val
}

// nestedEnvelopeMap is nestedEnvelope without a schema, as JsonConverter with
// schemas.enable=false gives it.
func nestedEnvelopeMap() map[string]any {
	return map[string]any{
		"before": nil,
		"after":  map[string]any{"id": 7.0, "name": "ada", "ts": 1700000000000.0},
		"op":     "c",
		"source": map[string]any{"db": "shop", "table.name": "public.users"},
		"a.b":    map[string]any{"c": "dotted"},
	}
}

// TestFieldPathsWithSchema: each transform under V2 on a struct with a
// schema: nested fields, null and optional parents, names with dots in
// backticks, paths that are not there.
func TestFieldPathsWithSchema(t *testing.T) {
	t.Parallel()
	for _, c := range []struct {
		name, typ  string
		cfg        map[string]string
		key        bool // check the key rather than the value
		wantSchema string
		want       any
		wantErr    string
		headers    string
	}{
		{name: "extract nested", typ: "ExtractField$Value", cfg: map[string]string{"field": "after.id"},
			wantSchema: "int64", want: int64(7)},
		{name: "extract under a null parent", typ: "ExtractField$Value", cfg: map[string]string{"field": "before.id"},
			wantSchema: "int64", want: nil},
		{name: "extract a struct", typ: "ExtractField$Value", cfg: map[string]string{"field": "source"},
			wantSchema: "struct(source){db:string,table.name:string}", want: map[string]any{"db": "shop", "table.name": "public.users"}},
		{name: "extract a dotted name", typ: "ExtractField$Value", cfg: map[string]string{"field": "source.`table.name`"},
			wantSchema: "string", want: "public.users"},
		{name: "extract unknown", typ: "ExtractField$Value", cfg: map[string]string{"field": "after.nope"}, wantErr: "unknown field: after.nope"},
		{name: "extract through a primitive", typ: "ExtractField$Value", cfg: map[string]string{"field": "op.x"}, wantErr: "unknown field: op.x"},

		// ValueToKey's key is flat, one field per path named as written, as
		// Kafka's; a field under an optional struct is optional in the key.
		{name: "value to key nested", typ: "ValueToKey", cfg: map[string]string{"fields": "after.id,op"}, key: true,
			wantSchema: "struct{after.id?:int64,op:string}", want: map[string]any{"after.id": int64(7), "op": "c"}},
		{name: "value to key siblings share a parent", typ: "ValueToKey", cfg: map[string]string{"fields": "after.id,after.name,source.`table.name`"}, key: true,
			wantSchema: "struct{after.id?:int64,after.name?:string,source.`table.name`:string}",
			want:       map[string]any{"after.id": int64(7), "after.name": "ada", "source.`table.name`": "public.users"}},
		{name: "value to key null parent", typ: "ValueToKey", cfg: map[string]string{"fields": "before.id"}, key: true,
			wantSchema: "struct{before.id?:int64}", want: map[string]any{"before.id": nil}},
		{name: "value to key a whole struct", typ: "ValueToKey", cfg: map[string]string{"fields": "source"}, key: true,
			wantSchema: "struct{source:struct(source){db:string,table.name:string}}",
			want:       map[string]any{"source": map[string]any{"db": "shop", "table.name": "public.users"}}},
		{name: "value to key unknown", typ: "ValueToKey", cfg: map[string]string{"fields": "after.nope"}, wantErr: "field does not exist: after.nope"},

		{name: "mask nested", typ: "MaskField$Value", cfg: map[string]string{"fields": "after.name,after.id,before.name,after.nope"},
			wantSchema: describeEnvelope(),
			want: map[string]any{"before": nil, "after": map[string]any{"id": int64(0), "name": "", "ts": int64(1700000000000)}, "op": "c",
				"source": map[string]any{"db": "shop", "table.name": "public.users"}}},
		{name: "mask with a replacement", typ: "MaskField$Value", cfg: map[string]string{"fields": "source.`table.name`", "replacement": "***"},
			wantSchema: describeEnvelope(),
			want: map[string]any{"before": nil, "after": map[string]any{"id": int64(7), "name": "ada", "ts": int64(1700000000000)}, "op": "c",
				"source": map[string]any{"db": "shop", "table.name": "***"}}},

		{name: "cast nested", typ: "Cast$Value", cfg: map[string]string{"spec": "after.id:string,before.id:string,op:string,after.nope:int8"},
			wantSchema: "struct(envelope){before?:struct(row){id:string,name?:string,ts?:int64},after?:struct(row){id:string,name?:string,ts?:int64}," +
				"op:string,source:struct(source){db:string,table.name:string}}",
			want: map[string]any{"before": nil, "after": map[string]any{"id": "7", "name": "ada", "ts": int64(1700000000000)}, "op": "c",
				"source": map[string]any{"db": "shop", "table.name": "public.users"}}},
		{name: "cast a struct", typ: "Cast$Value", cfg: map[string]string{"spec": "source:string"}, wantErr: "field source: cannot cast a struct"},
		{name: "cast a string that is not a number", typ: "Cast$Value", cfg: map[string]string{"spec": "after.name:int32"}, wantErr: "field after.name: cannot cast"},

		{name: "replace exclude nested", typ: "ReplaceField$Value", cfg: map[string]string{"exclude": "after.ts,before.ts,source.`table.name`"},
			wantSchema: "struct(envelope){before?:struct(row){id:int64,name?:string},after?:struct(row){id:int64,name?:string},op:string,source:struct(source){db:string}}",
			want: map[string]any{"before": nil, "after": map[string]any{"id": int64(7), "name": "ada"}, "op": "c",
				"source": map[string]any{"db": "shop"}}},
		{name: "replace include nested", typ: "ReplaceField$Value", cfg: map[string]string{"include": "after.id,op,source"},
			wantSchema: "struct(envelope){after?:struct(row){id:int64},op:string,source:struct(source){db:string,table.name:string}}",
			want:       map[string]any{"after": map[string]any{"id": int64(7)}, "op": "c", "source": map[string]any{"db": "shop", "table.name": "public.users"}}},
		{name: "replace rename nested", typ: "ReplaceField$Value", cfg: map[string]string{"renames": "after.name:full_name,op:operation,source.`table.name`:table"},
			wantSchema: "struct(envelope){before?:struct(row){id:int64,name?:string,ts?:int64},after?:struct(row){id:int64,full_name?:string,ts?:int64}," +
				"operation:string,source:struct(source){db:string,table:string}}",
			want: map[string]any{"before": nil, "after": map[string]any{"id": int64(7), "full_name": "ada", "ts": int64(1700000000000)}, "operation": "c",
				"source": map[string]any{"db": "shop", "table": "public.users"}}},
		{name: "replace include through a primitive", typ: "ReplaceField$Value", cfg: map[string]string{"include": "op.x,before.id"},
			wantSchema: "struct(envelope){before?:struct(row){id:int64}}", want: map[string]any{"before": nil}},
		{name: "replace exclude over include", typ: "ReplaceField$Value", cfg: map[string]string{"include": "after", "exclude": "after.ts"},
			wantSchema: "struct(envelope){after?:struct(row){id:int64,name?:string}}",
			want:       map[string]any{"after": map[string]any{"id": int64(7), "name": "ada"}}},

		{name: "header from copy nested", typ: "HeaderFrom$Value", cfg: map[string]string{"fields": "after.id,before.id,source.`table.name`", "headers": "id,old,table", "operation": "copy"},
			wantSchema: describeEnvelope(), headers: "id=7,old=,table=public.users",
			want: map[string]any{"before": nil, "after": map[string]any{"id": int64(7), "name": "ada", "ts": int64(1700000000000)}, "op": "c",
				"source": map[string]any{"db": "shop", "table.name": "public.users"}}},
		{name: "header from move nested", typ: "HeaderFrom$Value", cfg: map[string]string{"fields": "after.name,op", "headers": "name,op", "operation": "move"},
			wantSchema: "struct(envelope){before?:struct(row){id:int64,name?:string,ts?:int64},after?:struct(row){id:int64,ts?:int64},source:struct(source){db:string,table.name:string}}",
			headers:    "name=ada,op=c",
			want: map[string]any{"before": nil, "after": map[string]any{"id": int64(7), "ts": int64(1700000000000)},
				"source": map[string]any{"db": "shop", "table.name": "public.users"}}},
		{name: "header from unknown", typ: "HeaderFrom$Value", cfg: map[string]string{"fields": "after.nope", "headers": "h", "operation": "copy"}, wantErr: "unknown field: after.nope"},

		{name: "timestamp nested", typ: "TimestampConverter$Value", cfg: map[string]string{"field": "after.ts", "target.type": "Timestamp"},
			wantSchema: "struct(envelope){before?:struct(row){id:int64,name?:string,ts?:int64}," +
				"after?:struct(row){id:int64,name?:string,ts?:int64(" + schema.TimestampName + ")},op:string,source:struct(source){db:string,table.name:string}}",
			want: map[string]any{"before": nil, "after": map[string]any{"id": int64(7), "name": "ada", "ts": time.UnixMilli(1700000000000).UTC()}, "op": "c",
				"source": map[string]any{"db": "shop", "table.name": "public.users"}}},
		// Kafka's TimestampConverter leaves a field the schema does not have.
		{name: "timestamp unknown", typ: "TimestampConverter$Value", cfg: map[string]string{"field": "after.nope", "target.type": "unix"},
			wantSchema: describeEnvelope(),
			want: map[string]any{"before": nil, "after": map[string]any{"id": int64(7), "name": "ada", "ts": int64(1700000000000)}, "op": "c",
				"source": map[string]any{"db": "shop", "table.name": "public.users"}}},
	} {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			cfg := transformConfig(c.typ, c.cfg)
			cfg["transforms.x.field.syntax.version"] = "V2"
			chain := chainOf(t, cfg)
			s, v := nestedEnvelope()
			r := connectors.Record{ValueSchema: s, ValueData: v}
			_, err := chain.Apply(&r)
			if c.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), c.wantErr) {
					t.Fatalf("error %v, want %q", err, c.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			gs, gv := r.ValueSchema, r.ValueData
			if c.key {
				gs, gv = r.KeySchema, r.KeyData
			}
			if got := describe(gs); got != c.wantSchema {
				t.Errorf("schema\n got %s\nwant %s", got, c.wantSchema)
			}
			if got := plain(gv); !reflect.DeepEqual(got, c.want) {
				t.Errorf("value\n got %#v\nwant %#v", got, c.want)
			}
			if st, ok := gv.(*schema.StructValue); ok {
				if err := schema.Validate(gs, st); err != nil {
					t.Errorf("the result does not fit its schema: %v", err)
				}
			}
			if got := headerString(r.Headers); got != c.headers {
				t.Errorf("headers %q, want %q", got, c.headers)
			}
			// The input is not changed, and a second record of the same
			// schema gets the same derived schema.
			if _, v2 := nestedEnvelope(); !reflect.DeepEqual(plain(v), plain(v2)) {
				t.Errorf("the input changed: %v", plain(v))
			}
			_, v2 := nestedEnvelope()
			r2 := connectors.Record{ValueSchema: s, ValueData: v2}
			if _, err := chain.Apply(&r2); err != nil {
				t.Fatal(err)
			}
			if s2 := r2.ValueSchema; c.key {
				if r2.KeySchema != r.KeySchema {
					t.Error("the key schema was derived twice for one value schema")
				}
			} else if s2 != r.ValueSchema {
				t.Error("the schema was derived twice for one input schema")
			}
		})
	}
}

func describeEnvelope() string {
	s, _ := nestedEnvelope()
	return describe(s)
}

func headerString(hs []connectors.Header) string {
	var parts []string
	for _, h := range hs {
		parts = append(parts, h.Key+"="+string(h.Value))
	}
	return strings.Join(parts, ",")
}

// TestFieldPathsSchemaless: each transform under V2 on maps without a
// schema: nested keys, null and missing parents, parents that are not maps,
// names with dots in backticks.
func TestFieldPathsSchemaless(t *testing.T) {
	t.Parallel()
	envWith := func(change func(m map[string]any)) map[string]any {
		m := nestedEnvelopeMap()
		change(m)
		return m
	}
	for _, c := range []struct {
		name, typ string
		cfg       map[string]string
		key       bool
		want      any
		wantErr   string
		headers   string
	}{
		{name: "extract nested", typ: "ExtractField$Value", cfg: map[string]string{"field": "after.id"}, want: 7.0},
		{name: "extract under a null parent", typ: "ExtractField$Value", cfg: map[string]string{"field": "before.id"}, want: nil},
		{name: "extract under a missing parent", typ: "ExtractField$Value", cfg: map[string]string{"field": "nope.id"}, want: nil},
		{name: "extract through a string", typ: "ExtractField$Value", cfg: map[string]string{"field": "op.id"}, wantErr: "only Map objects supported in absence of schema for [nested field access], found: string at op"},
		{name: "value to key through a string", typ: "ValueToKey", cfg: map[string]string{"fields": "after.id,source.db.x"}, wantErr: "found: string at source.db"},
		{name: "header from through a string", typ: "HeaderFrom$Value", cfg: map[string]string{"fields": "op.x", "headers": "h", "operation": "copy"}, wantErr: "found: string at op"},
		{name: "mask through a string is left alone", typ: "MaskField$Value", cfg: map[string]string{"fields": "op.x"}, want: nestedEnvelopeMap()},
		{name: "extract a dotted name", typ: "ExtractField$Value", cfg: map[string]string{"field": "`a.b`.c"}, want: "dotted"},
		{name: "extract a dotted name without backticks", typ: "ExtractField$Value", cfg: map[string]string{"field": "a.b.c"}, want: nil},

		{name: "value to key nested", typ: "ValueToKey", cfg: map[string]string{"fields": "after.id,`a.b`.c,before.id,nope.x,op"}, key: true,
			want: map[string]any{"after.id": 7.0, "`a.b`.c": "dotted", "before.id": nil, "nope.x": nil, "op": "c"}},

		{name: "mask nested", typ: "MaskField$Value", cfg: map[string]string{"fields": "after.name,after.id,before.id,nope.x,after.nope"},
			want: envWith(func(m map[string]any) { m["after"] = map[string]any{"id": 0.0, "name": "", "ts": 1700000000000.0} })},

		{name: "cast nested", typ: "Cast$Value", cfg: map[string]string{"spec": "after.id:int64,`a.b`.c:string,before.id:int8,after.nope:int8"},
			want: envWith(func(m map[string]any) {
				m["after"] = map[string]any{"id": int64(7), "name": "ada", "ts": 1700000000000.0}
			})},

		{name: "replace nested", typ: "ReplaceField$Value", cfg: map[string]string{"exclude": "after.ts,`a.b`", "renames": "after.name:full_name,source.db:database"},
			want: envWith(func(m map[string]any) {
				delete(m, "a.b")
				m["after"] = map[string]any{"id": 7.0, "full_name": "ada"}
				m["source"] = map[string]any{"database": "shop", "table.name": "public.users"}
			})},
		{name: "replace include nested", typ: "ReplaceField$Value", cfg: map[string]string{"include": "after.id,op"},
			want: map[string]any{"after": map[string]any{"id": 7.0}, "op": "c"}},
		{name: "replace include through a string or null", typ: "ReplaceField$Value", cfg: map[string]string{"include": "op.x,before.id,source.db"},
			want: map[string]any{"before": nil, "source": map[string]any{"db": "shop"}}},

		{name: "header from move nested", typ: "HeaderFrom$Value", cfg: map[string]string{"fields": "after.name,before.id,source", "headers": "name,old,src", "operation": "move"},
			headers: `name=ada,old=,src={"db":"shop","table.name":"public.users"}`,
			want: envWith(func(m map[string]any) {
				delete(m, "source")
				m["after"] = map[string]any{"id": 7.0, "ts": 1700000000000.0}
			})},

		{name: "timestamp nested", typ: "TimestampConverter$Value", cfg: map[string]string{"field": "after.ts", "target.type": "string", "format": "yyyy-MM-dd"},
			want: envWith(func(m map[string]any) { m["after"] = map[string]any{"id": 7.0, "name": "ada", "ts": "2023-11-14"} })},
		{name: "timestamp under a null parent", typ: "TimestampConverter$Value", cfg: map[string]string{"field": "before.ts", "target.type": "unix"},
			want: nestedEnvelopeMap()},
	} {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			cfg := transformConfig(c.typ, c.cfg)
			cfg["transforms.x.field.syntax.version"] = "v2"
			in := nestedEnvelopeMap()
			r := connectors.Record{ValueData: in}
			_, err := chainOf(t, cfg).Apply(&r)
			if c.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), c.wantErr) {
					t.Fatalf("error %v, want %q", err, c.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			got := r.ValueData
			if c.key {
				got = r.KeyData
				if r.KeySchema != nil {
					t.Errorf("schemaless key got a schema: %s", describe(r.KeySchema))
				}
			}
			if !reflect.DeepEqual(got, c.want) {
				t.Errorf("\n got %#v\nwant %#v", got, c.want)
			}
			if !reflect.DeepEqual(in, nestedEnvelopeMap()) {
				t.Errorf("the input map changed: %#v", in)
			}
			if got := headerString(r.Headers); got != c.headers {
				t.Errorf("headers %q, want %q", got, c.headers)
			}
		})
	}
}

// TestFieldPathsV1Unchanged: without field.syntax.version, or with V1, a
// name with dots is one top-level name, as before KIP-821.
func TestFieldPathsV1Unchanged(t *testing.T) {
	t.Parallel()
	for _, version := range []string{"", "V1"} {
		for _, c := range []struct {
			typ  string
			cfg  map[string]string
			want map[string]any
		}{
			{"MaskField$Value", map[string]string{"fields": "a.b"}, map[string]any{"a.b": "", "a": map[string]any{"b": "y"}}},
			{"Cast$Value", map[string]string{"spec": "a.b:int32"}, map[string]any{"a.b": "x", "a": map[string]any{"b": "y"}}},
			{"ReplaceField$Value", map[string]string{"exclude": "a.b"}, map[string]any{"a": map[string]any{"b": "y"}}},
		} {
			cfg := transformConfig(c.typ, c.cfg)
			if version != "" {
				cfg["transforms.x.field.syntax.version"] = version
			}
			if c.typ == "Cast$Value" {
				// V1 Cast casts the top-level "a.b"; "x" is not a number.
				r := connectors.Record{ValueData: map[string]any{"a.b": "x", "a": map[string]any{"b": "y"}}}
				if _, err := chainOf(t, cfg).Apply(&r); err == nil || !strings.Contains(err.Error(), "field a.b") {
					t.Errorf("%s %q: %v, want the top-level a.b cast", c.typ, version, err)
				}
				continue
			}
			r := connectors.Record{ValueData: map[string]any{"a.b": "x", "a": map[string]any{"b": "y"}}}
			if _, err := chainOf(t, cfg).Apply(&r); err != nil || !reflect.DeepEqual(r.ValueData, c.want) {
				t.Errorf("%s %q: %#v %v, want %#v", c.typ, version, r.ValueData, err, c.want)
			}
		}
	}
}

// TestPathTreeOrder: ValueToKey's key fields follow the config's order,
// parents where their first path puts them.
func TestPathTreeOrder(t *testing.T) {
	t.Parallel()
	tree := newPathTree([]fieldPath{{"b", "y"}, {"a"}, {"b", "x"}})
	var got []string
	var walk func(prefix string, n *pathTree)
	walk = func(prefix string, n *pathTree) {
		for _, s := range n.order {
			got = append(got, prefix+s)
			walk(prefix+s+".", n.kids[s])
		}
	}
	walk("", tree)
	if want := []string{"b", "b.y", "b.x", "a"}; !reflect.DeepEqual(got, want) {
		t.Errorf("%v, want %v", got, want)
	}
}

// TestFieldPathsOptionalParents: a field under an optional struct can be
// null, so ExtractField gives it an optional schema; under required
// structs the schema is the field's own, shared by every record.
func TestFieldPathsOptionalParents(t *testing.T) {
	t.Parallel()
	for _, c := range []struct {
		field    string
		optional bool
	}{{"after.id", true}, {"before.id", true}, {"source.db", false}, {"op", false}, {"after", true}} {
		cfg := transformConfig("ExtractField$Value", map[string]string{"field": c.field, "field.syntax.version": "V2"})
		chain := chainOf(t, cfg)
		s, v := nestedEnvelope()
		r := connectors.Record{ValueSchema: s, ValueData: v}
		if _, err := chain.Apply(&r); err != nil {
			t.Fatal(err)
		}
		if r.ValueSchema.Optional != c.optional {
			t.Errorf("%s: optional %v, want %v", c.field, r.ValueSchema.Optional, c.optional)
		}
		if s.Fields[1].Schema.Fields[0].Schema.Optional {
			t.Fatal("the input schema changed")
		}
		if c.field == "source.db" && r.ValueSchema != s.Fields[3].Schema.Fields[0].Schema {
			t.Errorf("%s: a copy of a schema that did not need one", c.field)
		}
	}
}

// TestReplaceFieldRenamePaths: under V2 a rename's new side is a name, or
// the same path with another last step; moving a field elsewhere is
// refused under the renames key.
func TestReplaceFieldRenamePaths(t *testing.T) {
	t.Parallel()
	for _, renames := range []string{"after.name:full_name", "after.name:after.full_name", "`after`.name:`full_name`"} {
		cfg := transformConfig("ReplaceField$Value", map[string]string{"renames": renames, "field.syntax.version": "V2"})
		r := connectors.Record{ValueData: map[string]any{"after": map[string]any{"name": "ada"}}}
		if _, err := chainOf(t, cfg).Apply(&r); err != nil || !reflect.DeepEqual(r.ValueData, map[string]any{"after": map[string]any{"full_name": "ada"}}) {
			t.Errorf("%s: %#v %v", renames, r.ValueData, err)
		}
	}
	cfg := transformConfig("ReplaceField$Value", map[string]string{"renames": "after.name:before.name", "field.syntax.version": "V2"})
	if _, errs := Builtin().Parse(cfg); len(errs) != 1 || errs[0].Field != "transforms.x.renames" || !strings.Contains(errs[0].Reason, "renamed within its struct") {
		t.Errorf("a rename that moves a field: %v", errs)
	}
}

// TestFieldPathsDocsExample: docs/transforms.md's example chain, read from
// the doc, on a Debezium change event: keyed by after.id (ValueToKey's key
// field is named "after.id", which ExtractField takes as written under V1),
// email masked in before and after, amount cast, the source table name (a
// name with a dot) cast.
func TestFieldPathsDocsExample(t *testing.T) {
	t.Parallel()
	doc, err := os.ReadFile("../docs/transforms.md")
	if err != nil {
		t.Fatal(err)
	}
	_, nested, _ := strings.Cut(string(doc), "## Nested fields")
	_, block, ok := strings.Cut(nested, "```yaml\n")
	block, _, ok2 := strings.Cut(block, "```")
	if !ok || !ok2 {
		t.Fatal("no yaml example under ## Nested fields in docs/transforms.md")
	}
	cfg := map[string]string{}
	for _, line := range strings.Split(strings.TrimSpace(block), "\n") {
		k, v, _ := strings.Cut(line, ": ")
		cfg[k] = v
	}
	chain := chainOf(t, cfg)
	row := &schema.Schema{Type: schema.Struct, Optional: true, Name: "shop.public.orders.Value"}
	addField(row, "id", schema.Int64Schema())
	addField(row, "email", schema.OptionalStringSchema())
	addField(row, "amount", schema.Int32Schema())
	src := &schema.Schema{Type: schema.Struct, Name: "io.debezium.connector.postgresql.Source"}
	addField(src, "table.name", schema.Int32Schema())
	env := &schema.Schema{Type: schema.Struct, Name: "shop.public.orders.Envelope"}
	addField(env, "before", row)
	addField(env, "after", row)
	addField(env, "op", schema.StringSchema())
	addField(env, "source", src)
	after := &schema.StructValue{Schema: row, Values: []any{int64(42), "ada@example.com", int32(1250)}}
	source := &schema.StructValue{Schema: src, Values: []any{int32(5)}}
	r := connectors.Record{ValueSchema: env, ValueData: &schema.StructValue{Schema: env, Values: []any{nil, after, "c", source}}}
	if _, err := chain.Apply(&r); err != nil {
		t.Fatal(err)
	}
	if r.KeyData != int64(42) || r.KeySchema.Type != schema.Int64 || !r.KeySchema.Optional {
		t.Errorf("key %v %s optional=%v, want 42, an optional int64 (after is optional)", r.KeyData, describe(r.KeySchema), r.KeySchema.Optional)
	}
	want := map[string]any{"before": nil, "after": map[string]any{"id": int64(42), "email": "", "amount": float64(1250)}, "op": "c",
		"source": map[string]any{"table.name": "5"}}
	if got := plain(r.ValueData); !reflect.DeepEqual(got, want) {
		t.Errorf("value\n got %#v\nwant %#v", got, want)
	}
	if err := schema.Validate(r.ValueSchema, r.ValueData); err != nil {
		t.Errorf("the value does not fit its schema: %v", err)
	}
}

// BenchmarkFieldPaths: MaskField and Cast on a 50-column row inside a
// Debezium-like envelope, V2 paths against V1 names on the flat row.
func BenchmarkFieldPaths(b *testing.B) {
	row := &schema.Schema{Type: schema.Struct, Optional: true, Name: "row"}
	for i := range 50 {
		addField(row, fmt.Sprintf("c%d", i), schema.StringSchema())
	}
	env := &schema.Schema{Type: schema.Struct, Name: "envelope"}
	addField(env, "before", row)
	addField(env, "after", row)
	after := schema.NewStruct(row)
	for i := range after.Values {
		after.Values[i] = "42"
	}
	value := &schema.StructValue{Schema: env, Values: []any{nil, after}}
	for _, c := range []struct {
		name string
		cfg  map[string]string
		s    *schema.Schema
		v    any
	}{
		{"mask/V1", map[string]string{"transforms.x.type": "MaskField$Value", "transforms.x.fields": "c7,c30"}, row, after},
		{"mask/V2", map[string]string{"transforms.x.type": "MaskField$Value", "transforms.x.fields": "after.c7,after.c30", "transforms.x.field.syntax.version": "V2"}, env, value},
		{"cast/V1", map[string]string{"transforms.x.type": "Cast$Value", "transforms.x.spec": "c7:int32,c30:int64"}, row, after},
		{"cast/V2", map[string]string{"transforms.x.type": "Cast$Value", "transforms.x.spec": "after.c7:int32,after.c30:int64", "transforms.x.field.syntax.version": "V2"}, env, value},
	} {
		b.Run(c.name, func(b *testing.B) {
			c.cfg["transforms"] = "x"
			chain, errs := Builtin().Parse(c.cfg)
			if len(errs) > 0 {
				b.Fatal(errs)
			}
			b.ReportAllocs()
			for b.Loop() {
				r := connectors.Record{ValueSchema: c.s, ValueData: c.v}
				if _, err := chain.Apply(&r); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// TestValueToKeyV1AndV2: the same fields=a.b takes the top-level "a.b"
// under V1 and field b of a under V2; either way the key field is named
// "a.b", as in Kafka.
func TestValueToKeyV1AndV2(t *testing.T) {
	t.Parallel()
	for _, c := range []struct {
		version string
		want    any
	}{{"", "top"}, {"V1", "top"}, {"V2", "nested"}} {
		cfg := transformConfig("ValueToKey", map[string]string{"fields": "a.b"})
		if c.version != "" {
			cfg["transforms.x.field.syntax.version"] = c.version
		}
		r := connectors.Record{ValueData: map[string]any{"a.b": "top", "a": map[string]any{"b": "nested"}}}
		if _, err := chainOf(t, cfg).Apply(&r); err != nil || !reflect.DeepEqual(r.KeyData, map[string]any{"a.b": c.want}) {
			t.Errorf("%q: key %#v %v, want {a.b: %v}", c.version, r.KeyData, err, c.want)
		}
	}
}

// TestFieldPathsOnKeys: the $Key forms follow paths in the key and leave
// the value alone.
func TestFieldPathsOnKeys(t *testing.T) {
	t.Parallel()
	for _, c := range []struct {
		typ  string
		cfg  map[string]string
		want any
	}{
		{"ExtractField$Key", map[string]string{"field": "after.id"}, int64(7)},
		{"MaskField$Key", map[string]string{"fields": "after.name"}, "after.name="},
		{"Cast$Key", map[string]string{"spec": "after.id:string"}, "after.id=7"},
		{"ReplaceField$Key", map[string]string{"include": "after.id"}, map[string]any{"after": map[string]any{"id": int64(7)}}},
		{"HeaderFrom$Key", map[string]string{"fields": "after.name", "headers": "n", "operation": "move"}, "after.name=<none>"},
		{"TimestampConverter$Key", map[string]string{"field": "after.ts", "target.type": "string", "format": "yyyy"}, "after.ts=2023"},
	} {
		cfg := transformConfig(c.typ, c.cfg)
		cfg["transforms.x.field.syntax.version"] = "V2"
		ks, kv := nestedEnvelope()
		r := connectors.Record{KeySchema: ks, KeyData: kv, ValueData: "value"}
		if _, err := chainOf(t, cfg).Apply(&r); err != nil {
			t.Errorf("%s: %v", c.typ, err)
			continue
		}
		if r.ValueData != "value" || r.ValueSchema != nil {
			t.Errorf("%s changed the value: %v", c.typ, r.ValueData)
		}
		if err := schema.Validate(r.KeySchema, r.KeyData); err != nil {
			t.Errorf("%s: the key does not fit its schema: %v", c.typ, err)
		}
		got := plain(r.KeyData)
		if want, ok := c.want.(string); ok && strings.Contains(want, "=") {
			// path=value: the value at the path in the key, <none> when the
			// field is gone.
			path, value, _ := strings.Cut(want, "=")
			steps := strings.Split(path, ".")
			var at any = got
			for _, s := range steps {
				m, _ := at.(map[string]any)
				var ok bool
				if at, ok = m[s]; !ok {
					at = "<none>"
				}
			}
			if fmt.Sprint(at) != value {
				t.Errorf("%s: key %s is %v, want %s", c.typ, path, at, value)
			}
			continue
		}
		if !reflect.DeepEqual(got, c.want) {
			t.Errorf("%s: key %#v, want %#v", c.typ, got, c.want)
		}
	}
}
