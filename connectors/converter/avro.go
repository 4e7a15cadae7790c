package converter

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"math"
	"sort"
	"sync"
	"time"

	"github.com/hamba/avro/v2"

	"github.com/sluicehq/sluice/connectors/converter/schemaregistry"
	"github.com/sluicehq/sluice/connectors/schema"
)

// avroConverter is Confluent's AvroConverter: Connect data as Avro binary
// in Confluent's wire format, its schema registered in (or looked up from)
// a Schema Registry.
type avroConverter struct {
	sr *srConfig
	// scrub writes record and field names as valid Avro names
	// (scrub.invalid.names, as Confluent's AvroData).
	scrub bool

	mu      sync.Mutex
	written map[*schema.Schema]*avroSchema // Connect schema → its Avro schema
	byText  map[string]*avroSchema         // Avro schema text → parsed, for sources that make a schema per record
	read    memo[int32, *avroSchema]       // registry id → Avro and Connect schemas
	latest  memo[string, *avroSchema]      // subject → its latest version (use.latest.version)
}

// avroSchema is one Avro schema with its Connect twin.
type avroSchema struct {
	text    string
	avro    avro.Schema
	connect *schema.Schema
	id      int32
}

// maxCached bounds the caches of schemas.
const maxCached = 1000

// timeout bounds each call to the registry.
const registryTimeout = 30 * time.Second

func newAvro(opts map[string]string, isKey bool) (Converter, error) {
	sr, err := parseSRConfig(opts, isKey)
	if err != nil {
		return nil, err
	}
	c := &avroConverter{sr: sr, written: map[*schema.Schema]*avroSchema{}, byText: map[string]*avroSchema{}}
	if c.scrub, err = boolOption(opts, "scrub.invalid.names", false); err != nil {
		return nil, err
	}
	return c, nil
}

func (c *avroConverter) PassesThrough(*schema.Schema) bool { return false }

func parseAvro(text string) (avro.Schema, error) {
	return avro.ParseWithCache(text, "", &avro.SchemaCache{})
}

// forConnect returns the Avro schema of the Connect schema s.
func (c *avroConverter) forConnect(s *schema.Schema) (*avroSchema, error) {
	c.mu.Lock()
	as, ok := c.written[s]
	c.mu.Unlock()
	if ok {
		return as, nil
	}
	text, err := connectToAvro(s, c.sr.connectMeta, c.scrub)
	if err != nil {
		return nil, err
	}
	c.mu.Lock()
	as, ok = c.byText[text]
	c.mu.Unlock()
	if !ok {
		parsed, err := parseAvro(text)
		if err != nil {
			return nil, fmt.Errorf("avro schema %s: %w", text, err)
		}
		as = &avroSchema{text: text, avro: parsed, connect: s}
	}
	c.mu.Lock()
	if len(c.written) >= maxCached {
		clear(c.written)
		clear(c.byText)
	}
	c.written[s] = as
	c.byText[text] = as
	c.mu.Unlock()
	return as, nil
}

// recordName is the full name of a record schema, or "".
func recordName(s avro.Schema) string {
	if u, ok := s.(*avro.UnionSchema); ok && u.Nullable() && len(u.Types()) == 2 {
		for _, t := range u.Types() {
			if t.Type() != avro.Null {
				s = t
			}
		}
	}
	if r, ok := deref(s).(*avro.RecordSchema); ok {
		return r.FullName()
	}
	return ""
}

// FromConnect serializes data as Avro in Confluent's wire format.
func (c *avroConverter) FromConnect(topic string, s *schema.Schema, data any) ([]byte, error) {
	if data == nil {
		return nil, nil // a tombstone stays null
	}
	if s == nil {
		return nil, errors.New("AvroConverter needs a schema: the record has schemaless data")
	}
	as, err := c.forConnect(s)
	if err != nil {
		return nil, err
	}
	subject, err := c.sr.subject(topic, recordName(as.avro))
	if err != nil {
		return nil, err
	}
	ctx, cancel := context.WithTimeout(context.Background(), registryTimeout)
	defer cancel()
	target := as.avro
	var id int32
	switch {
	case c.sr.useLatest && !c.sr.autoRegister: // Confluent registers first when both are on
		l, err := c.latestOf(ctx, subject)
		if err != nil {
			return nil, err
		}
		id, target = l.id, l.avro
	case c.sr.autoRegister:
		id, err = c.sr.client.Register(ctx, subject, schemaregistry.Avro, as.text)
	default:
		id, err = c.sr.client.Lookup(ctx, subject, schemaregistry.Avro, as.text)
	}
	if err != nil {
		return nil, err
	}
	buf := schemaregistry.AppendHeader(make([]byte, 0, 64), id)
	return appendAvro(buf, target, data)
}

