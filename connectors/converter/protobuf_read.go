package converter

import (
	"fmt"
	"strconv"
	"strings"

	"google.golang.org/protobuf/encoding/protowire"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protoreflect"

	"github.com/sluicehq/sluice/connectors/schema"
)

// protoReader maps protobuf messages to Connect schemas as Confluent's
// ProtobufData does (toConnectSchema).
type protoReader struct {
	opts *protoOptions
	open map[protoreflect.FullName]bool // messages being mapped, against recursion
}

// protoRootSchema is the Connect schema of a message read at the top
// level: a wrapper (google.protobuf.StringValue, …) is its primitive, with
// wrapper.for.raw.primitives.
func protoRootSchema(md protoreflect.MessageDescriptor, opts *protoOptions) (*schema.Schema, error) {
	if t, ok := wrapperTypes[string(md.FullName())]; ok && opts.wrapperForRawPrimitives {
		return &schema.Schema{Type: t}, nil
	}
	r := &protoReader{opts: opts, open: map[protoreflect.FullName]bool{}}
	return r.message(md)
}

func (r *protoReader) message(md protoreflect.MessageDescriptor) (*schema.Schema, error) {
	if r.open[md.FullName()] {
		return nil, fmt.Errorf("protobuf: message %s refers to itself, which a Connect schema cannot", md.FullName())
	}
	r.open[md.FullName()] = true
	defer delete(r.open, md.FullName())
	s := &schema.Schema{Type: schema.Struct, Name: r.name(md.Name(), md.FullName())}
	if strings.HasPrefix(string(md.Name()), defaultSchemaName) {
		s.Name = "" // a struct that had no name
	}
	// The field numbers Sluice's writer would give the fields are left
	// implicit; any other number is kept in the field's tag parameter.
	next := 1
	add := func(name string, fs *schema.Schema, number int) {
		switch {
		case number == next:
			next++
		default:
			setParam(fs, protoTagParam, strconv.Itoa(number))
		}
		s.Fields = append(s.Fields, schema.Field{Name: name, Index: len(s.Fields), Schema: fs})
	}
	// Oneofs come first, as ProtobufData reads them: a struct of its
	// members, or with flatten.unions, the members themselves.
	oneofs := md.Oneofs()
	for i := range oneofs.Len() {
		od := oneofs.Get(i)
		if od.IsSynthetic() {
			continue
		}
		if r.opts.flattenUnions {
			for j := range od.Fields().Len() {
				fd := od.Fields().Get(j)
				fs, err := r.field(fd, true)
				if err != nil {
					return nil, fmt.Errorf("field %s: %w", fd.Name(), err)
				}
				add(string(fd.Name()), fs, int(fd.Number()))
			}
			continue
		}
		u := &schema.Schema{Type: schema.Struct, Optional: true,
			Name: protoUnionName + "." + r.name(od.Name(), od.FullName())}
		for j := range od.Fields().Len() {
			fd := od.Fields().Get(j)
			fs, err := r.field(fd, true)
			if err != nil {
				return nil, fmt.Errorf("field %s: %w", fd.Name(), err)
			}
			setParam(fs, protoTagParam, strconv.Itoa(int(fd.Number())))
			u.Fields = append(u.Fields, schema.Field{Name: string(fd.Name()), Index: j, Schema: fs})
		}
		name := string(od.Name())
		if r.opts.indexForUnions {
			name += "_" + strconv.Itoa(od.Index())
		}
		add(name, u, next) // the union takes a number when written
	}
	fields := md.Fields()
	for i := range fields.Len() {
		fd := fields.Get(i)
		if od := fd.ContainingOneof(); od != nil && !od.IsSynthetic() {
			continue
		}
		fs, err := r.field(fd, false)
		if err != nil {
			return nil, fmt.Errorf("field %s: %w", fd.Name(), err)
		}
		add(string(fd.Name()), fs, int(fd.Number()))
	}
	return s, nil
}

