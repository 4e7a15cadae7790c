// Package jdbc holds jdbc-source and jdbc-sink: Confluent's JDBC connectors'
// config names, aliases and data on the wire, for PostgreSQL (pgx) and
// MySQL or MariaDB (go-sql-driver/mysql), reached through JDBC URLs.
package jdbc

import (
	"fmt"
	"strconv"
	"strings"

	"github.com/sluicehq/sluice/connectors"
)

// Config keys, with Confluent's names.
const (
	keyURL      = "connection.url"
	keyUser     = "connection.user"
	keyPassword = "connection.password"
	keyAttempts = "connection.attempts"
	keyBackoff  = "connection.backoff.ms"
	keyDialect  = "dialect.name"
	keyTimezone = "db.timezone"

	keyMode            = "mode"
	keyIncColumn       = "incrementing.column.name"
	keyTSColumn        = "timestamp.column.name"
	keyTSDelay         = "timestamp.delay.interval.ms"
	keyTSInitial       = "timestamp.initial"
	keyValidateNonNull = "validate.non.null"
	keyTableWhitelist  = "table.whitelist"
	keyTableInclude    = "table.include.list"
	keyTableBlacklist  = "table.blacklist"
	keyTableExclude    = "table.exclude.list"
	keyQuery           = "query"
	keyQuerySuffix     = "query.suffix"
	keyTopicPrefix     = "topic.prefix"
	keyPollInterval    = "poll.interval.ms"
	keyBatchMaxRows    = "batch.max.rows"
	keyTablePoll       = "table.poll.interval.ms"
	keyNumericMapping  = "numeric.mapping"

	// A task's own keys: its tables, or its share of all tables.
	keyTaskTables = "tables"
	keyTaskIndex  = "jdbc.task"
	keyTaskCount  = "jdbc.task.count"

	keyInsertMode     = "insert.mode"
	keyPKMode         = "pk.mode"
	keyPKFields       = "pk.fields"
	keyFieldsAllow    = "fields.whitelist"
	keyDeleteEnabled  = "delete.enabled"
	keyAutoCreate     = "auto.create"
	keyAutoEvolve     = "auto.evolve"
	keyTableFormat    = "table.name.format"
	keyBatchSize      = "batch.size"
	keyMaxRetries     = "max.retries"
	keyRetryBackoff   = "retry.backoff.ms"
	keyQuoteIdents    = "quote.sql.identifiers"
	keyTableTypes     = "table.types"
	keySchemaPattern  = "schema.pattern"
	keyCatalogPattern = "catalog.pattern"
)

func connectionFields(group string) []connectors.Field {
	return []connectors.Field{
		{Name: keyURL, Type: connectors.TypeString, Required: true, Importance: connectors.High, Group: group,
			Validate: func(v string) error { _, err := parseURL(v, "", ""); return err },
			Doc:      "JDBC connection URL: jdbc:postgresql://host:5432/db, jdbc:mysql://host:3306/db or jdbc:mariadb://host:3306/db, with the drivers' parameters (user, password, sslmode, ssl)."},
		{Name: keyUser, Type: connectors.TypeString, Importance: connectors.High, Group: group,
			Doc: "JDBC connection user."},
		{Name: keyPassword, Type: connectors.TypePassword, Importance: connectors.High, Group: group,
			Doc: "JDBC connection password. Use a config provider (${env:NAME}, ${file:path:key}) to keep it out of the config."},
		{Name: keyAttempts, Type: connectors.TypeInt, Default: "3", Importance: connectors.Low, Group: group, Validate: positive,
			Doc: "How many times to try to connect before the task fails."},
		{Name: keyBackoff, Type: connectors.TypeDuration, Default: "10000", Importance: connectors.Low, Group: group,
			Doc: "Wait between connection attempts, in milliseconds."},
		{Name: keyDialect, Type: connectors.TypeString, Importance: connectors.Low, Group: group,
			Allowed: []string{"", postgres, mysqlDB},
			Doc:     "The database dialect; by default the one the URL names."},
		{Name: keyTimezone, Type: connectors.TypeString, Default: "UTC", Importance: connectors.Medium, Group: group,
			Validate: func(v string) error {
				switch strings.ToUpper(strings.TrimSpace(v)) {
				case "UTC", "ETC/UTC", "Z", "GMT", "+00:00":
					return nil
				}
				return fmt.Errorf("%q is not supported: Sluice reads and writes timestamps without a zone as UTC (set UTC)", v)
			},
			Doc: "Time zone of timestamps without a zone. Sessions run in UTC."},
	}
}

