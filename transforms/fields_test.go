package transforms

import (
	"strings"
	"testing"
	"time"

	"github.com/sluicehq/sluice/connectors"
	"github.com/sluicehq/sluice/connectors/converter"
	"github.com/sluicehq/sluice/connectors/schema"
)

func chainOf(t *testing.T, cfg map[string]string) *Chain {
	t.Helper()
	c, errs := Builtin().Parse(cfg)
	if len(errs) > 0 {
		t.Fatalf("parse: %v", errs)
	}
	return c
}

// TestHoistAndInsertLikeKafka: the shared file-source config's transforms
// (HoistField$Value then InsertField$Value) give, through JsonConverter,
// the bytes Kafka Connect gives.
func TestHoistAndInsertLikeKafka(t *testing.T) {
	c := chainOf(t, map[string]string{
		"transforms":                        "hoist,origin",
		"transforms.hoist.type":             "org.apache.kafka.connect.transforms.HoistField$Value",
		"transforms.hoist.field":            "line",
		"transforms.origin.type":            "org.apache.kafka.connect.transforms.InsertField$Value",
		"transforms.origin.static.field":    "source_host",
		"transforms.origin.static.value":    "web-01",
		"transforms.origin.topic.field":     "kafka_topic",
		"transforms.origin.timestamp.field": "ts",
	})
	if !c.NeedsStructure() {
		t.Fatal("HoistField and InsertField need structured values")
	}
	ts := time.UnixMilli(1700000000000).UTC()
	r := connectors.Record{Topic: "app-log", Partition: -1, ValueSchema: schema.StringSchema(), ValueData: "hello", Timestamp: ts,
		SourcePartition: map[string]any{"filename": "app.log"}}
	if keep, err := c.Apply(&r); err != nil || !keep {
		t.Fatalf("apply: %v %v", keep, err)
	}
	js, err := converter.New(converter.JSONClass, map[string]string{"schemas.enable": "true"}, false)
	if err != nil {
		t.Fatal(err)
	}
	b, err := js.FromConnect(r.Topic, r.ValueSchema, r.ValueData)
	if err != nil {
		t.Fatal(err)
	}
	want := `{"schema":{"type":"struct","fields":[{"type":"string","optional":false,"field":"line"},` +
		`{"type":"string","optional":true,"field":"kafka_topic"},` +
		`{"type":"int64","optional":true,"name":"org.apache.kafka.connect.data.Timestamp","version":1,"field":"ts"},` +
		`{"type":"string","optional":true,"field":"source_host"}],"optional":false},` +
		`"payload":{"line":"hello","kafka_topic":"app-log","ts":1700000000000,"source_host":"web-01"}}`
	if string(b) != want {
		t.Fatalf("JSON\n got %s\nwant %s", b, want)
	}
}

func TestHoistAndInsertSchemaless(t *testing.T) {
	c := chainOf(t, map[string]string{
		"transforms":                      "hoist,meta",
		"transforms.hoist.type":           "HoistField$Key",
		"transforms.hoist.field":          "id",
		"transforms.meta.type":            "InsertField$Key",
		"transforms.meta.partition.field": "p",
		"transforms.meta.offset.field":    "o!",
	})
	r := connectors.Record{Topic: "t", Partition: 3, Offset: 42, KeyData: int64(7)}
	if _, err := c.Apply(&r); err != nil {
		t.Fatal(err)
	}
	m, ok := r.KeyData.(map[string]any)
	if !ok || m["id"] != int64(7) || m["p"] != int32(3) || m["o"] != int64(42) || r.KeySchema != nil {
		t.Fatalf("key %#v schema %v", r.KeyData, r.KeySchema)
	}
	// A tombstone passes InsertField untouched; a non-map without schema fails.
	tomb := connectors.Record{Topic: "t"}
	ins := chainOf(t, map[string]string{"transforms": "i", "transforms.i.type": "InsertField$Value", "transforms.i.topic.field": "topic"})
	if keep, err := ins.Apply(&tomb); err != nil || !keep || tomb.ValueData != nil {
		t.Fatalf("tombstone: %v %v %v", keep, err, tomb.ValueData)
	}
	bad := connectors.Record{Topic: "t", ValueData: "text"}
	if _, err := ins.Apply(&bad); err == nil || !strings.Contains(err.Error(), "only Map objects supported") {
		t.Fatalf("schemaless string: %v", err)
	}
	if _, errs := Builtin().Parse(map[string]string{"transforms": "i", "transforms.i.type": "InsertField$Value"}); len(errs) == 0 {
		t.Fatal("InsertField without any field accepted")
	}
}

