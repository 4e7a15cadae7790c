// Package schema is Kafka Connect's data model in Go: the schema types
// (primitives, struct, array, map, optional, defaults) and the logical types
// (Decimal, Date, Time, Timestamp) that connectors producing structured data
// describe their records with, and that converters read and write.
package schema

// Type is a Kafka Connect schema type, spelled as in JsonConverter's envelope.
type Type string

// The schema types of Kafka Connect (org.apache.kafka.connect.data.Schema.Type).
const (
	Int8    Type = "int8"
	Int16   Type = "int16"
	Int32   Type = "int32"
	Int64   Type = "int64"
	Float32 Type = "float"
	Float64 Type = "double"
	Boolean Type = "boolean"
	String  Type = "string"
	Bytes   Type = "bytes"
	Array   Type = "array"
	Map     Type = "map"
	Struct  Type = "struct"
)

// Schema describes a value. A nil *Schema means the value has no schema
// (schemaless data, as with JsonConverter's schemas.enable=false).
type Schema struct {
	Type       Type
	Optional   bool
	Default    any
	Name       string
	Version    int32
	Doc        string
	Parameters map[string]string
	// Fields of a struct, in order.
	Fields []Field
	// Key and Value schemas of a map.
	Key, Value *Schema
	// Elem is the schema of an array's elements.
	Elem *Schema
}

// Field is one field of a struct schema.
type Field struct {
	Name   string
	Index  int
	Schema *Schema
}