func positive(v string) error {
	if n, err := strconv.Atoi(strings.TrimSpace(v)); err != nil || n < 1 {
		return fmt.Errorf("%q is not a whole number of at least 1", v)
	}
	return nil
}

func nonNegative(v string) error {
	if n, err := strconv.Atoi(strings.TrimSpace(v)); err != nil || n < 0 {
		return fmt.Errorf("%q is not a whole number of at least 0", v)
	}
	return nil
}

// SourcePlugin describes jdbc-source.
func SourcePlugin() *connectors.Plugin {
	const g = "Mode"
	fields := append(connectionFields("Database"),
		connectors.Field{Name: keyMode, Type: connectors.TypeString, Required: true, Importance: connectors.High, Group: g,
			Allowed: []string{modeBulk, modeIncrementing, modeTimestamp, modeTimestampInc},
			Doc:     "How rows are found on each poll: bulk (the whole table every time), incrementing (rows whose incrementing.column.name is above the last one read), timestamp (rows whose timestamp.column.name is after the last one read: new and changed rows), timestamp+incrementing (both, the id telling apart rows of the same timestamp)."},
		connectors.Field{Name: keyIncColumn, Type: connectors.TypeString, Importance: connectors.High, Group: g,
			Doc: "The strictly increasing column (incrementing modes)."},
		connectors.Field{Name: keyTSColumn, Type: connectors.TypeList, Importance: connectors.High, Group: g,
			Doc: "The column holding each row's last change time (timestamp modes); several are read as COALESCE of them, in order."},
		connectors.Field{Name: keyTSDelay, Type: connectors.TypeDuration, Default: "0", Importance: connectors.High, Group: g,
			Doc: "How long after a timestamp to wait before reading its rows, in milliseconds, so that transactions committed late with an earlier timestamp are not missed."},
		connectors.Field{Name: keyTSInitial, Type: connectors.TypeLong, Importance: connectors.Low, Group: g,
			Validate: func(v string) error {
				if n, err := strconv.ParseInt(strings.TrimSpace(v), 10, 64); err != nil || n < -1 {
					return fmt.Errorf("%q is not milliseconds since the epoch or -1 (now)", v)
				}
				return nil
			},
			Doc: "Where timestamp modes start without an offset, in milliseconds since the epoch; -1 is now. Unset: from the beginning."},
		connectors.Field{Name: keyValidateNonNull, Type: connectors.TypeBoolean, Default: "true", Importance: connectors.Low, Group: g,
			Doc: "Fail a task whose incrementing or timestamp column may be NULL (such rows would never be read)."},
		connectors.Field{Name: keyTableWhitelist, Type: connectors.TypeList, Importance: connectors.Medium, Group: "Tables",
			Doc: "Tables to read (schema.table or table); empty reads every table. Same as table.include.list."},
		connectors.Field{Name: keyTableInclude, Type: connectors.TypeList, Importance: connectors.Medium, Group: "Tables",
			Doc: "Tables to read (schema.table or table); empty reads every table."},
		connectors.Field{Name: keyTableBlacklist, Type: connectors.TypeList, Importance: connectors.Medium, Group: "Tables",
			Doc: "Tables not to read. Same as table.exclude.list."},
		connectors.Field{Name: keyTableExclude, Type: connectors.TypeList, Importance: connectors.Medium, Group: "Tables",
			Doc: "Tables not to read."},
		connectors.Field{Name: keyQuery, Type: connectors.TypeString, Importance: connectors.Medium, Group: "Tables",
			Doc: "A query to run instead of reading tables (one task); the mode's WHERE clause is appended, so a query with its own WHERE belongs in a subquery."},
		connectors.Field{Name: keyQuerySuffix, Type: connectors.TypeString, Importance: connectors.Low, Group: "Tables",
			Doc: "Text appended to every query."},
		connectors.Field{Name: keyTopicPrefix, Type: connectors.TypeString, Required: true, Importance: connectors.High, Group: "Connector",
			Doc: "Prefix of the topic names: a table's records go to prefix+table; a query's to the prefix itself."},
		connectors.Field{Name: keyPollInterval, Type: connectors.TypeDuration, Default: "5000", Importance: connectors.High, Group: "Connector",
			Doc: "How often each table is queried for new data, in milliseconds."},
		connectors.Field{Name: keyBatchMaxRows, Type: connectors.TypeInt, Default: "100", Importance: connectors.Low, Group: "Connector", Validate: positive,
			Doc: "Most rows in one batch handed to Kafka."},
		connectors.Field{Name: keyTablePoll, Type: connectors.TypeDuration, Default: "60000", Importance: connectors.Low, Group: "Connector",
			Doc: "How often to look for new or dropped tables, in milliseconds."},
		connectors.Field{Name: keyNumericMapping, Type: connectors.TypeString, Default: numericNone, Importance: connectors.Low, Group: "Connector",
			Allowed: []string{numericNone, numericPrecisionOnly, numericBestFit, numericBestFitEager},
			Doc:     "How NUMERIC and DECIMAL columns map: none (Decimal with the column's scale), precision_only (integers for scale 0), best_fit (integers for scale 0, doubles up to 15 digits, else Decimal), best_fit_eager_double (doubles for any scale). An unconstrained PostgreSQL NUMERIC is read as text, every digit kept."},
		connectors.Field{Name: keySchemaPattern, Type: connectors.TypeString, Importance: connectors.Low, Group: "Tables",
			Doc: "Accepted for Kafka Connect configs; tables are named by schema.table in the include lists instead."},
		connectors.Field{Name: keyTableTypes, Type: connectors.TypeList, Default: "TABLE", Importance: connectors.Low, Group: "Tables",
			Allowed: []string{"TABLE"},
			Doc:     "Kinds of tables read: TABLE."},
	)
	return &connectors.Plugin{
		Name:    "jdbc-source",
		Class:   "io.confluent.connect.jdbc.JdbcSourceConnector",
		Type:    connectors.SourceType,
		Version: "1.0.0",
		Description: "Copies tables of PostgreSQL, MySQL or MariaDB to Kafka, a topic per table, by polling: the whole table, " +
			"new rows by an incrementing id, changed rows by a timestamp, or both; Confluent's JDBC source's configs and offsets.",
		Spec:        connectors.Spec{Fields: fields},
		Check:       checkSource,
		TaskConfigs: sourceTaskConfigs,
		NewSource:   func() connectors.Source { return &source{} },
	}
}

