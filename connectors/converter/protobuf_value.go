package converter

import (
	"cmp"
	"errors"
	"fmt"
	"math"
	"math/big"
	"slices"
	"strconv"
	"time"

	"google.golang.org/protobuf/encoding/protowire"
	"google.golang.org/protobuf/reflect/protoreflect"
	"google.golang.org/protobuf/types/dynamicpb"

	"github.com/sluicehq/sluice/connectors/schema"
)

// Connect data to protobuf messages and back, as ProtobufData converts
// values (fromConnectData, toConnectData).

// toProtoMessage fills a message of md from a Connect struct, its fields
// matched by (scrubbed) name; fields md lacks are left out.
func toProtoMessage(md protoreflect.MessageDescriptor, data any, scrub bool) (*dynamicpb.Message, error) {
	sv, ok := data.(*schema.StructValue)
	if !ok {
		return nil, fmt.Errorf("%T is not a struct", data)
	}
	m := dynamicpb.NewMessage(md)
	return m, protoWriter{scrub: scrub}.fill(m, sv)
}

type protoWriter struct{ scrub bool }

func (w protoWriter) fieldByName(md protoreflect.MessageDescriptor, name string) protoreflect.FieldDescriptor {
	if w.scrub {
		name = scrubName(name)
	}
	return md.Fields().ByName(protoreflect.Name(name))
}

// fill sets the fields of m from a Connect struct.
func (w protoWriter) fill(m protoreflect.Message, sv *schema.StructValue) error {
	md := m.Descriptor()
	for i, f := range sv.Schema.Fields {
		v := sv.Values[i]
		if v == nil {
			v = f.Schema.Default
		}
		if v == nil {
			continue
		}
		fs := f.Schema
		if isUnion(fs) {
			// The member set, as the oneof's field.
			u, ok := v.(*schema.StructValue)
			if !ok {
				return fmt.Errorf("field %s: %T is not a union struct", f.Name, v)
			}
			found := false
			for j, mf := range u.Schema.Fields {
				mv := u.Values[j]
				if mv == nil {
					mv = mf.Schema.Default
				}
				if mv == nil {
					continue
				}
				fd := w.fieldByName(md, mf.Name)
				if fd == nil {
					return fmt.Errorf("field %s: no field %s in message %s", f.Name, mf.Name, md.FullName())
				}
				if err := w.set(m, fd, mf.Schema, mv); err != nil {
					return fmt.Errorf("field %s.%s: %w", f.Name, mf.Name, err)
				}
				found = true
				break
			}
			if !found {
				return fmt.Errorf("field %s: a union with no member set", f.Name)
			}
			continue
		}
		fd := w.fieldByName(md, f.Name)
		if fd == nil {
			continue
		}
		if err := w.set(m, fd, fs, v); err != nil {
			return fmt.Errorf("field %s: %w", f.Name, err)
		}
	}
	return nil
}

func (w protoWriter) set(m protoreflect.Message, fd protoreflect.FieldDescriptor, s *schema.Schema, v any) error {
	switch {
	case fd.IsMap():
		if s.Type != schema.Map {
			return fmt.Errorf("a %s for a protobuf map", s.Type)
		}
		entries, err := mapEntries(v)
		if err != nil {
			return err
		}
		mp := m.Mutable(fd).Map()
		for _, e := range entries {
			k, err := w.value(fd.MapKey(), s.Key, e.Key, nil)
			if err != nil {
				return fmt.Errorf("key: %w", err)
			}
			val, err := w.value(fd.MapValue(), s.Value, e.Value, mp.NewValue)
			if err != nil {
				return fmt.Errorf("[%v]: %w", e.Key, err)
			}
			mp.Set(k.MapKey(), val)
		}
	case fd.IsList() && s.Type == schema.Map && isMapField(fd):
		// ProtobufData's map: a repeated message of a key and a value.
		entries, err := mapEntries(v)
		if err != nil {
			return err
		}
		l := m.Mutable(fd).List()
		kf, vf := fd.Message().Fields().Get(0), fd.Message().Fields().Get(1)
		for _, e := range entries {
			em := l.NewElement()
			if e.Key != nil {
				if err := w.set(em.Message(), kf, s.Key, e.Key); err != nil {
					return fmt.Errorf("key: %w", err)
				}
			}
			if e.Value != nil {
				if err := w.set(em.Message(), vf, s.Value, e.Value); err != nil {
					return fmt.Errorf("[%v]: %w", e.Key, err)
				}
			}
			l.Append(em)
		}
	case fd.IsList():
		if s.Type != schema.Array {
			return fmt.Errorf("a %s for a repeated protobuf field", s.Type)
		}
		items, ok := v.([]any)
		if !ok {
			return fmt.Errorf("%T is not an array", v)
		}
		l := m.Mutable(fd).List()
		for i, it := range items {
			x, err := w.value(fd, s.Elem, it, l.NewElement)
			if err != nil {
				return fmt.Errorf("[%d]: %w", i, err)
			}
			l.Append(x)
		}
	default:
		x, err := w.value(fd, s, v, func() protoreflect.Value { return m.NewField(fd) })
		if err != nil {
			return err
		}
		m.Set(fd, x)
	}
	return nil
}

