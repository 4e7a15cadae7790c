package mysqlcdc

import (
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"

	"github.com/sluicehq/sluice/connectors/schema"
)

// column is a captured column as information_schema describes it.
type column struct {
	name      string
	dataType  string // int, varchar, datetime...
	colType   string // int(10) unsigned, enum('a','b')...
	nullable  bool
	key       bool
	precision int64
	scale     int64
	dtPrec    int64
	schema    *schema.Schema
	// decode turns what the driver (snapshot, text protocol) or the binlog
	// parser gives into the schema's value.
	decode func(v any) (any, error)
}

type typeOptions struct {
	timePrecision string // adaptive_time_microseconds, adaptive or connect
	decimals      string // precise, double or string
}

// mapType gives a column its schema and decoder, as Debezium's MySQL
// connector maps types.
func (c *column) mapType(o typeOptions) {
	unsigned := strings.Contains(c.colType, "unsigned")
	plain := func(t schema.Type) *schema.Schema { return &schema.Schema{Type: t, Optional: c.nullable} }
	named := func(t schema.Type, name string) *schema.Schema {
		return &schema.Schema{Type: t, Name: name, Version: 1, Optional: c.nullable}
	}
	set := func(s *schema.Schema, d func(any) (any, error)) { c.schema, c.decode = s, d }
	switch c.dataType {
	case "tinyint", "smallint":
		bits := 8
		if c.dataType == "smallint" {
			bits = 16
		}
		if unsigned && bits == 16 {
			set(plain(schema.Int32), integer(bits, true, func(n int64) any { return int32(n) }))
			return
		}
		set(plain(schema.Int16), integer(bits, unsigned, func(n int64) any { return int16(n) }))
	case "mediumint":
		set(plain(schema.Int32), integer(24, unsigned, func(n int64) any { return int32(n) }))
	case "int", "integer":
		if unsigned {
			set(plain(schema.Int64), integer(32, true, func(n int64) any { return n }))
			return
		}
		set(plain(schema.Int32), integer(32, false, func(n int64) any { return int32(n) }))
	case "bigint":
		set(plain(schema.Int64), integer(64, unsigned, func(n int64) any { return n }))
	case "year":
		set(named(schema.Int32, "io.debezium.time.Year"), integer(32, false, func(n int64) any { return int32(n) }))
	case "float":
		set(plain(schema.Float32), func(v any) (any, error) { f, err := toFloat(v); return float32(f), err })
	case "double", "real":
		set(plain(schema.Float64), func(v any) (any, error) { return toFloat(v) })
	case "decimal", "numeric":
		switch o.decimals {
		case "double":
			set(plain(schema.Float64), func(v any) (any, error) { return toFloat(v) })
		case "string":
			set(plain(schema.String), func(v any) (any, error) { return text(v), nil })
		default:
			sc := schema.DecimalSchema(int32(c.scale))
			sc.Optional = c.nullable
			sc.Parameters["connect.decimal.precision"] = strconv.FormatInt(c.precision, 10)
			scale := int32(c.scale)
			set(sc, func(v any) (any, error) {
				d, err := schema.ParseDecimal(text(v))
				if err != nil {
					return nil, err
				}
				return d.Rescale(scale), nil
			})
		}
	case "bit":
		if c.precision == 1 {
			set(plain(schema.Boolean), func(v any) (any, error) {
				switch x := v.(type) {
				case int64:
					return x != 0, nil
				case []byte:
					return len(x) > 0 && x[len(x)-1] != 0, nil
				}
				return nil, fmt.Errorf("%T is not a bit", v)
			})
			return
		}
		set(&schema.Schema{Type: schema.Bytes, Name: "io.debezium.data.Bits", Version: 1, Optional: c.nullable,
			Parameters: map[string]string{"length": strconv.FormatInt(c.precision, 10)}}, func(v any) (any, error) {
			switch x := v.(type) {
			case int64:
				n := (c.precision + 7) / 8
				b := make([]byte, n)
				for i := range b { // little-endian, as Debezium writes bits
					b[i] = byte(uint64(x) >> (8 * i))
				}
				return b, nil
			case []byte:
				b := make([]byte, len(x))
				for i := range x {
					b[i] = x[len(x)-1-i]
				}
				return b, nil
			}
			return nil, fmt.Errorf("%T is not bits", v)
		})
	case "date":
		if o.timePrecision == "connect" {
			sc := schema.DateSchema()
			sc.Optional = c.nullable
			set(sc, func(v any) (any, error) { return parseTime("2006-01-02", text(v)) })
			return
		}
		set(named(schema.Int32, "io.debezium.time.Date"), func(v any) (any, error) {
			t, err := parseTime("2006-01-02", text(v))
			return int32(t.Unix() / 86400), err
		})
	case "datetime":
		layout := "2006-01-02 15:04:05.999999"
		switch {
		case o.timePrecision == "connect":
			sc := schema.TimestampSchema()
			sc.Optional = c.nullable
			set(sc, func(v any) (any, error) { return parseTime(layout, text(v)) })
		case c.dtPrec <= 3:
			set(named(schema.Int64, "io.debezium.time.Timestamp"), func(v any) (any, error) {
				t, err := parseTime(layout, text(v))
				return t.UnixMilli(), err
			})
		default:
			set(named(schema.Int64, "io.debezium.time.MicroTimestamp"), func(v any) (any, error) {
				t, err := parseTime(layout, text(v))
				return t.UnixMicro(), err
			})
		}
	case "timestamp":
		set(named(schema.String, "io.debezium.time.ZonedTimestamp"), func(v any) (any, error) {
			t, err := parseTime("2006-01-02 15:04:05.999999", text(v))
			return t.Format("2006-01-02T15:04:05.999999Z"), err
		})
	case "time":
		if o.timePrecision == "connect" {
			sc := schema.TimeSchema()
			sc.Optional = c.nullable
			set(sc, func(v any) (any, error) {
				d, err := duration(text(v))
				return time.Unix(0, 0).UTC().Add(d), err
			})
			return
		}
		set(named(schema.Int64, "io.debezium.time.MicroTime"), func(v any) (any, error) {
			d, err := duration(text(v))
			return d.Microseconds(), err
		})
	case "json":
		set(named(schema.String, "io.debezium.data.Json"), func(v any) (any, error) { return text(v), nil })
	case "enum", "set":
		values := enumValues(c.colType)
		name := "io.debezium.data.Enum"
		if c.dataType == "set" {
			name = "io.debezium.data.EnumSet"
		}
		sc := named(schema.String, name)
		sc.Parameters = map[string]string{"allowed": strings.Join(values, ",")}
		set(sc, func(v any) (any, error) {
			n, isNum := v.(int64)
			if !isNum {
				return text(v), nil
			}
			if c.dataType == "enum" {
				if n >= 1 && int(n) <= len(values) {
					return values[n-1], nil
				}
				return "", nil
			}
			var parts []string
			for i, val := range values {
				if n&(1<<i) != 0 {
					parts = append(parts, val)
				}
			}
			return strings.Join(parts, ","), nil
		})
	case "binary", "varbinary", "tinyblob", "blob", "mediumblob", "longblob", "geometry", "point":
		set(plain(schema.Bytes), func(v any) (any, error) {
			switch x := v.(type) {
			case []byte:
				return append([]byte(nil), x...), nil
			case string:
				return []byte(x), nil
			}
			return nil, fmt.Errorf("%T is not bytes", v)
		})
	default: // char, varchar, text, ...
		set(plain(schema.String), func(v any) (any, error) { return text(v), nil })
	}
}