func checkSource(cfg connectors.Config) []connectors.FieldError {
	var errs []connectors.FieldError
	mode := strings.ToLower(cfg.String(keyMode))
	if (mode == modeIncrementing || mode == modeTimestampInc) && strings.TrimSpace(cfg.String(keyIncColumn)) == "" {
		errs = append(errs, connectors.FieldError{Field: keyIncColumn, Reason: "is required with mode=" + mode})
	}
	if (mode == modeTimestamp || mode == modeTimestampInc) && len(cfg.List(keyTSColumn)) == 0 {
		errs = append(errs, connectors.FieldError{Field: keyTSColumn, Reason: "is required with mode=" + mode})
	}
	if strings.TrimSpace(cfg.String(keyQuery)) != "" {
		for _, k := range []string{keyTableWhitelist, keyTableInclude, keyTableBlacklist, keyTableExclude} {
			if len(cfg.List(k)) > 0 {
				errs = append(errs, connectors.FieldError{Field: k, Reason: "cannot be set with query: a query reads what it selects"})
			}
		}
	}
	if len(cfg.List(keyTableWhitelist)) > 0 && len(cfg.List(keyTableInclude)) > 0 {
		errs = append(errs, connectors.FieldError{Field: keyTableInclude, Reason: "set table.include.list or table.whitelist, not both"})
	}
	if (len(cfg.List(keyTableWhitelist)) > 0 || len(cfg.List(keyTableInclude)) > 0) &&
		(len(cfg.List(keyTableBlacklist)) > 0 || len(cfg.List(keyTableExclude)) > 0) {
		errs = append(errs, connectors.FieldError{Field: keyTableExclude, Reason: "cannot be set with an include list"})
	}
	return errs
}