func mapEntries(v any) ([]schema.MapEntry, error) {
	switch x := v.(type) {
	case map[string]any:
		out := make([]schema.MapEntry, 0, len(x))
		for _, k := range sortedKeys(x) {
			out = append(out, schema.MapEntry{Key: k, Value: x[k]})
		}
		return out, nil
	case []schema.MapEntry:
		return x, nil
	}
	return nil, fmt.Errorf("%T is not a map", v)
}

// value is one value of field fd (an element, for lists and maps).
func (w protoWriter) value(fd protoreflect.FieldDescriptor, s *schema.Schema, v any, newMsg func() protoreflect.Value) (protoreflect.Value, error) {
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
		values := fd.Enum().Values()
		if name, ok := v.(string); ok {
			if ev := values.ByName(protoreflect.Name(name)); ev != nil {
				return protoreflect.ValueOfEnum(ev.Number()), nil
			}
			return protoreflect.Value{}, fmt.Errorf("%q is not a value of enum %s", name, fd.Enum().FullName())
		}
		n, err := toInt64(v)
		if err != nil {
			return protoreflect.Value{}, fmt.Errorf("%T is not an enum value", v)
		}
		return protoreflect.ValueOfEnum(protoreflect.EnumNumber(n)), nil
	case protoreflect.MessageKind:
		mv := newMsg()
		msg := mv.Message()
		if err := w.fillMessage(msg, s, v); err != nil {
			return protoreflect.Value{}, err
		}
		return mv, nil
	}
	return protoreflect.Value{}, fmt.Errorf("protobuf kind %s is not supported", fd.Kind())
}

// fillMessage fills a message-typed value: a logical type, a wrapper, or
// a struct.
func (w protoWriter) fillMessage(msg protoreflect.Message, s *schema.Schema, v any) error {
	md := msg.Descriptor()
	f := md.Fields()
	setInts := func(fields []namedInt) error {
		for _, x := range fields {
			fd := f.ByName(protoreflect.Name(x.name))
			switch {
			case fd == nil:
				return fmt.Errorf("message %s has no field %s", md.FullName(), x.name)
			case fd.Kind() == protoreflect.Int64Kind:
				msg.Set(fd, protoreflect.ValueOfInt64(x.n))
			case fd.Kind() == protoreflect.Uint32Kind:
				msg.Set(fd, protoreflect.ValueOfUint32(uint32(x.n)))
			default:
				msg.Set(fd, protoreflect.ValueOfInt32(int32(x.n)))
			}
		}
		return nil
	}
	full := string(md.FullName())
	switch full {
	case timestampMessage, dateMessage, timeOfDayMessage:
		t, ok := v.(time.Time)
		if !ok {
			return fmt.Errorf("%T is not a time for %s", v, full)
		}
		var fields []namedInt
		var err error
		switch full {
		case timestampMessage:
			fields, err = timestampFields(t)
		case dateMessage:
			fields, err = dateFields(t)
		default:
			fields, err = timeOfDayFields(t)
		}
		if err != nil {
			return err
		}
		return setInts(fields)
	case decimalMessage:
		d, ok := v.(schema.Decimal)
		if !ok {
			return fmt.Errorf("%T is not a Decimal", v)
		}
		unscaled := d.Unscaled
		if unscaled == nil {
			unscaled = new(big.Int)
		}
		fd := f.ByName("value")
		if fd == nil {
			return fmt.Errorf("message %s has no field value", md.FullName())
		}
		msg.Set(fd, protoreflect.ValueOfBytes(schema.TwosComplement(unscaled)))
		return setInts([]namedInt{{"precision", int64(decimalPrecisionOf(unscaled))}, {"scale", int64(d.Scale)}})
	}
	if _, ok := wrapperTypes[full]; ok {
		if _, isStruct := v.(*schema.StructValue); !isStruct {
			fd := f.ByName("value")
			x, err := w.value(fd, s, v, nil)
			if err != nil {
				return err
			}
			msg.Set(fd, x)
			return nil
		}
	}
	sv, ok := v.(*schema.StructValue)
	if !ok {
		return fmt.Errorf("%T is not a struct for message %s", v, full)
	}
	return w.fill(msg, sv)
}

