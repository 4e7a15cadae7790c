package converter

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"strconv"
	"sync"

	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protoreflect"
	"google.golang.org/protobuf/types/dynamicpb"

	"github.com/sluicehq/sluice/connectors/converter/schemaregistry"
	"github.com/sluicehq/sluice/connectors/schema"
)

// ProtobufClass is Confluent's class name of ProtobufConverter.
const ProtobufClass = "io.confluent.connect.protobuf.ProtobufConverter"

// protobufConverter is Confluent's ProtobufConverter: Connect data as a
// Protobuf message in Confluent's wire format (the header, then the
// message indexes, then the message), its .proto schema kept in a Schema
// Registry.
//
// Schemas and values map as Confluent's ProtobufData maps them
// (protobuf_gen.go writes the schema, protobuf_read.go reads one,
// protobuf_value.go converts the data):
//
//	int8, int16         int32 with (confluent.field_meta) connect.type
//	int32, int64        int32, int64 (or the type in the Type parameter)
//	float, double       float, double
//	boolean             bool
//	string, bytes       string, bytes
//	Decimal             confluent.type.Decimal (precision and scale in field_meta)
//	Date                google.type.Date
//	Time                google.type.TimeOfDay
//	Timestamp           google.protobuf.Timestamp
//	array               repeated
//	map                 repeated XEntry {key = 1; value = 2}
//	struct              a nested message (ConnectDefaultN when unnamed)
//	optional            proto3 optional (optional.for.nullables), or a wrapper
//	                    (wrapper.for.nullables)
//	a primitive value   its google.protobuf wrapper message
//
// Sluice's defaults differ from Confluent's in two settings, see
// protoOptions.
type protobufConverter struct {
	sr   *srConfig
	opts protoOptions

	mu      sync.Mutex
	written memo[*schema.Schema, *protoSchema]
	read    map[int32]*protoFile
	latest  memo[string, *protoSchema]
}

// protoOptions are ProtobufData's settings, under Confluent's names.
type protoOptions struct {
	// optional.for.nullables: optional fields are proto3 optional, and
	// read as optional only when declared optional. Sluice's default is
	// true, Confluent's false (every field reads as optional).
	optionalForNullables bool
	// enhanced.protobuf.schema.support: read structs, enums and oneofs
	// by their full names (with the package). Sluice's default is true,
	// Confluent's false.
	enhanced bool
	// wrapper.for.nullables: optional primitives are Google's wrapper
	// messages, and wrappers read as optional primitives.
	wrapperForNullables bool
	// wrapper.for.raw.primitives: a top-level wrapper reads as its
	// primitive.
	wrapperForRawPrimitives bool
	// scrub.invalid.names: names that are not protobuf identifiers are
	// made into ones.
	scrubNames bool
	// generate.index.for.unions: a oneof reads as a field named
	// <oneof>_<index>.
	indexForUnions bool
	// flatten.unions: a oneof's members read as fields of the message.
	flattenUnions bool
	// optional.for.proto2: an unset proto2 optional field reads as null.
	optionalForProto2 bool
	// skip.known.types: register a schema without references to the
	// known types it imports; with false, register those first under
	// subjects of their names (for a registry that does not know them).
	skipKnownTypes bool
}

func parseProtoOptions(opts map[string]string) (protoOptions, error) {
	var o protoOptions
	for _, b := range []struct {
		name string
		def  bool
		to   *bool
	}{
		{"optional.for.nullables", true, &o.optionalForNullables},
		{"enhanced.protobuf.schema.support", true, &o.enhanced},
		{"wrapper.for.nullables", false, &o.wrapperForNullables},
		{"wrapper.for.raw.primitives", true, &o.wrapperForRawPrimitives},
		{"scrub.invalid.names", false, &o.scrubNames},
		{"generate.index.for.unions", true, &o.indexForUnions},
		{"flatten.unions", false, &o.flattenUnions},
		{"optional.for.proto2", true, &o.optionalForProto2},
		{"skip.known.types", true, &o.skipKnownTypes},
	} {
		v, err := boolOption(opts, b.name, b.def)
		if err != nil {
			return o, err
		}
		*b.to = v
	}
	return o, nil
}

// protoSchema is one message of a compiled schema, with its Connect twin.
type protoSchema struct {
	text    string
	imports []string // the files text imports (known types)
	full    string   // the message's full name
	msg     protoreflect.MessageDescriptor
	indexes []int // the message's indexes in its file
	connect *schema.Schema
	id      int32
}

// protoFile is a compiled schema from the registry, its messages mapped
// on demand, keyed by their message indexes.
type protoFile struct {
	file protoreflect.FileDescriptor
	msgs map[string]*protoSchema
}

func newProtobuf(opts map[string]string, isKey bool) (Converter, error) {
	sr, err := parseSRConfig(opts, isKey)
	if err != nil {
		return nil, err
	}
	po, err := parseProtoOptions(opts)
	if err != nil {
		return nil, err
	}
	return &protobufConverter{sr: sr, opts: po, read: map[int32]*protoFile{}}, nil
}

