package converter

import (
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"

	"github.com/sluicehq/sluice/connectors/schema"
)

// Connect schema parameters and protobuf names of Confluent's ProtobufData.
const (
	protoNamespace    = "io.confluent.connect.protobuf"
	protoTagParam     = protoNamespace + ".Tag"     // a field's number
	protoTypeParam    = protoNamespace + ".Type"    // sint32, uint32, fixed64, …
	protoEnumParam    = protoNamespace + ".Enum"    // an enum's name; .SYMBOL its values
	protoUnionName    = protoNamespace + ".Union"   // a oneof, as a struct
	protoWrapperParam = protoNamespace + ".Wrapper" // a oneof member that was a wrapper
	connectTypeParam  = "connect.type"              // int8 or int16, in field_meta
	decimalPrecision  = "connect.decimal.precision" // Decimal's precision
	defaultSchemaName = "ConnectDefault"            // unnamed structs and maps
	decimalMessage    = "confluent.type.Decimal"    // Decimal
	dateMessage       = "google.type.Date"          // Date
	timeOfDayMessage  = "google.type.TimeOfDay"     // Time
	timestampMessage  = "google.protobuf.Timestamp" // Timestamp
	wrappersImport    = "google/protobuf/wrappers.proto"
	mapEntrySuffix    = "Entry"
	protoRootFile     = "connect.proto"
)

// knownImports are the files defining the message types ProtobufData uses.
var knownImports = map[string]string{
	decimalMessage:   "confluent/type/decimal.proto",
	dateMessage:      "google/type/date.proto",
	timeOfDayMessage: "google/type/timeofday.proto",
	timestampMessage: "google/protobuf/timestamp.proto",
}

// wrapperTypes are Google's wrapper messages and the Connect type each
// reads as.
var wrapperTypes = map[string]schema.Type{
	"google.protobuf.DoubleValue": schema.Float64,
	"google.protobuf.FloatValue":  schema.Float32,
	"google.protobuf.Int64Value":  schema.Int64,
	"google.protobuf.UInt64Value": schema.Int64,
	"google.protobuf.Int32Value":  schema.Int32,
	"google.protobuf.UInt32Value": schema.Int64,
	"google.protobuf.BoolValue":   schema.Boolean,
	"google.protobuf.StringValue": schema.String,
	"google.protobuf.BytesValue":  schema.Bytes,
}

// isUnion reports whether a struct schema stands for a oneof.
func isUnion(s *schema.Schema) bool {
	return s != nil && s.Type == schema.Struct && strings.HasPrefix(s.Name, protoUnionName)
}

// protoGen writes the .proto schema of a Connect struct as Confluent's
// ProtobufData builds it and its Schema Registry client prints it, so
// that the registry sees the schema Kafka Connect would register.
type protoGen struct {
	opts    *protoOptions
	n       int // the last ConnectDefault number given
	imports []string
}

// protoMsg, protoFieldDef, protoOneof and protoEnum are the parts of the
// schema being written.
type protoMsg struct {
	name    string
	fields  []protoFieldDef
	oneofs  []protoOneof
	nested  []*protoMsg
	enums   []protoEnum
	defined map[string]bool // nested messages defined here
}

type protoFieldDef struct {
	label, typ, name string
	number           int
	params           [][2]string // field_meta params, in order
}

type protoOneof struct {
	name   string
	fields []protoFieldDef
}

type protoEnum struct {
	name   string
	values []protoEnumValue
}

type protoEnumValue struct {
	name   string
	number int
}

// connectToProto returns the .proto text of a struct schema and the full
// name of its message.
func connectToProto(s *schema.Schema, opts *protoOptions) (text, full string, err error) {
	g := &protoGen{opts: opts}
	parts := strings.Split(g.nameOrDefault(s.Name), ".")
	for i := range parts {
		parts[i] = g.scrub(parts[i])
	}
	pkg, name := strings.Join(parts[:len(parts)-1], "."), parts[len(parts)-1]
	m, err := g.message(name, s)
	if err != nil {
		return "", "", err
	}
	var b strings.Builder
	b.WriteString("syntax = \"proto3\";\n")
	if pkg != "" {
		b.WriteString("package " + pkg + ";\n")
	}
	if len(g.imports) > 0 {
		b.WriteByte('\n')
		for _, imp := range g.imports {
			b.WriteString("import \"" + imp + "\";\n")
		}
	}
	b.WriteByte('\n')
	b.WriteString(m.format())
	full = name
	if pkg != "" {
		full = pkg + "." + name
	}
	return b.String(), full, nil
}