// decimalPrecisionOf is Java's BigDecimal.precision: the digits of the
// unscaled value, 1 for zero.
func decimalPrecisionOf(x *big.Int) int {
	if x.Sign() == 0 {
		return 1
	}
	return len(new(big.Int).Abs(x).String())
}

const (
	millisPerDay = 86400000
	// The range of google.protobuf.Timestamp: 0001-01-01 to 9999-12-31.
	minTimestampSeconds = -62135596800
	maxTimestampSeconds = 253402300799
)

// namedInt is one integer field of a logical type's message.
type namedInt struct {
	name string
	n    int64
}

// timestampFields are the seconds and nanos of a Timestamp, from its
// milliseconds (Connect's precision).
func timestampFields(t time.Time) ([]namedInt, error) {
	ms := t.UnixMilli()
	sec, rem := floorDiv(ms, 1000)
	if sec < minTimestampSeconds || sec > maxTimestampSeconds {
		return nil, fmt.Errorf("timestamp %s is out of google.protobuf.Timestamp's range", t.UTC().Format(time.RFC3339))
	}
	return []namedInt{{"seconds", sec}, {"nanos", rem * 1e6}}, nil
}

// dateFields are the year, month and day of a Date, on Java's calendar:
// Julian before 1582-10-15, as Kafka Connect reads them.
func dateFields(t time.Time) ([]namedInt, error) {
	ms := t.UnixMilli()
	days, rem := floorDiv(ms, millisPerDay)
	if rem != 0 {
		return nil, errors.New("a Kafka Connect Date may not have a time of day")
	}
	y, m, d := javaCalendarDate(days)
	return []namedInt{{"year", y}, {"month", m}, {"day", d}}, nil
}

// timeOfDayFields are the hours, minutes, seconds and nanos of a Time.
func timeOfDayFields(t time.Time) ([]namedInt, error) {
	ms := t.UnixMilli()
	if ms < 0 || ms > millisPerDay {
		return nil, errors.New("a Kafka Connect Time must be between 0 and 86400000 milliseconds of 1970-01-01")
	}
	ms %= millisPerDay
	return []namedInt{{"hours", ms / 3600000}, {"minutes", ms / 60000 % 60}, {"seconds", ms / 1000 % 60}, {"nanos", ms % 1000 * 1e6}}, nil
}

func floorDiv(a, b int64) (q, r int64) {
	q, r = a/b, a%b
	if r < 0 {
		q, r = q-1, r+b
	}
	return q, r
}

// Java's GregorianCalendar, which Kafka Connect's dates go through: the
// Julian calendar before 1582-10-15 (Julian day 2299161), years before 1
// counted back from 1 BC (a year of 1 in the BC era).
const (
	epochJulianDay    = 2440588 // 1970-01-01
	gregorianCutover  = 2299161 // 1582-10-15
	javaCalendarMaxYr = 292278994
)

