package converter

import (
	"fmt"
	"reflect"
	"testing"
	"time"

	"github.com/sluicehq/sluice/connectors/schema"
	"github.com/sluicehq/sluice/internal/testenv"
)

// TestSchemaRegistryServer runs both converters against the registry at
// SLUICE_TEST_REGISTRY (for example deploy/local/registry.sh, or a
// Confluent Schema Registry), or the in-memory one without it: each writes
// under fresh subjects, a second converter reads back, and a changed
// schema gets a new id.
func TestSchemaRegistryServer(t *testing.T) {
	t.Parallel()
	url := testenv.Registry(t)
	for _, class := range []string{AvroClass, JSONSchemaClass, ProtobufClass} {
		t.Run(class, func(t *testing.T) {
			t.Parallel()
			topic := fmt.Sprintf("sluice-sr-%d", time.Now().UnixNano())
			s1 := schema.NewStructBuilder().Name("sluice.test.Item").Field("id", schema.Int64Schema()).Build()
			s2 := schema.NewStructBuilder().Name("sluice.test.Item").Field("id", schema.Int64Schema()).
				Field("note", schema.OptionalStringSchema()).Build()
			w, err := New(class, map[string]string{"schema.registry.url": url}, false)
			if err != nil {
				t.Fatal(err)
			}
			r, _ := New(class, map[string]string{"schema.registry.url": url}, false)
			var ids []int32
			for _, s := range []*schema.Schema{s1, s2} {
				v := schema.NewStruct(s)
				_ = v.Put("id", int64(42))
				b, err := w.FromConnect(topic, s, v)
				if err != nil {
					t.Fatal(err)
				}
				ids = append(ids, int32(b[1])<<24|int32(b[2])<<16|int32(b[3])<<8|int32(b[4]))
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
		})
	}
}
