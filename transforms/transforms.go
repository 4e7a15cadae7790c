// Package transforms holds single message transforms (SMTs) and predicates,
// configured with Kafka Connect's syntax and chained per connector:
//
//	transforms=route,tag
//	transforms.route.type=org.apache.kafka.connect.transforms.RegexRouter
//	transforms.route.regex=(.*)-raw
//	transforms.route.replacement=$1
//	transforms.route.predicate=isRaw
//	transforms.route.negate=false
//	predicates=isRaw
//	predicates.isRaw.type=org.apache.kafka.connect.transforms.predicates.TopicNameMatches
//	predicates.isRaw.pattern=.*-raw
//
// A transform changes a record in place or drops it. Transforms that work on
// topics and headers never need the record's structure, so the raw bytes of
// keys and values pass through untouched; transforms that look inside keys or
// values say so (Structured) and the runtime decodes for them.
package transforms

import (
	"errors"
	"fmt"
	"slices"
	"sort"
	"strings"

	"github.com/sluicehq/sluice/connectors"
)

// Transform changes one record.
type Transform interface {
	// Apply changes r in place. It returns false to drop the record.
	Apply(r *connectors.Record) (keep bool, err error)
}

// Structured is implemented by transforms that read or change the
// structured form of keys or values (KeyData, ValueData).
type Structured interface {
	NeedsStructure() bool
}

// Predicate decides whether a transform applies to a record.
type Predicate interface {
	Test(r *connectors.Record) bool
}

// Kind says whether a plugin is a transform or a predicate.
type Kind int

// Plugin kinds.
const (
	KindTransform Kind = iota + 1
	KindPredicate
)

// Plugin describes a transform or a predicate.
type Plugin struct {
	// Name is the short name, for example "RegexRouter".
	Name string
	// Class is the Kafka class name, for example
	// "org.apache.kafka.connect.transforms.RegexRouter".
	Class       string
	Kind        Kind
	Description string
	Spec        connectors.Spec
	// NewTransform makes the transform from its validated config.
	NewTransform func(cfg connectors.Config) (Transform, error)
	// NewPredicate makes the predicate from its validated config.
	NewPredicate func(cfg connectors.Config) (Predicate, error)
}

// Registry maps type names to plugins.
type Registry struct {
	byName  map[string]*Plugin
	plugins []*Plugin
}

// NewRegistry returns an empty registry.
func NewRegistry() *Registry { return &Registry{byName: map[string]*Plugin{}} }

// Builtin returns a new registry with every built-in transform and predicate.
func Builtin() *Registry {
	r := NewRegistry()
	for _, p := range builtins() {
		if err := r.Register(p); err != nil {
			panic(err) // a programming error in the built-in list
		}
	}
	return r
}

// Register adds a plugin under its name and class.
func (r *Registry) Register(p Plugin) error {
	if p.Name == "" {
		return errors.New("register transform: empty name")
	}
	names := []string{p.Name}
	if p.Class != "" {
		names = append(names, p.Class)
	}
	for _, n := range names {
		if _, ok := r.byName[n]; ok {
			return fmt.Errorf("register transform %s: name %q is taken", p.Name, n)
		}
	}
	pp := &p
	for _, n := range names {
		r.byName[n] = pp
	}
	r.plugins = append(r.plugins, pp)
	sort.Slice(r.plugins, func(i, j int) bool { return r.plugins[i].Name < r.plugins[j].Name })
	return nil
}

// Lookup finds a plugin by class or short name.
func (r *Registry) Lookup(name string) (*Plugin, bool) {
	p, ok := r.byName[strings.TrimSpace(name)]
	return p, ok
}

// Plugins returns every plugin, sorted by name.
func (r *Registry) Plugins() []*Plugin { return slices.Clone(r.plugins) }

// Chain is a connector's transforms in order.
type Chain struct {
	steps      []step
	structured bool
}

type step struct {
	alias     string
	t         Transform
	predicate Predicate
	negate    bool
}

// Len returns the number of transforms.
func (c *Chain) Len() int {
	if c == nil {
		return 0
	}
	return len(c.steps)
}

// NeedsStructure reports whether any transform needs structured data.
func (c *Chain) NeedsStructure() bool { return c != nil && c.structured }