func javaCalendarDate(days int64) (year, month, day int64) {
	jd := days + epochJulianDay
	if jd >= gregorianCutover {
		y, m, d := time.Unix(days*86400, 0).UTC().Date()
		return int64(y), int64(m), int64(d)
	}
	// Julian day to the Julian calendar's year, month and day.
	c := jd + 32082
	d := floorQuo(4*c+3, 1461)
	e := c - floorQuo(1461*d, 4)
	m := floorQuo(5*e+2, 153)
	day = e - floorQuo(153*m+2, 5) + 1
	month = m + 3 - 12*floorQuo(m, 10)
	year = d - 4800 + floorQuo(m, 10)
	if year <= 0 {
		year = 1 - year
	}
	return year, month, day
}

func floorQuo(a, b int64) int64 {
	q, _ := floorDiv(a, b)
	return q
}

// javaCalendarDays is the day a google.type.Date stands for, checked as
// Java's non-lenient calendar checks it.
func javaCalendarDays(year, month, day int64) (int64, error) {
	bad := fmt.Errorf("google.type.Date %04d-%02d-%02d is not a valid date", year, month, day)
	if year < 1 || year > javaCalendarMaxYr || month < 1 || month > 12 || day < 1 {
		return 0, bad
	}
	ymd := year*10000 + month*100 + day
	var leap bool
	switch {
	case ymd >= 15821015:
		leap = year%4 == 0 && (year%100 != 0 || year%400 == 0)
	case ymd <= 15821004:
		leap = year%4 == 0
	default:
		return 0, bad // the ten days the Gregorian reform skipped
	}
	length := [13]int64{0, 31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31}[month]
	if month == 2 && leap {
		length = 29
	}
	if day > length {
		return 0, bad
	}
	if ymd >= 15821015 {
		return time.Date(int(year), time.Month(month), int(day), 0, 0, 0, 0, time.UTC).Unix() / 86400, nil
	}
	a := (14 - month) / 12
	y := year + 4800 - a
	m := month + 12*a - 3
	return day + (153*m+2)/5 + 365*y + y/4 - 32083 - epochJulianDay, nil
}

// fromProtoMessage reads a message as a Connect struct of schema s (from
// protoToConnect of its descriptor).
func fromProtoMessage(s *schema.Schema, m protoreflect.Message, opts *protoOptions) (*schema.StructValue, error) {
	r := protoValueReader{opts: opts}
	return r.message(s, m)
}

type protoValueReader struct{ opts *protoOptions }

func (r protoValueReader) message(s *schema.Schema, m protoreflect.Message) (*schema.StructValue, error) {
	sv := schema.NewStruct(s)
	md := m.Descriptor()
	for i, f := range s.Fields {
		if isUnion(f.Schema) {
			for j, mf := range f.Schema.Fields {
				fd := md.Fields().ByName(protoreflect.Name(mf.Name))
				if fd == nil || !m.Has(fd) {
					continue
				}
				x, err := r.field(fd, mf.Schema, m.Get(fd))
				if err != nil {
					return nil, fmt.Errorf("field %s: %w", fd.Name(), err)
				}
				u := schema.NewStruct(f.Schema)
				u.Values[j] = x
				sv.Values[i] = u
				break
			}
			continue
		}
		fd := md.Fields().ByName(protoreflect.Name(f.Name))
		if fd == nil || !m.Has(fd) && !r.readsUnset(fd) {
			continue
		}
		x, err := r.field(fd, f.Schema, m.Get(fd))
		if err != nil {
			return nil, fmt.Errorf("field %s: %w", fd.Name(), err)
		}
		sv.Values[i] = x
	}
	return sv, nil
}

// readsUnset reports whether an unset field reads as its default rather
// than null: scalars, enums and repeated fields, unless declared optional
// or in a oneof.
func (r protoValueReader) readsUnset(fd protoreflect.FieldDescriptor) bool {
	if od := fd.ContainingOneof(); od != nil {
		return false
	}
	if r.opts.optionalForProto2 && hasOptionalKeyword(fd) {
		return false
	}
	return fd.Kind() != protoreflect.MessageKind && fd.Kind() != protoreflect.GroupKind || fd.IsList() || fd.IsMap()
}