// nameOrDefault is a schema's name, or the next ConnectDefault name.
func (g *protoGen) nameOrDefault(name string) string {
	if name != "" {
		return name
	}
	g.n++
	return defaultSchemaName + strconv.Itoa(g.n)
}

// unqualified is the last part of a schema's name (or of the next default).
func (g *protoGen) unqualified(name string) string {
	full := g.nameOrDefault(name)
	return g.scrub(full[strings.LastIndexByte(full, '.')+1:])
}

func (g *protoGen) scrub(name string) string {
	if g.opts.scrubNames {
		return scrubName(name)
	}
	return name
}

func (g *protoGen) addImport(path string) {
	if !slices.Contains(g.imports, path) {
		g.imports = append(g.imports, path)
	}
}

func (g *protoGen) message(name string, s *schema.Schema) (*protoMsg, error) {
	m := &protoMsg{name: name, defined: map[string]bool{}}
	next := 1
	for _, f := range s.Fields {
		number, ok := tagOf(f.Schema)
		if !ok {
			number, next = next, next+1
		}
		if isUnion(f.Schema) {
			if err := g.oneof(m, f.Schema, &next); err != nil {
				return nil, fmt.Errorf("field %s: %w", f.Name, err)
			}
			continue
		}
		fd, err := g.field(m, f.Schema, g.scrub(f.Name), number, false)
		if err != nil {
			return nil, fmt.Errorf("field %s: %w", f.Name, err)
		}
		m.fields = append(m.fields, fd)
	}
	return m, nil
}

// tagOf is a field's number from its protobuf.tag parameter.
func tagOf(s *schema.Schema) (int, bool) {
	n, err := strconv.Atoi(s.Parameters[protoTagParam])
	return n, err == nil && n > 0
}

// oneof adds a union struct's fields as a oneof. A member without a tag
// parameter takes the next number (Confluent requires the parameter).
func (g *protoGen) oneof(m *protoMsg, u *schema.Schema, next *int) error {
	o := protoOneof{name: g.unqualified(strings.TrimPrefix(strings.TrimPrefix(u.Name, protoUnionName), "."))}
	for _, f := range u.Fields {
		number, ok := tagOf(f.Schema)
		if !ok {
			number, *next = *next, *next+1
		}
		fd, err := g.field(m, f.Schema, g.scrub(f.Name), number, true)
		if err != nil {
			return fmt.Errorf("%s: %w", f.Name, err)
		}
		o.fields = append(o.fields, fd)
	}
	m.oneofs = append(m.oneofs, o)
	return nil
}

// field is one field of m, defining in m the nested messages and enums it
// needs.
func (g *protoGen) field(m *protoMsg, s *schema.Schema, name string, number int, oneofMember bool) (protoFieldDef, error) {
	fd := protoFieldDef{name: name, number: number}
	switch {
	case s.Type == schema.Array || s.Type == schema.Map:
		fd.label = "repeated"
	case g.opts.optionalForNullables && s.Optional && !oneofMember:
		fd.label = "optional"
	}
	elem := s
	if s.Type == schema.Array {
		elem = s.Elem
		if elem.Type == schema.Array || elem.Type == schema.Map {
			return fd, errors.New("protobuf: an array of arrays or maps is not supported")
		}
	}
	typ, err := g.dataType(elem, name, &fd.params, oneofMember)
	if err != nil {
		return fd, err
	}
	fd.typ = typ
	switch {
	case elem.Type == schema.Struct:
		if isUnion(elem) {
			return fd, errors.New("protobuf: a union is a field of a struct only")
		}
		if typ != m.name && !m.defined[typ] {
			m.defined[typ] = true
			sub, err := g.message(typ, elem)
			if err != nil {
				return fd, err
			}
			m.nested = append(m.nested, sub)
		}
	case elem.Type == schema.Map:
		entry, err := g.mapEntry(typ, elem)
		if err != nil {
			return fd, err
		}
		m.nested = append(m.nested, entry)
	case elem.Parameters[protoEnumParam] != "":
		e := g.enum(elem)
		if !slices.ContainsFunc(m.enums, func(x protoEnum) bool { return x.name == e.name }) {
			m.enums = append(m.enums, e)
		}
	default:
		if imp, ok := knownImports[typ]; ok {
			g.addImport(imp)
		} else if _, ok := wrapperTypes[typ]; ok {
			g.addImport(wrappersImport)
		}
	}
	return fd, nil
}

