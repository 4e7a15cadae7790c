package transforms

import (
	"fmt"
	"strings"

	"github.com/sluicehq/sluice/connectors"
	"github.com/sluicehq/sluice/connectors/schema"
)

// Kafka Connect's field.syntax.version (KIP-821, Apache Kafka 3.8): with V1
// (the default) a field config names a top-level field, dots and all; with
// V2 it is a path into nested structs and maps, a.b.c. A step holding dots
// is written in backticks (`a.b`.c); a backtick that would close it early
// is escaped with a backslash, and a trailing dot names an empty last step.

const keyFieldSyntax = "field.syntax.version"

// fieldSyntaxField is the config field of the transforms that take paths.
var fieldSyntaxField = connectors.Field{Name: keyFieldSyntax, Type: connectors.TypeString, Default: "V1", Importance: connectors.High,
	Allowed: []string{"V1", "V2"},
	Doc: "Defines the version of the syntax to access fields. If set to V1, then the field paths are limited to access the elements at the " +
		"root level of the struct or map. If set to V2, the syntax supports accessing nested elements: a.b.c, with `a.b` for a name that holds dots."}

// fieldPath is a parsed field config: one step under V1.
type fieldPath []string

// parseFieldPath reads a field config under the connector's syntax
// version; key names the config for errors.
func parseFieldPath(cfg connectors.Config, key, text string) (fieldPath, error) {
	if !strings.EqualFold(strings.TrimSpace(cfg.String(keyFieldSyntax)), "V2") {
		return fieldPath{text}, nil
	}
	var steps []string
	for i := 0; i < len(text); {
		if text[i] != '`' {
			j := strings.IndexByte(text[i:], '.')
			if j < 0 {
				steps = append(steps, text[i:])
				i = len(text)
				break
			}
			steps = append(steps, text[i:i+j])
			i += j + 1
			continue
		}
		open := i
		var b strings.Builder
		start := i + 1
		for j := start; ; j++ {
			k := strings.IndexByte(text[j:], '`')
			if k < 0 {
				return nil, fmt.Errorf("%s: incomplete backtick pair in path %q: escape the backtick at position %d with a backslash", key, text, open)
			}
			j += k
			escaped := text[j-1] == '\\'
			if j == len(text)-1 {
				if escaped {
					return nil, fmt.Errorf("%s: incomplete backtick pair in path %q: escape the backtick at position %d with a backslash", key, text, open)
				}
				b.WriteString(text[start:j])
				i = len(text)
				break
			}
			if text[j+1] != '.' {
				continue // a backtick inside the name
			}
			if escaped {
				b.WriteString(text[start : j-1])
				b.WriteByte('`')
				start = j + 1
				continue
			}
			b.WriteString(text[start:j])
			i = j + 2
			break
		}
		steps = append(steps, b.String())
	}
	if strings.HasSuffix(text, ".") {
		steps = append(steps, "")
	}
	if len(steps) == 0 {
		steps = fieldPath{""}
	}
	return steps, nil
}

func (p fieldPath) String() string { return strings.Join(p, ".") }

// fieldOf returns the schema of the field the path names in s, or nil.
func (p fieldPath) fieldOf(s *schema.Schema) *schema.Schema {
	for _, step := range p {
		if s == nil || s.Type != schema.Struct {
			return nil
		}
		f := s.Field(step)
		if f == nil {
			return nil
		}
		s = f.Schema
	}
	return s
}

// structValue returns the value the path names in st (nil when a step is
// missing or null).
func (p fieldPath) structValue(st *schema.StructValue) any {
	var v any = st
	for _, step := range p {
		cur, ok := v.(*schema.StructValue)
		if !ok || cur == nil || cur.Schema.Field(step) == nil {
			return nil
		}
		v = cur.Get(step)
	}
	return v
}

// mapValue returns the value the path names in a schemaless map (nil when a
// step is missing or null).
func (p fieldPath) mapValue(m map[string]any) any {
	var v any = m
	for _, step := range p {
		cur, ok := v.(map[string]any)
		if !ok {
			return nil
		}
		v = cur[step]
	}
	return v
}

// v1Only is field.syntax.version on a transform that takes top-level field
// names only, so far: V2 is refused with the reason instead of being ignored.
func v1Only(transform string) connectors.Field {
	f := fieldSyntaxField
	f.Allowed = []string{"V1"}
	f.Doc = "Defines the version of the syntax to access fields. " + transform + " takes V1 (top-level fields) only so far; " +
		"ExtractField takes V2 (nested paths)."
	return f
}