func (c *protobufConverter) PassesThrough(*schema.Schema) bool { return false }

// generate writes and compiles the schema of s.
func (c *protobufConverter) generate(s *schema.Schema) (*protoSchema, error) {
	var text, full string
	var err error
	switch s.Type {
	case schema.Struct:
		text, full, err = connectToProto(s, &c.opts)
	case schema.Array, schema.Map:
		err = fmt.Errorf("ProtobufConverter cannot write a top-level %s: it needs a struct or a primitive", s.Type)
	default:
		text, full, err = wrapperSchema(s)
	}
	if err != nil {
		return nil, err
	}
	fd, err := compileProto(protoRootFile, text, nil)
	if err != nil {
		return nil, fmt.Errorf("protobuf schema %s: %w", text, err)
	}
	indexes, md := findMessage(fd, protoreflect.FullName(full))
	if md == nil {
		return nil, fmt.Errorf("protobuf schema %s has no message %s", text, full)
	}
	var imports []string
	for i := range fd.Imports().Len() {
		if p := fd.Imports().Get(i).Path(); p != metaImport { // used, not imported, as Confluent does
			imports = append(imports, p)
		}
	}
	return &protoSchema{text: text, imports: imports, full: full, msg: md, indexes: indexes, connect: s}, nil
}

// findMessage finds a message of a file by its full name, and its indexes.
func findMessage(fd protoreflect.FileDescriptor, full protoreflect.FullName) ([]int, protoreflect.MessageDescriptor) {
	var walk func(msgs protoreflect.MessageDescriptors, path []int) ([]int, protoreflect.MessageDescriptor)
	walk = func(msgs protoreflect.MessageDescriptors, path []int) ([]int, protoreflect.MessageDescriptor) {
		for i := range msgs.Len() {
			md := msgs.Get(i)
			p := append(append([]int(nil), path...), i)
			if md.FullName() == full {
				return p, md
			}
			if got, m := walk(md.Messages(), p); m != nil {
				return got, m
			}
		}
		return nil, nil
	}
	return walk(fd.Messages(), nil)
}

func (c *protobufConverter) FromConnect(topic string, s *schema.Schema, data any) ([]byte, error) {
	if data == nil {
		return nil, nil
	}
	if s == nil {
		return nil, errors.New("ProtobufConverter needs a schema")
	}
	ps, err := c.written.get(s, func() (*protoSchema, error) { return c.generate(s) })
	if err != nil {
		return nil, err
	}
	subject, err := c.sr.subject(topic, ps.full)
	if err != nil {
		return nil, err
	}
	ctx, cancel := context.WithTimeout(context.Background(), registryTimeout)
	defer cancel()
	target, indexes := ps.msg, ps.indexes
	var id int32
	switch {
	case c.sr.useLatest && !c.sr.autoRegister: // Confluent registers first when both are on
		l, err := c.latest.get(subject, func() (*protoSchema, error) {
			got, err := c.sr.client.Latest(ctx, subject)
			if err != nil {
				return nil, err
			}
			pf, err := c.file(ctx, got.ID)
			if err != nil {
				return nil, err
			}
			// The message of the record's name, else the first.
			idx, md := findMessage(pf.file, protoreflect.FullName(ps.full))
			if md == nil {
				if pf.file.Messages().Len() == 0 {
					return nil, fmt.Errorf("schema id %d has no message", got.ID)
				}
				idx, md = []int{0}, pf.file.Messages().Get(0)
			}
			return &protoSchema{full: string(md.FullName()), msg: md, indexes: idx, id: got.ID}, nil
		})
		if err != nil {
			return nil, err
		}
		id, target, indexes = l.id, l.msg, l.indexes
	case !c.opts.skipKnownTypes && len(ps.imports) > 0:
		id, err = c.registerWithKnownTypes(ctx, subject, ps.text, ps.imports, c.sr.autoRegister)
	case c.sr.autoRegister:
		id, err = c.sr.client.Register(ctx, subject, schemaregistry.Protobuf, ps.text)
	default:
		id, err = c.sr.client.Lookup(ctx, subject, schemaregistry.Protobuf, ps.text)
	}
	if err != nil {
		return nil, err
	}
	var m protoreflect.Message
	if s.Type == schema.Struct {
		dm, err := toProtoMessage(target, data, c.opts.scrubNames)
		if err != nil {
			return nil, err
		}
		m = dm
	} else {
		dm := dynamicpb.NewMessage(target)
		if err := (protoWriter{}).fillMessage(dm, s, data); err != nil {
			return nil, err
		}
		m = dm
	}
	payload, err := marshalProto(m)
	if err != nil {
		return nil, err
	}
	buf := schemaregistry.AppendHeader(make([]byte, 0, len(payload)+8), id)
	buf = appendMessageIndexes(buf, indexes)
	return append(buf, payload...), nil
}

