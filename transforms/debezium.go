package transforms

import (
	"fmt"
	"strings"

	"github.com/sluicehq/sluice/connectors"
	"github.com/sluicehq/sluice/connectors/schema"
)

// Debezium's io.debezium.transforms.ExtractNewRecordState: unwraps a change
// event's envelope ({before, after, source, op, ts_ms}) to the row state,
// with Debezium's options for deletes, tombstones and added fields.
func debeziumPlugins() []Plugin {
	return []Plugin{{
		Name: "ExtractNewRecordState", Class: "io.debezium.transforms.ExtractNewRecordState", Kind: KindTransform,
		Description: "Unwraps Debezium change events to the row after the change (the row before it, for a rewritten delete). " +
			"Records that are not change events pass unchanged.",
		Spec: connectors.Spec{Fields: []connectors.Field{
			{Name: "drop.tombstones", Type: connectors.TypeBoolean, Default: "true", Importance: connectors.Low,
				Doc: "Whether the tombstone that follows a delete event is dropped (deprecated in Debezium for delete.tombstone.handling.mode)."},
			{Name: "delete.handling.mode", Type: connectors.TypeString, Default: "drop", Importance: connectors.Medium,
				Allowed: []string{"drop", "none", "rewrite"},
				Doc:     "How delete events are handled: drop them, pass them on as tombstones (none), or rewrite them to the row before the delete with __deleted=true (rewrite, which also adds __deleted=false to other events)."},
			{Name: "delete.tombstone.handling.mode", Type: connectors.TypeString, Importance: connectors.Medium,
				Allowed: []string{"drop", "tombstone", "rewrite", "rewrite-with-tombstone"},
				Doc:     "Debezium 2.5's single setting for deletes and tombstones; when set it wins over delete.handling.mode and drop.tombstones."},
			{Name: "add.fields", Type: connectors.TypeList, Importance: connectors.Low,
				Doc: "Envelope fields to add to the row, for example op,table,lsn,source.ts_ms; named with add.fields.prefix, dots as underscores."},
			{Name: "add.fields.prefix", Type: connectors.TypeString, Default: "__", Importance: connectors.Low, Doc: "Prefix of the added fields."},
			{Name: "add.headers", Type: connectors.TypeList, Importance: connectors.Low,
				Doc: "Envelope fields to add as headers, named with add.headers.prefix."},
			{Name: "add.headers.prefix", Type: connectors.TypeString, Default: "__", Importance: connectors.Low, Doc: "Prefix of the added headers."},
		}},
		NewTransform: newExtractNewRecordState,
	}}
}

type extractNewRecordState struct {
	dropDeletes, rewrite, dropTombstones bool
	fields, headers                      []string
	fieldsPrefix, headersPrefix          string
	schemas                              schemaCache
}

func newExtractNewRecordState(cfg connectors.Config) (Transform, error) {
	t := &extractNewRecordState{fields: cfg.List("add.fields"), headers: cfg.List("add.headers"),
		fieldsPrefix: cfg.String("add.fields.prefix"), headersPrefix: cfg.String("add.headers.prefix")}
	switch strings.ToLower(strings.TrimSpace(cfg.String("delete.tombstone.handling.mode"))) {
	case "drop":
		t.dropDeletes, t.dropTombstones = true, true
	case "tombstone":
	case "rewrite":
		t.rewrite, t.dropTombstones = true, true
	case "rewrite-with-tombstone":
		t.rewrite = true
	default:
		t.dropTombstones = cfg.Bool("drop.tombstones")
		switch strings.ToLower(strings.TrimSpace(cfg.String("delete.handling.mode"))) {
		case "drop":
			t.dropDeletes = true
		case "rewrite":
			t.rewrite = true
		}
	}
	return t, nil
}

func (t *extractNewRecordState) NeedsStructure() bool { return true }

