package transforms

import (
	"fmt"
	"regexp"

	"github.com/sluicehq/sluice/connectors"
)

const (
	kafkaTransforms = "org.apache.kafka.connect.transforms."
	kafkaPredicates = "org.apache.kafka.connect.transforms.predicates."
)

func builtins() []Plugin {
	var out []Plugin
	for _, ps := range [][]Plugin{fieldPlugins(), morePlugins(), evenMorePlugins(), debeziumPlugins(), timestampPlugins(), headerFromPlugins()} {
		out = append(out, ps...)
	}
	return append(out, []Plugin{
		{
			Name: "RegexRouter", Class: kafkaTransforms + "RegexRouter", Kind: KindTransform,
			Description: "Renames the topic with a regular expression and a replacement (Java-style $1 groups).",
			Spec: connectors.Spec{Fields: []connectors.Field{
				{Name: "regex", Type: connectors.TypeString, Required: true, Importance: connectors.High,
					Doc: "Regular expression the whole topic name must match.", Validate: validRegex},
				{Name: "replacement", Type: connectors.TypeString, Required: true, Importance: connectors.High,
					Doc: "Replacement string; $1, $2 name the groups."},
			}},
			NewTransform: newRegexRouter,
		},
		{
			Name: "InsertHeader", Class: kafkaTransforms + "InsertHeader", Kind: KindTransform,
			Description: "Adds a header with a literal value to every record.",
			Spec: connectors.Spec{Fields: []connectors.Field{
				{Name: "header", Type: connectors.TypeString, Required: true, Importance: connectors.High, Doc: "Name of the header."},
				{Name: "value.literal", Type: connectors.TypeString, Required: true, Importance: connectors.High, Doc: "Literal value of the header."},
			}},
			NewTransform: func(cfg connectors.Config) (Transform, error) {
				return &insertHeader{key: cfg.String("header"), value: []byte(cfg.String("value.literal"))}, nil
			},
		},
		{
			Name: "DropHeaders", Class: kafkaTransforms + "DropHeaders", Kind: KindTransform,
			Description: "Removes headers by name.",
			Spec: connectors.Spec{Fields: []connectors.Field{
				{Name: "headers", Type: connectors.TypeList, Required: true, Importance: connectors.High, Doc: "Names of the headers to remove."},
			}},
			NewTransform: func(cfg connectors.Config) (Transform, error) {
				return &dropHeaders{names: cfg.List("headers")}, nil
			},
		},
		{
			Name: "Filter", Class: kafkaTransforms + "Filter", Kind: KindTransform,
			Description:  "Drops every record; use it with a predicate to drop the records that match.",
			NewTransform: func(connectors.Config) (Transform, error) { return filter{}, nil },
		},
		{
			Name: "TopicNameMatches", Class: kafkaPredicates + "TopicNameMatches", Kind: KindPredicate,
			Description: "Matches records whose topic name matches a regular expression.",
			Spec: connectors.Spec{Fields: []connectors.Field{
				{Name: "pattern", Type: connectors.TypeString, Required: true, Importance: connectors.Medium,
					Doc: "Regular expression the whole topic name must match.", Validate: validRegex},
			}},
			NewPredicate: func(cfg connectors.Config) (Predicate, error) {
				re, err := wholeRegex(cfg.String("pattern"))
				if err != nil {
					return nil, err
				}
				return topicMatches{re: re}, nil
			},
		},
		{
			Name: "HasHeaderKey", Class: kafkaPredicates + "HasHeaderKey", Kind: KindPredicate,
			Description: "Matches records that have a header with the given name.",
			Spec: connectors.Spec{Fields: []connectors.Field{
				{Name: "name", Type: connectors.TypeString, Required: true, Importance: connectors.Medium, Doc: "The header name."},
			}},
			NewPredicate: func(cfg connectors.Config) (Predicate, error) { return hasHeader{name: cfg.String("name")}, nil },
		},
		{
			Name: "RecordIsTombstone", Class: kafkaPredicates + "RecordIsTombstone", Kind: KindPredicate,
			Description:  "Matches tombstones: records whose value is null.",
			NewPredicate: func(connectors.Config) (Predicate, error) { return tombstone{}, nil },
		},
	}...)
}

// wholeRegex compiles a pattern that must match a whole string, as Java's
// Matcher.matches does.
func wholeRegex(p string) (*regexp.Regexp, error) {
	re, err := regexp.Compile(`^(?:` + p + `)$`)
	if err != nil {
		return nil, fmt.Errorf("invalid regular expression %q: %w", p, err)
	}
	return re, nil
}

func validRegex(v string) error {
	_, err := wholeRegex(v)
	return err
}

type regexRouter struct {
	re          *regexp.Regexp
	replacement string
	last, out   string // one-entry cache: topics repeat
}

// javaReplacement turns Java's $1 into Go's ${1}.
var javaGroup = regexp.MustCompile(`\$(\d+)`)

func newRegexRouter(cfg connectors.Config) (Transform, error) {
	re, err := wholeRegex(cfg.String("regex"))
	if err != nil {
		return nil, err
	}
	return &regexRouter{re: re, replacement: javaGroup.ReplaceAllString(cfg.String("replacement"), "$${$1}")}, nil
}

func (t *regexRouter) Apply(r *connectors.Record) (bool, error) {
	if r.Topic == t.last && t.last != "" {
		r.Topic = t.out
		return true, nil
	}
	if m := t.re.FindStringSubmatchIndex(r.Topic); m != nil {
		out := string(t.re.ExpandString(nil, t.replacement, r.Topic, m))
		t.last, t.out = r.Topic, out
		r.Topic = out
	}
	return true, nil
}

type insertHeader struct {
	key   string
	value []byte
}

func (t *insertHeader) Apply(r *connectors.Record) (bool, error) {
	r.Headers = append(r.Headers, connectors.Header{Key: t.key, Value: t.value})
	return true, nil
}

type dropHeaders struct{ names []string }

func (t *dropHeaders) Apply(r *connectors.Record) (bool, error) {
	out := r.Headers[:0]
	for _, h := range r.Headers {
		drop := false
		for _, n := range t.names {
			if h.Key == n {
				drop = true
				break
			}
		}
		if !drop {
			out = append(out, h)
		}
	}
	r.Headers = out
	return true, nil
}

type filter struct{}

func (filter) Apply(*connectors.Record) (bool, error) { return false, nil }

type topicMatches struct{ re *regexp.Regexp }

func (p topicMatches) Test(r *connectors.Record) bool { return p.re.MatchString(r.Topic) }

type hasHeader struct{ name string }

func (p hasHeader) Test(r *connectors.Record) bool {
	for _, h := range r.Headers {
		if h.Key == p.name {
			return true
		}
	}
	return false
}

type tombstone struct{}

func (tombstone) Test(r *connectors.Record) bool { return r.Value == nil && r.ValueData == nil }
