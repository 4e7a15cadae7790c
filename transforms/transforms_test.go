package transforms

import (
	"strings"
	"testing"

	"github.com/sluicehq/sluice/connectors"
)

func TestChain(t *testing.T) {
	t.Parallel()
	reg := Builtin()
	tests := []struct {
		name      string
		config    map[string]string
		in        connectors.Record
		wantKeep  bool
		wantTopic string
		wantHdrs  []string
	}{
		{
			name:      "no transforms keeps the record",
			config:    map[string]string{},
			in:        connectors.Record{Topic: "a", Value: []byte("v")},
			wantKeep:  true,
			wantTopic: "a",
		},
		{
			name: "regex router with Java groups, by class name",
			config: map[string]string{
				"transforms": "route", "transforms.route.type": "org.apache.kafka.connect.transforms.RegexRouter",
				"transforms.route.regex": "(.*)-raw", "transforms.route.replacement": "clean-$1",
			},
			in:        connectors.Record{Topic: "orders-raw", Value: []byte("v")},
			wantKeep:  true,
			wantTopic: "clean-orders",
		},
		{
			name: "regex router leaves non-matching topics (whole-string match)",
			config: map[string]string{
				"transforms": "route", "transforms.route.type": "RegexRouter",
				"transforms.route.regex": "raw", "transforms.route.replacement": "x",
			},
			in:        connectors.Record{Topic: "orders-raw"},
			wantKeep:  true,
			wantTopic: "orders-raw",
		},
		{
			name: "filter with tombstone predicate drops tombstones",
			config: map[string]string{
				"transforms": "drop", "transforms.drop.type": "org.apache.kafka.connect.transforms.Filter",
				"transforms.drop.predicate": "isTomb",
				"predicates":                "isTomb", "predicates.isTomb.type": "org.apache.kafka.connect.transforms.predicates.RecordIsTombstone",
			},
			in:       connectors.Record{Topic: "a"},
			wantKeep: false,
		},
		{
			name: "negated predicate keeps tombstones, drops the rest",
			config: map[string]string{
				"transforms": "drop", "transforms.drop.type": "Filter", "transforms.drop.predicate": "isTomb", "transforms.drop.negate": "true",
				"predicates": "isTomb", "predicates.isTomb.type": "RecordIsTombstone",
			},
			in:       connectors.Record{Topic: "a", Value: []byte("x")},
			wantKeep: false,
		},
		{
			name: "insert then drop headers, topic predicate",
			config: map[string]string{
				"transforms":          "ins,drop",
				"transforms.ins.type": "InsertHeader", "transforms.ins.header": "source", "transforms.ins.value.literal": "sluice",
				"transforms.drop.type": "DropHeaders", "transforms.drop.headers": "secret",
				"transforms.drop.predicate": "isA",
				"predicates":                "isA", "predicates.isA.type": "TopicNameMatches", "predicates.isA.pattern": "a.*",
			},
			in:        connectors.Record{Topic: "ab", Headers: []connectors.Header{{Key: "secret"}, {Key: "keep"}}},
			wantKeep:  true,
			wantTopic: "ab",
			wantHdrs:  []string{"keep", "source"},
		},
		{
			name: "has header key",
			config: map[string]string{
				"transforms": "drop", "transforms.drop.type": "Filter", "transforms.drop.predicate": "h",
				"predicates": "h", "predicates.h.type": "HasHeaderKey", "predicates.h.name": "skip",
			},
			in:       connectors.Record{Topic: "a", Headers: []connectors.Header{{Key: "skip"}}},
			wantKeep: false,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			c, errs := reg.Parse(tt.config)
			if len(errs) > 0 {
				t.Fatalf("parse: %v", errs)
			}
			r := tt.in
			keep, err := c.Apply(&r)
			if err != nil {
				t.Fatal(err)
			}
			if keep != tt.wantKeep {
				t.Fatalf("keep = %v, want %v", keep, tt.wantKeep)
			}
			if !keep {
				return
			}
			if r.Topic != tt.wantTopic {
				t.Errorf("topic = %q, want %q", r.Topic, tt.wantTopic)
			}
			if tt.wantHdrs != nil {
				var got []string
				for _, h := range r.Headers {
					got = append(got, h.Key)
				}
				if strings.Join(got, ",") != strings.Join(tt.wantHdrs, ",") {
					t.Errorf("headers = %v, want %v", got, tt.wantHdrs)
				}
			}
		})
	}
}

func TestParseErrorsNameTheField(t *testing.T) {
	t.Parallel()
	reg := Builtin()
	tests := []struct {
		config    map[string]string
		wantField string
	}{
		{map[string]string{"transforms": "x"}, "transforms.x.type"},
		{map[string]string{"transforms": "x", "transforms.x.type": "Nope"}, "transforms.x.type"},
		{map[string]string{"transforms": "x", "transforms.x.type": "RegexRouter", "transforms.x.replacement": "y"}, "transforms.x.regex"},
		{map[string]string{"transforms": "x", "transforms.x.type": "RegexRouter", "transforms.x.regex": "(", "transforms.x.replacement": "y"}, "transforms.x.regex"},
		{map[string]string{"transforms": "x", "transforms.x.type": "Filter", "transforms.x.predicate": "p"}, "transforms.x.predicate"},
		{map[string]string{"predicates": "p", "predicates.p.type": "TopicNameMatches"}, "predicates.p.pattern"},
	}
	for _, tt := range tests {
		_, errs := reg.Parse(tt.config)
		if len(errs) == 0 || errs[0].Field != tt.wantField {
			t.Errorf("Parse(%v) errors = %v, want one for %s", tt.config, errs, tt.wantField)
		}
	}
}