func text(v any) string {
	switch x := v.(type) {
	case string:
		return x
	case []byte:
		return string(x)
	}
	return fmt.Sprint(v)
}

func toFloat(v any) (float64, error) {
	switch x := v.(type) {
	case float64:
		return x, nil
	case float32:
		return float64(x), nil
	}
	return strconv.ParseFloat(text(v), 64)
}

// integer reads an integer: the binlog gives a signed Go integer of the
// column's width (an unsigned value wrapped), the snapshot its text.
func integer(bits int, unsigned bool, conv func(int64) any) func(any) (any, error) {
	return func(v any) (any, error) {
		var n int64
		switch x := v.(type) {
		case int8:
			n = int64(x)
		case int16:
			n = int64(x)
		case int32:
			n = int64(x)
		case int64:
			n = x
		case uint64:
			if x > math.MaxInt64 {
				return nil, fmt.Errorf("%d does not fit a long", x)
			}
			n = int64(x)
		default:
			s := text(v)
			var err error
			if n, err = strconv.ParseInt(s, 10, 64); err != nil {
				u, uerr := strconv.ParseUint(s, 10, 64)
				if uerr != nil || u > math.MaxInt64 {
					return nil, fmt.Errorf("%q is not a whole number that fits", s)
				}
				n = int64(u)
			}
			return conv(n), nil
		}
		if unsigned && n < 0 && bits < 64 {
			n += 1 << bits
		}
		return conv(n), nil
	}
}

func parseTime(layout, s string) (time.Time, error) {
	if strings.HasPrefix(s, "0000-00-00") {
		return time.Unix(0, 0).UTC(), nil
	}
	t, err := time.Parse(layout, s)
	return t.UTC(), err
}

// duration reads a TIME value ("-838:59:59.000000" to "838:59:59").
func duration(s string) (time.Duration, error) {
	neg := strings.HasPrefix(s, "-")
	s = strings.TrimPrefix(s, "-")
	parts := strings.SplitN(s, ":", 3)
	if len(parts) != 3 {
		return 0, fmt.Errorf("%q is not a time", s)
	}
	h, err1 := strconv.Atoi(parts[0])
	m, err2 := strconv.Atoi(parts[1])
	sec, err3 := strconv.ParseFloat(parts[2], 64)
	if err1 != nil || err2 != nil || err3 != nil {
		return 0, fmt.Errorf("%q is not a time", s)
	}
	d := time.Duration(h)*time.Hour + time.Duration(m)*time.Minute + time.Duration(math.Round(sec*1e6))*time.Microsecond
	if neg {
		d = -d
	}
	return d, nil
}

// enumValues reads the values of enum('a','b') or set('a','b').
func enumValues(colType string) []string {
	open, end := strings.Index(colType, "("), strings.LastIndex(colType, ")")
	if open < 0 || end < open {
		return nil
	}
	var out []string
	for _, p := range strings.Split(colType[open+1:end], ",") {
		p = strings.TrimSpace(p)
		p = strings.TrimSuffix(strings.TrimPrefix(p, "'"), "'")
		out = append(out, strings.ReplaceAll(p, "''", "'"))
	}
	return out
}
