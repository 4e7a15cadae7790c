package converter

import (
	"testing"

	"github.com/sluicehq/sluice/connectors/schema"
)

func envelopeSchema(name string) *schema.Schema {
	s := &schema.Schema{Type: schema.Struct, Name: name}
	s.Fields = []schema.Field{{Name: "id", Index: 0, Schema: schema.Int64Schema()},
		{Name: "name", Index: 1, Schema: &schema.Schema{Type: schema.String, Optional: true}}}
	return s
}

// TestSchemaCacheGivesTheSameBytes: a schema rendered once and reused gives
// the bytes rendering it each time gives, per schema object; a cache of 0
// renders every time.
func TestSchemaCacheGivesTheSameBytes(t *testing.T) {
	cached, _ := New(JSONClass, nil, false)
	uncached, _ := New(JSONClass, map[string]string{"schemas.cache.size": "0"}, false)
	a, b := envelopeSchema("a"), envelopeSchema("b")
	for i := 0; i < 3; i++ {
		for _, s := range []*schema.Schema{a, b} {
			v := schema.NewStruct(s)
			v.Values[0], v.Values[1] = int64(i), "x"
			got, err := cached.FromConnect("t", s, v)
			if err != nil {
				t.Fatal(err)
			}
			want, _ := uncached.FromConnect("t", s, v)
			if string(got) != string(want) {
				t.Fatalf("cached %s\nwant   %s", got, want)
			}
		}
	}
	if _, err := New(JSONClass, map[string]string{"schemas.cache.size": "-1"}, false); err == nil {
		t.Fatal("a negative schemas.cache.size was accepted")
	}
}

func BenchmarkJSONEnvelope(b *testing.B) {
	for _, size := range []string{"0", "1000"} {
		b.Run("cache="+size, func(b *testing.B) {
			c, _ := New(JSONClass, map[string]string{"schemas.cache.size": size}, false)
			s := envelopeSchema("row")
			v := schema.NewStruct(s)
			v.Values[0], v.Values[1] = int64(7), "ada lovelace"
			b.ReportAllocs()
			for b.Loop() {
				if _, err := c.FromConnect("t", s, v); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
