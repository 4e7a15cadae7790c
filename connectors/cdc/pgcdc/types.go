package pgcdc

import (
	"encoding/hex"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/jackc/pgx/v5/pgtype"

	"github.com/sluicehq/sluice/connectors/schema"
)

// A column's value arrives as PostgreSQL's text (from pgoutput, and from the
// snapshot's simple-protocol query); decoder turns it into the value of the
// column's schema, as Debezium maps PostgreSQL types.
type decoder func(text string) (any, error)

// typeOptions are the settings that change how types map.
type typeOptions struct {
	timePrecision string // adaptive, adaptive_time_microseconds or connect
	decimals      string // precise, double or string
}

// PostgreSQL type OIDs this file knows.
const (
	oidBool        = 16
	oidBytea       = 17
	oidInt8        = 20
	oidInt2        = 21
	oidInt4        = 23
	oidOID         = 26
	oidJSON        = 114
	oidFloat4      = 700
	oidFloat8      = 701
	oidBPChar      = 1042
	oidVarchar     = 1043
	oidText        = 25
	oidDate        = 1082
	oidTime        = 1083
	oidTimestamp   = 1114
	oidTimestamptz = 1184
	oidTimetz      = 1266
	oidNumeric     = 1700
	oidUUID        = 2950
	oidJSONB       = 3802
)

var pgTypes = pgtype.NewMap()

// columnType maps a column (type OID and modifier) to a schema and its
// decoder. optional says the column may be NULL.
func columnType(oid uint32, typmod int32, optional bool, o typeOptions) (*schema.Schema, decoder) {
	named := func(t schema.Type, name string) *schema.Schema {
		return &schema.Schema{Type: t, Name: name, Version: 1, Optional: optional}
	}
	plain := func(t schema.Type) *schema.Schema { return &schema.Schema{Type: t, Optional: optional} }
	switch oid {
	case oidBool:
		return plain(schema.Boolean), func(s string) (any, error) { return s == "t" || s == "true", nil }
	case oidInt2:
		return plain(schema.Int16), parseInt(16, func(n int64) any { return int16(n) })
	case oidInt4:
		return plain(schema.Int32), parseInt(32, func(n int64) any { return int32(n) })
	case oidInt8, oidOID:
		return plain(schema.Int64), parseInt(64, func(n int64) any { return n })
	case oidFloat4:
		return plain(schema.Float32), func(s string) (any, error) { f, err := strconv.ParseFloat(s, 32); return float32(f), err }
	case oidFloat8:
		return plain(schema.Float64), func(s string) (any, error) { return strconv.ParseFloat(s, 64) }
	case oidNumeric:
		return numericType(typmod, optional, o)
	case oidBytea:
		return plain(schema.Bytes), func(s string) (any, error) {
			if rest, ok := strings.CutPrefix(s, `\x`); ok {
				return hex.DecodeString(rest)
			}
			return []byte(s), nil
		}
	case oidDate:
		if o.timePrecision == "connect" {
			sc := schema.DateSchema()
			sc.Optional = optional
			return sc, parseTime("2006-01-02")
		}
		return named(schema.Int32, "io.debezium.time.Date"), func(s string) (any, error) {
			t, err := time.Parse("2006-01-02", s)
			return int32(t.Unix() / 86400), err
		}
	case oidTime:
		p := precision(typmod)
		switch {
		case o.timePrecision == "connect":
			sc := schema.TimeSchema()
			sc.Optional = optional
			return sc, func(s string) (any, error) {
				t, err := time.Parse("15:04:05.999999", s)
				return time.Date(1970, 1, 1, t.Hour(), t.Minute(), t.Second(), t.Nanosecond(), time.UTC), err
			}
		case p <= 3 && o.timePrecision == "adaptive":
			return named(schema.Int32, "io.debezium.time.Time"), func(s string) (any, error) {
				d, err := timeOfDay(s)
				return int32(d / time.Millisecond), err
			}
		default:
			return named(schema.Int64, "io.debezium.time.MicroTime"), func(s string) (any, error) {
				d, err := timeOfDay(s)
				return int64(d / time.Microsecond), err
			}
		}
	case oidTimestamp:
		p := precision(typmod)
		switch {
		case o.timePrecision == "connect":
			sc := schema.TimestampSchema()
			sc.Optional = optional
			return sc, parseTime("2006-01-02 15:04:05.999999")
		case p <= 3:
			return named(schema.Int64, "io.debezium.time.Timestamp"), func(s string) (any, error) {
				t, err := time.Parse("2006-01-02 15:04:05.999999", s)
				return t.UnixMilli(), err
			}
		default:
			return named(schema.Int64, "io.debezium.time.MicroTimestamp"), func(s string) (any, error) {
				t, err := time.Parse("2006-01-02 15:04:05.999999", s)
				return t.UnixMicro(), err
			}
		}
	case oidTimestamptz:
		return named(schema.String, "io.debezium.time.ZonedTimestamp"), func(s string) (any, error) {
			t, err := time.Parse("2006-01-02 15:04:05.999999Z07", s)
			if err != nil {
				t, err = time.Parse("2006-01-02 15:04:05.999999Z07:00", s)
			}
			return t.UTC().Format("2006-01-02T15:04:05.999999Z"), err
		}
	case oidTimetz:
		return named(schema.String, "io.debezium.time.ZonedTime"), func(s string) (any, error) { return s, nil }
	case oidJSON, oidJSONB:
		return named(schema.String, "io.debezium.data.Json"), func(s string) (any, error) { return s, nil }
	case oidUUID:
		return named(schema.String, "io.debezium.data.Uuid"), func(s string) (any, error) { return s, nil }
	case oidText, oidVarchar, oidBPChar:
		return plain(schema.String), func(s string) (any, error) { return s, nil }
	}
	if t, ok := pgTypes.TypeForOID(oid); ok {
		if ac, ok := t.Codec.(*pgtype.ArrayCodec); ok {
			es, edec := columnType(ac.ElementType.OID, -1, true, o)
			return &schema.Schema{Type: schema.Array, Elem: es, Optional: optional}, arrayDecoder(edec)
		}
	}
	// Everything else (enums, intervals, network addresses, ranges...): its text.
	return plain(schema.String), func(s string) (any, error) { return s, nil }
}

