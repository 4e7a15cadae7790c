package converter

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"reflect"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/sluicehq/sluice/connectors/converter/schemaregistry"
	"github.com/sluicehq/sluice/connectors/schema"
	"github.com/sluicehq/sluice/internal/testenv"
)

// The tests in this file run the Schema Registry converters against the
// registry at SLUICE_TEST_REGISTRY: in make test a real one
// (deploy/local/registry.sh: crabka-schema-registry, keeping its schemas in
// Kafka and checking BACKWARD compatibility as Confluent's does); without
// the variable, franz-go's in-memory implementation, which checks no
// compatibility, so the tests that need a check skip.

var subjectSeq atomic.Int64

// freshTopic is a topic name no earlier run has registered schemas for
// (a real registry keeps them across runs).
func freshTopic(prefix string) string {
	return fmt.Sprintf("%s-%d-%d", prefix, time.Now().UnixNano(), subjectSeq.Add(1))
}

// realRegistry is the registry's URL, skipping the test when the registry
// is the in-memory one, which checks no compatibility.
func realRegistry(t *testing.T) string {
	t.Helper()
	if os.Getenv("SLUICE_TEST_REGISTRY") == "" {
		t.Skip("needs a real registry (SLUICE_TEST_REGISTRY): the in-memory one checks no compatibility")
	}
	return testenv.Registry(t)
}

func itemSchema(extra ...schema.Field) *schema.Schema {
	b := schema.NewStructBuilder().Name("sluice.test.Item").Field("id", schema.Int64Schema())
	for _, f := range extra {
		b = b.Field(f.Name, f.Schema)
	}
	return b.Build()
}

func schemaID(t *testing.T, b []byte) int32 {
	t.Helper()
	id, _, err := schemaregistry.SplitHeader(b)
	if err != nil {
		t.Fatal(err)
	}
	return id
}

// registryGet decodes a GET of the registry's REST API.
func registryGet(t *testing.T, url, path string, out any) {
	t.Helper()
	resp, err := http.Get(strings.TrimRight(url, "/") + path)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("GET %s: HTTP %d", path, resp.StatusCode)
	}
	if err := json.NewDecoder(resp.Body).Decode(out); err != nil {
		t.Fatal(err)
	}
}

// TestSchemaRegistryServer runs the three converters against the registry:
// each writes under fresh subjects, a second converter reads back, and an
// evolved schema (a field added as the format's compatibility rules allow)
// gets a new id under the same subject, accepted by the registry's check.
func TestSchemaRegistryServer(t *testing.T) {
	t.Parallel()
	url := testenv.Registry(t)
	for _, tc := range []struct {
		class string
		opts  map[string]string
		added *schema.Schema // the field the second schema adds
	}{
		// An optional field with a null default: BACKWARD compatible in Avro.
		{AvroClass, nil, schema.OptionalStringSchema()},
		// JSON Schema: only a closed content model may gain a field.
		{JSONSchemaClass, map[string]string{"object.additional.properties": "false"}, schema.OptionalStringSchema()},
		// Protobuf: a new field number is compatible; a required string
		// keeps the schema text free of the proto3 optional label, which
		// the test registry does not keep (see docs/converters.md).
		{ProtobufClass, nil, schema.StringSchema()},
	} {
		t.Run(tc.class, func(t *testing.T) {
			t.Parallel()
			topic := freshTopic("sluice-sr")
			opts := map[string]string{"schema.registry.url": url}
			for k, v := range tc.opts {
				opts[k] = v
			}
			w, err := New(tc.class, opts, false)
			if err != nil {
				t.Fatal(err)
			}
			r, _ := New(tc.class, opts, false)
			var ids []int32
			for _, s := range []*schema.Schema{itemSchema(), itemSchema(schema.Field{Name: "note", Schema: tc.added})} {
				v := schema.NewStruct(s)
				_ = v.Put("id", int64(42))
				if s.Field("note") != nil {
					_ = v.Put("note", "hello")
				}
				b, err := w.FromConnect(topic, s, v)
				if err != nil {
					t.Fatal(err)
				}
				ids = append(ids, schemaID(t, b))
				gs, gv, err := r.ToConnect(topic, b)
				if err != nil {
					t.Fatal(err)
				}
				if !reflect.DeepEqual(gs, s) || !reflect.DeepEqual(gv.(*schema.StructValue).Values, v.Values) {
					t.Errorf("read %+v %v", gs, gv)
				}
			}
			if ids[0] == ids[1] {
				t.Errorf("two schemas, one id %d", ids[0])
			}
			var versions []int
			registryGet(t, url, "/subjects/"+topic+"-value/versions", &versions)
			if !slices.Equal(versions, []int{1, 2}) {
				t.Errorf("subject %s-value has versions %v, want [1 2]", topic, versions)
			}
		})
	}
}