func TestExtractReplaceMaskSetSchemaValueToKey(t *testing.T) {
	user := schema.NewStructBuilder().Name("com.example.User").Field("id", schema.Int64Schema()).
		Field("name", schema.StringSchema()).Field("ssn", schema.StringSchema()).Field("age", schema.Int32Schema()).Build()
	rec := func() connectors.Record {
		st := schema.NewStruct(user)
		st.Values = []any{int64(7), "ann", "123-45", int32(40)}
		return connectors.Record{Topic: "users", ValueSchema: user, ValueData: st}
	}
	run := func(cfg map[string]string, r *connectors.Record) {
		t.Helper()
		if _, err := chainOf(t, cfg).Apply(r); err != nil {
			t.Fatal(err)
		}
	}

	r := rec()
	run(map[string]string{"transforms": "k", "transforms.k.type": "org.apache.kafka.connect.transforms.ValueToKey", "transforms.k.fields": "id"}, &r)
	if k := r.KeyData.(*schema.StructValue); k.Get("id") != int64(7) || len(r.KeySchema.Fields) != 1 {
		t.Fatalf("ValueToKey: %#v", r.KeyData)
	}
	run(map[string]string{"transforms": "x", "transforms.x.type": "ExtractField$Key", "transforms.x.field": "id"}, &r)
	if r.KeyData != int64(7) || r.KeySchema.Type != schema.Int64 {
		t.Fatalf("ExtractField$Key: %#v %v", r.KeyData, r.KeySchema)
	}

	r = rec()
	run(map[string]string{"transforms": "r", "transforms.r.type": "ReplaceField$Value", "transforms.r.exclude": "ssn",
		"transforms.r.renames": "name:full_name"}, &r)
	st := r.ValueData.(*schema.StructValue)
	if len(r.ValueSchema.Fields) != 3 || st.Get("full_name") != "ann" || st.Get("ssn") != nil || r.ValueSchema.Name != "com.example.User" {
		t.Fatalf("ReplaceField: %v %#v", r.ValueSchema.Fields, st.Values)
	}
	r = rec()
	run(map[string]string{"transforms": "r", "transforms.r.type": "ReplaceField$Value", "transforms.r.include": "id,age"}, &r)
	if names := []string{r.ValueSchema.Fields[0].Name, r.ValueSchema.Fields[1].Name}; len(r.ValueSchema.Fields) != 2 || names[0] != "id" || names[1] != "age" {
		t.Fatalf("ReplaceField include: %v", r.ValueSchema.Fields)
	}

	r = rec()
	run(map[string]string{"transforms": "m", "transforms.m.type": "MaskField$Value", "transforms.m.fields": "ssn,age"}, &r)
	if st := r.ValueData.(*schema.StructValue); st.Get("ssn") != "" || st.Get("age") != int32(0) || st.Get("name") != "ann" {
		t.Fatalf("MaskField: %#v", st.Values)
	}
	r = rec()
	run(map[string]string{"transforms": "m", "transforms.m.type": "MaskField$Value", "transforms.m.fields": "ssn",
		"transforms.m.replacement": "***"}, &r)
	if st := r.ValueData.(*schema.StructValue); st.Get("ssn") != "***" {
		t.Fatalf("MaskField replacement: %#v", st.Values)
	}

	r = rec()
	run(map[string]string{"transforms": "s", "transforms.s.type": "SetSchemaMetadata$Value", "transforms.s.schema.name": "com.example.Person",
		"transforms.s.schema.version": "2"}, &r)
	if r.ValueSchema.Name != "com.example.Person" || r.ValueSchema.Version != 2 || r.ValueData.(*schema.StructValue).Schema != r.ValueSchema {
		t.Fatalf("SetSchemaMetadata: %+v", r.ValueSchema)
	}

	// Schemaless maps.
	m := connectors.Record{Topic: "t", ValueData: map[string]any{"id": int64(1), "secret": "x", "keep": true}}
	run(map[string]string{"transforms": "r,m,x", "transforms.r.type": "ReplaceField$Value", "transforms.r.exclude": "keep",
		"transforms.m.type": "MaskField$Value", "transforms.m.fields": "secret",
		"transforms.x.type": "ExtractField$Value", "transforms.x.field": "secret"}, &m)
	if m.ValueData != "" || m.ValueSchema != nil {
		t.Fatalf("schemaless chain: %#v", m.ValueData)
	}
	bad := rec()
	if _, err := chainOf(t, map[string]string{"transforms": "x", "transforms.x.type": "ExtractField$Value", "transforms.x.field": "nope"}).Apply(&bad); err == nil {
		t.Fatal("ExtractField of a missing field succeeded")
	}
}

