package cdc

import (
	"fmt"
	"log/slog"
	"strings"
	"sync"

	"github.com/sluicehq/sluice/connectors"
	"github.com/sluicehq/sluice/connectors/cdc/avroname"
	"github.com/sluicehq/sluice/connectors/converter"
	"github.com/sluicehq/sluice/connectors/schema"
)

// Config keys of the name adjustments, with Debezium's names.
const (
	KeySchemaNameAdjustment = "schema.name.adjustment.mode"
	KeyFieldNameAdjustment  = "field.name.adjustment.mode"
)

// apicurioAvro is Apicurio's Avro converter, which Debezium also adjusts
// field names for.
const apicurioAvro = "io.apicurio.registry.utils.converter.AvroConverter"

func nameFields(group string) []connectors.Field {
	return []connectors.Field{
		{Name: KeySchemaNameAdjustment, Type: connectors.TypeString, Default: string(avroname.None), Importance: connectors.Low, Group: group,
			Allowed: avroname.Modes,
			Doc: "How to adjust the names of the key, value, envelope and heartbeat schemas for the converter: none leaves them as they are; " +
				"avro replaces each character that cannot be in an Avro name with an underscore (a topic.prefix shop-orders names " +
				"shop_orders.SCHEMA.TABLE.Value); avro_unicode replaces each such character, and the underscore, with _uxxxx (shop_u002dorders)."},
		{Name: KeyFieldNameAdjustment, Type: connectors.TypeString, Default: string(avroname.None), Importance: connectors.Low, Group: group,
			Allowed: avroname.Modes,
			Doc: "How to adjust field names (the column names in the key and the before and after rows) for the converter: none, " +
				"avro or avro_unicode, as schema.name.adjustment.mode, and a dot is replaced too. Under none, a key.converter or " +
				"value.converter that is an AvroConverter in this connector's config means avro, as in Debezium."},
	}
}

// Names adjusts a connector's schema and field names as its
// schema.name.adjustment.mode and field.name.adjustment.mode say. It logs
// each name it replaces, once, and refuses two different schema names that
// would become one. It is safe for concurrent use.
type Names struct {
	SchemaMode, FieldMode avroname.Mode
	// Log gets the warnings; nil logs to slog.Default().
	Log *slog.Logger

	mu       sync.Mutex
	warned   map[string]bool
	original map[string]string // an adjusted schema name → the name it replaced
}

// ReadNames reads the name adjustments of a connector's config.
func ReadNames(cfg connectors.Config) (*Names, error) {
	n := &Names{}
	var ok bool
	if n.SchemaMode, ok = avroname.ParseMode(cfg.String(KeySchemaNameAdjustment)); !ok {
		return nil, fmt.Errorf("%s: %q is not one of %s", KeySchemaNameAdjustment, cfg.String(KeySchemaNameAdjustment), strings.Join(avroname.Modes, ", "))
	}
	if n.FieldMode, ok = avroname.ParseMode(cfg.String(KeyFieldNameAdjustment)); !ok {
		return nil, fmt.Errorf("%s: %q is not one of %s", KeyFieldNameAdjustment, cfg.String(KeyFieldNameAdjustment), strings.Join(avroname.Modes, ", "))
	}
	if n.FieldMode == avroname.None && (isAvro(cfg.String(connectors.KeyKeyConverter)) || isAvro(cfg.String(connectors.KeyValueConverter))) {
		n.FieldMode = avroname.Avro
	}
	return n, nil
}

// isAvro says whether a converter class is an Avro converter: Debezium
// then adjusts field names for Avro even under
// field.name.adjustment.mode=none.
func isAvro(class string) bool {
	name, _ := converter.ClassOf(class)
	return name == converter.AvroClass || strings.EqualFold(strings.TrimSpace(class), apicurioAvro)
}

// Schema adjusts a schema name. A name that two different names would both
// become is an error, as in Debezium (which compares only names it
// replaced).
func (n *Names) Schema(name string) (string, error) {
	if n == nil {
		return name, nil
	}
	adjusted := avroname.SchemaName(n.SchemaMode, name)
	if adjusted == name {
		return name, nil
	}
	n.mu.Lock()
	defer n.mu.Unlock()
	if n.original == nil {
		n.original = map[string]string{}
	}
	if was, ok := n.original[adjusted]; ok && was != name {
		return "", fmt.Errorf("%s=%s: schema names %q and %q would both become %q", KeySchemaNameAdjustment, n.SchemaMode, was, name, adjusted)
	}
	n.original[adjusted] = name
	n.warnLocked("schema", name, adjusted)
	return adjusted, nil
}

// Field adjusts a field name.
func (n *Names) Field(name string) string {
	if n == nil {
		return name
	}
	adjusted := avroname.FieldName(n.FieldMode, name)
	if adjusted != name {
		n.mu.Lock()
		n.warnLocked("field", name, adjusted)
		n.mu.Unlock()
	}
	return adjusted
}

func (n *Names) warnLocked(kind, name, adjusted string) {
	key := kind + "\x00" + name
	if n.warned[key] {
		return
	}
	if n.warned == nil {
		n.warned = map[string]bool{}
	}
	n.warned[key] = true
	log := n.Log
	if log == nil {
		log = slog.Default()
	}
	log.Warn("the "+kind+" name is not a valid Avro name, so it is written adjusted", "name", name, "as", adjusted)
}

// renamed is sc under its adjusted name: sc itself when that is its name, a
// copy otherwise.
func (n *Names) renamed(sc *schema.Schema) (*schema.Schema, error) {
	name, err := n.Schema(sc.Name)
	if err != nil || name == sc.Name {
		return sc, err
	}
	c := *sc
	c.Name = name
	return &c, nil
}
