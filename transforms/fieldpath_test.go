package transforms

import (
	"fmt"
	"strings"
	"testing"

	"github.com/sluicehq/sluice/connectors"
	"github.com/sluicehq/sluice/connectors/schema"
)

// TestFieldPathSyntax: KIP-821's V2 paths, and V1's literal names.
func TestFieldPathSyntax(t *testing.T) {
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
		{"`a\\`.b`.c", []string{"a`.b", "c"}},
		{"a.", []string{"a", ""}},
		{"a..b", []string{"a", "", "b"}},
	} {
		got, err := parseFieldPath(v2, "field", c.in)
		if err != nil || fmt.Sprintf("%q", []string(got)) != fmt.Sprintf("%q", c.want) {
			t.Errorf("V2 %q: %q %v, want %q", c.in, []string(got), err, c.want)
		}
	}
	if got, _ := parseFieldPath(v1, "field", "a.b"); len(got) != 1 || got[0] != "a.b" {
		t.Errorf("V1 a.b: %q", []string(got))
	}
	for _, bad := range []string{"`a.b", "a.`b", "`a\\`"} {
		if _, err := parseFieldPath(v2, "field", bad); err == nil || !strings.Contains(err.Error(), "field: incomplete backtick pair") {
			t.Errorf("V2 %q: %v, want an incomplete backtick error naming the key", bad, err)
		}
	}
}

// TestExtractFieldNested: ExtractField$Value field=after.id with V2 on
// Debezium-like envelopes, with and without schemas; V1 takes the name as
// written; a V2 path on a transform that takes V1 only is refused.
func TestExtractFieldNested(t *testing.T) {
	cfg := func(field, version string) map[string]string {
		return map[string]string{"transforms": "x", "transforms.x.type": "org.apache.kafka.connect.transforms.ExtractField$Value",
			"transforms.x.field": field, "transforms.x.field.syntax.version": version}
	}
	row := &schema.Schema{Type: schema.Struct, Optional: true, Name: "row"}
	addField(row, "id", schema.Int64Schema())
	addField(row, "name", &schema.Schema{Type: schema.String, Optional: true})
	env := &schema.Schema{Type: schema.Struct, Name: "envelope"}
	addField(env, "before", row)
	addField(env, "after", row)
	addField(env, "op", schema.StringSchema())
	after := schema.NewStruct(row)
	after.Values[row.Field("id").Index], after.Values[row.Field("name").Index] = int64(7), "ada"
	val := schema.NewStruct(env)
	val.Values[env.Field("after").Index], val.Values[env.Field("op").Index] = after, "c"

	r := connectors.Record{ValueSchema: env, ValueData: val}
	if keep, err := chainOf(t, cfg("after.id", "V2")).Apply(&r); err != nil || !keep {
		t.Fatal(keep, err)
	}
	if r.ValueData != int64(7) || r.ValueSchema.Type != schema.Int64 {
		t.Fatalf("after.id: %v %v", r.ValueSchema, r.ValueData)
	}
	r = connectors.Record{ValueSchema: env, ValueData: val}
	if _, err := chainOf(t, cfg("before.id", "V2")).Apply(&r); err != nil || r.ValueData != nil {
		t.Fatalf("before.id with a null before: %v %v", r.ValueData, err)
	}
	r = connectors.Record{ValueSchema: env, ValueData: val}
	if _, err := chainOf(t, cfg("after.nope", "V2")).Apply(&r); err == nil || !strings.Contains(err.Error(), "after.nope") {
		t.Fatalf("unknown nested field: %v", err)
	}
	r = connectors.Record{ValueSchema: env, ValueData: val}
	if _, err := chainOf(t, cfg("after.id", "V1")).Apply(&r); err == nil {
		t.Fatal("V1 found a field named after.id")
	}
	m := connectors.Record{ValueData: map[string]any{"after": map[string]any{"id": 7.0}, "a.b": 1.0}}
	if _, err := chainOf(t, cfg("after.id", "V2")).Apply(&m); err != nil || m.ValueData != 7.0 {
		t.Fatalf("schemaless after.id: %v %v", m.ValueData, err)
	}
	m = connectors.Record{ValueData: map[string]any{"a.b": 1.0}}
	if _, err := chainOf(t, cfg("`a.b`", "V2")).Apply(&m); err != nil || m.ValueData != 1.0 {
		t.Fatalf("schemaless `a.b`: %v %v", m.ValueData, err)
	}
	_, errs := Builtin().Parse(map[string]string{"transforms": "c", "transforms.c.type": "Cast$Value",
		"transforms.c.spec": "after.id:string", "transforms.c.field.syntax.version": "V2"})
	if len(errs) == 0 || !strings.Contains(errs[0].Field, "field.syntax.version") {
		t.Fatalf("Cast with V2: %v", errs)
	}
}
