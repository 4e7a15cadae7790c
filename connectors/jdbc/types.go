package jdbc

import (
	"encoding/json"
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"

	"github.com/jackc/pgx/v5/pgtype"

	"github.com/sluicehq/sluice/connectors/schema"
)

// column is a result column: its Kafka Connect schema and how a value the
// driver returns becomes a value of that schema.
type column struct {
	name   string
	schema *schema.Schema
	decode func(v any) (any, error)
}

// numeric.mapping values, as Confluent's JDBC source has them.
const (
	numericNone          = "none"
	numericPrecisionOnly = "precision_only"
	numericBestFit       = "best_fit"
	numericBestFitEager  = "best_fit_eager_double"
)

// resultColumn maps a result column to a schema. The type names are those
// database/sql reports for each driver (pgx: INT4, _INT4, NUMERIC...; MySQL:
// INT, UNSIGNED BIGINT, DECIMAL...).
func resultColumn(name, dbType string, precision, scale int64, hasSize, optional bool, numericMapping string) column {
	c := column{name: name}
	t := strings.ToUpper(dbType)
	unsigned := strings.HasPrefix(t, "UNSIGNED ")
	t = strings.TrimPrefix(t, "UNSIGNED ")
	set := func(s *schema.Schema, dec func(any) (any, error)) column {
		s.Optional = optional
		c.schema, c.decode = s, dec
		return c
	}
	if elem, ok := strings.CutPrefix(t, "_"); ok { // PostgreSQL array
		ec := resultColumn(name, elem, 0, 0, false, true, numericMapping)
		return set(&schema.Schema{Type: schema.Array, Elem: ec.schema}, pgArray(elem, ec.decode))
	}
	switch t {
	case "INT2", "SMALLINT", "YEAR":
		if unsigned {
			return set(schema.Int32Schema(), asInt[int32])
		}
		return set(schema.Int16Schema(), asInt[int16])
	case "TINYINT":
		if unsigned {
			return set(schema.Int16Schema(), asInt[int16])
		}
		return set(schema.Int8Schema(), asInt[int8])
	case "INT4", "INT", "INTEGER", "MEDIUMINT", "SERIAL":
		if unsigned && t != "MEDIUMINT" {
			return set(schema.Int64Schema(), asInt[int64])
		}
		return set(schema.Int32Schema(), asInt[int32])
	case "INT8", "BIGINT", "BIGSERIAL":
		if unsigned {
			return set(schema.DecimalSchema(0), asDecimal(0))
		}
		return set(schema.Int64Schema(), asInt[int64])
	case "OID", "XID", "CID":
		return set(schema.Int64Schema(), asInt[int64])
	case "FLOAT4", "FLOAT", "REAL":
		return set(schema.Float32Schema(), asFloat32)
	case "FLOAT8", "DOUBLE", "DOUBLE PRECISION":
		return set(schema.Float64Schema(), asFloat64)
	case "NUMERIC", "DECIMAL":
		// An unconstrained PostgreSQL NUMERIC has no scale: its values keep
		// every digit as text rather than being rounded to a fixed scale.
		if !hasSize || scale < 0 || scale > 1000 || precision > 1000 {
			return set(schema.StringSchema(), asString)
		}
		switch numericMapping {
		case numericBestFit, numericBestFitEager, numericPrecisionOnly:
			if scale == 0 && precision < 19 {
				switch {
				case precision > 9:
					return set(schema.Int64Schema(), asInt[int64])
				case precision > 4:
					return set(schema.Int32Schema(), asInt[int32])
				case precision > 2:
					return set(schema.Int16Schema(), asInt[int16])
				default:
					return set(schema.Int8Schema(), asInt[int8])
				}
			}
			if numericMapping == numericBestFitEager || (numericMapping == numericBestFit && precision <= 15) {
				return set(schema.Float64Schema(), asFloat64)
			}
		}
		return set(schema.DecimalSchema(int32(scale)), asDecimal(int32(scale)))
	case "BOOL", "BOOLEAN", "BIT":
		return set(schema.BooleanSchema(), asBool)
	case "BYTEA", "BLOB", "TINYBLOB", "MEDIUMBLOB", "LONGBLOB", "BINARY", "VARBINARY", "GEOMETRY":
		return set(schema.BytesSchema(), asBytes)
	case "DATE":
		return set(schema.DateSchema(), asTime)
	case "TIME", "TIMETZ":
		return set(schema.TimeSchema(), asTimeOfDay)
	case "TIMESTAMP", "TIMESTAMPTZ", "DATETIME":
		return set(schema.TimestampSchema(), asTime)
	}
	// Text, varchar, char, json, uuid, enums, intervals, network
	// addresses, ranges...: their text.
	return set(schema.StringSchema(), asString)
}