func TestTimestampRouterFlattenCast(t *testing.T) {
	ts := time.Date(2026, 11, 25, 4, 5, 6, 789e6, time.UTC)
	r := connectors.Record{Topic: "logs", Timestamp: ts}
	c := chainOf(t, map[string]string{"transforms": "ts", "transforms.ts.type": "org.apache.kafka.connect.transforms.TimestampRouter"})
	if _, err := c.Apply(&r); err != nil || r.Topic != "logs-20261125" {
		t.Fatalf("TimestampRouter default: %q %v", r.Topic, err)
	}
	r = connectors.Record{Topic: "logs", Timestamp: ts}
	c = chainOf(t, map[string]string{"transforms": "ts", "transforms.ts.type": "TimestampRouter",
		"transforms.ts.topic.format": "${timestamp}_${topic}", "transforms.ts.timestamp.format": "yyyy-MM-dd'T'HH.mm.ss.SSS"})
	if _, err := c.Apply(&r); err != nil || r.Topic != "2026-11-25T04.05.06.789_logs" {
		t.Fatalf("TimestampRouter pattern: %q %v", r.Topic, err)
	}
	if _, errs := Builtin().Parse(map[string]string{"transforms": "ts", "transforms.ts.type": "TimestampRouter", "transforms.ts.timestamp.format": "EEE"}); len(errs) == 0 {
		t.Fatal("an unsupported pattern letter was accepted")
	}

	addr := schema.NewStructBuilder().Field("city", schema.StringSchema()).Field("zip", schema.Int32Schema()).Optional().Build()
	person := schema.NewStructBuilder().Name("P").Field("name", schema.StringSchema()).Field("addr", addr).Build()
	a := schema.NewStruct(addr)
	a.Values = []any{"Oslo", int32(150)}
	p := schema.NewStruct(person)
	p.Values = []any{"ann", a}
	r = connectors.Record{ValueSchema: person, ValueData: p}
	c = chainOf(t, map[string]string{"transforms": "f", "transforms.f.type": "Flatten$Value", "transforms.f.delimiter": "_"})
	if _, err := c.Apply(&r); err != nil {
		t.Fatal(err)
	}
	fl := r.ValueData.(*schema.StructValue)
	if len(r.ValueSchema.Fields) != 3 || fl.Get("addr_city") != "Oslo" || fl.Get("addr_zip") != int32(150) ||
		!r.ValueSchema.Field("addr_zip").Schema.Optional || r.ValueSchema.Name != "P" {
		t.Fatalf("Flatten: %+v %#v", r.ValueSchema.Fields, fl.Values)
	}
	m := connectors.Record{ValueData: map[string]any{"a": map[string]any{"b": int64(1), "c": map[string]any{"d": "x"}}, "e": true}}
	if _, err := chainOf(t, map[string]string{"transforms": "f", "transforms.f.type": "Flatten$Value"}).Apply(&m); err != nil {
		t.Fatal(err)
	}
	if mm := m.ValueData.(map[string]any); mm["a.b"] != int64(1) || mm["a.c.d"] != "x" || mm["e"] != true || len(mm) != 3 {
		t.Fatalf("Flatten schemaless: %#v", mm)
	}

	r = connectors.Record{ValueSchema: person, ValueData: p}
	c = chainOf(t, map[string]string{"transforms": "f,c", "transforms.f.type": "Flatten$Value",
		"transforms.c.type": "Cast$Value", "transforms.c.spec": "addr.zip:string,name:string"})
	if _, err := c.Apply(&r); err != nil {
		t.Fatal(err)
	}
	if cv := r.ValueData.(*schema.StructValue); cv.Get("addr.zip") != "150" || r.ValueSchema.Field("addr.zip").Schema.Type != schema.String {
		t.Fatalf("Cast field: %#v", cv.Values)
	}
	w := connectors.Record{ValueSchema: schema.StringSchema(), ValueData: "42"}
	if _, err := chainOf(t, map[string]string{"transforms": "c", "transforms.c.type": "Cast$Value", "transforms.c.spec": "int64"}).Apply(&w); err != nil || w.ValueData != int64(42) || w.ValueSchema.Type != schema.Int64 {
		t.Fatalf("Cast whole: %#v %v %v", w.ValueData, w.ValueSchema, err)
	}
	if _, errs := Builtin().Parse(map[string]string{"transforms": "c", "transforms.c.type": "Cast$Value", "transforms.c.spec": "a:uuid"}); len(errs) == 0 {
		t.Fatal("an unknown cast type was accepted")
	}
}