// Apply runs r through every transform. It returns false when a transform
// dropped the record. A nil or empty chain keeps every record.
func (c *Chain) Apply(r *connectors.Record) (bool, error) {
	if c == nil {
		return true, nil
	}
	for _, s := range c.steps {
		if s.predicate != nil && s.predicate.Test(r) == s.negate {
			continue
		}
		keep, err := s.t.Apply(r)
		if err != nil {
			return false, fmt.Errorf("transform %s: %w", s.alias, err)
		}
		if !keep {
			return false, nil
		}
	}
	return true, nil
}

func sub(config map[string]string, prefix string) map[string]string {
	out := map[string]string{}
	for k, v := range config {
		if rest, ok := strings.CutPrefix(k, prefix); ok {
			out[rest] = v
		}
	}
	return out
}

func list(v string) []string {
	var out []string
	for _, s := range strings.Split(v, ",") {
		if s = strings.TrimSpace(s); s != "" {
			out = append(out, s)
		}
	}
	return out
}

// Parse builds the chain a connector config describes, or returns every
// problem found, each naming its config key.
func (r *Registry) Parse(config map[string]string) (*Chain, []connectors.FieldError) {
	var errs []connectors.FieldError
	preds := map[string]Predicate{}
	for _, alias := range list(config[connectors.KeyPredicates]) {
		key := "predicates." + alias + ".type"
		p, ok := r.Lookup(config[key])
		switch {
		case config[key] == "":
			errs = append(errs, connectors.FieldError{Field: key, Reason: "is required: the class of predicate " + alias})
			continue
		case !ok || p.Kind != KindPredicate:
			errs = append(errs, connectors.FieldError{Field: key, Reason: fmt.Sprintf("no predicate named %q", config[key])})
			continue
		}
		cfg := sub(config, "predicates."+alias+".")
		if fe := p.Spec.Validate(cfg); len(fe) > 0 {
			for _, e := range fe {
				errs = append(errs, connectors.FieldError{Field: "predicates." + alias + "." + e.Field, Reason: e.Reason})
			}
			continue
		}
		pred, err := p.NewPredicate(connectors.NewConfig(p.Spec, cfg))
		if err != nil {
			errs = append(errs, connectors.FieldError{Field: key, Reason: err.Error()})
			continue
		}
		preds[alias] = pred
	}
	c := &Chain{}
	for _, alias := range list(config[connectors.KeyTransforms]) {
		prefix := "transforms." + alias + "."
		key := prefix + "type"
		p, ok := r.Lookup(config[key])
		switch {
		case config[key] == "":
			errs = append(errs, connectors.FieldError{Field: key, Reason: "is required: the class of transform " + alias})
			continue
		case !ok || p.Kind != KindTransform:
			errs = append(errs, connectors.FieldError{Field: key, Reason: fmt.Sprintf("no transform named %q", config[key])})
			continue
		}
		cfg := sub(config, prefix)
		spec := p.Spec.With(
			connectors.Field{Name: "predicate", Type: connectors.TypeString, Doc: "The alias of a predicate that decides whether the transform applies."},
			connectors.Field{Name: "negate", Type: connectors.TypeBoolean, Default: "false", Doc: "Apply the transform when the predicate does not match."},
		)
		if fe := spec.Validate(cfg); len(fe) > 0 {
			for _, e := range fe {
				errs = append(errs, connectors.FieldError{Field: prefix + e.Field, Reason: e.Reason})
			}
			continue
		}
		ccfg := connectors.NewConfig(spec, cfg)
		t, err := p.NewTransform(ccfg)
		if ce := (*configError)(nil); errors.As(err, &ce) {
			errs = append(errs, connectors.FieldError{Field: prefix + ce.key, Reason: ce.reason})
			continue
		}
		if err != nil {
			errs = append(errs, connectors.FieldError{Field: key, Reason: err.Error()})
			continue
		}
		s := step{alias: alias, t: t, negate: ccfg.Bool("negate")}
		if pa := strings.TrimSpace(ccfg.String("predicate")); pa != "" {
			pred, ok := preds[pa]
			if !ok {
				errs = append(errs, connectors.FieldError{Field: prefix + "predicate", Reason: fmt.Sprintf("no predicate %q in predicates", pa)})
				continue
			}
			s.predicate = pred
		}
		if st, ok := t.(Structured); ok && st.NeedsStructure() {
			c.structured = true
		}
		c.steps = append(c.steps, s)
	}
	if len(errs) > 0 {
		return nil, errs
	}
	return c, nil
}
