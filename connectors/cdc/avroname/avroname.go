// Package avroname makes Kafka Connect schema and field names usable as
// Avro names, as Debezium's schema.name.adjustment.mode and
// field.name.adjustment.mode do, so that a Sluice connector names its
// schemas exactly as Debezium would under the same setting.
//
// Avro wants a name to start with a Latin letter or an underscore and to go
// on with letters, digits and underscores; a full name is such names joined
// by dots. Debezium's rules, kept here character for character:
//
//   - A schema name is checked as one string: its first character must be
//     [A-Za-z_], every other one [A-Za-z0-9_.], so dots stay as namespace
//     separators (and a part after a dot that begins with a digit is let
//     through, as Debezium lets it through).
//   - A field name may not hold a dot: [A-Za-z_] first, [A-Za-z0-9_] after.
//   - Mode avro puts an underscore in place of each character that breaks
//     the rule; a leading digit keeps its place after the underscore
//     ("24col" becomes "_24col"), so that names differing only in it stay
//     apart.
//   - Mode avro_unicode writes each such character as _u and its UTF-16
//     code in lower-case hex, and since the underscore is then the escape
//     character, an underscore in the name is escaped too (_u005f), as is
//     a leading digit. A code of one or two hex digits gets "00" in front
//     ("-" is _u002d, a tab _u009), a longer one none ("语" is _u8bed).
//     A character outside the Basic Multilingual Plane is two escapes, one
//     per UTF-16 surrogate, as Java sees it.
//   - A name that needs no change comes back unchanged; the empty name too.
package avroname

import (
	"strconv"
	"strings"
	"unicode"
	"unicode/utf16"
)

// Mode is a value of schema.name.adjustment.mode or
// field.name.adjustment.mode.
type Mode string

// The modes, as Debezium names them.
const (
	None        Mode = "none"         // names as they are (Debezium 2's default)
	Avro        Mode = "avro"         // invalid characters become _
	AvroUnicode Mode = "avro_unicode" // invalid characters (and _) become _uxxxx
)

// Modes lists the accepted values, in Debezium's order.
var Modes = []string{string(None), string(Avro), string(AvroUnicode)}

// ParseMode reads a mode as Debezium does: trimmed, case ignored.
func ParseMode(v string) (Mode, bool) {
	v = strings.ToLower(strings.TrimSpace(v))
	for _, m := range Modes {
		if v == m {
			return Mode(m), true
		}
	}
	return "", false
}

// rules says which characters a kind of name may hold and what replaces the
// others.
type rules struct {
	dots       bool // dots allowed after the first character (schema names)
	escape     bool // _uxxxx escapes instead of underscores; _ itself is escaped
	keepDigits bool // a leading digit is kept after its replacement
}

func (r rules) first(c uint16) bool {
	return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c == '_' && !r.escape
}

func (r rules) next(c uint16) bool {
	return r.first(c) || c >= '0' && c <= '9' || c == '.' && r.dots
}

func (r rules) replace(sb *strings.Builder, c uint16) {
	if !r.escape {
		sb.WriteByte('_')
		return
	}
	hex := strconv.FormatUint(uint64(c), 16)
	if len(hex) <= 2 {
		hex = "00" + hex
	}
	sb.WriteString("_u")
	sb.WriteString(hex)
}

func (r rules) adjust(name string) string {
	if name == "" || r.valid(name) {
		return name
	}
	units := utf16.Encode([]rune(name))
	var sb strings.Builder
	sb.Grow(len(name) + 8)
	for i, c := range units {
		switch {
		case i == 0 && r.first(c), i > 0 && r.next(c):
			sb.WriteByte(byte(c))
		default:
			r.replace(&sb, c)
			if i == 0 && r.keepDigits && unicode.IsDigit(rune(c)) {
				sb.WriteRune(rune(c))
			}
		}
	}
	return sb.String()
}

// valid says whether the rules leave name as it is: the common case, tried
// on the bytes first (every allowed character is ASCII).
func (r rules) valid(name string) bool {
	for i := 0; i < len(name); i++ {
		c := uint16(name[i])
		if name[i] >= 0x80 || i == 0 && !r.first(c) || i > 0 && !r.next(c) {
			return false
		}
	}
	return true
}

var (
	schemaRules = map[Mode]rules{Avro: {dots: true, keepDigits: true}, AvroUnicode: {dots: true, escape: true}}
	fieldRules  = map[Mode]rules{Avro: {keepDigits: true}, AvroUnicode: {escape: true}}
)

// SchemaName adjusts a schema's full name (dots kept) under mode m; None, or
// a mode it does not know, leaves it as it is.
func SchemaName(m Mode, name string) string {
	if r, ok := schemaRules[m]; ok {
		return r.adjust(name)
	}
	return name
}

// FieldName adjusts a field's name (dots replaced) under mode m; None, or a
// mode it does not know, leaves it as it is.
func FieldName(m Mode, name string) string {
	if r, ok := fieldRules[m]; ok {
		return r.adjust(name)
	}
	return name
}

// IsValidFullname is Debezium's test of a full name: what mode avro leaves
// as it is. It is looser than Avro's own rule (ValidAvroFullname) in letting
// a part after a dot start with a digit.
func IsValidFullname(name string) bool {
	return name == "" || schemaRules[Avro].valid(name)
}

// ValidAvroName says whether name is a valid Avro name (a record's name
// without namespace, a field's name): [A-Za-z_][A-Za-z0-9_]*.
func ValidAvroName(name string) bool {
	return name != "" && fieldRules[Avro].valid(name)
}

// ValidAvroFullname says whether name is a valid Avro full name: valid
// Avro names joined by dots.
func ValidAvroFullname(name string) bool {
	for _, part := range strings.Split(name, ".") {
		if !ValidAvroName(part) {
			return false
		}
	}
	return true
}