// appendMessageIndexes writes a message's indexes as Confluent does: zigzag
// varints, their count first, and [0] (the first message) as one 0.
func appendMessageIndexes(buf []byte, indexes []int) []byte {
	if len(indexes) == 1 && indexes[0] == 0 {
		return append(buf, 0)
	}
	buf = binary.AppendVarint(buf, int64(len(indexes)))
	for _, i := range indexes {
		buf = binary.AppendVarint(buf, int64(i))
	}
	return buf
}

// file is the compiled schema with id, its references fetched when it
// imports files other than the known types.
func (c *protobufConverter) file(ctx context.Context, id int32) (*protoFile, error) {
	c.mu.Lock()
	pf, ok := c.read[id]
	c.mu.Unlock()
	if ok {
		return pf, nil
	}
	got, err := c.sr.client.ByID(ctx, id)
	if err != nil {
		return nil, err
	}
	if got.Type != schemaregistry.Protobuf {
		return nil, fmt.Errorf("schema id %d is %s, not PROTOBUF", id, got.Type)
	}
	name := "schema-" + strconv.Itoa(int(id)) + ".proto"
	imports, err := protoImports(name, got.Schema)
	if err != nil {
		return nil, fmt.Errorf("schema id %d: %w", id, err)
	}
	var refs map[string]string
	for _, imp := range imports {
		if !isKnownProto(imp) {
			if refs, err = c.references(ctx, id, got.References); err != nil {
				return nil, err
			}
			break
		}
	}
	fd, err := compileProto(name, got.Schema, refs)
	if err != nil {
		return nil, fmt.Errorf("schema id %d: %w", id, err)
	}
	pf = &protoFile{file: fd, msgs: map[string]*protoSchema{}}
	c.mu.Lock()
	if len(c.read) >= maxCached {
		clear(c.read)
	}
	if prev, ok := c.read[id]; ok {
		pf = prev
	} else {
		c.read[id] = pf
	}
	c.mu.Unlock()
	return pf, nil
}

// message returns the message at indexes in the schema with id.
func (c *protobufConverter) message(ctx context.Context, id int32, indexes []int) (*protoSchema, error) {
	pf, err := c.file(ctx, id)
	if err != nil {
		return nil, err
	}
	key := fmt.Sprint(indexes)
	c.mu.Lock()
	ps, ok := pf.msgs[key]
	c.mu.Unlock()
	if ok {
		return ps, nil
	}
	msgs := pf.file.Messages()
	var md protoreflect.MessageDescriptor
	for _, i := range indexes {
		if i < 0 || i >= msgs.Len() {
			return nil, fmt.Errorf("schema id %d has no message at indexes %v", id, indexes)
		}
		md = msgs.Get(i)
		msgs = md.Messages()
	}
	if md == nil {
		return nil, fmt.Errorf("schema id %d: no message indexes", id)
	}
	cs, err := protoRootSchema(md, &c.opts)
	if err != nil {
		return nil, fmt.Errorf("schema id %d: %w", id, err)
	}
	ps = &protoSchema{full: string(md.FullName()), msg: md, indexes: indexes, connect: cs, id: id}
	c.mu.Lock()
	pf.msgs[key] = ps
	c.mu.Unlock()
	return ps, nil
}

func (c *protobufConverter) ToConnect(_ string, b []byte) (*schema.Schema, any, error) {
	if b == nil {
		return nil, nil, nil
	}
	id, rest, err := schemaregistry.SplitHeader(b)
	if err != nil {
		return nil, nil, err
	}
	n, k := binary.Varint(rest)
	if k <= 0 || n < 0 || n > 100 {
		return nil, nil, errors.New("protobuf: bad message indexes")
	}
	rest = rest[k:]
	indexes := []int{0}
	if n > 0 {
		indexes = make([]int, n)
		for i := range indexes {
			x, k := binary.Varint(rest)
			if k <= 0 {
				return nil, nil, errors.New("protobuf: bad message indexes")
			}
			indexes[i], rest = int(x), rest[k:]
		}
	}
	ctx, cancel := context.WithTimeout(context.Background(), registryTimeout)
	defer cancel()
	ps, err := c.message(ctx, id, indexes)
	if err != nil {
		return nil, nil, err
	}
	m := dynamicpb.NewMessage(ps.msg)
	if err := proto.Unmarshal(rest, m); err != nil {
		return nil, nil, fmt.Errorf("protobuf data of schema id %d: %w", id, err)
	}
	var v any
	if ps.connect.Type == schema.Struct {
		v, err = fromProtoMessage(ps.connect, m, &c.opts)
	} else {
		v, err = protoValueReader{opts: &c.opts}.messageValue(ps.connect, m)
	}
	if err != nil {
		return nil, nil, fmt.Errorf("protobuf data of schema id %d: %w", id, err)
	}
	return ps.connect, v, nil
}

func sortEntries(es []schema.MapEntry) {
	key := func(e schema.MapEntry) string { return fmt.Sprintf("%020v", e.Key) }
	for i := 1; i < len(es); i++ {
		for j := i; j > 0 && key(es[j]) < key(es[j-1]); j-- {
			es[j], es[j-1] = es[j-1], es[j]
		}
	}
}