// TestSchemaRegistryRefusesIncompatibleSchemas: a schema the registry's
// BACKWARD check refuses fails the write with the registry's reason and
// the subject, and writes nothing; the compatible schema before it still
// reads.
func TestSchemaRegistryRefusesIncompatibleSchemas(t *testing.T) {
	t.Parallel()
	url := realRegistry(t)
	for _, tc := range []struct {
		class   string
		evolved *schema.Schema
	}{
		// id changes type: long → string.
		{AvroClass, schema.NewStructBuilder().Name("sluice.test.Item").Field("id", schema.StringSchema()).Build()},
		// An optional field added to an open content model (Confluent's
		// default object.additional.properties=true).
		{JSONSchemaClass, itemSchema(schema.Field{Name: "note", Schema: schema.OptionalStringSchema()})},
		// id changes type: int64 → string.
		{ProtobufClass, schema.NewStructBuilder().Name("sluice.test.Item").Field("id", schema.StringSchema()).Build()},
	} {
		t.Run(tc.class, func(t *testing.T) {
			t.Parallel()
			topic := freshTopic("sluice-sr-incompatible")
			c, err := New(tc.class, map[string]string{"schema.registry.url": url}, false)
			if err != nil {
				t.Fatal(err)
			}
			s1 := itemSchema()
			v1 := schema.NewStruct(s1)
			_ = v1.Put("id", int64(1))
			first, err := c.FromConnect(topic, s1, v1)
			if err != nil {
				t.Fatal(err)
			}
			v2 := schema.NewStruct(tc.evolved)
			if tc.evolved.Field("id").Schema.Type == schema.String {
				_ = v2.Put("id", "one")
			} else {
				_ = v2.Put("id", int64(1))
			}
			b, err := c.FromConnect(topic, tc.evolved, v2)
			if err == nil {
				t.Fatalf("an incompatible schema was written (%d bytes)", len(b))
			}
			msg := err.Error()
			for _, want := range []string{topic + "-value", "incompatible", "409"} {
				if !strings.Contains(msg, want) {
					t.Errorf("error %q does not say %q", msg, want)
				}
			}
			var versions []int
			registryGet(t, url, "/subjects/"+topic+"-value/versions", &versions)
			if !slices.Equal(versions, []int{1}) {
				t.Errorf("versions %v after a refused schema, want [1]", versions)
			}
			if _, _, err := c.ToConnect(topic, first); err != nil {
				t.Errorf("the first record no longer reads: %v", err)
			}
		})
	}
}

// TestSchemaRegistryNoAutoRegister: with auto.register.schemas=false a
// schema nobody registered is an error naming the subject, one registered
// beforehand (through the REST API, as a team's CI would) is found and
// used, and use.latest.version writes with the subject's latest schema.
func TestSchemaRegistryNoAutoRegister(t *testing.T) {
	t.Parallel()
	url := testenv.Registry(t)
	topic := freshTopic("sluice-sr-noauto")
	opts := map[string]string{"schema.registry.url": url, "auto.register.schemas": "false"}
	c, err := New(AvroClass, opts, false)
	if err != nil {
		t.Fatal(err)
	}
	s := itemSchema()
	v := schema.NewStruct(s)
	_ = v.Put("id", int64(7))
	if _, err := c.FromConnect(topic, s, v); err == nil || !strings.Contains(err.Error(), topic+"-value") {
		t.Fatalf("an unregistered schema: err %v, want one naming the subject", err)
	}

	// Register the schema the converter writes, as a deployment would.
	text := `{"type":"record","name":"Item","namespace":"sluice.test","fields":[{"name":"id","type":"long"}],"connect.name":"sluice.test.Item"}`
	reg, err := schemaregistry.New(schemaregistry.Config{URLs: []string{url}})
	if err != nil {
		t.Fatal(err)
	}
	id, err := reg.Register(context.Background(), topic+"-value", schemaregistry.Avro, text)
	if err != nil {
		t.Fatal(err)
	}
	c, _ = New(AvroClass, opts, false)
	b, err := c.FromConnect(topic, s, v)
	if err != nil {
		t.Fatalf("a registered schema: %v", err)
	}
	if got := schemaID(t, b); got != id {
		t.Errorf("wrote with schema id %d, the registered one is %d", got, id)
	}

	// use.latest.version: the subject's latest schema, whatever the
	// record's own, as long as the data fits it.
	latestText := `{"type":"record","name":"Item","namespace":"sluice.test","fields":[{"name":"id","type":"long"},{"name":"note","type":["null","string"],"default":null}]}`
	latestID, err := reg.Register(context.Background(), topic+"-value", schemaregistry.Avro, latestText)
	if err != nil {
		t.Fatal(err)
	}
	opts["use.latest.version"] = "true"
	c, _ = New(AvroClass, opts, false)
	b, err = c.FromConnect(topic, s, v)
	if err != nil {
		t.Fatalf("use.latest.version: %v", err)
	}
	if got := schemaID(t, b); got != latestID {
		t.Errorf("use.latest.version wrote with id %d, the latest is %d", got, latestID)
	}
	_, gv, err := c.ToConnect(topic, b)
	if err != nil {
		t.Fatal(err)
	}
	if got := gv.(*schema.StructValue).Values; got[0] != int64(7) || got[1] != nil {
		t.Errorf("read back %v, want [7 <nil>]", got)
	}
}

