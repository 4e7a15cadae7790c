package converter

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"sync"
	"time"
	"unicode"

	"github.com/bufbuild/protocompile"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protoreflect"
	"google.golang.org/protobuf/types/dynamicpb"

	"github.com/sluicehq/sluice/connectors/converter/schemaregistry"
	"github.com/sluicehq/sluice/connectors/schema"
)

// ProtobufClass is Confluent's class name of ProtobufConverter.
const ProtobufClass = "io.confluent.connect.protobuf.ProtobufConverter"

// protobufConverter is Confluent's ProtobufConverter: a Connect struct as
// a Protobuf message in Confluent's wire format (the header, then the
// message indexes, then the message), its .proto schema kept in a Schema
// Registry.
//
// The mapping is close to Confluent's ProtobufData with
// optional.for.nullables=true (that is, proto3 optional for optional
// fields); unlike it, Sluice adds no protobuf.tag parameters, keeps arrays
// and maps required, and writes int8 and int16 without connect.type
// field options:
//
//	int8, int16, int32  int32
//	int64               int64
//	float, double       float, double
//	boolean             bool
//	string, bytes       string, bytes
//	Timestamp           google.protobuf.Timestamp
//	array               repeated
//	map                 map<K, V> (keys: string, integers or boolean)
//	struct              a message (nested structs as nested messages)
//	optional            proto3 optional (messages are always optional)
//
// Decimal, Date and Time need schema references (confluent/type/decimal.proto,
// google/type/date.proto) and are not written yet.
type protobufConverter struct {
	sr *srConfig

	mu      sync.Mutex
	written memo[*schema.Schema, *protoSchema]
	read    map[int32]*protoFile
	latest  memo[string, *protoSchema]
}

// protoSchema is one message of a compiled schema, with its Connect twin.
type protoSchema struct {
	text    string
	msg     protoreflect.MessageDescriptor
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
	return &protobufConverter{sr: sr, read: map[int32]*protoFile{}}, nil
}

func (c *protobufConverter) PassesThrough(*schema.Schema) bool { return false }

func compileProto(text string) (protoreflect.FileDescriptor, error) {
	comp := protocompile.Compiler{Resolver: protocompile.WithStandardImports(&protocompile.SourceResolver{
		Accessor: protocompile.SourceAccessorFromMap(map[string]string{"schema.proto": text}),
	})}
	files, err := comp.Compile(context.Background(), "schema.proto")
	if err != nil {
		return nil, err
	}
	return files[0], nil
}

func (c *protobufConverter) FromConnect(topic string, s *schema.Schema, data any) ([]byte, error) {
	if data == nil {
		return nil, nil
	}
	if s == nil || s.Type != schema.Struct {
		return nil, errors.New("ProtobufConverter needs a struct schema")
	}
	ps, err := c.written.get(s, func() (*protoSchema, error) {
		text, err := connectToProto(s)
		if err != nil {
			return nil, err
		}
		fd, err := compileProto(text)
		if err != nil {
			return nil, fmt.Errorf("protobuf schema %s: %w", text, err)
		}
		return &protoSchema{text: text, msg: fd.Messages().Get(0), connect: s}, nil
	})
	if err != nil {
		return nil, err
	}
	subject, err := c.sr.subject(topic, string(ps.msg.FullName()))
	if err != nil {
		return nil, err
	}
	ctx, cancel := context.WithTimeout(context.Background(), registryTimeout)
	defer cancel()
	target := ps.msg
	var id int32
	switch {
	case c.sr.useLatest && !c.sr.autoRegister: // Confluent registers first when both are on
		l, err := c.latest.get(subject, func() (*protoSchema, error) {
			got, err := c.sr.client.Latest(ctx, subject)
			if err != nil {
				return nil, err
			}
			return c.message(ctx, got.ID, []int{0})
		})
		if err != nil {
			return nil, err
		}
		id, target = l.id, l.msg
	case c.sr.autoRegister:
		id, err = c.sr.client.Register(ctx, subject, schemaregistry.Protobuf, ps.text)
	default:
		id, err = c.sr.client.Lookup(ctx, subject, schemaregistry.Protobuf, ps.text)
	}
	if err != nil {
		return nil, err
	}
	m, err := toProtoMessage(target, data)
	if err != nil {
		return nil, err
	}
	payload, err := proto.MarshalOptions{Deterministic: true}.Marshal(m)
	if err != nil {
		return nil, err
	}
	buf := schemaregistry.AppendHeader(make([]byte, 0, len(payload)+6), id)
	buf = append(buf, 0) // message indexes: [0], the file's first message
	return append(buf, payload...), nil
}

