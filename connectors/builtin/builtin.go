// Package builtin registers the connectors that ship with Sluice, each found
// by its short name, its Kafka Connect class (full or simple name, with or
// without the Connector suffix) and its aliases:
//
//	file-source  org.apache.kafka.connect.file.FileStreamSourceConnector, FileStreamSource
//	file-sink    org.apache.kafka.connect.file.FileStreamSinkConnector, FileStreamSink
//	datagen      DatagenConnector: generated records for demos and benchmarks
//	jdbc-source  io.confluent.connect.jdbc.JdbcSourceConnector: tables of PostgreSQL, MySQL, MariaDB
//	jdbc-sink    io.confluent.connect.jdbc.JdbcSinkConnector: into those tables
//	postgres-cdc io.debezium.connector.postgresql.PostgresConnector: Debezium's change events
//	mysql-cdc    io.debezium.connector.mysql.MySqlConnector (and MariaDbConnector): binlog change events
//	verifiable-source, verifiable-sink
//	             org.apache.kafka.connect.tools.Verifiable{Source,Sink}Connector:
//	             sequence numbers per task, for proving delivery guarantees
package builtin

import (
	"sync"

	"github.com/sluicehq/sluice/connectors"
	"github.com/sluicehq/sluice/connectors/cdc/mysqlcdc"
	"github.com/sluicehq/sluice/connectors/cdc/pgcdc"
	"github.com/sluicehq/sluice/connectors/datagen"
	"github.com/sluicehq/sluice/connectors/file"
	"github.com/sluicehq/sluice/connectors/jdbc"
	"github.com/sluicehq/sluice/connectors/verifiable"
)

// Plugins returns the built-in connector plugins.
func Plugins() []*connectors.Plugin {
	return []*connectors.Plugin{file.SourcePlugin(), file.SinkPlugin(), datagen.Plugin(),
		verifiable.SourcePlugin(), verifiable.SinkPlugin(), jdbc.SourcePlugin(), jdbc.SinkPlugin(), pgcdc.Plugin(), mysqlcdc.Plugin()}
}

// Register adds every built-in connector to r. It fails if r already
// holds a plugin under one of their names.
func Register(r *connectors.Registry) error {
	for _, p := range Plugins() {
		if err := r.Register(*p); err != nil {
			return err
		}
	}
	return nil
}

var (
	once sync.Once
	base *connectors.Registry
)

// Registry returns a registry with every built-in connector. Each call
// returns a new copy, which callers may add plugins to.
func Registry() *connectors.Registry {
	once.Do(func() {
		base = connectors.NewRegistry()
		if err := Register(base); err != nil {
			panic(err) // a programming error in the built-in list
		}
	})
	return base.Clone()
}