// mapEntry is the message of a map's entries, as ProtobufData writes a
// map: a repeated message of a key and a value.
func (g *protoGen) mapEntry(name string, s *schema.Schema) (*protoMsg, error) {
	if s.Value.Type == schema.Array || s.Value.Type == schema.Map || s.Key.Type == schema.Array || s.Key.Type == schema.Map {
		return nil, errors.New("protobuf: a map of arrays or maps is not supported")
	}
	m := &protoMsg{name: name, defined: map[string]bool{}}
	for i, part := range []struct {
		name string
		s    *schema.Schema
	}{{"key", s.Key}, {"value", s.Value}} {
		fd, err := g.field(m, part.s, part.name, i+1, false)
		if err != nil {
			return nil, fmt.Errorf("map %s: %w", part.name, err)
		}
		m.fields = append(m.fields, fd)
	}
	return m, nil
}

// enum is the enum of a string (or int32) schema with ProtobufData's enum
// parameters; its values in the order of their numbers.
func (g *protoGen) enum(s *schema.Schema) protoEnum {
	e := protoEnum{name: g.unqualified(s.Name)}
	for k, v := range s.Parameters {
		sym, ok := strings.CutPrefix(k, protoEnumParam+".")
		if n, err := strconv.Atoi(v); ok && err == nil {
			e.values = append(e.values, protoEnumValue{sym, n})
		}
	}
	slices.SortFunc(e.values, func(a, b protoEnumValue) int {
		if a.number != b.number {
			return a.number - b.number
		}
		return strings.Compare(a.name, b.name)
	})
	return e
}

// dataType is the protobuf type of a field's schema (an array's element),
// its field_meta parameters added to params.
func (g *protoGen) dataType(s *schema.Schema, field string, params *[][2]string, oneofMember bool) (string, error) {
	switch s.Name {
	case schema.DecimalName:
		if p, ok := s.Parameters[decimalPrecision]; ok {
			*params = append(*params, [2]string{"precision", p})
		}
		if sc, ok := s.Parameters[schema.DecimalScaleParam]; ok {
			*params = append(*params, [2]string{"scale", sc})
		}
		return decimalMessage, nil
	case schema.DateName:
		return dateMessage, nil
	case schema.TimeName:
		return timeOfDayMessage, nil
	case schema.TimestampName:
		return timestampMessage, nil
	}
	wrap := g.opts.wrapperForNullables && s.Optional && (!oneofMember || s.Parameters[protoWrapperParam] == "true")
	pick := func(plain, wrapper string) string {
		if wrap {
			return wrapper
		}
		return plain
	}
	typeParam := func(def string) string {
		if t := s.Parameters[protoTypeParam]; t != "" {
			return t
		}
		return def
	}
	switch s.Type {
	case schema.Int8, schema.Int16:
		*params = append(*params, [2]string{connectTypeParam, string(s.Type)})
		return pick("int32", "google.protobuf.Int32Value"), nil
	case schema.Int32:
		if e := s.Parameters[protoEnumParam]; e != "" {
			return e, nil
		}
		return pick(typeParam("int32"), "google.protobuf.Int32Value"), nil
	case schema.Int64:
		t := typeParam("int64")
		switch t {
		case "uint32", "fixed32":
			return pick(t, "google.protobuf.UInt32Value"), nil
		case "uint64", "fixed64":
			return pick(t, "google.protobuf.UInt64Value"), nil
		}
		return pick(t, "google.protobuf.Int64Value"), nil
	case schema.Float32:
		return pick("float", "google.protobuf.FloatValue"), nil
	case schema.Float64:
		return pick("double", "google.protobuf.DoubleValue"), nil
	case schema.Boolean:
		return pick("bool", "google.protobuf.BoolValue"), nil
	case schema.String:
		if e := s.Parameters[protoEnumParam]; e != "" {
			return e, nil
		}
		return pick("string", "google.protobuf.StringValue"), nil
	case schema.Bytes:
		return pick("bytes", "google.protobuf.BytesValue"), nil
	case schema.Map:
		return toMapEntry(g.unqualified(s.Name)), nil
	case schema.Struct:
		name := g.unqualified(s.Name)
		if name == field {
			name += "Message" // a message may not share its field's name
		}
		return name, nil
	}
	return "", fmt.Errorf("protobuf: unknown schema type %q", s.Type)
}

