package converter

import (
	"encoding/binary"
	"fmt"
	"math"
	"strconv"
	"strings"

	"github.com/sluicehq/sluice/connectors/schema"
)

// Kafka's numeric converters (org.apache.kafka.connect.converters): the
// value in the bytes of Kafka's own serializers, big-endian: a short in 2
// bytes, an int and a float in 4, a long and a double in 8; a boolean in 1.
const (
	ShortClass   = "org.apache.kafka.connect.converters.ShortConverter"
	IntegerClass = "org.apache.kafka.connect.converters.IntegerConverter"
	LongClass    = "org.apache.kafka.connect.converters.LongConverter"
	FloatClass   = "org.apache.kafka.connect.converters.FloatConverter"
	DoubleClass  = "org.apache.kafka.connect.converters.DoubleConverter"
	BooleanClass = "org.apache.kafka.connect.converters.BooleanConverter"
)

func init() {
	for _, n := range []struct {
		class, simple string
		t             schema.Type
	}{
		{ShortClass, "ShortConverter", schema.Int16}, {IntegerClass, "IntegerConverter", schema.Int32},
		{LongClass, "LongConverter", schema.Int64}, {FloatClass, "FloatConverter", schema.Float32},
		{DoubleClass, "DoubleConverter", schema.Float64}, {BooleanClass, "BooleanConverter", schema.Boolean},
	} {
		t := n.t
		classes = append(classes, struct {
			class   string
			aliases []string
			make    factory
		}{n.class, []string{n.simple}, func(map[string]string, bool) (Converter, error) { return numeric{t}, nil }})
	}
}

type numeric struct{ t schema.Type }

func (c numeric) PassesThrough(*schema.Schema) bool { return false }

func (c numeric) FromConnect(_ string, _ *schema.Schema, data any) ([]byte, error) {
	if data == nil {
		return nil, nil
	}
	var f float64
	var i int64
	var isInt bool
	switch v := data.(type) {
	case int8:
		i, isInt = int64(v), true
	case int16:
		i, isInt = int64(v), true
	case int32:
		i, isInt = int64(v), true
	case int64:
		i, isInt = v, true
	case int:
		i, isInt = int64(v), true
	case float32:
		f = float64(v)
	case float64:
		f = v
	case bool:
		if c.t != schema.Boolean {
			return nil, fmt.Errorf("%s converter cannot serialize a boolean", c.t)
		}
		if v {
			return []byte{1}, nil
		}
		return []byte{0}, nil
	case string:
		// Kafka's converters take numbers only; text that is a number is
		// a convenience for string-shaped sources.
		p, err := strconv.ParseFloat(strings.TrimSpace(v), 64)
		if err != nil {
			return nil, fmt.Errorf("%s converter cannot serialize %q", c.t, v)
		}
		f = p
		if p == math.Trunc(p) {
			i, isInt = int64(p), true
		}
	default:
		return nil, fmt.Errorf("%s converter cannot serialize a %T", c.t, data)
	}
	if !isInt {
		i = int64(f)
	} else {
		f = float64(i)
	}
	switch c.t {
	case schema.Int16:
		return binary.BigEndian.AppendUint16(nil, uint16(int16(i))), nil
	case schema.Int32:
		return binary.BigEndian.AppendUint32(nil, uint32(int32(i))), nil
	case schema.Int64:
		return binary.BigEndian.AppendUint64(nil, uint64(i)), nil
	case schema.Float32:
		return binary.BigEndian.AppendUint32(nil, math.Float32bits(float32(f))), nil
	case schema.Float64:
		return binary.BigEndian.AppendUint64(nil, math.Float64bits(f)), nil
	case schema.Boolean:
		if i != 0 {
			return []byte{1}, nil
		}
		return []byte{0}, nil
	}
	return nil, fmt.Errorf("unknown numeric type %s", c.t)
}

func (c numeric) ToConnect(_ string, b []byte) (*schema.Schema, any, error) {
	s := &schema.Schema{Type: c.t, Optional: true}
	if b == nil {
		return s, nil, nil
	}
	size := map[schema.Type]int{schema.Int16: 2, schema.Int32: 4, schema.Int64: 8, schema.Float32: 4, schema.Float64: 8, schema.Boolean: 1}[c.t]
	if len(b) != size {
		return nil, nil, fmt.Errorf("%s converter: %d bytes, want %d", c.t, len(b), size)
	}
	switch c.t {
	case schema.Int16:
		return s, int16(binary.BigEndian.Uint16(b)), nil
	case schema.Int32:
		return s, int32(binary.BigEndian.Uint32(b)), nil
	case schema.Int64:
		return s, int64(binary.BigEndian.Uint64(b)), nil
	case schema.Float32:
		return s, math.Float32frombits(binary.BigEndian.Uint32(b)), nil
	case schema.Float64:
		return s, math.Float64frombits(binary.BigEndian.Uint64(b)), nil
	default:
		return s, b[0] != 0, nil
	}
}
