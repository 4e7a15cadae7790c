package connectors

import (
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/sluicehq/sluice/connectors/configprovider"
)

// ErrRetriable marks an error after which the operation may succeed if tried
// again (a broker or database that went away). Wrap it: fmt.Errorf("read
// %s: %w: %w", path, connectors.ErrRetriable, err).
var ErrRetriable = errors.New("retriable")

// FieldType is a config field's type, with Kafka Connect's ConfigDef names.
type FieldType string

// Config field types.
const (
	TypeString   FieldType = "STRING"
	TypeInt      FieldType = "INT"
	TypeLong     FieldType = "LONG"
	TypeDouble   FieldType = "DOUBLE"
	TypeBoolean  FieldType = "BOOLEAN"
	TypeList     FieldType = "LIST"
	TypeClass    FieldType = "CLASS"
	TypePassword FieldType = "PASSWORD"
	// TypeDuration is a LONG number of milliseconds in Kafka Connect's
	// spelling ("5000"); Sluice also takes Go durations ("5s").
	TypeDuration FieldType = "LONG_MS"
)

// Importance of a field, as in Kafka Connect.
const (
	High   = "HIGH"
	Medium = "MEDIUM"
	Low    = "LOW"
)

// Field describes one config key.
type Field struct {
	Name string
	Type FieldType
	// Default is used when the key is absent. Ignored when Required.
	Default string
	// Required fields must be set to a non-empty value.
	Required   bool
	Doc        string
	Importance string
	Group      string
	// Allowed restricts the value to one of a set (compared without case).
	Allowed []string
	// Validate checks a present value further; its error says why the
	// value is wrong, without naming the field.
	Validate func(value string) error
}

// Spec is the set of config fields a plugin takes.
type Spec struct {
	Fields []Field
}

// Field returns the field with the given name.
func (s Spec) Field(name string) (Field, bool) {
	for _, f := range s.Fields {
		if f.Name == name {
			return f, true
		}
	}
	return Field{}, false
}

// With returns a spec holding s's fields and then more's, a field of more
// replacing one of s with the same name.
func (s Spec) With(more ...Field) Spec {
	out := Spec{Fields: make([]Field, 0, len(s.Fields)+len(more))}
	for _, f := range s.Fields {
		if !slices.ContainsFunc(more, func(m Field) bool { return m.Name == f.Name }) {
			out.Fields = append(out.Fields, f)
		}
	}
	out.Fields = append(out.Fields, more...)
	return out
}

// FieldError is a problem with one config field.
type FieldError struct {
	Field  string
	Reason string
}

func (e FieldError) Error() string { return e.Field + ": " + e.Reason }

// ValidationError holds every problem found in a config.
type ValidationError struct {
	Errors []FieldError
}

func (e *ValidationError) Error() string {
	parts := make([]string, len(e.Errors))
	for i, fe := range e.Errors {
		parts[i] = fe.Error()
	}
	return "invalid config: " + strings.Join(parts, "; ")
}

// Validate checks raw against the spec and returns every problem, one per
// field, in the spec's order. Keys the spec does not know are allowed (they
// may belong to transforms, converters or client overrides).
func (s Spec) Validate(raw map[string]string) []FieldError {
	var errs []FieldError
	for _, f := range s.Fields {
		v, ok := raw[f.Name]
		if !ok || (f.Required && strings.TrimSpace(v) == "") {
			if f.Required {
				errs = append(errs, FieldError{f.Name, "is required: " + firstSentence(f.Doc)})
			}
			continue
		}
		if configprovider.Has(v) {
			// ${provider:...} resolves on the agent when the task starts,
			// where the value is checked.
			continue
		}
		if err := checkValue(f, v); err != nil {
			errs = append(errs, FieldError{f.Name, err.Error()})
		}
	}
	return errs
}

func firstSentence(doc string) string {
	if i := strings.Index(doc, ". "); i >= 0 {
		return doc[:i+1]
	}
	return doc
}