func (r protoValueReader) field(fd protoreflect.FieldDescriptor, s *schema.Schema, v protoreflect.Value) (any, error) {
	switch {
	case fd.IsMap():
		mp := v.Map()
		var entries []schema.MapEntry
		var err error
		mp.Range(func(k protoreflect.MapKey, x protoreflect.Value) bool {
			var key, val any
			if key, err = r.value(fd.MapKey(), s.Key, k.Value()); err != nil {
				return false
			}
			val, err = r.value(fd.MapValue(), s.Value, x)
			entries = append(entries, schema.MapEntry{Key: key, Value: val})
			return err == nil
		})
		if err != nil {
			return nil, err
		}
		return connectMap(s, entries), nil
	case fd.IsList() && s.Type == schema.Map:
		l := v.List()
		kf, vf := fd.Message().Fields().Get(0), fd.Message().Fields().Get(1)
		entries := make([]schema.MapEntry, 0, l.Len())
		for j := range l.Len() {
			em := l.Get(j).Message()
			key, err := r.field(kf, s.Key, em.Get(kf))
			if err != nil {
				return nil, fmt.Errorf("key: %w", err)
			}
			// An unset value reads as its default, a message too.
			val, err := r.field(vf, s.Value, em.Get(vf))
			if err != nil {
				return nil, fmt.Errorf("[%v]: %w", key, err)
			}
			entries = append(entries, schema.MapEntry{Key: key, Value: val})
		}
		return connectMap(s, entries), nil
	case fd.IsList():
		l := v.List()
		out := make([]any, l.Len())
		for j := range l.Len() {
			x, err := r.value(fd, s.Elem, l.Get(j))
			if err != nil {
				return nil, fmt.Errorf("[%d]: %w", j, err)
			}
			out[j] = x
		}
		return out, nil
	}
	return r.value(fd, s, v)
}

// connectMap is a map's entries as Connect data: map[string]any with
// string keys, else entries sorted by key.
func connectMap(s *schema.Schema, entries []schema.MapEntry) any {
	if s.Key.Type == schema.String {
		out := make(map[string]any, len(entries))
		for _, e := range entries {
			if k, ok := e.Key.(string); ok {
				out[k] = e.Value
			}
		}
		return out
	}
	sortEntries(entries)
	if entries == nil {
		entries = []schema.MapEntry{}
	}
	return entries
}

func (r protoValueReader) value(fd protoreflect.FieldDescriptor, s *schema.Schema, v protoreflect.Value) (any, error) {
	switch fd.Kind() {
	case protoreflect.Int32Kind, protoreflect.Sint32Kind, protoreflect.Sfixed32Kind:
		switch s.Type {
		case schema.Int8:
			return int8(v.Int()), nil
		case schema.Int16:
			return int16(v.Int()), nil
		}
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
		return append([]byte{}, v.Bytes()...), nil
	case protoreflect.EnumKind:
		if ev := fd.Enum().Values().ByNumber(v.Enum()); ev != nil {
			return string(ev.Name()), nil
		}
		return strconv.Itoa(int(v.Enum())), nil
	case protoreflect.MessageKind, protoreflect.GroupKind:
		return r.messageValue(s, v.Message())
	}
	return nil, fmt.Errorf("protobuf kind %s is not supported", fd.Kind())
}