func TestTimestampConverter(t *testing.T) {
	ev := schema.NewStructBuilder().Name("E").Field("at", schema.StringSchema()).Field("n", schema.Int32Schema()).Build()
	st := schema.NewStruct(ev)
	st.Values = []any{"2026-11-25 04:05:06.789", int32(1)}
	r := connectors.Record{ValueSchema: ev, ValueData: st}
	c := chainOf(t, map[string]string{"transforms": "ts", "transforms.ts.type": "org.apache.kafka.connect.transforms.TimestampConverter$Value",
		"transforms.ts.field": "at", "transforms.ts.target.type": "Timestamp", "transforms.ts.format": "yyyy-MM-dd HH:mm:ss.SSS"})
	if _, err := c.Apply(&r); err != nil {
		t.Fatal(err)
	}
	want := time.Date(2026, 11, 25, 4, 5, 6, 789e6, time.UTC)
	if got := r.ValueData.(*schema.StructValue).Get("at"); got != want || !r.ValueSchema.Field("at").Schema.IsLogical(schema.TimestampName) {
		t.Fatalf("string -> Timestamp: %v %+v", got, r.ValueSchema.Field("at").Schema)
	}
	// And back to a string, then the whole value from unix milliseconds.
	c = chainOf(t, map[string]string{"transforms": "ts", "transforms.ts.type": "TimestampConverter$Value",
		"transforms.ts.field": "at", "transforms.ts.target.type": "string", "transforms.ts.format": "yyyyMMdd'T'HHmmss"})
	if _, err := c.Apply(&r); err != nil || r.ValueData.(*schema.StructValue).Get("at") != "20261125T040506" {
		t.Fatalf("Timestamp -> string: %v %v", r.ValueData.(*schema.StructValue).Get("at"), err)
	}
	w := connectors.Record{ValueSchema: schema.Int64Schema(), ValueData: want.UnixMilli()}
	c = chainOf(t, map[string]string{"transforms": "ts", "transforms.ts.type": "TimestampConverter$Value",
		"transforms.ts.target.type": "unix", "transforms.ts.unix.precision": "milliseconds"})
	if _, err := c.Apply(&w); err != nil || w.ValueData != want.UnixMilli() {
		t.Fatalf("unix -> unix: %v %v", w.ValueData, err)
	}
	c = chainOf(t, map[string]string{"transforms": "ts", "transforms.ts.type": "TimestampConverter$Value", "transforms.ts.target.type": "Date"})
	if _, err := c.Apply(&w); err != nil || w.ValueData != time.Date(2026, 11, 25, 0, 0, 0, 0, time.UTC) || !w.ValueSchema.IsLogical(schema.DateName) {
		t.Fatalf("unix -> Date: %v %v %v", w.ValueData, w.ValueSchema, err)
	}
	m := connectors.Record{ValueData: map[string]any{"at": int64(1700000000)}}
	c = chainOf(t, map[string]string{"transforms": "ts", "transforms.ts.type": "TimestampConverter$Value", "transforms.ts.field": "at",
		"transforms.ts.target.type": "Timestamp", "transforms.ts.unix.precision": "seconds"})
	if _, err := c.Apply(&m); err != nil || m.ValueData.(map[string]any)["at"] != time.Unix(1700000000, 0).UTC() {
		t.Fatalf("schemaless seconds -> Timestamp: %v %v", m.ValueData, err)
	}
	if _, errs := Builtin().Parse(map[string]string{"transforms": "ts", "transforms.ts.type": "TimestampConverter$Value", "transforms.ts.target.type": "string"}); len(errs) == 0 {
		t.Fatal("target.type=string without format accepted")
	}
}