// TestSchemaRegistrySubjectNameStrategies: the record strategies put the
// schema under the record's full name (with the topic in front for
// TopicRecordNameStrategy), as Confluent's serializers do.
func TestSchemaRegistrySubjectNameStrategies(t *testing.T) {
	t.Parallel()
	url := testenv.Registry(t)
	topic := freshTopic("sluice-sr-strategy")
	name := "sluice.test" + strings.ReplaceAll(strings.TrimPrefix(topic, "sluice-sr-strategy"), "-", "_") + ".Item"
	s := schema.NewStructBuilder().Name(name).Field("id", schema.Int64Schema()).Build()
	v := schema.NewStruct(s)
	_ = v.Put("id", int64(1))
	for strategy, subject := range map[string]string{
		"io.confluent.kafka.serializers.subject.RecordNameStrategy":      name,
		"io.confluent.kafka.serializers.subject.TopicRecordNameStrategy": topic + "-" + name,
		"io.confluent.kafka.serializers.subject.TopicNameStrategy":       topic + "-value",
	} {
		c, err := New(AvroClass, map[string]string{"schema.registry.url": url, "value.subject.name.strategy": strategy}, false)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := c.FromConnect(topic, s, v); err != nil {
			t.Fatalf("%s: %v", strategy, err)
		}
		var versions []int
		registryGet(t, url, "/subjects/"+subject+"/versions", &versions)
		if len(versions) != 1 {
			t.Errorf("%s: subject %s has versions %v", strategy, subject, versions)
		}
	}
}

// TestSchemaRegistryBasicAuth: the registry at SLUICE_TEST_REGISTRY takes
// the credentials in SLUICE_TEST_REGISTRY_USER_INFO (make test:
// deploy/local/registry.sh's); basic.auth.user.info with them works, and
// a wrong password is refused with the registry's 401.
func TestSchemaRegistryBasicAuth(t *testing.T) {
	t.Parallel()
	userInfo := os.Getenv("SLUICE_TEST_REGISTRY_USER_INFO")
	if userInfo == "" {
		t.Skip("SLUICE_TEST_REGISTRY_USER_INFO (user:password the registry accepts) is not set")
	}
	url := testenv.Registry(t)
	topic := freshTopic("sluice-sr-auth")
	s := itemSchema()
	v := schema.NewStruct(s)
	_ = v.Put("id", int64(1))
	user, _, _ := strings.Cut(userInfo, ":")
	for _, tc := range []struct {
		userInfo string
		ok       bool
	}{{userInfo, true}, {user + ":not-the-password", false}} {
		c, err := New(AvroClass, map[string]string{"schema.registry.url": url,
			"basic.auth.credentials.source": "USER_INFO", "basic.auth.user.info": tc.userInfo}, false)
		if err != nil {
			t.Fatal(err)
		}
		_, err = c.FromConnect(topic, s, v)
		switch {
		case tc.ok && err != nil:
			t.Errorf("right credentials: %v", err)
		case !tc.ok && (err == nil || !strings.Contains(err.Error(), "401")):
			t.Errorf("wrong credentials: err %v, want the registry's 401", err)
		case !tc.ok && strings.Contains(err.Error(), "not-the-password"):
			t.Errorf("the error shows the password: %v", err)
		}
	}
}