// toMapEntry names a map's entry message: snake_case made CamelCase, then
// Entry.
func toMapEntry(name string) string {
	if strings.Contains(name, "_") {
		var b strings.Builder
		for _, w := range strings.Split(name, "_") {
			if w != "" {
				b.WriteString(strings.ToUpper(w[:1]) + asciiLower(w[1:]))
			}
		}
		name = b.String()
	}
	return name + mapEntrySuffix
}

// toMapField names a map read from an entry message: XyzEntry is xyz (and
// FooBarEntry foo_bar), the rest of a dotted name kept.
func toMapField(name string) string {
	i := strings.LastIndexByte(name, '.') + 1
	last, ok := strings.CutSuffix(name[i:], mapEntrySuffix)
	if !ok {
		return name
	}
	var b strings.Builder
	for j := 0; j < len(last); j++ {
		c := last[j]
		if c >= 'A' && c <= 'Z' {
			if j > 0 {
				b.WriteByte('_')
			}
			c += 'a' - 'A'
		}
		b.WriteByte(c)
	}
	return name[:i] + b.String()
}

func asciiLower(s string) string {
	b := []byte(s)
	for i, c := range b {
		if c >= 'A' && c <= 'Z' {
			b[i] = c + 'a' - 'A'
		}
	}
	return string(b)
}

// scrubName makes a name a valid protobuf identifier as Confluent's
// ProtobufData does under scrub.invalid.names (see scrubIdentifier; a
// leading underscore is scrubbed too).
func scrubName(name string) string { return scrubIdentifier(name, false) }

// The printer: Confluent's layout of a schema, so that the text registered
// is the text Kafka Connect registers.

// indentTo appends s indented by two spaces, line by line (an empty line
// gets the two spaces too, as Confluent's printer does).
func indentTo(b *strings.Builder, s string) {
	s = strings.TrimRight(s, "\n")
	for _, line := range strings.Split(s, "\n") {
		b.WriteString("  " + line + "\n")
	}
}

func (m *protoMsg) format() string {
	var b strings.Builder
	b.WriteString("message " + m.name + " {")
	if len(m.fields) > 0 {
		b.WriteByte('\n')
		for _, f := range m.fields {
			indentTo(&b, f.format())
		}
	}
	if len(m.oneofs) > 0 {
		b.WriteByte('\n')
		for _, o := range m.oneofs {
			var ob strings.Builder
			ob.WriteString("oneof " + o.name + " {")
			if len(o.fields) > 0 {
				ob.WriteByte('\n')
				for _, f := range o.fields {
					f.label = ""
					indentTo(&ob, f.format())
				}
			}
			ob.WriteString("}\n")
			indentTo(&b, ob.String())
		}
	}
	if len(m.nested)+len(m.enums) > 0 {
		b.WriteByte('\n')
		for _, n := range m.nested {
			indentTo(&b, n.format())
		}
		for _, e := range m.enums {
			var eb strings.Builder
			eb.WriteString("enum " + e.name + " {")
			if len(e.values) > 0 {
				eb.WriteByte('\n')
				for _, v := range e.values {
					indentTo(&eb, v.name+" = "+strconv.Itoa(v.number)+";")
				}
			}
			eb.WriteString("}\n")
			indentTo(&b, eb.String())
		}
	}
	b.WriteString("}\n")
	return b.String()
}