func (c *avroConverter) latestOf(ctx context.Context, subject string) (*avroSchema, error) {
	return c.latest.get(subject, func() (*avroSchema, error) {
		got, err := c.sr.client.Latest(ctx, subject)
		if err != nil {
			return nil, err
		}
		if got.Type != schemaregistry.Avro {
			return nil, fmt.Errorf("subject %s: latest schema is %s, not AVRO", subject, got.Type)
		}
		return c.byID(ctx, got.ID)
	})
}

// byID returns the schema with a registry id, parsed and mapped.
func (c *avroConverter) byID(ctx context.Context, id int32) (*avroSchema, error) {
	return c.read.get(id, func() (*avroSchema, error) {
		got, err := c.sr.client.ByID(ctx, id)
		if err != nil {
			return nil, err
		}
		if got.Type != schemaregistry.Avro {
			return nil, fmt.Errorf("schema id %d is %s, not AVRO", id, got.Type)
		}
		parsed, err := parseAvro(got.Schema)
		if err != nil {
			return nil, fmt.Errorf("schema id %d: %w", id, err)
		}
		cs, err := avroToConnect(parsed)
		if err != nil {
			return nil, fmt.Errorf("schema id %d: %w", id, err)
		}
		return &avroSchema{text: got.Schema, avro: parsed, connect: cs, id: id}, nil
	})
}

// ToConnect reads Avro in Confluent's wire format.
func (c *avroConverter) ToConnect(_ string, b []byte) (*schema.Schema, any, error) {
	if b == nil {
		return nil, nil, nil
	}
	id, payload, err := schemaregistry.SplitHeader(b)
	if err != nil {
		return nil, nil, err
	}
	ctx, cancel := context.WithTimeout(context.Background(), registryTimeout)
	defer cancel()
	as, err := c.byID(ctx, id)
	if err != nil {
		return nil, nil, err
	}
	r := &avroReader{b: payload}
	v, err := r.value(as.avro, as.connect)
	if err != nil {
		return nil, nil, fmt.Errorf("avro data of schema id %d: %w", id, err)
	}
	return as.connect, v, nil
}