// name is a message's, enum's or oneof's Connect name: its full name with
// enhanced.protobuf.schema.support, else its own.
func (r *protoReader) name(name protoreflect.Name, full protoreflect.FullName) string {
	if r.opts.enhanced {
		return string(full)
	}
	return string(name)
}

func setParam(s *schema.Schema, k, v string) {
	if s.Parameters == nil {
		s.Parameters = map[string]string{}
	}
	s.Parameters[k] = v
}

// field is a field's Connect schema.
func (r *protoReader) field(fd protoreflect.FieldDescriptor, oneofMember bool) (*schema.Schema, error) {
	var s *schema.Schema
	isMessage := false
	switch fd.Kind() {
	case protoreflect.Int32Kind, protoreflect.Sint32Kind, protoreflect.Sfixed32Kind:
		switch fieldMeta(fd)[connectTypeParam] {
		case "int8":
			s = &schema.Schema{Type: schema.Int8}
		case "int16":
			s = &schema.Schema{Type: schema.Int16}
		default:
			s = &schema.Schema{Type: schema.Int32}
			if fd.Kind() != protoreflect.Int32Kind {
				setParam(s, protoTypeParam, fd.Kind().String())
			}
		}
	case protoreflect.Uint32Kind, protoreflect.Fixed32Kind, protoreflect.Int64Kind, protoreflect.Uint64Kind,
		protoreflect.Sint64Kind, protoreflect.Fixed64Kind, protoreflect.Sfixed64Kind:
		s = &schema.Schema{Type: schema.Int64}
		if fd.Kind() != protoreflect.Int64Kind {
			setParam(s, protoTypeParam, fd.Kind().String())
		}
	case protoreflect.FloatKind:
		s = &schema.Schema{Type: schema.Float32}
	case protoreflect.DoubleKind:
		s = &schema.Schema{Type: schema.Float64}
	case protoreflect.BoolKind:
		s = &schema.Schema{Type: schema.Boolean}
	case protoreflect.StringKind:
		s = &schema.Schema{Type: schema.String}
	case protoreflect.BytesKind:
		s = &schema.Schema{Type: schema.Bytes}
	case protoreflect.EnumKind:
		ed := fd.Enum()
		s = &schema.Schema{Type: schema.String, Optional: true, Name: r.name(ed.Name(), ed.FullName()),
			Parameters: map[string]string{protoEnumParam: string(ed.Name())}}
		values := ed.Values()
		for i := range values.Len() {
			v := values.Get(i)
			s.Parameters[protoEnumParam+"."+string(v.Name())] = strconv.Itoa(int(v.Number()))
		}
	case protoreflect.MessageKind, protoreflect.GroupKind:
		isMessage = true
		var err error
		if s, err = r.messageField(fd); err != nil {
			return nil, err
		}
		s.Optional = true
	default:
		return nil, fmt.Errorf("protobuf kind %s has no Connect type", fd.Kind())
	}
	if fd.IsList() && s.Type != schema.Map {
		s.Optional = true
		s = &schema.Schema{Type: schema.Array, Elem: s, Optional: true}
	}
	switch {
	case oneofMember:
		s.Optional = true
		if r.opts.wrapperForNullables && isMessage && wrapperTypes[string(fd.Message().FullName())] != "" {
			setParam(s, protoWrapperParam, "true")
		}
	case r.opts.optionalForNullables:
		if hasOptionalKeyword(fd) {
			s.Optional = true
		}
	case !r.opts.wrapperForNullables:
		s.Optional = true
	}
	return s, nil
}