// sourceTaskConfigs spreads the listed tables over the tasks, round robin;
// without a list every task lists the tables itself and takes its share
// (so the control plane never needs to reach the database).
func sourceTaskConfigs(cfg connectors.Config, maxTasks int) ([]map[string]string, error) {
	with := func(extra map[string]string) map[string]string {
		m := make(map[string]string, len(cfg.Raw())+len(extra))
		for k, v := range cfg.Raw() {
			m[k] = v
		}
		for k, v := range extra {
			m[k] = v
		}
		return m
	}
	if strings.TrimSpace(cfg.String(keyQuery)) != "" {
		return []map[string]string{with(nil)}, nil
	}
	tables := tableList(cfg, keyTableInclude, keyTableWhitelist)
	if len(tables) == 0 {
		out := make([]map[string]string, maxTasks)
		for i := range out {
			out[i] = with(map[string]string{keyTaskIndex: strconv.Itoa(i), keyTaskCount: strconv.Itoa(maxTasks)})
		}
		return out, nil
	}
	n := min(maxTasks, len(tables))
	groups := make([][]string, n)
	for i, t := range tables {
		groups[i%n] = append(groups[i%n], t)
	}
	out := make([]map[string]string, n)
	for i, g := range groups {
		out[i] = with(map[string]string{keyTaskTables: strings.Join(g, ",")})
	}
	return out, nil
}