func (f protoFieldDef) format() string {
	var b strings.Builder
	if f.label != "" {
		b.WriteString(f.label + " ")
	}
	b.WriteString(f.typ + " " + f.name + " = " + strconv.Itoa(f.number))
	if len(f.params) > 0 {
		// [(confluent.field_meta) = { params: [ { key: …, value: … } ] }],
		// precision and scale with their value first, as Confluent has it.
		var list strings.Builder
		list.WriteString("[\n")
		for i, p := range f.params {
			kv := []string{"key: " + quoteProto(p[0]), "value: " + quoteProto(p[1])}
			if p[0] == "precision" || p[0] == "scale" {
				kv[0], kv[1] = kv[1], kv[0]
			}
			item := "{\n" + "  " + kv[0] + ",\n" + "  " + kv[1] + "\n}"
			if i < len(f.params)-1 {
				item += ","
			}
			indentTo(&list, item)
		}
		list.WriteString("]")
		var opt strings.Builder
		opt.WriteString("[(confluent.field_meta) = {\n")
		indentTo(&opt, "params: "+list.String())
		opt.WriteString("}]")
		b.WriteString(" " + opt.String())
	}
	b.WriteString(";\n")
	return b.String()
}

// quoteProto quotes a string as Confluent's printer does.
func quoteProto(s string) string {
	var b strings.Builder
	b.WriteByte('"')
	for _, r := range s {
		switch r {
		case '\a':
			b.WriteString(`\a`)
		case '\b':
			b.WriteString(`\b`)
		case '\f':
			b.WriteString(`\f`)
		case '\n':
			b.WriteString(`\n`)
		case '\r':
			b.WriteString(`\r`)
		case '\t':
			b.WriteString(`\t`)
		case '\v':
			b.WriteString(`\v`)
		case '\\':
			b.WriteString(`\\`)
		case '\'':
			b.WriteString(`\'`)
		case '"':
			b.WriteString(`\"`)
		default:
			b.WriteRune(r)
		}
	}
	b.WriteByte('"')
	return b.String()
}

// wrappersProto is Google's wrappers.proto as Confluent prints it (from
// Java's compiled descriptor, so with json_name options): the schema
// ProtobufData registers for a primitive value.
const wrappersProto = `syntax = "proto3";
package google.protobuf;

option java_package = "com.google.protobuf";
option java_outer_classname = "WrappersProto";
option java_multiple_files = true;
option go_package = "google.golang.org/protobuf/types/known/wrapperspb";
option cc_enable_arenas = true;
option objc_class_prefix = "GPB";
option csharp_namespace = "Google.Protobuf.WellKnownTypes";

message DoubleValue {
  double value = 1 [json_name = "value"];
}
message FloatValue {
  float value = 1 [json_name = "value"];
}
message Int64Value {
  int64 value = 1 [json_name = "value"];
}
message UInt64Value {
  uint64 value = 1 [json_name = "value"];
}
message Int32Value {
  int32 value = 1 [json_name = "value"];
}
message UInt32Value {
  uint32 value = 1 [json_name = "value"];
}
message BoolValue {
  bool value = 1 [json_name = "value"];
}
message StringValue {
  string value = 1 [json_name = "value"];
}
message BytesValue {
  bytes value = 1 [json_name = "value"];
}
`

// wrapperSchema is the schema of a primitive value and its message's
// name: ProtobufData writes a primitive as its wrapper.
func wrapperSchema(s *schema.Schema) (text, full string, err error) {
	if s.Name == schema.DecimalName || s.Name == schema.DateName || s.Name == schema.TimeName || s.Name == schema.TimestampName {
		return "", "", fmt.Errorf("ProtobufConverter cannot write a top-level %s: only in a struct", s.Name)
	}
	switch s.Type {
	case schema.Int8, schema.Int16, schema.Int32:
		full = "google.protobuf.Int32Value"
	case schema.Int64:
		full = "google.protobuf.Int64Value"
	case schema.Float32:
		full = "google.protobuf.FloatValue"
	case schema.Float64:
		full = "google.protobuf.DoubleValue"
	case schema.Boolean:
		full = "google.protobuf.BoolValue"
	case schema.String:
		full = "google.protobuf.StringValue"
	case schema.Bytes:
		full = "google.protobuf.BytesValue"
	default:
		return "", "", fmt.Errorf("protobuf: unknown schema type %q", s.Type)
	}
	return wrappersProto, full, nil
}