// messageField is the schema of a message-typed field: a logical type, a
// map, an unwrapped wrapper, or a struct.
func (r *protoReader) messageField(fd protoreflect.FieldDescriptor) (*schema.Schema, error) {
	md := fd.Message()
	switch md.FullName() {
	case decimalMessage:
		meta := fieldMeta(fd)
		scale, _ := strconv.Atoi(meta["scale"])
		s := schema.DecimalSchema(int32(scale))
		if p, err := strconv.Atoi(meta["precision"]); err == nil {
			s.Parameters[decimalPrecision] = strconv.Itoa(p)
		}
		return s, nil
	case dateMessage:
		return schema.DateSchema(), nil
	case timeOfDayMessage:
		return schema.TimeSchema(), nil
	case timestampMessage:
		return schema.TimestampSchema(), nil
	}
	if t, ok := wrapperTypes[string(md.FullName())]; ok && r.opts.wrapperForNullables {
		return &schema.Schema{Type: t}, nil
	}
	if isMapField(fd) {
		k, err := r.field(md.Fields().Get(0), false)
		if err != nil {
			return nil, fmt.Errorf("map key: %w", err)
		}
		v, err := r.field(md.Fields().Get(1), false)
		if err != nil {
			return nil, fmt.Errorf("map value: %w", err)
		}
		s := schema.MapSchema(k, v)
		if !strings.HasPrefix(string(md.Name()), defaultSchemaName) {
			s.Name = toMapField(r.name(md.Name(), md.FullName()))
		}
		return s, nil
	}
	return r.message(md)
}

// isMapField reports whether a field is a map: a protobuf map, or as
// ProtobufData writes one, a repeated message named …Entry of a key and a
// value.
func isMapField(fd protoreflect.FieldDescriptor) bool {
	if fd.IsMap() {
		return true
	}
	if !fd.IsList() || fd.Message() == nil || !strings.HasSuffix(string(fd.Message().Name()), mapEntrySuffix) {
		return false
	}
	fs := fd.Message().Fields()
	return fs.Len() == 2 && fs.Get(0).Name() == "key" && fs.Get(1).Name() == "value" &&
		!fs.Get(0).IsList() && !fs.Get(1).IsList()
}

// hasOptionalKeyword reports whether a field is declared optional: proto3
// optional, or proto2 optional outside a oneof.
func hasOptionalKeyword(fd protoreflect.FieldDescriptor) bool {
	if od := fd.ContainingOneof(); od != nil {
		return od.IsSynthetic()
	}
	return fd.ParentFile().Syntax() == protoreflect.Proto2 && fd.Cardinality() == protoreflect.Optional
}

// confluentMetaField is the number of Confluent's confluent.field_meta
// option.
const confluentMetaField = 1088

// fieldMeta is the params map of a field's (confluent.field_meta) option.
func fieldMeta(fd protoreflect.FieldDescriptor) map[string]string {
	opts := fd.Options()
	if opts == nil {
		return nil
	}
	b, err := proto.MarshalOptions{Deterministic: true}.Marshal(opts)
	if err != nil {
		return nil
	}
	var out map[string]string
	eachField(b, func(num protowire.Number, typ protowire.Type, v []byte) {
		if num != confluentMetaField || typ != protowire.BytesType {
			return
		}
		eachField(v, func(num protowire.Number, typ protowire.Type, entry []byte) {
			if num != 2 || typ != protowire.BytesType { // Meta.params
				return
			}
			var k, val string
			eachField(entry, func(num protowire.Number, typ protowire.Type, x []byte) {
				if typ == protowire.BytesType && num == 1 {
					k = string(x)
				} else if typ == protowire.BytesType && num == 2 {
					val = string(x)
				}
			})
			if out == nil {
				out = map[string]string{}
			}
			out[k] = val
		})
	})
	return out
}

// eachField calls fn with each field of an encoded message; the value of a
// length-delimited field is its contents.
func eachField(b []byte, fn func(protowire.Number, protowire.Type, []byte)) {
	for len(b) > 0 {
		num, typ, n := protowire.ConsumeTag(b)
		if n < 0 {
			return
		}
		b = b[n:]
		if typ == protowire.BytesType {
			v, m := protowire.ConsumeBytes(b)
			if m < 0 {
				return
			}
			fn(num, typ, v)
			b = b[m:]
			continue
		}
		m := protowire.ConsumeFieldValue(num, typ, b)
		if m < 0 {
			return
		}
		fn(num, typ, nil)
		b = b[m:]
	}
}
