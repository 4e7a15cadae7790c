// Package pgcdc is postgres-cdc: change data capture from PostgreSQL by
// logical replication (pgoutput), with Debezium's PostgreSQL connector's
// config names, topics and change events, so that a Debezium config runs
// unchanged.
package pgcdc

import (
	"fmt"
	"strconv"
	"strings"

	"github.com/sluicehq/sluice/connectors"
	"github.com/sluicehq/sluice/connectors/cdc"
)

// Config keys, with Debezium's names.
const (
	keyHost              = "database.hostname"
	keyPort              = "database.port"
	keyUser              = "database.user"
	keyPassword          = "database.password"
	keyDBName            = "database.dbname"
	keySSLMode           = "database.sslmode"
	keyServerName        = "database.server.name"
	keyPlugin            = "plugin.name"
	keySlot              = "slot.name"
	keySlotDrop          = "slot.drop.on.stop"
	keyPublication       = "publication.name"
	keyPubAutocreate     = "publication.autocreate.mode"
	keySchemaInclude     = "schema.include.list"
	keySchemaExclude     = "schema.exclude.list"
	keyStatusInterval    = "status.update.interval.ms"
	keySnapshotFetchSize = "snapshot.fetch.size"
)

// Plugin describes postgres-cdc.
func Plugin() *connectors.Plugin {
	const (
		gConn = "Connection"
		gWhat = "Filters"
		gRepl = "Replication"
		gEvt  = "Events"
	)
	return &connectors.Plugin{
		Name:    "postgres-cdc",
		Class:   "io.debezium.connector.postgresql.PostgresConnector",
		Aliases: []string{"PostgresConnector"},
		Type:    connectors.SourceType,
		Version: "1.0.0",
		Description: "Captures row changes from PostgreSQL by logical replication (pgoutput): a consistent snapshot, then every " +
			"insert, update and delete, as Debezium's change events on PREFIX.SCHEMA.TABLE topics. The slot's position advances " +
			"only after Kafka has the events.",
		Spec: connectors.Spec{Fields: append([]connectors.Field{
			{Name: keyHost, Type: connectors.TypeString, Required: true, Importance: connectors.High, Group: gConn,
				Doc: "Host of the PostgreSQL server."},
			{Name: keyPort, Type: connectors.TypeInt, Default: "5432", Importance: connectors.High, Group: gConn,
				Doc: "Port of the PostgreSQL server."},
			{Name: keyUser, Type: connectors.TypeString, Required: true, Importance: connectors.High, Group: gConn,
				Doc: "User to connect as; it needs the REPLICATION attribute and may need to create the publication."},
			{Name: keyPassword, Type: connectors.TypePassword, Importance: connectors.High, Group: gConn,
				Doc: "Password of the user. Use a config provider (${env:NAME}, ${file:path:key}) to keep it out of the config."},
			{Name: keyDBName, Type: connectors.TypeString, Required: true, Importance: connectors.High, Group: gConn,
				Doc: "The database to capture."},
			{Name: keySSLMode, Type: connectors.TypeString, Default: "prefer", Importance: connectors.Medium, Group: gConn,
				Allowed: []string{"disable", "allow", "prefer", "require", "verify-ca", "verify-full"},
				Doc:     "TLS to the server, as libpq's sslmode."},
			{Name: keyPlugin, Type: connectors.TypeString, Default: "pgoutput", Importance: connectors.Medium, Group: gRepl,
				Allowed: []string{"pgoutput"},
				Doc:     "The logical decoding plugin: pgoutput, built into PostgreSQL 10 and later (decoderbufs is not supported)."},
			{Name: keySlot, Type: connectors.TypeString, Default: "debezium", Importance: connectors.Medium, Group: gRepl,
				Validate: func(v string) error {
					for _, r := range v {
						if !(r >= 'a' && r <= 'z' || r >= '0' && r <= '9' || r == '_') {
							return fmt.Errorf("%q may hold only lower-case letters, digits and underscores", v)
						}
					}
					return nil
				},
				Doc: "The replication slot, created if missing. Each connector needs its own."},
			{Name: keySlotDrop, Type: connectors.TypeBoolean, Default: "false", Importance: connectors.Low, Group: gRepl,
				Doc: "Drop the slot when the task stops (for tests: the next start takes a new snapshot)."},
			{Name: keyPublication, Type: connectors.TypeString, Default: "dbz_publication", Importance: connectors.Medium, Group: gRepl,
				Doc: "The publication pgoutput reads."},
			{Name: keyPubAutocreate, Type: connectors.TypeString, Default: "all_tables", Importance: connectors.Medium, Group: gRepl,
				Allowed: []string{"all_tables", "filtered", "disabled"},
				Doc:     "Creating a missing publication: all_tables (FOR ALL TABLES, which needs a superuser), filtered (FOR TABLE the captured tables) or disabled (it must exist)."},
			{Name: keySchemaInclude, Type: connectors.TypeList, Importance: connectors.Medium, Group: gWhat, Validate: cdc.ValidateRegexList,
				Doc: "Regular expressions of the schemas to capture; empty captures all but the system's."},
			{Name: keySchemaExclude, Type: connectors.TypeList, Importance: connectors.Medium, Group: gWhat, Validate: cdc.ValidateRegexList,
				Doc: "Regular expressions of schemas not to capture."},
			{Name: keyStatusInterval, Type: connectors.TypeDuration, Default: "10000", Importance: connectors.Low, Group: gRepl,
				Doc: "How often to tell the server the position Kafka has (it also answers the server at once when asked)."},
			{Name: keySnapshotFetchSize, Type: connectors.TypeInt, Default: "10240", Importance: connectors.Low, Group: gRepl, Validate: positive,
				Doc: "Rows read at a time from a table during the snapshot."},
		}, cdc.CommonFields(gEvt, "schema", "adaptive")...)},
		// One task: one slot, one ordered stream.
		TaskConfigs: cdc.OneTask,
		NewSource:   func() connectors.Source { return &source{} },
	}
}

func positive(v string) error {
	if n, err := strconv.Atoi(strings.TrimSpace(v)); err != nil || n < 1 {
		return fmt.Errorf("%q is not a whole number of at least 1", v)
	}
	return nil
}