func parseInt(bits int, conv func(int64) any) decoder {
	return func(s string) (any, error) {
		n, err := strconv.ParseInt(s, 10, bits)
		return conv(n), err
	}
}

func parseTime(layout string) decoder {
	return func(s string) (any, error) {
		t, err := time.Parse(layout, s)
		return t.UTC(), err
	}
}

// precision is a time or timestamp column's fractional digits (6 unless
// declared).
func precision(typmod int32) int {
	if typmod < 0 {
		return 6
	}
	return int(typmod)
}

func timeOfDay(s string) (time.Duration, error) {
	if s == "24:00:00" {
		return 24 * time.Hour, nil
	}
	t, err := time.Parse("15:04:05.999999", s)
	if err != nil {
		return 0, err
	}
	return time.Duration(t.Hour())*time.Hour + time.Duration(t.Minute())*time.Minute +
		time.Duration(t.Second())*time.Second + time.Duration(t.Nanosecond()), nil
}

// numericType maps NUMERIC by decimal.handling.mode: precise gives a Decimal
// of the column's scale (Debezium's VariableScaleDecimal struct when the
// column has none), double a double, string its text.
func numericType(typmod int32, optional bool, o typeOptions) (*schema.Schema, decoder) {
	switch o.decimals {
	case "double":
		return &schema.Schema{Type: schema.Float64, Optional: optional}, func(s string) (any, error) { return strconv.ParseFloat(s, 64) }
	case "string":
		return &schema.Schema{Type: schema.String, Optional: optional}, func(s string) (any, error) { return s, nil }
	}
	if typmod >= 4 {
		prec, scale := (typmod-4)>>16, (typmod-4)&0xffff
		sc := schema.DecimalSchema(scale)
		sc.Optional = optional
		sc.Parameters["connect.decimal.precision"] = strconv.Itoa(int(prec))
		return sc, func(s string) (any, error) {
			d, err := schema.ParseDecimal(s)
			if err != nil {
				return nil, err
			}
			return d.Rescale(scale), nil
		}
	}
	vs := &schema.Schema{Type: schema.Struct, Name: "io.debezium.data.VariableScaleDecimal", Version: 1, Optional: optional,
		Doc: "Variable scaled decimal", Fields: []schema.Field{
			{Name: "scale", Index: 0, Schema: schema.Int32Schema()},
			{Name: "value", Index: 1, Schema: schema.BytesSchema()},
		}}
	return vs, func(s string) (any, error) {
		d, err := schema.ParseDecimal(s)
		if err != nil {
			return nil, err
		}
		v := schema.NewStruct(vs)
		v.Values[0] = d.Scale
		v.Values[1] = schema.TwosComplement(d.Unscaled)
		return v, nil
	}
}

// oidTextArray is text[]: every array's text has the same syntax, so its
// codec splits any of them into the elements' text.
const oidTextArray = 1009

// arrayDecoder reads an array's text ({1,2,NULL}) into its elements' text,
// then decodes each.
func arrayDecoder(elem decoder) decoder {
	return func(s string) (any, error) {
		var items []*string
		if err := pgTypes.Scan(oidTextArray, pgtype.TextFormatCode, []byte(s), &items); err != nil {
			return nil, fmt.Errorf("array %q: %w", s, err)
		}
		out := make([]any, len(items))
		for i, it := range items {
			if it == nil {
				continue
			}
			v, err := elem(*it)
			if err != nil {
				return nil, fmt.Errorf("array element %d: %w", i, err)
			}
			out[i] = v
		}
		return out, nil
	}
}