// SinkPlugin describes jdbc-sink.
func SinkPlugin() *connectors.Plugin {
	const g = "Writes"
	fields := append(connectionFields("Database"),
		connectors.Field{Name: keyInsertMode, Type: connectors.TypeString, Default: insertInsert, Importance: connectors.High, Group: g,
			Allowed: []string{insertInsert, insertUpsert, insertUpdate},
			Doc:     "insert (plain INSERT), upsert (INSERT ... ON CONFLICT DO UPDATE in PostgreSQL, ON DUPLICATE KEY UPDATE in MySQL: redelivered records change nothing) or update (UPDATE by primary key)."},
		connectors.Field{Name: keyPKMode, Type: connectors.TypeString, Default: pkNone, Importance: connectors.High, Group: g,
			Allowed: []string{pkNone, pkKafka, pkRecordKey, pkRecordValue},
			Doc:     "Where the primary key comes from: none, kafka (topic, partition and offset columns), record_key (the key: a primitive key fills one column, a struct's fields fill theirs) or record_value (fields of the value)."},
		connectors.Field{Name: keyPKFields, Type: connectors.TypeList, Importance: connectors.Medium, Group: g,
			Doc: "The primary key's columns: with kafka three names (default __connect_topic,__connect_partition,__connect_offset); with record_key the column of a primitive key (default __connect_key) or the key fields to use (default all); with record_value the value fields (default all)."},
		connectors.Field{Name: keyFieldsAllow, Type: connectors.TypeList, Importance: connectors.Medium, Group: g,
			Doc: "Value fields to write; empty writes every field."},
		connectors.Field{Name: keyDeleteEnabled, Type: connectors.TypeBoolean, Default: "false", Importance: connectors.Medium, Group: g,
			Doc: "Delete the row of a record whose value is null (a tombstone). Needs pk.mode=record_key."},
		connectors.Field{Name: keyAutoCreate, Type: connectors.TypeBoolean, Default: "false", Importance: connectors.Medium, Group: "DDL",
			Doc: "Create a missing table (CREATE TABLE) from the record's schema and primary key."},
		connectors.Field{Name: keyAutoEvolve, Type: connectors.TypeBoolean, Default: "false", Importance: connectors.Medium, Group: "DDL",
			Doc: "Add columns (ALTER TABLE ... ADD, nullable) for fields a table lacks; a required field without a default cannot be added."},
		connectors.Field{Name: keyTableFormat, Type: connectors.TypeString, Default: "${topic}", Importance: connectors.Medium, Group: g,
			Doc: "The table to write, where ${topic} is the record's topic; may be schema.table."},
		connectors.Field{Name: keyBatchSize, Type: connectors.TypeInt, Default: "3000", Importance: connectors.Medium, Group: g, Validate: positive,
			Doc: "Most rows in one statement; a multi-row INSERT or upsert writes a batch in one round trip."},
		connectors.Field{Name: keyMaxRetries, Type: connectors.TypeInt, Default: "10", Importance: connectors.Medium, Group: "Retries", Validate: nonNegative,
			Doc: "How many times a write that failed because the database went away is tried again before the task fails."},
		connectors.Field{Name: keyRetryBackoff, Type: connectors.TypeDuration, Default: "3000", Importance: connectors.Medium, Group: "Retries",
			Doc: "Wait between retries of a failed write, in milliseconds."},
		connectors.Field{Name: keyQuoteIdents, Type: connectors.TypeString, Default: "always", Importance: connectors.Low, Group: g,
			Allowed: []string{"always"},
			Doc:     "Table and column names are always quoted, so they keep their case."},
	)
	return &connectors.Plugin{
		Name:    "jdbc-sink",
		Class:   "io.confluent.connect.jdbc.JdbcSinkConnector",
		Type:    connectors.SinkType,
		Version: "1.0.0",
		Description: "Writes records to tables of PostgreSQL, MySQL or MariaDB: inserts, upserts or updates by a key taken from the " +
			"record, deletes on tombstones, creates and widens tables from the records' schemas; Confluent's JDBC sink's configs.",
		Spec:    connectors.Spec{Fields: fields},
		Check:   checkSink,
		NewSink: func() connectors.Sink { return &sink{} },
	}
}

func checkSink(cfg connectors.Config) []connectors.FieldError {
	var errs []connectors.FieldError
	pk := strings.ToLower(cfg.String(keyPKMode))
	if mode := strings.ToLower(cfg.String(keyInsertMode)); mode != insertInsert && pk == pkNone {
		errs = append(errs, connectors.FieldError{Field: keyPKMode, Reason: "insert.mode=" + mode + " needs a primary key: set pk.mode to kafka, record_key or record_value"})
	}
	if cfg.Bool(keyDeleteEnabled) && pk != pkRecordKey {
		errs = append(errs, connectors.FieldError{Field: keyDeleteEnabled, Reason: "needs pk.mode=record_key (a tombstone has only its key)"})
	}
	if pk == pkKafka {
		if n := len(cfg.List(keyPKFields)); n != 0 && n != 3 {
			errs = append(errs, connectors.FieldError{Field: keyPKFields, Reason: fmt.Sprintf("pk.mode=kafka takes three names (topic, partition, offset columns), not %d", n)})
		}
	}
	return errs
}