func TestHeaderFrom(t *testing.T) {
	ev := schema.NewStructBuilder().Field("id", schema.Int64Schema()).Field("tenant", schema.StringSchema()).Build()
	st := schema.NewStruct(ev)
	st.Values = []any{int64(9), "acme"}
	r := connectors.Record{ValueSchema: ev, ValueData: st}
	c := chainOf(t, map[string]string{"transforms": "h", "transforms.h.type": "org.apache.kafka.connect.transforms.HeaderFrom$Value",
		"transforms.h.fields": "tenant,id", "transforms.h.headers": "x-tenant,x-id", "transforms.h.operation": "move"})
	if _, err := c.Apply(&r); err != nil {
		t.Fatal(err)
	}
	if len(r.Headers) != 2 || r.Headers[0].Key != "x-tenant" || string(r.Headers[0].Value) != "acme" || string(r.Headers[1].Value) != "9" {
		t.Fatalf("headers %+v", r.Headers)
	}
	if len(r.ValueSchema.Fields) != 0 {
		t.Fatalf("move left fields %v", r.ValueSchema.Fields)
	}
	m := connectors.Record{ValueData: map[string]any{"a": "x", "b": map[string]any{"c": 1}}}
	c = chainOf(t, map[string]string{"transforms": "h", "transforms.h.type": "HeaderFrom$Value",
		"transforms.h.fields": "b", "transforms.h.headers": "hb", "transforms.h.operation": "copy"})
	if _, err := c.Apply(&m); err != nil || string(m.Headers[0].Value) != `{"c":1}` || m.ValueData.(map[string]any)["b"] == nil {
		t.Fatalf("copy: %v %+v %v", err, m.Headers, m.ValueData)
	}
	if _, errs := Builtin().Parse(map[string]string{"transforms": "h", "transforms.h.type": "HeaderFrom$Value",
		"transforms.h.fields": "a,b", "transforms.h.headers": "x", "transforms.h.operation": "copy"}); len(errs) == 0 {
		t.Fatal("fields and headers of different lengths accepted")
	}
}
