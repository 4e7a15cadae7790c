package converter

import (
	"fmt"
	"strconv"
	"strings"

	"github.com/sluicehq/sluice/connectors/schema"
)

// Kafka Connect class names of the converters.
const (
	StringClass    = "org.apache.kafka.connect.storage.StringConverter"
	ByteArrayClass = "org.apache.kafka.connect.converters.ByteArrayConverter"
	JSONClass      = "org.apache.kafka.connect.json.JsonConverter"
)

// DefaultClass is the converter used when a config names none, as in
// Kafka Connect's worker defaults.
const DefaultClass = JSONClass

type factory func(options map[string]string, isKey bool) (Converter, error)

var classes = []struct {
	class   string
	aliases []string
	make    factory
}{
	{StringClass, []string{"string", "StringConverter"}, newString},
	{ByteArrayClass, []string{"bytes", "bytearray", "ByteArrayConverter"}, newByteArray},
	{JSONClass, []string{"json", "JsonConverter"}, newJSON},
	{AvroClass, []string{"avro", "AvroConverter"}, newAvro},
	{JSONSchemaClass, []string{"jsonschema", "JsonSchemaConverter"}, newJSONSchema},
	{ProtobufClass, []string{"protobuf", "ProtobufConverter"}, newProtobuf},
}

// Classes lists the Kafka class names of the converters.
func Classes() []string {
	out := make([]string, len(classes))
	for i, c := range classes {
		out[i] = c.class
	}
	return out
}

// ClassOf is the Kafka class name of the converter named name (a Kafka
// class name, its simple name, or an alias: string, bytes, json; case does
// not matter), and false for a name Sluice has no converter under.
func ClassOf(name string) (string, bool) {
	name = strings.TrimSpace(name)
	for _, c := range classes {
		if strings.EqualFold(name, c.class) {
			return c.class, true
		}
		for _, a := range c.aliases {
			if strings.EqualFold(name, a) {
				return c.class, true
			}
		}
	}
	return "", false
}

// New makes the converter named class (see ClassOf) with its options (its
// own keys, prefix stripped, for example schemas.enable).
func New(class string, options map[string]string, isKey bool) (Converter, error) {
	if name, ok := ClassOf(class); ok {
		for _, c := range classes {
			if c.class == name {
				return c.make(options, isKey)
			}
		}
	}
	return nil, fmt.Errorf("unknown converter %q; known: string, bytes, json, avro, jsonschema, protobuf, %s", class, strings.Join(Classes(), ", "))
}

// FromConfig makes the key (isKey) or value converter of a connector config:
// key.converter or value.converter, with the options under
// key.converter.* or value.converter.*. Errors name the config key.
func FromConfig(cfg map[string]string, isKey bool) (Converter, error) {
	key := "value.converter"
	if isKey {
		key = "key.converter"
	}
	class := strings.TrimSpace(cfg[key])
	if class == "" {
		class = DefaultClass
	}
	opts := map[string]string{}
	for k, v := range cfg {
		if rest, ok := strings.CutPrefix(k, key+"."); ok {
			opts[rest] = v
		}
	}
	c, err := New(class, opts, isKey)
	if err != nil {
		if oe, ok := err.(*optionError); ok {
			return nil, fmt.Errorf("%s.%s: %s", key, oe.option, oe.reason)
		}
		return nil, fmt.Errorf("%s: %w", key, err)
	}
	return c, nil
}

// optionError says which converter option is wrong.
type optionError struct{ option, reason string }

func (e *optionError) Error() string { return e.option + ": " + e.reason }

func boolOption(opts map[string]string, name string, def bool) (bool, error) {
	v, ok := opts[name]
	if !ok || strings.TrimSpace(v) == "" {
		return def, nil
	}
	b, err := strconv.ParseBool(strings.ToLower(strings.TrimSpace(v)))
	if err != nil {
		return false, &optionError{name, fmt.Sprintf("%q is not a boolean (true or false)", v)}
	}
	return b, nil
}

// stringConverter is Kafka's StringConverter (UTF-8).
type stringConverter struct{}

func newString(opts map[string]string, _ bool) (Converter, error) {
	for _, k := range []string{"converter.encoding", "encoding"} {
		if v, ok := opts[k]; ok {
			switch strings.ToUpper(strings.ReplaceAll(strings.TrimSpace(v), "-", "")) {
			case "UTF8", "":
			default:
				return nil, &optionError{k, fmt.Sprintf("encoding %q is not supported: only UTF-8", v)}
			}
		}
	}
	return stringConverter{}, nil
}

// FromConnect writes a string as is, and any other value as its text form
// (Kafka calls toString()); bytes are written unchanged.
func (stringConverter) FromConnect(_ string, _ *schema.Schema, data any) ([]byte, error) {
	switch v := data.(type) {
	case nil:
		return nil, nil
	case string:
		return []byte(v), nil
	case []byte:
		return v, nil
	default:
		return []byte(textOf(v)), nil
	}
}

func (stringConverter) ToConnect(_ string, b []byte) (*schema.Schema, any, error) {
	if b == nil {
		return schema.OptionalStringSchema(), nil, nil
	}
	return schema.OptionalStringSchema(), string(b), nil
}

func (stringConverter) PassesThrough(s *schema.Schema) bool {
	return s == nil || s.Type == schema.String || s.Type == schema.Bytes
}

// byteArrayConverter is Kafka's ByteArrayConverter.
type byteArrayConverter struct{}

func newByteArray(map[string]string, bool) (Converter, error) { return byteArrayConverter{}, nil }

func (byteArrayConverter) FromConnect(_ string, s *schema.Schema, data any) ([]byte, error) {
	switch v := data.(type) {
	case nil:
		return nil, nil
	case []byte:
		return v, nil
	case string:
		if s != nil && s.Type == schema.String {
			// A raw text payload the runtime hands over as is.
			return []byte(v), nil
		}
	}
	return nil, fmt.Errorf("ByteArrayConverter is not compatible with objects of type %T", data)
}

func (byteArrayConverter) ToConnect(_ string, b []byte) (*schema.Schema, any, error) {
	if b == nil {
		return schema.OptionalBytesSchema(), nil, nil
	}
	return schema.OptionalBytesSchema(), b, nil
}

func (byteArrayConverter) PassesThrough(s *schema.Schema) bool {
	return s == nil || s.Type == schema.String || s.Type == schema.Bytes
}
