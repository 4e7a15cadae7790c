package converter

import (
	"bytes"
	"testing"
)

func TestNumericConverters(t *testing.T) {
	for _, c := range []struct {
		class string
		in    any
		bytes []byte
		back  any
	}{
		{IntegerClass, int32(258), []byte{0, 0, 1, 2}, int32(258)},
		{"LongConverter", int64(-1), []byte{255, 255, 255, 255, 255, 255, 255, 255}, int64(-1)},
		{ShortClass, int16(7), []byte{0, 7}, int16(7)},
		{DoubleClass, 1.5, []byte{0x3f, 0xf8, 0, 0, 0, 0, 0, 0}, 1.5},
		{FloatClass, float32(1.5), []byte{0x3f, 0xc0, 0, 0}, float32(1.5)},
		{BooleanClass, true, []byte{1}, true},
		{IntegerClass, "42", []byte{0, 0, 0, 42}, int32(42)},
	} {
		cv, err := New(c.class, nil, false)
		if err != nil {
			t.Fatal(err)
		}
		b, err := cv.FromConnect("t", nil, c.in)
		if err != nil || !bytes.Equal(b, c.bytes) {
			t.Fatalf("%s(%v) = %v %v, want %v", c.class, c.in, b, err, c.bytes)
		}
		_, back, err := cv.ToConnect("t", b)
		if err != nil || back != c.back {
			t.Fatalf("%s back: %v %v", c.class, back, err)
		}
	}
	cv, _ := New(IntegerClass, nil, false)
	if _, _, err := cv.ToConnect("t", []byte{1, 2}); err == nil {
		t.Fatal("2 bytes read as an int")
	}
	if b, err := cv.FromConnect("t", nil, nil); b != nil || err != nil {
		t.Fatal("null is not null")
	}
}