func checkValue(f Field, v string) error {
	switch f.Type {
	case TypeInt:
		if _, err := strconv.ParseInt(strings.TrimSpace(v), 10, 32); err != nil {
			return fmt.Errorf("%q is not a whole number", v)
		}
	case TypeLong:
		if _, err := strconv.ParseInt(strings.TrimSpace(v), 10, 64); err != nil {
			return fmt.Errorf("%q is not a whole number", v)
		}
	case TypeDouble:
		if _, err := strconv.ParseFloat(strings.TrimSpace(v), 64); err != nil {
			return fmt.Errorf("%q is not a number", v)
		}
	case TypeBoolean:
		if _, err := parseBool(v); err != nil {
			return err
		}
	case TypeDuration:
		if _, err := parseDuration(v); err != nil {
			return err
		}
	}
	if len(f.Allowed) > 0 && !slices.ContainsFunc(f.Allowed, func(a string) bool { return strings.EqualFold(a, strings.TrimSpace(v)) }) {
		return fmt.Errorf("%q is not one of %s", v, strings.Join(f.Allowed, ", "))
	}
	if f.Validate != nil {
		return f.Validate(v)
	}
	return nil
}

func parseBool(v string) (bool, error) {
	switch strings.ToLower(strings.TrimSpace(v)) {
	case "true":
		return true, nil
	case "false":
		return false, nil
	}
	return false, fmt.Errorf("%q is not true or false", v)
}

func parseDuration(v string) (time.Duration, error) {
	v = strings.TrimSpace(v)
	if ms, err := strconv.ParseInt(v, 10, 64); err == nil {
		return time.Duration(ms) * time.Millisecond, nil
	}
	d, err := time.ParseDuration(v)
	if err != nil {
		return 0, fmt.Errorf("%q is neither milliseconds nor a duration like 5s", v)
	}
	return d, nil
}

// Config is a connector or task config read through its spec: getters
// return the value set, or the field's default.
type Config struct {
	raw  map[string]string
	spec Spec
}

// NewConfig wraps raw for reading through spec. It does not validate; call
// Spec.Validate first.
func NewConfig(spec Spec, raw map[string]string) Config {
	return Config{raw: raw, spec: spec}
}

// Raw returns the underlying map. Callers must not change it.
func (c Config) Raw() map[string]string { return c.raw }

// Lookup returns a key's value as set, without defaults.
func (c Config) Lookup(name string) (string, bool) {
	v, ok := c.raw[name]
	return v, ok
}

// String returns a key's value, or its default.
func (c Config) String(name string) string {
	if v, ok := c.raw[name]; ok {
		return v
	}
	if f, ok := c.spec.Field(name); ok {
		return f.Default
	}
	return ""
}

// Int returns a key's value as an int, or 0 if it is not one.
func (c Config) Int(name string) int {
	n, _ := strconv.Atoi(strings.TrimSpace(c.String(name)))
	return n
}

// Int64 returns a key's value as an int64, or 0 if it is not one.
func (c Config) Int64(name string) int64 {
	n, _ := strconv.ParseInt(strings.TrimSpace(c.String(name)), 10, 64)
	return n
}

// Float returns a key's value as a float64, or 0 if it is not one.
func (c Config) Float(name string) float64 {
	f, _ := strconv.ParseFloat(strings.TrimSpace(c.String(name)), 64)
	return f
}

// Bool returns a key's value as a bool, false if it is not one.
func (c Config) Bool(name string) bool {
	b, _ := parseBool(c.String(name))
	return b
}

// Duration returns a key's value, milliseconds or a Go duration.
func (c Config) Duration(name string) time.Duration {
	d, _ := parseDuration(c.String(name))
	return d
}

// List returns a comma-separated key's items, trimmed, empty ones dropped.
func (c Config) List(name string) []string {
	var out []string
	for _, s := range strings.Split(c.String(name), ",") {
		if s = strings.TrimSpace(s); s != "" {
			out = append(out, s)
		}
	}
	return out
}