// messageValue reads a message-typed value: a logical type, a wrapper read
// as its primitive, or a struct.
func (r protoValueReader) messageValue(s *schema.Schema, msg protoreflect.Message) (any, error) {
	f := msg.Descriptor().Fields()
	get := func(name string) protoreflect.Value {
		fd := f.ByName(protoreflect.Name(name))
		if fd == nil {
			return protoreflect.Value{}
		}
		return msg.Get(fd)
	}
	switch s.Name {
	case schema.TimestampName:
		sec, nanos := get("seconds").Int(), get("nanos").Int()
		if sec < minTimestampSeconds || sec > maxTimestampSeconds || nanos < 0 || nanos > 999999999 {
			return nil, fmt.Errorf("google.protobuf.Timestamp %ds %dns is out of range", sec, nanos)
		}
		return time.UnixMilli(sec*1000 + nanos/1e6).UTC(), nil
	case schema.DateName:
		days, err := javaCalendarDays(get("year").Int(), get("month").Int(), get("day").Int())
		if err != nil {
			return nil, err
		}
		return schema.DaysToDate(int32(days)), nil
	case schema.TimeName:
		h, m, sec, n := get("hours").Int(), get("minutes").Int(), get("seconds").Int(), get("nanos").Int()
		if h < 0 || h > 23 || m < 0 || m > 59 || sec < 0 || sec > 59 || n < 0 || n > 999999999 {
			return nil, fmt.Errorf("google.type.TimeOfDay %d:%d:%d.%09d is not a valid time", h, m, sec, n)
		}
		return schema.MillisToTime(int32(h*3600000 + m*60000 + sec*1000 + n/1e6)), nil
	case schema.DecimalName:
		return readDecimal(get("value").Bytes(), get("precision").Uint(), get("scale").Int()), nil
	}
	if s.Type != schema.Struct {
		// A wrapper, read as its primitive.
		fd := f.ByName("value")
		if fd == nil {
			return nil, fmt.Errorf("message %s is not a wrapper", msg.Descriptor().FullName())
		}
		return r.value(fd, s, msg.Get(fd))
	}
	return r.message(s, msg)
}

// readDecimal is a confluent.type.Decimal as Confluent reads it: the
// unscaled value rounded half up to its precision, when it has one.
func readDecimal(b []byte, precision uint64, scale int64) schema.Decimal {
	u := schema.FromTwosComplement(b)
	if precision > 0 {
		if drop := int64(decimalPrecisionOf(u)) - int64(precision); drop > 0 {
			pow := new(big.Int).Exp(big.NewInt(10), big.NewInt(drop), nil)
			q, rem := new(big.Int).QuoRem(u, pow, new(big.Int))
			if new(big.Int).Mul(new(big.Int).Abs(rem), big.NewInt(2)).Cmp(pow) >= 0 {
				q.Add(q, big.NewInt(int64(u.Sign())))
			}
			u, scale = q, scale-drop
			if int64(decimalPrecisionOf(u)) > int64(precision) { // 99.9 to 100
				u.Quo(u, big.NewInt(10))
				scale--
			}
		}
	}
	return schema.Decimal{Unscaled: u, Scale: int32(scale)}
}

// marshalProto encodes a message with its fields in the order of their
// numbers, as Java's protobuf runtime writes them (Go's writes them in the
// order they are declared).
func marshalProto(m protoreflect.Message) ([]byte, error) {
	return appendProtoMessage(nil, m)
}

func appendProtoMessage(b []byte, m protoreflect.Message) ([]byte, error) {
	var set []protoreflect.FieldDescriptor
	m.Range(func(fd protoreflect.FieldDescriptor, _ protoreflect.Value) bool {
		set = append(set, fd)
		return true
	})
	slices.SortFunc(set, func(a, b protoreflect.FieldDescriptor) int { return cmp.Compare(a.Number(), b.Number()) })
	var err error
	for _, fd := range set {
		v := m.Get(fd)
		switch {
		case fd.IsMap():
			mp := v.Map()
			keys := make([]protoreflect.MapKey, 0, mp.Len())
			mp.Range(func(k protoreflect.MapKey, _ protoreflect.Value) bool {
				keys = append(keys, k)
				return true
			})
			slices.SortFunc(keys, compareMapKeys)
			for _, k := range keys {
				var entry []byte
				if entry, err = appendProtoValue(nil, fd.MapKey(), k.Value()); err != nil {
					return nil, err
				}
				if entry, err = appendProtoValue(entry, fd.MapValue(), mp.Get(k)); err != nil {
					return nil, err
				}
				b = protowire.AppendTag(b, fd.Number(), protowire.BytesType)
				b = protowire.AppendBytes(b, entry)
			}
		case fd.IsList() && fd.IsPacked():
			l := v.List()
			var packed []byte
			for i := range l.Len() {
				packed = appendProtoScalar(packed, fd.Kind(), l.Get(i))
			}
			b = protowire.AppendTag(b, fd.Number(), protowire.BytesType)
			b = protowire.AppendBytes(b, packed)
		case fd.IsList():
			l := v.List()
			for i := range l.Len() {
				if b, err = appendProtoValue(b, fd, l.Get(i)); err != nil {
					return nil, err
				}
			}
		default:
			if b, err = appendProtoValue(b, fd, v); err != nil {
				return nil, err
			}
		}
	}
	return b, nil
}