// envelope reads a change event: op, before, after and a field getter.
func envelope(s *schema.Schema, v any) (op string, before, after any, get func(path string) any, ok bool) {
	switch e := v.(type) {
	case *schema.StructValue:
		if s == nil || s.Field("op") == nil || s.Field("after") == nil || s.Field("before") == nil {
			return "", nil, nil, nil, false
		}
		op, _ = e.Get("op").(string)
		return op, e.Get("before"), e.Get("after"), func(path string) any {
			var cur any = e
			for _, p := range strings.Split(path, ".") {
				st, ok := cur.(*schema.StructValue)
				if !ok {
					return nil
				}
				cur = st.Get(p)
			}
			return cur
		}, true
	case map[string]any:
		if _, hasOp := e["op"]; !hasOp {
			return "", nil, nil, nil, false
		}
		if _, hasAfter := e["after"]; !hasAfter {
			return "", nil, nil, nil, false
		}
		op, _ = e["op"].(string)
		return op, e["before"], e["after"], func(path string) any {
			var cur any = e
			for _, p := range strings.Split(path, ".") {
				m, ok := cur.(map[string]any)
				if !ok {
					return nil
				}
				cur = m[p]
			}
			return cur
		}, true
	}
	return "", nil, nil, nil, false
}

func (t *extractNewRecordState) Apply(r *connectors.Record) (bool, error) {
	if r.ValueData == nil && r.Value == nil {
		return !t.dropTombstones, nil // the tombstone after a delete
	}
	op, before, after, get, ok := envelope(r.ValueSchema, r.ValueData)
	if !ok {
		return true, nil // heartbeats, schema changes: as they are
	}
	row, deleted := after, false
	switch op {
	case "d":
		if t.dropDeletes {
			return false, nil
		}
		if !t.rewrite {
			sideOf(false).set(r, nil, nil) // a tombstone
			return true, nil
		}
		row, deleted = before, true
	case "t", "m":
		return false, nil // truncate and message events carry no row
	}
	var rowSchema *schema.Schema
	if r.ValueSchema != nil {
		if op == "d" {
			rowSchema = r.ValueSchema.Field("before").Schema
		} else {
			rowSchema = r.ValueSchema.Field("after").Schema
		}
	}
	for _, h := range t.headers {
		if v := get(h); v != nil {
			r.Headers = append(r.Headers, connectors.Header{Key: t.headersPrefix + strings.ReplaceAll(h, ".", "_"), Value: []byte(fmt.Sprint(v))})
		}
	}
	extra := make([]struct {
		name string
		v    any
	}, 0, len(t.fields)+1)
	for _, f := range t.fields {
		extra = append(extra, struct {
			name string
			v    any
		}{t.fieldsPrefix + strings.ReplaceAll(f, ".", "_"), get(f)})
	}
	if t.rewrite {
		extra = append(extra, struct {
			name string
			v    any
		}{"__deleted", fmt.Sprint(deleted)})
	}
	if len(extra) == 0 {
		sideOf(false).set(r, rowSchema, row)
		return true, nil
	}
	if rowSchema == nil {
		m, _ := row.(map[string]any)
		out := make(map[string]any, len(m)+len(extra))
		for k, v := range m {
			out[k] = v
		}
		for _, e := range extra {
			out[e.name] = e.v
		}
		sideOf(false).set(r, nil, out)
		return true, nil
	}
	st, ok := row.(*schema.StructValue)
	if !ok {
		return false, fmt.Errorf("change event without a row to unwrap (op %q)", op)
	}
	ns, err := t.schemas.get(rowSchema, func() (*schema.Schema, error) {
		ns := copyBasics(rowSchema)
		ns.Fields = append([]schema.Field(nil), rowSchema.Fields...)
		for _, e := range extra {
			fs := schema.OptionalStringSchema()
			if r.ValueSchema != nil {
				if f := fieldSchema(r.ValueSchema, strings.TrimPrefix(e.name, t.fieldsPrefix)); f != nil && e.name != "__deleted" {
					c := *f
					c.Optional = true
					fs = &c
				}
			}
			addField(ns, e.name, fs)
		}
		return ns, nil
	})
	if err != nil {
		return false, err
	}
	out := schema.NewStruct(ns)
	copy(out.Values, st.Values)
	for i, e := range extra {
		out.Values[len(rowSchema.Fields)+i] = e.v
	}
	sideOf(false).set(r, ns, out)
	return true, nil
}

// fieldSchema finds the schema of an envelope field named with underscores
// for dots (source_ts_ms is source.ts_ms).
func fieldSchema(s *schema.Schema, name string) *schema.Schema {
	if f := s.Field(name); f != nil {
		return f.Schema
	}
	if head, rest, ok := strings.Cut(name, "_"); ok {
		if f := s.Field(head); f != nil && f.Schema.Type == schema.Struct {
			return fieldSchema(f.Schema, rest)
		}
	}
	return nil
}
