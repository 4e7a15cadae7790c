package converter

import (
	"strings"
	"testing"

	"github.com/sluicehq/sluice/connectors/schema"
)

// TestScrubAvroName: Confluent's AvroDataTest cases for scrub.invalid.names.
func TestScrubAvroName(t *testing.T) {
	for in, want := range map[string]string{
		"":            "",
		"abc_DEF_123": "abc_DEF_123",
		"abc+-.*_":    "abc_2B____",
		"abc-def":     "abc_def",
		"abc+def":     "abc_2Bdef",
		"abc  def":    "abc__def",
		"abc.def":     "abc_def",
		"0abc.def":    "x0abc_def",
		"0abc":        "x0abc",
		"prix €":      "prix__E2_82_AC",
	} {
		if got := scrubAvroName(in); got != want {
			t.Errorf("scrubAvroName(%q) = %q, want %q", in, got, want)
		}
	}
	if got := scrubAvroFullName("shop-1.inventory.customers.Key"); got != "shop_1.inventory.customers.Key" {
		t.Errorf("full name scrubbed to %q", got)
	}
}

// TestAvroScrubInvalidNames: a Debezium-style schema name with a hyphen
// (topic.prefix shop-1) and a field name Avro refuses are an error naming
// the bad name by default and, with scrub.invalid.names=true, written
// under scrubbed names; reading back gives the Connect name from
// connect.name and the scrubbed field names, as Confluent's AvroData does.
func TestAvroScrubInvalidNames(t *testing.T) {
	_, url := fakeRegistry(t)
	s := schema.NewStructBuilder().Name("shop-1.inventory.customers.Value").
		Field("id", schema.Int32Schema()).Field("unit-price", &schema.Schema{Type: schema.Float64, Optional: true}).Build()
	v := schema.NewStruct(s)
	_ = v.Put("id", int32(7))
	_ = v.Put("unit-price", 9.5)

	plain, err := New(AvroClass, map[string]string{"schema.registry.url": url}, false)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := plain.FromConnect("t", s, v); err == nil || !strings.Contains(err.Error(), "shop-1") {
		t.Fatalf("an invalid Avro name without scrubbing: err %v", err)
	}

	c, err := New(AvroClass, map[string]string{"schema.registry.url": url, "scrub.invalid.names": "true"}, false)
	if err != nil {
		t.Fatal(err)
	}
	b, err := c.FromConnect("t", s, v)
	if err != nil {
		t.Fatal(err)
	}
	as, err := c.(*avroConverter).forConnect(s)
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{`"namespace":"shop_1.inventory.customers"`, `"name":"unit_price"`, `"connect.name":"shop-1.inventory.customers.Value"`} {
		if !strings.Contains(as.text, want) {
			t.Errorf("schema %s lacks %s", as.text, want)
		}
	}
	gs, gv, err := c.ToConnect("t", b)
	if err != nil {
		t.Fatal(err)
	}
	if gs.Name != s.Name {
		t.Errorf("read back the name %q, want %q", gs.Name, s.Name)
	}
	got := gv.(*schema.StructValue)
	if got.Get("id") != int32(7) || got.Get("unit_price") != 9.5 {
		t.Errorf("read back %v (schema %+v)", got.Values, gs.Fields)
	}
}
