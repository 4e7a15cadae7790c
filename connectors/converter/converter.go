// Package converter turns record keys and values into bytes for Kafka and
// back, with Kafka Connect's converters: StringConverter, ByteArrayConverter
// and JsonConverter (with and without its {"schema":...,"payload":...}
// envelope), and Confluent's AvroConverter, JsonSchemaConverter and
// ProtobufConverter, which keep schemas in a Schema Registry and write
// Confluent's wire format, under their class names and short aliases.
package converter

import (
	"github.com/sluicehq/sluice/connectors/schema"
)

// Converter is Kafka Connect's Converter.
type Converter interface {
	// FromConnect serializes a value described by s (nil: schemaless) to
	// the bytes written to Kafka (Kafka Connect's fromConnectData).
	FromConnect(topic string, s *schema.Schema, data any) ([]byte, error)
	// ToConnect deserializes bytes read from Kafka (toConnectData).
	ToConnect(topic string, b []byte) (*schema.Schema, any, error)
	// PassesThrough reports whether this converter would write a raw
	// payload described by s (a string or bytes payload, or nil for
	// unknown) unchanged, and read bytes back as the same payload. The
	// runtime then skips conversion and passes the bytes along untouched.
	PassesThrough(s *schema.Schema) bool
}
