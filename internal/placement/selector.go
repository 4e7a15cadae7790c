// Package placement parses and matches the label selectors that pin a
// connector's tasks to agents: the connector key placement.selector against
// the labels an agent registers with (sluice agent --labels).
//
// The syntax is Kubernetes' label selector syntax, requirements separated by
// commas, all of which must hold:
//
//	region=eu-west-1        label equals value (== also works)
//	zone!=c                 label absent or different
//	region in (a,b)         label is one of the values
//	zone notin (c,d)        label absent or none of the values
//	ssd                     label present, any value
//	!spot                   label absent
package placement

import (
	"fmt"
	"maps"
	"slices"
	"strings"
	"unicode"
)

type op int

const (
	opEq op = iota
	opNe
	opIn
	opNotIn
	opExists
	opAbsent
)

type requirement struct {
	key    string
	op     op
	values []string
}

// Selector is a parsed selector. The zero Selector matches every agent.
type Selector struct {
	reqs []requirement
	src  string
}

// String returns the selector as written.
func (s Selector) String() string { return s.src }

// Empty reports whether the selector matches every agent.
func (s Selector) Empty() bool { return len(s.reqs) == 0 }

// Matches reports whether labels satisfy every requirement.
func (s Selector) Matches(labels map[string]string) bool {
	for _, r := range s.reqs {
		v, ok := labels[r.key]
		switch r.op {
		case opEq:
			if !ok || v != r.values[0] {
				return false
			}
		case opNe:
			if ok && v == r.values[0] {
				return false
			}
		case opIn:
			if !ok || !slices.Contains(r.values, v) {
				return false
			}
		case opNotIn:
			if ok && slices.Contains(r.values, v) {
				return false
			}
		case opExists:
			if !ok {
				return false
			}
		case opAbsent:
			if ok {
				return false
			}
		}
	}
	return true
}

// Parse parses a selector. An empty string selects every agent.
func Parse(src string) (Selector, error) {
	sel := Selector{src: strings.TrimSpace(src)}
	for _, part := range splitTop(sel.src) {
		part = strings.TrimSpace(part)
		if part == "" {
			return Selector{}, fmt.Errorf("%q: empty requirement (two commas in a row, or a trailing comma)", src)
		}
		r, err := parseRequirement(part)
		if err != nil {
			return Selector{}, fmt.Errorf("%q: %w", src, err)
		}
		sel.reqs = append(sel.reqs, r)
	}
	return sel, nil
}

// splitTop splits at commas outside parentheses.
func splitTop(s string) []string {
	if s == "" {
		return nil
	}
	var out []string
	depth, start := 0, 0
	for i, c := range s {
		switch c {
		case '(':
			depth++
		case ')':
			depth--
		case ',':
			if depth == 0 {
				out = append(out, s[start:i])
				start = i + 1
			}
		}
	}
	return append(out, s[start:])
}

func parseRequirement(p string) (requirement, error) {
	if strings.HasPrefix(p, "!") && !strings.Contains(p, "=") {
		k := strings.TrimSpace(p[1:])
		if err := checkKey(k); err != nil {
			return requirement{}, err
		}
		return requirement{key: k, op: opAbsent}, nil
	}
	for _, o := range []struct {
		tok string
		op  op
	}{{"!=", opNe}, {"==", opEq}, {"=", opEq}} {
		if i := strings.Index(p, o.tok); i >= 0 {
			k, v := strings.TrimSpace(p[:i]), strings.TrimSpace(p[i+len(o.tok):])
			if err := checkKey(k); err != nil {
				return requirement{}, err
			}
			if err := checkValue(v); err != nil {
				return requirement{}, fmt.Errorf("label %s: %w", k, err)
			}
			return requirement{key: k, op: o.op, values: []string{v}}, nil
		}
	}
	fields := strings.Fields(p)
	if len(fields) == 1 && !strings.ContainsAny(p, "()") {
		if err := checkKey(fields[0]); err != nil {
			return requirement{}, err
		}
		return requirement{key: fields[0], op: opExists}, nil
	}
	if len(fields) < 2 {
		return requirement{}, fmt.Errorf("cannot read %q: write key=value, key!=value, key in (a,b), key notin (a,b), key or !key", p)
	}
	k := fields[0]
	rest := strings.TrimSpace(strings.TrimPrefix(p, k))
	var o op
	switch {
	case strings.HasPrefix(rest, "notin"):
		o, rest = opNotIn, strings.TrimSpace(rest[len("notin"):])
	case strings.HasPrefix(rest, "in"):
		o, rest = opIn, strings.TrimSpace(rest[len("in"):])
	default:
		return requirement{}, fmt.Errorf("cannot read %q: after the label %s, expected =, !=, in or notin", p, k)
	}
	if err := checkKey(k); err != nil {
		return requirement{}, err
	}
	if !strings.HasPrefix(rest, "(") || !strings.HasSuffix(rest, ")") {
		return requirement{}, fmt.Errorf("cannot read %q: the values of in and notin go in parentheses, for example %s in (a,b)", p, k)
	}
	var vals []string
	for _, v := range strings.Split(rest[1:len(rest)-1], ",") {
		v = strings.TrimSpace(v)
		if v == "" {
			return requirement{}, fmt.Errorf("cannot read %q: empty value in the set", p)
		}
		if err := checkValue(v); err != nil {
			return requirement{}, fmt.Errorf("label %s: %w", k, err)
		}
		vals = append(vals, v)
	}
	return requirement{key: k, op: o, values: vals}, nil
}

func validChar(c rune) bool {
	return unicode.IsLetter(c) || unicode.IsDigit(c) || strings.ContainsRune("-_./", c)
}

func checkKey(k string) error {
	if k == "" {
		return fmt.Errorf("a requirement has no label name")
	}
	for _, c := range k {
		if !validChar(c) {
			return fmt.Errorf("label name %q: only letters, digits and - _ . / are allowed", k)
		}
	}
	return nil
}

func checkValue(v string) error {
	if v == "" {
		return fmt.Errorf("empty value")
	}
	for _, c := range v {
		if !validChar(c) {
			return fmt.Errorf("value %q: only letters, digits and - _ . / are allowed", v)
		}
	}
	return nil
}

// ParseLabels parses agent labels written as key=value pairs separated by
// commas, as in sluice agent --labels region=eu-west-1,zone=b.
func ParseLabels(s string) (map[string]string, error) {
	out := map[string]string{}
	for _, kv := range strings.Split(s, ",") {
		kv = strings.TrimSpace(kv)
		if kv == "" {
			continue
		}
		k, v, ok := strings.Cut(kv, "=")
		k, v = strings.TrimSpace(k), strings.TrimSpace(v)
		if !ok {
			return nil, fmt.Errorf("label %q: write key=value", kv)
		}
		if err := checkKey(k); err != nil {
			return nil, err
		}
		if err := checkValue(v); err != nil {
			return nil, fmt.Errorf("label %s: %w", k, err)
		}
		if _, dup := out[k]; dup {
			return nil, fmt.Errorf("label %s is given twice", k)
		}
		out[k] = v
	}
	return out, nil
}

// FormatLabels renders labels sorted by key, as ParseLabels reads them.
func FormatLabels(l map[string]string) string {
	parts := make([]string, 0, len(l))
	for _, k := range slices.Sorted(maps.Keys(l)) {
		parts = append(parts, k+"="+l[k])
	}
	return strings.Join(parts, ",")
}