// appendAvro appends v as Avro binary of schema as.
func appendAvro(buf []byte, as avro.Schema, v any) ([]byte, error) {
	switch t := as.(type) {
	case *avro.RefSchema:
		return appendAvro(buf, t.Schema(), v)
	case *avro.UnionSchema:
		for i, branch := range t.Types() {
			if (v == nil) == (branch.Type() == avro.Null) {
				buf = binary.AppendVarint(buf, int64(i))
				return appendAvro(buf, branch, v)
			}
		}
		return nil, fmt.Errorf("no branch of union %s takes %T", t.String(), v)
	}
	if v == nil && as.Type() != avro.Null {
		return nil, fmt.Errorf("null for a required %s", as.Type())
	}
	logical := ""
	if ls, ok := as.(avro.LogicalTypeSchema); ok && ls.Logical() != nil {
		logical = string(ls.Logical().Type())
	}
	switch as.Type() {
	case avro.Null:
		return buf, nil
	case avro.Boolean:
		b, ok := v.(bool)
		if !ok {
			return nil, fmt.Errorf("%T is not a boolean", v)
		}
		if b {
			return append(buf, 1), nil
		}
		return append(buf, 0), nil
	case avro.Int, avro.Long:
		var n int64
		var err error
		if t, ok := v.(time.Time); ok {
			switch logical {
			case "date":
				n = int64(schema.DateToDays(t))
			case "time-millis":
				n = int64(schema.TimeToMillis(t))
			case "timestamp-millis":
				n = schema.TimestampToMillis(t)
			case "timestamp-micros":
				n = t.UnixMicro()
			default:
				return nil, errors.New("a time for an Avro int or long without a date or time logical type")
			}
		} else if n, err = toInt64(v); err != nil {
			return nil, err
		}
		if as.Type() == avro.Int && (n < math.MinInt32 || n > math.MaxInt32) {
			return nil, fmt.Errorf("%d does not fit an Avro int", n)
		}
		return binary.AppendVarint(buf, n), nil
	case avro.Float:
		f, ok := toFloat(v)
		if !ok {
			return nil, fmt.Errorf("%T is not a float", v)
		}
		return binary.LittleEndian.AppendUint32(buf, math.Float32bits(float32(f))), nil
	case avro.Double:
		f, ok := toFloat(v)
		if !ok {
			return nil, fmt.Errorf("%T is not a double", v)
		}
		return binary.LittleEndian.AppendUint64(buf, math.Float64bits(f)), nil
	case avro.String:
		s, ok := v.(string)
		if !ok {
			return nil, fmt.Errorf("%T is not a string", v)
		}
		buf = binary.AppendVarint(buf, int64(len(s)))
		return append(buf, s...), nil
	case avro.Enum:
		s, ok := v.(string)
		if !ok {
			return nil, fmt.Errorf("%T is not an enum symbol", v)
		}
		for i, sym := range as.(*avro.EnumSchema).Symbols() {
			if sym == s {
				return binary.AppendVarint(buf, int64(i)), nil
			}
		}
		return nil, fmt.Errorf("%q is not a symbol of enum %s", s, as.(*avro.EnumSchema).FullName())
	case avro.Bytes, avro.Fixed:
		var raw []byte
		switch x := v.(type) {
		case []byte:
			raw = x
		case string:
			raw = []byte(x)
		case schema.Decimal:
			if logical != "decimal" {
				// Confluent's legacy form (a scale the logical type cannot
				// hold): the unscaled value as is.
				raw = schema.TwosComplement(x.Unscaled)
				break
			}
			var d *avro.DecimalLogicalSchema
			if f, ok := as.(*avro.FixedSchema); ok {
				d = f.Logical().(*avro.DecimalLogicalSchema)
			} else {
				d = as.(*avro.PrimitiveSchema).Logical().(*avro.DecimalLogicalSchema)
			}
			raw = schema.TwosComplement(x.Rescale(int32(d.Scale())).Unscaled)
		default:
			return nil, fmt.Errorf("%T is not bytes", v)
		}
		if f, ok := as.(*avro.FixedSchema); ok {
			if len(raw) > f.Size() {
				return nil, fmt.Errorf("%d bytes for fixed %s of %d", len(raw), f.FullName(), f.Size())
			}
			pad := byte(0)
			if len(raw) > 0 && raw[0]&0x80 != 0 && logical == "decimal" {
				pad = 0xff
			}
			for range f.Size() - len(raw) {
				buf = append(buf, pad)
			}
			return append(buf, raw...), nil
		}
		buf = binary.AppendVarint(buf, int64(len(raw)))
		return append(buf, raw...), nil
	case avro.Array:
		items := as.(*avro.ArraySchema).Items()
		var err error
		switch x := v.(type) {
		case []any:
			if len(x) > 0 {
				buf = binary.AppendVarint(buf, int64(len(x)))
				for i, it := range x {
					if buf, err = appendAvro(buf, items, it); err != nil {
						return nil, fmt.Errorf("[%d]: %w", i, err)
					}
				}
			}
		case []schema.MapEntry: // a map with keys that are not strings
			if len(x) > 0 {
				buf = binary.AppendVarint(buf, int64(len(x)))
				for _, e := range x {
					if buf, err = appendEntry(buf, items, e.Key, e.Value); err != nil {
						return nil, err
					}
				}
			}
		case map[string]any:
			if len(x) > 0 {
				buf = binary.AppendVarint(buf, int64(len(x)))
				for _, k := range sortedKeys(x) {
					if buf, err = appendEntry(buf, items, k, x[k]); err != nil {
						return nil, err
					}
				}
			}
		default:
			return nil, fmt.Errorf("%T is not an array", v)
		}
		return append(buf, 0), nil
	case avro.Map:
		values := as.(*avro.MapSchema).Values()
		var err error
		switch x := v.(type) {
		case map[string]any:
			if len(x) > 0 {
				buf = binary.AppendVarint(buf, int64(len(x)))
				for _, k := range sortedKeys(x) {
					buf = binary.AppendVarint(buf, int64(len(k)))
					buf = append(buf, k...)
					if buf, err = appendAvro(buf, values, x[k]); err != nil {
						return nil, fmt.Errorf("[%s]: %w", k, err)
					}
				}
			}
		case []schema.MapEntry:
			if len(x) > 0 {
				buf = binary.AppendVarint(buf, int64(len(x)))
				for _, e := range x {
					k, ok := e.Key.(string)
					if !ok {
						return nil, fmt.Errorf("map key %T is not a string", e.Key)
					}
					buf = binary.AppendVarint(buf, int64(len(k)))
					buf = append(buf, k...)
					if buf, err = appendAvro(buf, values, e.Value); err != nil {
						return nil, fmt.Errorf("[%s]: %w", k, err)
					}
				}
			}
		default:
			return nil, fmt.Errorf("%T is not a map", v)
		}
		return append(buf, 0), nil
	case avro.Record:
		rec := as.(*avro.RecordSchema)
		sv, ok := v.(*schema.StructValue)
		if !ok {
			return nil, fmt.Errorf("%T is not a struct for record %s", v, rec.FullName())
		}
		var err error
		for i, f := range rec.Fields() {
			// The Avro schema written from the Connect one has its fields in
			// the same order, maybe under scrubbed names (scrub.invalid.names);
			// another (use.latest.version) is matched by name.
			var pf *schema.Field
			if i < len(sv.Schema.Fields) {
				pf = &sv.Schema.Fields[i]
			}
			cf := pf
			if pf == nil || pf.Name != f.Name() {
				if cf = sv.Schema.Field(f.Name()); cf == nil && pf != nil && scrubAvroName(pf.Name) == f.Name() {
					cf = pf
				}
			}
			var fv any
			if cf != nil {
				fv = sv.Values[cf.Index]
				if fv == nil {
					fv = cf.Schema.Default
				}
			}
			if fv == nil && f.HasDefault() && f.Default() != nil {
				fv = f.Default()
			}
			if buf, err = appendAvro(buf, f.Type(), fv); err != nil {
				return nil, fmt.Errorf("field %s: %w", f.Name(), err)
			}
		}
		return buf, nil
	}
	return nil, fmt.Errorf("avro type %s is not supported", as.Type())
}

