package avroname

import (
	"strings"
	"testing"
)

// The cases come from Debezium's SchemaNameAdjusterTest and
// TableSchemaBuilderTest, its SQL Server SpecialCharsInNamesIT and MySQL
// SchemaNameAdjustmentModeIT, and the rules of its ReplacementFunction,
// UnicodeReplacementFunction and the field name functions.

// avroUnsupported is TableSchemaBuilderTest's column name made of every
// character Avro refuses, after a leading digit.
const avroUnsupported = "9-`~!@#$%^&*()+=[]{}\\|;:\"'<>,.?/"

func TestSchemaName(t *testing.T) {
	for _, c := range []struct {
		mode     Mode
		in, want string
	}{
		{Avro, "", ""},
		{Avro, "test_server.connector_test.products.Key", "test_server.connector_test.products.Key"},
		{Avro, "test-server.connector_test.products.Key", "test_server.connector_test.products.Key"},
		{Avro, "shop-orders.inventory.customers.Key", "shop_orders.inventory.customers.Key"},
		{Avro, "shop.db.name-adjustment.Value", "shop.db.name_adjustment.Value"},
		{Avro, "server1.testDB1.dbo.UAT WAG CZ$Fixed Asset ['1'].Value", "server1.testDB1.dbo.UAT_WAG_CZ_Fixed_Asset___1__.Value"},
		{Avro, "some-invalid-fullname$", "some_invalid_fullname_"},
		// DBZ-6559: a leading digit is kept after the underscore.
		{Avro, "24ColumnName", "_24ColumnName"},
		{Avro, "44ColumnName", "_44ColumnName"},
		// Only the very first character is a first character: a part
		// after a dot may start with a digit.
		{Avro, "t1234.1st.products.Key", "t1234.1st.products.Key"},
		{Avro, "-x", "_x"},
		{Avro, "prix €", "prix__"},
		{Avro, "a😀", "a__"}, // two UTF-16 units, two underscores
		{Avro, "语言", "__"},
		{AvroUnicode, "_hello_语言.", "_u005fhello_u005f_u8bed_u8a00."},
		{AvroUnicode, "shop-orders.inventory.customers.Key", "shop_u002dorders.inventory.customers.Key"},
		{AvroUnicode, "shop.public.order_items.Value", "shop.public.order_u005fitems.Value"},
		{AvroUnicode, "1abc", "_u0031abc"},
		{AvroUnicode, "a\tb", "a_u009b"},                        // one hex digit: "00" in front, as Debezium writes it
		{AvroUnicode, "a\u0100b", "a_u100b"},                    // three hex digits: none
		{AvroUnicode, "a😀", "a_ud83d_ude00"},                    // one escape per UTF-16 surrogate
		{AvroUnicode, "shop.public.t.Key", "shop.public.t.Key"}, // valid: unchanged
		{None, "shop-orders.inventory.customers.Key", "shop-orders.inventory.customers.Key"},
		{None, "_hello_语言.", "_hello_语言."},
	} {
		if got := SchemaName(c.mode, c.in); got != c.want {
			t.Errorf("SchemaName(%s, %q) = %q, want %q", c.mode, c.in, got, c.want)
		}
	}
}

func TestFieldName(t *testing.T) {
	unicode := "_u0039_u002d_u0060_u007e_u0021_u0040_u0023_u0024_u0025_u005e_u0026_u002a_u0028_u0029_u002b_u003d" +
		"_u005b_u005d_u007b_u007d_u005c_u007c_u003b_u003a_u0022_u0027_u003c_u003e_u002c_u002e_u003f_u002f"
	for _, c := range []struct {
		mode     Mode
		in, want string
	}{
		{Avro, avroUnsupported, "_9" + strings.Repeat("_", len(avroUnsupported)-1)},
		{AvroUnicode, avroUnsupported, unicode},
		{Avro, "my col$a", "my_col_a"},
		{Avro, "my col#b", "my_col_b"},
		{Avro, "unit-price", "unit_price"},
		{Avro, "a.b", "a_b"}, // a dot is no separator in a field name
		{Avro, "_id", "_id"},
		{Avro, "24ColumnName", "_24ColumnName"},
		{Avro, "", ""},
		{AvroUnicode, "a.b", "a_u002eb"},
		{AvroUnicode, "_id", "_u005fid"},
		{AvroUnicode, "order_no", "order_u005fno"},
		{AvroUnicode, "1abc", "_u0031abc"},
		{AvroUnicode, "Qty2", "Qty2"},
		{None, "a.b", "a.b"},
	} {
		if got := FieldName(c.mode, c.in); got != c.want {
			t.Errorf("FieldName(%s, %q) = %q, want %q", c.mode, c.in, got, c.want)
		}
	}
}

// Debezium's valid first and other characters, and what each rule refuses.
func TestCharacters(t *testing.T) {
	letters := "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
	for _, c := range letters + "_" {
		if s := string(c); SchemaName(Avro, s) != s || FieldName(Avro, s) != s {
			t.Errorf("%q is a valid first character", s)
		}
	}
	for _, c := range letters + "_.0123456789" {
		if s := "a" + string(c); SchemaName(Avro, s) != s {
			t.Errorf("%q is a valid character after the first", string(c))
		}
	}
	// avro_unicode: the underscore is its escape character, so it is never
	// valid; a digit is not valid first.
	for _, c := range "1_语" {
		if s := string(c); SchemaName(AvroUnicode, s) == s {
			t.Errorf("avro_unicode keeps %q as a first character", s)
		}
	}
	for _, c := range "_语" {
		if s := "a" + string(c); SchemaName(AvroUnicode, s) == s {
			t.Errorf("avro_unicode keeps %q after the first character", string(c))
		}
	}
}

func TestValidity(t *testing.T) {
	for name, want := range map[string][2]bool{ // Debezium's check, Avro's
		"test_server.connector_test.products.Key": {true, true},
		"t1234.connector_test.products.Key":       {true, true},
		"test-server.connector_test.products.Key": {false, false},
		"t1234.1st.Key": {true, false},
		"a..b":          {true, false},
		"":              {true, false},
		"_x":            {true, true},
	} {
		if got := IsValidFullname(name); got != want[0] {
			t.Errorf("IsValidFullname(%q) = %v", name, got)
		}
		if got := ValidAvroFullname(name); got != want[1] {
			t.Errorf("ValidAvroFullname(%q) = %v", name, got)
		}
	}
	// Whatever the adjustment, the result passes Debezium's check.
	for _, in := range []string{avroUnsupported, "shop-orders.x.y.Key", "_hello_语言.", "a😀b"} {
		for _, m := range []Mode{Avro, AvroUnicode} {
			if out := SchemaName(m, in); !IsValidFullname(out) {
				t.Errorf("SchemaName(%s, %q) = %q, not valid", m, in, out)
			}
			if out := FieldName(m, in); !ValidAvroName(out) {
				t.Errorf("FieldName(%s, %q) = %q, not valid", m, in, out)
			}
		}
	}
}

func TestParseMode(t *testing.T) {
	for in, want := range map[string]Mode{"none": None, " AVRO ": Avro, "Avro_Unicode": AvroUnicode} {
		if got, ok := ParseMode(in); !ok || got != want {
			t.Errorf("ParseMode(%q) = %q, %v", in, got, ok)
		}
	}
	for _, in := range []string{"", "avro-unicode", "unicode"} {
		if _, ok := ParseMode(in); ok {
			t.Errorf("ParseMode(%q) accepted", in)
		}
	}
}