type integer interface {
	~int8 | ~int16 | ~int32 | ~int64
}

func asInt[T integer](v any) (any, error) {
	var n int64
	switch x := v.(type) {
	case int64:
		n = x
	case uint64:
		if x > math.MaxInt64 {
			return nil, fmt.Errorf("%d does not fit", x)
		}
		n = int64(x)
	case float64:
		n = int64(x)
	case []byte:
		return asInt[T](string(x))
	case string:
		var err error
		if n, err = strconv.ParseInt(strings.TrimSpace(x), 10, 64); err != nil {
			d, derr := schema.ParseDecimal(x)
			if derr != nil || d.Scale > 0 {
				return nil, fmt.Errorf("%q is not a whole number", x)
			}
			n = d.Unscaled.Int64()
		}
	case bool:
		if x {
			n = 1
		}
	default:
		return nil, fmt.Errorf("%T is not a whole number", v)
	}
	out := T(n)
	if int64(out) != n {
		return nil, fmt.Errorf("%d does not fit", n)
	}
	return out, nil
}

func asFloat64(v any) (any, error) {
	switch x := v.(type) {
	case float64:
		return x, nil
	case float32:
		return float64(x), nil
	case int64:
		return float64(x), nil
	case []byte:
		return strconv.ParseFloat(string(x), 64)
	case string:
		return strconv.ParseFloat(x, 64)
	}
	return nil, fmt.Errorf("%T is not a number", v)
}

func asFloat32(v any) (any, error) {
	f, err := asFloat64(v)
	if err != nil {
		return nil, err
	}
	return float32(f.(float64)), nil
}

func asDecimal(scale int32) func(any) (any, error) {
	return func(v any) (any, error) {
		var s string
		switch x := v.(type) {
		case []byte:
			s = string(x)
		case string:
			s = x
		case int64:
			s = strconv.FormatInt(x, 10)
		case uint64:
			s = strconv.FormatUint(x, 10)
		case float64:
			s = strconv.FormatFloat(x, 'f', -1, 64)
		default:
			return nil, fmt.Errorf("%T is not a decimal", v)
		}
		d, err := schema.ParseDecimal(s)
		if err != nil {
			return nil, err
		}
		return d.Rescale(scale), nil
	}
}

func asBool(v any) (any, error) {
	switch x := v.(type) {
	case bool:
		return x, nil
	case int64:
		return x != 0, nil
	case []byte:
		if len(x) == 1 && x[0] <= 1 { // MySQL BIT(1)
			return x[0] == 1, nil
		}
		return strconv.ParseBool(string(x))
	case string:
		return strconv.ParseBool(x)
	}
	return nil, fmt.Errorf("%T is not a boolean", v)
}

func asBytes(v any) (any, error) {
	switch x := v.(type) {
	case []byte:
		return append([]byte(nil), x...), nil
	case string:
		return []byte(x), nil
	}
	return nil, fmt.Errorf("%T is not bytes", v)
}

func asString(v any) (any, error) {
	switch x := v.(type) {
	case string:
		return x, nil
	case []byte:
		return string(x), nil
	case time.Time:
		return x.UTC().Format(time.RFC3339Nano), nil
	case int64:
		return strconv.FormatInt(x, 10), nil
	case float64:
		return strconv.FormatFloat(x, 'g', -1, 64), nil
	case bool:
		return strconv.FormatBool(x), nil
	}
	b, err := json.Marshal(v)
	return string(b), err
}