// appendProtoValue appends one value of fd with its tag.
func appendProtoValue(b []byte, fd protoreflect.FieldDescriptor, v protoreflect.Value) ([]byte, error) {
	switch fd.Kind() {
	case protoreflect.MessageKind:
		sub, err := appendProtoMessage(nil, v.Message())
		if err != nil {
			return nil, err
		}
		b = protowire.AppendTag(b, fd.Number(), protowire.BytesType)
		return protowire.AppendBytes(b, sub), nil
	case protoreflect.GroupKind:
		return nil, errors.New("protobuf groups are not supported")
	case protoreflect.StringKind:
		b = protowire.AppendTag(b, fd.Number(), protowire.BytesType)
		return protowire.AppendString(b, v.String()), nil
	case protoreflect.BytesKind:
		b = protowire.AppendTag(b, fd.Number(), protowire.BytesType)
		return protowire.AppendBytes(b, v.Bytes()), nil
	}
	b = protowire.AppendTag(b, fd.Number(), wireTypeOf(fd.Kind()))
	return appendProtoScalar(b, fd.Kind(), v), nil
}

func wireTypeOf(k protoreflect.Kind) protowire.Type {
	switch k {
	case protoreflect.Fixed32Kind, protoreflect.Sfixed32Kind, protoreflect.FloatKind:
		return protowire.Fixed32Type
	case protoreflect.Fixed64Kind, protoreflect.Sfixed64Kind, protoreflect.DoubleKind:
		return protowire.Fixed64Type
	}
	return protowire.VarintType
}

// appendProtoScalar appends a numeric, boolean or enum value, untagged.
func appendProtoScalar(b []byte, k protoreflect.Kind, v protoreflect.Value) []byte {
	switch k {
	case protoreflect.BoolKind:
		return protowire.AppendVarint(b, protowire.EncodeBool(v.Bool()))
	case protoreflect.EnumKind:
		return protowire.AppendVarint(b, uint64(int64(v.Enum())))
	case protoreflect.Int32Kind, protoreflect.Int64Kind:
		return protowire.AppendVarint(b, uint64(v.Int()))
	case protoreflect.Sint32Kind, protoreflect.Sint64Kind:
		return protowire.AppendVarint(b, protowire.EncodeZigZag(v.Int()))
	case protoreflect.Uint32Kind, protoreflect.Uint64Kind:
		return protowire.AppendVarint(b, v.Uint())
	case protoreflect.Fixed32Kind:
		return protowire.AppendFixed32(b, uint32(v.Uint()))
	case protoreflect.Sfixed32Kind:
		return protowire.AppendFixed32(b, uint32(v.Int()))
	case protoreflect.FloatKind:
		return protowire.AppendFixed32(b, math.Float32bits(float32(v.Float())))
	case protoreflect.Fixed64Kind:
		return protowire.AppendFixed64(b, v.Uint())
	case protoreflect.Sfixed64Kind:
		return protowire.AppendFixed64(b, uint64(v.Int()))
	case protoreflect.DoubleKind:
		return protowire.AppendFixed64(b, math.Float64bits(v.Float()))
	}
	return b
}

func compareMapKeys(a, b protoreflect.MapKey) int {
	switch x := a.Interface().(type) {
	case bool:
		return cmp.Compare(boolInt(x), boolInt(b.Bool()))
	case int32, int64:
		return cmp.Compare(a.Int(), b.Int())
	case uint32, uint64:
		return cmp.Compare(a.Uint(), b.Uint())
	}
	return cmp.Compare(a.String(), b.String())
}

func boolInt(b bool) int {
	if b {
		return 1
	}
	return 0
}
