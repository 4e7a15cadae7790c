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