func appendEntry(buf []byte, items avro.Schema, k, v any) ([]byte, error) {
	rec, ok := deref(items).(*avro.RecordSchema)
	if !ok || len(rec.Fields()) != 2 {
		return nil, errors.New("a map for an array that is not of map entries")
	}
	var err error
	if buf, err = appendAvro(buf, rec.Fields()[0].Type(), k); err != nil {
		return nil, fmt.Errorf("map key: %w", err)
	}
	if buf, err = appendAvro(buf, rec.Fields()[1].Type(), v); err != nil {
		return nil, fmt.Errorf("map value: %w", err)
	}
	return buf, nil
}

// avroInt is an integer, a Date, Time or Timestamp as Avro writes it.
func avroInt(s *schema.Schema, v any) (int64, error) {
	if t, ok := v.(time.Time); ok {
		switch {
		case s != nil && s.Name == schema.DateName:
			return int64(schema.DateToDays(t)), nil
		case s != nil && s.Name == schema.TimeName:
			return int64(schema.TimeToMillis(t)), nil
		case s != nil && s.Name == schema.TimestampName:
			return schema.TimestampToMillis(t), nil
		}
		return 0, errors.New("a time for an Avro int or long without its logical type")
	}
	return toInt64(v)
}

func toInt64(v any) (int64, error) {
	switch x := v.(type) {
	case int:
		return int64(x), nil
	case int8:
		return int64(x), nil
	case int16:
		return int64(x), nil
	case int32:
		return int64(x), nil
	case int64:
		return x, nil
	case uint8:
		return int64(x), nil
	case uint16:
		return int64(x), nil
	case uint32:
		return int64(x), nil
	}
	return 0, fmt.Errorf("%T is not an integer", v)
}

// avroReader decodes Avro binary.
type avroReader struct {
	b   []byte
	pos int
}

var errShort = errors.New("avro data ends early")

func (r *avroReader) long() (int64, error) {
	n, k := binary.Varint(r.b[r.pos:])
	if k <= 0 {
		return 0, errShort
	}
	r.pos += k
	return n, nil
}

func (r *avroReader) bytes(n int) ([]byte, error) {
	if n < 0 || r.pos+n > len(r.b) {
		return nil, errShort
	}
	out := r.b[r.pos : r.pos+n : r.pos+n]
	r.pos += n
	return out, nil
}

func (r *avroReader) sized() ([]byte, error) {
	n, err := r.long()
	if err != nil {
		return nil, err
	}
	return r.bytes(int(n))
}