// message returns the message at indexes in the schema with id.
func (c *protobufConverter) message(ctx context.Context, id int32, indexes []int) (*protoSchema, error) {
	key := fmt.Sprint(indexes)
	c.mu.Lock()
	pf, ok := c.read[id]
	if ok {
		if ps, ok := pf.msgs[key]; ok {
			c.mu.Unlock()
			return ps, nil
		}
	}
	c.mu.Unlock()
	if !ok {
		got, err := c.sr.client.ByID(ctx, id)
		if err != nil {
			return nil, err
		}
		if got.Type != schemaregistry.Protobuf {
			return nil, fmt.Errorf("schema id %d is %s, not PROTOBUF", id, got.Type)
		}
		fd, err := compileProto(got.Schema)
		if err != nil {
			return nil, fmt.Errorf("schema id %d (schema references are not supported yet): %w", id, err)
		}
		pf = &protoFile{file: fd, msgs: map[string]*protoSchema{}}
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
	cs, err := protoToConnect(md)
	if err != nil {
		return nil, fmt.Errorf("schema id %d: %w", id, err)
	}
	ps := &protoSchema{msg: md, connect: cs, id: id}
	c.mu.Lock()
	if len(c.read) >= maxCached {
		clear(c.read)
	}
	c.read[id] = pf
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
	v, err := fromProtoMessage(ps.connect, m)
	if err != nil {
		return nil, nil, fmt.Errorf("protobuf data of schema id %d: %w", id, err)
	}
	return ps.connect, v, nil
}

// protoGen writes a .proto file for a Connect struct.
type protoGen struct {
	timestamp bool
}

func connectToProto(s *schema.Schema) (string, error) {
	g := &protoGen{}
	pkg, name := splitName(s.Name, "ConnectDefault1")
	body, err := g.message(name, s, "")
	if err != nil {
		return "", err
	}
	var b strings.Builder
	b.WriteString("syntax = \"proto3\";\n")
	if pkg != "" {
		b.WriteString("package " + pkg + ";\n")
	}
	if g.timestamp {
		b.WriteString("\nimport \"google/protobuf/timestamp.proto\";\n")
	}
	b.WriteString("\n" + body)
	return b.String(), nil
}

func splitName(full, def string) (pkg, name string) {
	if full == "" {
		return "", def
	}
	if i := strings.LastIndexByte(full, '.'); i >= 0 {
		return full[:i], full[i+1:]
	}
	return "", full
}

func (g *protoGen) message(name string, s *schema.Schema, indent string) (string, error) {
	var b, nested strings.Builder
	b.WriteString(indent + "message " + name + " {\n")
	used := map[string]bool{}
	for i, f := range s.Fields {
		typ, label, def, err := g.fieldType(f.Name, f.Schema, indent+"  ", used)
		if err != nil {
			return "", fmt.Errorf("field %s: %w", f.Name, err)
		}
		nested.WriteString(def)
		b.WriteString(fmt.Sprintf("%s  %s%s %s = %d;\n", indent, label, typ, f.Name, i+1))
	}
	b.WriteString(nested.String())
	b.WriteString(indent + "}\n")
	return b.String(), nil
}

// fieldType is a field's type, its label (repeated, optional) and the
// definitions of nested messages it needs.
func (g *protoGen) fieldType(field string, s *schema.Schema, indent string, used map[string]bool) (typ, label, def string, err error) {
	switch s.Type {
	case schema.Array:
		if s.Elem.Type == schema.Array || s.Elem.Type == schema.Map {
			return "", "", "", errors.New("protobuf: an array of arrays or maps is not supported")
		}
		typ, _, def, err = g.fieldType(field, s.Elem, indent, used)
		return typ, "repeated ", def, err
	case schema.Map:
		switch s.Key.Type {
		case schema.String, schema.Int32, schema.Int64, schema.Boolean, schema.Int8, schema.Int16:
		default:
			return "", "", "", fmt.Errorf("protobuf: map keys of type %s are not supported", s.Key.Type)
		}
		if s.Value.Type == schema.Array || s.Value.Type == schema.Map {
			return "", "", "", errors.New("protobuf: a map of arrays or maps is not supported")
		}
		k, _, _, err := g.fieldType(field, s.Key, indent, used)
		if err != nil {
			return "", "", "", err
		}
		v, _, def, err := g.fieldType(field, s.Value, indent, used)
		return "map<" + k + ", " + v + ">", "", def, err
	case schema.Struct:
		_, name := splitName(s.Name, "")
		if name == "" {
			name = camel(field)
		}
		if used[name] {
			return name, "", "", nil
		}
		used[name] = true
		def, err := g.message(name, s, indent)
		return name, "", def, err
	}
	switch s.Name {
	case schema.TimestampName:
		g.timestamp = true
		return "google.protobuf.Timestamp", "", "", nil
	case schema.DecimalName, schema.DateName, schema.TimeName:
		return "", "", "", fmt.Errorf("protobuf: %s is not supported yet", s.Name)
	}
	label = ""
	if s.Optional {
		label = "optional "
	}
	switch s.Type {
	case schema.Int8, schema.Int16, schema.Int32:
		return "int32", label, "", nil
	case schema.Int64:
		return "int64", label, "", nil
	case schema.Float32:
		return "float", label, "", nil
	case schema.Float64:
		return "double", label, "", nil
	case schema.Boolean:
		return "bool", label, "", nil
	case schema.String:
		return "string", label, "", nil
	case schema.Bytes:
		return "bytes", label, "", nil
	}
	return "", "", "", fmt.Errorf("protobuf: unknown schema type %q", s.Type)
}

func camel(s string) string {
	var b strings.Builder
	up := true
	for _, r := range s {
		if r == '_' || r == '-' || r == '.' {
			up = true
			continue
		}
		if up {
			r = unicode.ToUpper(r)
			up = false
		}
		b.WriteRune(r)
	}
	return b.String()
}

const timestampMessage = "google.protobuf.Timestamp"

// protoToConnect maps a message to a Connect struct.
func protoToConnect(md protoreflect.MessageDescriptor) (*schema.Schema, error) {
	s := &schema.Schema{Type: schema.Struct}
	if name := string(md.FullName()); !strings.HasPrefix(string(md.Name()), "ConnectDefault") {
		s.Name = name
	}
	fields := md.Fields()
	for i := range fields.Len() {
		fd := fields.Get(i)
		fs, err := protoFieldToConnect(fd)
		if err != nil {
			return nil, fmt.Errorf("field %s: %w", fd.Name(), err)
		}
		s.Fields = append(s.Fields, schema.Field{Name: string(fd.Name()), Index: i, Schema: fs})
	}
	return s, nil
}

func protoFieldToConnect(fd protoreflect.FieldDescriptor) (*schema.Schema, error) {
	if fd.IsMap() {
		k, err := protoKindToConnect(fd.MapKey())
		if err != nil {
			return nil, err
		}
		v, err := protoKindToConnect(fd.MapValue())
		if err != nil {
			return nil, err
		}
		return schema.MapSchema(k, v), nil
	}
	elem, err := protoKindToConnect(fd)
	if err != nil {
		return nil, err
	}
	if fd.IsList() {
		elem.Optional = false
		return schema.ArraySchema(elem), nil
	}
	return elem, nil
}

func protoKindToConnect(fd protoreflect.FieldDescriptor) (*schema.Schema, error) {
	var s *schema.Schema
	switch fd.Kind() {
	case protoreflect.Int32Kind, protoreflect.Sint32Kind, protoreflect.Sfixed32Kind:
		s = schema.Int32Schema()
	case protoreflect.Int64Kind, protoreflect.Sint64Kind, protoreflect.Sfixed64Kind,
		protoreflect.Uint32Kind, protoreflect.Fixed32Kind, protoreflect.Uint64Kind, protoreflect.Fixed64Kind:
		s = schema.Int64Schema()
	case protoreflect.FloatKind:
		s = schema.Float32Schema()
	case protoreflect.DoubleKind:
		s = schema.Float64Schema()
	case protoreflect.BoolKind:
		s = schema.BooleanSchema()
	case protoreflect.StringKind, protoreflect.EnumKind:
		s = schema.StringSchema()
	case protoreflect.BytesKind:
		s = schema.BytesSchema()
	case protoreflect.MessageKind, protoreflect.GroupKind:
		if fd.Message().FullName() == timestampMessage {
			s = schema.TimestampSchema()
		} else {
			var err error
			if s, err = protoToConnect(fd.Message()); err != nil {
				return nil, err
			}
		}
		s.Optional = true
		return s, nil
	default:
		return nil, fmt.Errorf("protobuf kind %s has no Connect type", fd.Kind())
	}
	s.Optional = fd.HasPresence() && !fd.IsList() && !fd.IsMap()
	return s, nil
}

// toProtoMessage fills a message of md from a Connect struct.
func toProtoMessage(md protoreflect.MessageDescriptor, data any) (*dynamicpb.Message, error) {
	sv, ok := data.(*schema.StructValue)
	if !ok {
		return nil, fmt.Errorf("%T is not a struct", data)
	}
	m := dynamicpb.NewMessage(md)
	fields := md.Fields()
	for i := range fields.Len() {
		fd := fields.Get(i)
		v := sv.Get(string(fd.Name()))
		if v == nil {
			if f := sv.Schema.Field(string(fd.Name())); f != nil {
				v = f.Schema.Default
			}
		}
		if v == nil {
			continue
		}
		switch {
		case fd.IsMap():
			mp := m.Mutable(fd).Map()
			var entries []schema.MapEntry
			switch x := v.(type) {
			case map[string]any:
				for _, k := range sortedKeys(x) {
					entries = append(entries, schema.MapEntry{Key: k, Value: x[k]})
				}
			case []schema.MapEntry:
				entries = x
			default:
				return nil, fmt.Errorf("field %s: %T is not a map", fd.Name(), v)
			}
			for _, e := range entries {
				k, err := protoValue(fd.MapKey(), e.Key, mp.NewValue)
				if err != nil {
					return nil, fmt.Errorf("field %s key: %w", fd.Name(), err)
				}
				val, err := protoValue(fd.MapValue(), e.Value, mp.NewValue)
				if err != nil {
					return nil, fmt.Errorf("field %s[%v]: %w", fd.Name(), e.Key, err)
				}
				mp.Set(k.MapKey(), val)
			}
		case fd.IsList():
			items, ok := v.([]any)
			if !ok {
				return nil, fmt.Errorf("field %s: %T is not an array", fd.Name(), v)
			}
			l := m.Mutable(fd).List()
			for i, it := range items {
				x, err := protoValue(fd, it, l.NewElement)
				if err != nil {
					return nil, fmt.Errorf("field %s[%d]: %w", fd.Name(), i, err)
				}
				l.Append(x)
			}
		default:
			x, err := protoValue(fd, v, func() protoreflect.Value { return m.NewField(fd) })
			if err != nil {
				return nil, fmt.Errorf("field %s: %w", fd.Name(), err)
			}
			m.Set(fd, x)
		}
	}
	return m, nil
}

// protoValue is one value of field fd (an element, for lists and maps).
func protoValue(fd protoreflect.FieldDescriptor, v any, newMsg func() protoreflect.Value) (protoreflect.Value, error) {
	if v == nil {
		return protoreflect.Value{}, errors.New("null in an array or map")
	}
	switch fd.Kind() {
	case protoreflect.Int32Kind, protoreflect.Sint32Kind, protoreflect.Sfixed32Kind:
		n, err := toInt64(v)
		return protoreflect.ValueOfInt32(int32(n)), err
	case protoreflect.Int64Kind, protoreflect.Sint64Kind, protoreflect.Sfixed64Kind:
		n, err := toInt64(v)
		return protoreflect.ValueOfInt64(n), err
	case protoreflect.Uint32Kind, protoreflect.Fixed32Kind:
		n, err := toInt64(v)
		return protoreflect.ValueOfUint32(uint32(n)), err
	case protoreflect.Uint64Kind, protoreflect.Fixed64Kind:
		n, err := toInt64(v)
		return protoreflect.ValueOfUint64(uint64(n)), err
	case protoreflect.FloatKind:
		f, ok := toFloat(v)
		if !ok {
			return protoreflect.Value{}, fmt.Errorf("%T is not a float", v)
		}
		return protoreflect.ValueOfFloat32(float32(f)), nil
	case protoreflect.DoubleKind:
		f, ok := toFloat(v)
		if !ok {
			return protoreflect.Value{}, fmt.Errorf("%T is not a double", v)
		}
		return protoreflect.ValueOfFloat64(f), nil
	case protoreflect.BoolKind:
		b, ok := v.(bool)
		if !ok {
			return protoreflect.Value{}, fmt.Errorf("%T is not a boolean", v)
		}
		return protoreflect.ValueOfBool(b), nil
	case protoreflect.StringKind:
		s, ok := v.(string)
		if !ok {
			return protoreflect.Value{}, fmt.Errorf("%T is not a string", v)
		}
		return protoreflect.ValueOfString(s), nil
	case protoreflect.BytesKind:
		b, ok := v.([]byte)
		if !ok {
			return protoreflect.Value{}, fmt.Errorf("%T is not bytes", v)
		}
		return protoreflect.ValueOfBytes(b), nil
	case protoreflect.EnumKind:
		s, ok := v.(string)
		if !ok {
			return protoreflect.Value{}, fmt.Errorf("%T is not an enum name", v)
		}
		ev := fd.Enum().Values().ByName(protoreflect.Name(s))
		if ev == nil {
			return protoreflect.Value{}, fmt.Errorf("%q is not a value of enum %s", s, fd.Enum().FullName())
		}
		return protoreflect.ValueOfEnum(ev.Number()), nil
	case protoreflect.MessageKind:
		if fd.Message().FullName() == timestampMessage {
			t, ok := v.(time.Time)
			if !ok {
				return protoreflect.Value{}, fmt.Errorf("%T is not a timestamp", v)
			}
			mv := newMsg()
			msg := mv.Message()
			f := fd.Message().Fields()
			msg.Set(f.ByName("seconds"), protoreflect.ValueOfInt64(t.Unix()))
			msg.Set(f.ByName("nanos"), protoreflect.ValueOfInt32(int32(t.Nanosecond())))
			return mv, nil
		}
		sub, err := toProtoMessage(fd.Message(), v)
		if err != nil {
			return protoreflect.Value{}, err
		}
		return protoreflect.ValueOfMessage(sub), nil
	}
	return protoreflect.Value{}, fmt.Errorf("protobuf kind %s is not supported", fd.Kind())
}

// fromProtoMessage reads a message as a Connect struct of schema s.
func fromProtoMessage(s *schema.Schema, m protoreflect.Message) (*schema.StructValue, error) {
	sv := schema.NewStruct(s)
	fields := m.Descriptor().Fields()
	for i := range fields.Len() {
		fd := fields.Get(i)
		fs := s.Fields[i].Schema
		if fd.HasPresence() && !m.Has(fd) {
			continue
		}
		switch {
		case fd.IsMap():
			mp := m.Get(fd).Map()
			if fs.Key.Type == schema.String {
				out := make(map[string]any, mp.Len())
				var err error
				mp.Range(func(k protoreflect.MapKey, v protoreflect.Value) bool {
					out[k.String()], err = fromProtoValue(fd.MapValue(), fs.Value, v)
					return err == nil
				})
				if err != nil {
					return nil, err
				}
				sv.Values[i] = out
				continue
			}
			var out []schema.MapEntry
			var err error
			mp.Range(func(k protoreflect.MapKey, v protoreflect.Value) bool {
				var key, val any
				if key, err = fromProtoValue(fd.MapKey(), fs.Key, k.Value()); err != nil {
					return false
				}
				val, err = fromProtoValue(fd.MapValue(), fs.Value, v)
				out = append(out, schema.MapEntry{Key: key, Value: val})
				return err == nil
			})
			if err != nil {
				return nil, err
			}
			sortEntries(out)
			sv.Values[i] = out
		case fd.IsList():
			l := m.Get(fd).List()
			out := make([]any, l.Len())
			for j := range l.Len() {
				x, err := fromProtoValue(fd, fs.Elem, l.Get(j))
				if err != nil {
					return nil, err
				}
				out[j] = x
			}
			sv.Values[i] = out
		default:
			x, err := fromProtoValue(fd, fs, m.Get(fd))
			if err != nil {
				return nil, fmt.Errorf("field %s: %w", fd.Name(), err)
			}
			sv.Values[i] = x
		}
	}
	return sv, nil
}

func fromProtoValue(fd protoreflect.FieldDescriptor, s *schema.Schema, v protoreflect.Value) (any, error) {
	switch fd.Kind() {
	case protoreflect.Int32Kind, protoreflect.Sint32Kind, protoreflect.Sfixed32Kind:
		return int32(v.Int()), nil
	case protoreflect.Int64Kind, protoreflect.Sint64Kind, protoreflect.Sfixed64Kind:
		return v.Int(), nil
	case protoreflect.Uint32Kind, protoreflect.Fixed32Kind, protoreflect.Uint64Kind, protoreflect.Fixed64Kind:
		return int64(v.Uint()), nil
	case protoreflect.FloatKind:
		return float32(v.Float()), nil
	case protoreflect.DoubleKind:
		return v.Float(), nil
	case protoreflect.BoolKind:
		return v.Bool(), nil
	case protoreflect.StringKind:
		return v.String(), nil
	case protoreflect.BytesKind:
		return append([]byte(nil), v.Bytes()...), nil
	case protoreflect.EnumKind:
		if ev := fd.Enum().Values().ByNumber(v.Enum()); ev != nil {
			return string(ev.Name()), nil
		}
		return strconv.Itoa(int(v.Enum())), nil
	case protoreflect.MessageKind:
		msg := v.Message()
		if fd.Message().FullName() == timestampMessage {
			f := fd.Message().Fields()
			return time.Unix(msg.Get(f.ByName("seconds")).Int(), msg.Get(f.ByName("nanos")).Int()).UTC(), nil
		}
		return fromProtoMessage(s, msg)
	}
	return nil, fmt.Errorf("protobuf kind %s is not supported", fd.Kind())
}

func sortEntries(es []schema.MapEntry) {
	key := func(e schema.MapEntry) string { return fmt.Sprintf("%020v", e.Key) }
	for i := 1; i < len(es); i++ {
		for j := i; j > 0 && key(es[j]) < key(es[j-1]); j-- {
			es[j], es[j-1] = es[j-1], es[j]
		}
	}
}
