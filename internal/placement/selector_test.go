package placement

import (
	"strings"
	"testing"
)

func TestSelectorMatches(t *testing.T) {
	eu := map[string]string{"region": "eu-west-1", "zone": "b", "ssd": "true"}
	us := map[string]string{"region": "us-east-1", "zone": "c"}
	cases := []struct {
		sel    string
		eu, us bool
	}{
		{"", true, true},
		{"region=eu-west-1", true, false},
		{"region==eu-west-1", true, false},
		{"region=eu-west-1,zone!=c", true, false},
		{"zone!=c", true, false},
		{"zone!=q", true, true},
		{"region in (eu-west-1, us-east-1)", true, true},
		{"region in (us-east-1),zone in (c,d)", false, true},
		{"zone notin (c,d)", true, false},
		{"ssd", true, false},
		{"!ssd", false, true},
		{"missing!=x", true, true},
		{"missing notin (x)", true, true},
		{"missing in (x)", false, false},
	}
	for _, c := range cases {
		s, err := Parse(c.sel)
		if err != nil {
			t.Fatalf("Parse(%q): %v", c.sel, err)
		}
		if got := s.Matches(eu); got != c.eu {
			t.Errorf("%q matches eu = %v, want %v", c.sel, got, c.eu)
		}
		if got := s.Matches(us); got != c.us {
			t.Errorf("%q matches us = %v, want %v", c.sel, got, c.us)
		}
	}
}

func TestSelectorErrors(t *testing.T) {
	for sel, want := range map[string]string{
		"region=":            "empty value",
		"=b":                 "no label name",
		"region in a,b":      "parentheses",
		"region in (a,,b)":   "empty value",
		"a=b,,c=d":           "empty requirement",
		"region ~ b":         "expected =, !=, in or notin",
		"reg ion=b":          "only letters",
		"region=b c":         "only letters",
		"region notin (a b)": "only letters",
	} {
		_, err := Parse(sel)
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("Parse(%q) = %v, want an error with %q", sel, err, want)
		}
	}
}

func TestLabels(t *testing.T) {
	l, err := ParseLabels("region=eu-west-1, zone=b")
	if err != nil || l["region"] != "eu-west-1" || l["zone"] != "b" || len(l) != 2 {
		t.Fatalf("ParseLabels = %v, %v", l, err)
	}
	if FormatLabels(l) != "region=eu-west-1,zone=b" {
		t.Fatalf("FormatLabels = %q", FormatLabels(l))
	}
	for _, bad := range []string{"region", "a=1,a=2", "a=b c"} {
		if _, err := ParseLabels(bad); err == nil {
			t.Errorf("ParseLabels(%q) accepted", bad)
		}
	}
}