// blocks reads an array's or map's blocks, calling item for each item.
func (r *avroReader) blocks(item func() error) error {
	for {
		n, err := r.long()
		if err != nil {
			return err
		}
		if n == 0 {
			return nil
		}
		if n < 0 { // a block with its size in bytes
			n = -n
			if _, err := r.long(); err != nil {
				return err
			}
		}
		for range n {
			if err := item(); err != nil {
				return err
			}
		}
	}
}

// value reads a value of Avro schema as into Connect data of schema cs.
func (r *avroReader) value(as avro.Schema, cs *schema.Schema) (any, error) {
	switch t := as.(type) {
	case *avro.RefSchema:
		return r.value(t.Schema(), cs)
	case *avro.UnionSchema:
		i, err := r.long()
		if err != nil {
			return nil, err
		}
		if i < 0 || int(i) >= len(t.Types()) {
			return nil, fmt.Errorf("union branch %d of %d", i, len(t.Types()))
		}
		return r.value(t.Types()[i], cs)
	}
	switch as.Type() {
	case avro.Null:
		return nil, nil
	case avro.Boolean:
		b, err := r.bytes(1)
		if err != nil {
			return nil, err
		}
		return b[0] != 0, nil
	case avro.Int, avro.Long:
		n, err := r.long()
		if err != nil {
			return nil, err
		}
		switch cs.Name {
		case schema.DateName:
			return schema.DaysToDate(int32(n)), nil
		case schema.TimeName:
			return schema.MillisToTime(int32(n)), nil
		case schema.TimestampName:
			return schema.MillisToTimestamp(n), nil
		}
		return intOf(cs.Type, n), nil
	case avro.Float:
		b, err := r.bytes(4)
		if err != nil {
			return nil, err
		}
		return math.Float32frombits(binary.LittleEndian.Uint32(b)), nil
	case avro.Double:
		b, err := r.bytes(8)
		if err != nil {
			return nil, err
		}
		return math.Float64frombits(binary.LittleEndian.Uint64(b)), nil
	case avro.String:
		b, err := r.sized()
		return string(b), err
	case avro.Enum:
		i, err := r.long()
		if err != nil {
			return nil, err
		}
		syms := as.(*avro.EnumSchema).Symbols()
		if i < 0 || int(i) >= len(syms) {
			return nil, fmt.Errorf("enum symbol %d of %d", i, len(syms))
		}
		return syms[i], nil
	case avro.Bytes, avro.Fixed:
		var b []byte
		var err error
		if f, ok := as.(*avro.FixedSchema); ok {
			b, err = r.bytes(f.Size())
		} else {
			b, err = r.sized()
		}
		if err != nil {
			return nil, err
		}
		if cs.Name == schema.DecimalName {
			scale, err := schema.DecimalScale(cs)
			if err != nil {
				return nil, err
			}
			return schema.Decimal{Unscaled: schema.FromTwosComplement(b), Scale: scale}, nil
		}
		return append([]byte(nil), b...), nil
	case avro.Array:
		items := as.(*avro.ArraySchema).Items()
		if cs.Type == schema.Map { // map entries
			rec := deref(items).(*avro.RecordSchema)
			var out []schema.MapEntry
			err := r.blocks(func() error {
				k, err := r.value(rec.Fields()[0].Type(), cs.Key)
				if err != nil {
					return err
				}
				v, err := r.value(rec.Fields()[1].Type(), cs.Value)
				if err != nil {
					return err
				}
				out = append(out, schema.MapEntry{Key: k, Value: v})
				return nil
			})
			if out == nil {
				out = []schema.MapEntry{}
			}
			return out, err
		}
		out := []any{}
		err := r.blocks(func() error {
			v, err := r.value(items, cs.Elem)
			out = append(out, v)
			return err
		})
		return out, err
	case avro.Map:
		values := as.(*avro.MapSchema).Values()
		out := map[string]any{}
		err := r.blocks(func() error {
			k, err := r.sized()
			if err != nil {
				return err
			}
			v, err := r.value(values, cs.Value)
			out[string(k)] = v
			return err
		})
		return out, err
	case avro.Record:
		rec := as.(*avro.RecordSchema)
		sv := schema.NewStruct(cs)
		for i, f := range rec.Fields() {
			v, err := r.value(f.Type(), cs.Fields[i].Schema)
			if err != nil {
				return nil, fmt.Errorf("field %s: %w", f.Name(), err)
			}
			sv.Values[i] = v
		}
		return sv, nil
	}
	return nil, fmt.Errorf("avro type %s is not supported", as.Type())
}

func sortedKeys(m map[string]any) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}
