// Package cdctest holds what the CDC connectors' tests share: checking that
// their events' schemas carry names Avro accepts.
package cdctest

import (
	"testing"

	"github.com/sluicehq/sluice/connectors"
	"github.com/sluicehq/sluice/connectors/cdc/avroname"
	"github.com/sluicehq/sluice/connectors/converter"
	"github.com/sluicehq/sluice/connectors/schema"
	"github.com/sluicehq/sluice/internal/testenv"
)

// CheckAvroNames fails t unless every change event among recs has key,
// envelope and row schemas whose names are valid Avro full names and whose
// fields have valid Avro names, and Confluent's AvroConverter (against a
// test Schema Registry) writes its key and value.
func CheckAvroNames(t testing.TB, recs []connectors.Record) {
	t.Helper()
	// Subjects per topic and record name: a test that writes one topic
	// under two name adjustment modes must not meet the registry's
	// compatibility check between them (a real registry has one).
	opts := map[string]string{"schema.registry.url": testenv.Registry(t),
		"key.subject.name.strategy":   converter.TopicRecordNameStrategy,
		"value.subject.name.strategy": converter.TopicRecordNameStrategy}
	keys, err := converter.New(converter.AvroClass, opts, true)
	if err != nil {
		t.Fatal(err)
	}
	values, err := converter.New(converter.AvroClass, opts, false)
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range recs {
		if r.ValueData == nil {
			continue // a tombstone
		}
		var row *schema.Schema
		if f := r.ValueSchema.Field("after"); f != nil {
			row = f.Schema
		}
		for _, s := range []*schema.Schema{r.KeySchema, r.ValueSchema, row} {
			if s == nil {
				t.Errorf("%s: a change event without its key, envelope or row schema", r.Topic)
				continue
			}
			if !avroname.ValidAvroFullname(s.Name) {
				t.Errorf("%s: schema name %q is not a valid Avro full name", r.Topic, s.Name)
			}
			if s == r.ValueSchema {
				continue
			}
			for _, f := range s.Fields {
				if !avroname.ValidAvroName(f.Name) {
					t.Errorf("%s: field %q of %s is not a valid Avro name", r.Topic, f.Name, s.Name)
				}
			}
		}
		if _, err := keys.FromConnect(r.Topic, r.KeySchema, r.KeyData); err != nil {
			t.Errorf("%s: AvroConverter, key: %v", r.Topic, err)
		}
		if _, err := values.FromConnect(r.Topic, r.ValueSchema, r.ValueData); err != nil {
			t.Errorf("%s: AvroConverter, value: %v", r.Topic, err)
		}
	}
}