func asTime(v any) (any, error) {
	switch x := v.(type) {
	case time.Time:
		return x.UTC(), nil
	case []byte:
		return asTime(string(x))
	case string:
		for _, layout := range []string{"2006-01-02 15:04:05.999999999", "2006-01-02T15:04:05.999999999Z07:00", "2006-01-02"} {
			if t, err := time.Parse(layout, x); err == nil {
				return t.UTC(), nil
			}
		}
		return nil, fmt.Errorf("%q is not a date or time", x)
	}
	return nil, fmt.Errorf("%T is not a date or time", v)
}

// asTimeOfDay reads a time of day ("12:34:56.789", PostgreSQL's and
// MySQL's text) as Kafka Connect's Time: a time on 1970-01-01 UTC.
func asTimeOfDay(v any) (any, error) {
	var s string
	switch x := v.(type) {
	case time.Time:
		return time.Date(1970, 1, 1, x.Hour(), x.Minute(), x.Second(), x.Nanosecond(), time.UTC), nil
	case []byte:
		s = string(x)
	case string:
		s = x
	default:
		return nil, fmt.Errorf("%T is not a time of day", v)
	}
	// A PostgreSQL timetz carries its zone: +02, -05:30.
	var off time.Duration
	if i := strings.LastIndexAny(s, "+-"); i > 0 {
		z := s[i:]
		s = s[:i]
		h, m, _ := strings.Cut(z[1:], ":")
		hh, _ := strconv.Atoi(h)
		mm, _ := strconv.Atoi(m)
		off = time.Duration(hh)*time.Hour + time.Duration(mm)*time.Minute
		if z[0] == '-' {
			off = -off
		}
	}
	t, err := time.Parse("15:04:05.999999999", s)
	if err != nil {
		return nil, fmt.Errorf("%q is not a time of day", s)
	}
	t = t.Add(-off)
	return time.Date(1970, 1, 1, t.Hour(), t.Minute(), t.Second(), t.Nanosecond(), time.UTC), nil
}

var pgTypes = pgtype.NewMap()

// pgArray decodes a PostgreSQL array's text form ({1,2,NULL}) with pgx's
// codecs, then each element with elem.
func pgArray(elemType string, elem func(any) (any, error)) func(any) (any, error) {
	return func(v any) (any, error) {
		var text string
		switch x := v.(type) {
		case string:
			text = x
		case []byte:
			text = string(x)
		default:
			return nil, fmt.Errorf("%T is not an array", v)
		}
		typ, ok := pgTypes.TypeForName("_" + strings.ToLower(elemType))
		if !ok {
			typ, _ = pgTypes.TypeForName("_text")
		}
		var items []any
		var strs []*string
		var err error
		if typ.Name == "_text" || !ok {
			err = pgTypes.Scan(typ.OID, pgtype.TextFormatCode, []byte(text), &strs)
			items = make([]any, len(strs))
			for i, s := range strs {
				if s != nil {
					items[i] = *s
				}
			}
		} else {
			err = pgTypes.Scan(typ.OID, pgtype.TextFormatCode, []byte(text), &items)
		}
		if err != nil {
			return nil, fmt.Errorf("array %q: %w", text, err)
		}
		for i, it := range items {
			if it == nil {
				continue
			}
			switch x := it.(type) {
			case int16:
				it = int64(x)
			case int32:
				it = int64(x)
			case float32:
				it = float64(x)
			case pgtype.Numeric:
				b, _ := x.MarshalJSON()
				it = string(b)
			case [16]byte:
				it = pgtype.UUID{Bytes: x, Valid: true}
				b, _ := it.(pgtype.UUID).MarshalJSON()
				it = strings.Trim(string(b), `"`)
			}
			if items[i], err = elem(it); err != nil {
				return nil, fmt.Errorf("array element %d: %w", i, err)
			}
		}
		return items, nil
	}
}
