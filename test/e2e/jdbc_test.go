package e2e

import (
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/sluicehq/sluice/internal/testenv"
)

// kcConfig reads one of the Kafka Connect configs users write
// (testdata/kafka-connect-configs), as POST /connectors takes it.
func kcConfig(t *testing.T, file string) map[string]string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("..", "..", "testdata", "kafka-connect-configs", file))
	if err != nil {
		t.Fatal(err)
	}
	var body struct {
		Config map[string]string `json:"config"`
	}
	if err := json.Unmarshal(b, &body); err != nil {
		t.Fatal(err)
	}
	return body.Config
}

// tableRows reads "SELECT q" into sorted lines, values joined by |; an
// error (a table not there yet) is one line saying so.
func tableRows(t *testing.T, db *testenv.Database, q string) []string {
	out, err := db.Rows(q)
	if err != nil {
		return []string{"error: " + err.Error()}
	}
	slices.Sort(out)
	return out
}

// TestJDBCPostgresToMariaDB runs two Kafka Connect configs unchanged but for
// where they point: Confluent's JDBC source reading PostgreSQL tables in
// timestamp+incrementing mode, with ValueToKey and ExtractField$Key, and
// Confluent's JDBC sink upserting into MariaDB by the record key. Inserts
// and updates arrive, through a SIGKILL of the agent, and the copy ends
// equal to the original.
func TestJDBCPostgresToMariaDB(t *testing.T) {
	pg, maria := testenv.Postgres(t), testenv.MariaDB(t)
	pg.Exec(t, `CREATE TABLE orders (id SERIAL PRIMARY KEY, customer TEXT NOT NULL, amount NUMERIC(10,2),
			updated_at TIMESTAMP(3) NOT NULL DEFAULT date_trunc('milliseconds', clock_timestamp()))`,
		`CREATE TABLE customers (id SERIAL PRIMARY KEY, name TEXT, updated_at TIMESTAMP NOT NULL DEFAULT now())`,
		`INSERT INTO customers (name) VALUES ('ada'), ('grace')`,
		`INSERT INTO orders (customer, amount) SELECT 'c' || i, i * 1.5 FROM generate_series(1, 500) i`)

	c := newCluster(t)
	agent := c.startAgent("agent-jdbc")
	prefix := strings.ReplaceAll(pg.Name, "_", "-") + "-"
	src := kcConfig(t, "jdbc-source-postgres-ts-inc.json")
	src["connection.url"] = pg.JDBC
	src["topic.prefix"] = prefix
	src["poll.interval.ms"] = "200"
	sink := kcConfig(t, "jdbc-sink-mariadb-upsert-dlq.json")
	sink["connection.url"] = maria.JDBC
	sink["topics"] = prefix + "orders"
	sink["errors.deadletterqueue.topic.name"] = prefix + "dlq"
	c.apply("orders-jdbc-source", src)
	c.apply("orders-to-mariadb", sink)
	c.waitRunning("orders-jdbc-source")
	c.waitRunning("orders-to-mariadb")

	const cols = "id, customer, amount"
	equal := func() bool {
		want := tableRows(t, pg, "SELECT "+cols+" FROM orders")
		got := tableRows(t, maria, "SELECT "+cols+" FROM orders_copy")
		return slices.Equal(want, got)
	}
	testenv.WaitFor(t, time.Minute, "the 500 rows in MariaDB", equal)

	// Updates and inserts, with the agent killed in the middle of them.
	pg.Exec(t, `UPDATE orders SET amount = amount + 100, updated_at = date_trunc('milliseconds', clock_timestamp()) WHERE id % 10 = 0`)
	pg.Exec(t, `INSERT INTO orders (customer, amount) SELECT 'd' || i, i FROM generate_series(1, 300) i`)
	agent.kill()
	pg.Exec(t, `UPDATE orders SET customer = customer || '!', updated_at = date_trunc('milliseconds', clock_timestamp()) WHERE id % 7 = 0`)
	pg.Exec(t, `INSERT INTO orders (customer, amount) SELECT 'e' || i, i FROM generate_series(1, 200) i`)
	agent.start()
	testenv.WaitFor(t, 2*time.Minute, "MariaDB to equal PostgreSQL after the kill", equal)
	if n := len(tableRows(t, maria, "SELECT id FROM orders_copy")); n != 1000 {
		t.Fatalf("%d rows in orders_copy, want 1000", n)
	}
	// The copy's schema came from the records: the key column is its
	// primary key.
	if got := tableRows(t, maria, "SELECT column_name FROM information_schema.key_column_usage WHERE table_schema = DATABASE() AND table_name = 'orders_copy'"); !slices.Equal(got, []string{"id"}) {
		t.Fatalf("primary key of orders_copy: %v", got)
	}
}

// TestPostgresCDCToMariaDB runs the Debezium config users write (unwrap
// with deletes rewritten, then a reroute) unchanged but for where it points,
// into Confluent's JDBC sink upserting and deleting in MariaDB. Through a
// snapshot, inserts, updates, deletes and a SIGKILL of the agent in the
// middle, the MariaDB table ends equal to the PostgreSQL one.
func TestPostgresCDCToMariaDB(t *testing.T) {
	pg, maria := testenv.Postgres(t), testenv.MariaDB(t)
	pg.Exec(t, `CREATE TABLE products (id INT PRIMARY KEY, name TEXT NOT NULL, qty INT)`,
		`CREATE TABLE stock (id INT PRIMARY KEY, n INT)`,
		`INSERT INTO products SELECT i, 'p' || i, i FROM generate_series(1, 300) i`)
	// The config reads its password from the agent's environment.
	t.Setenv("SLUICE_EXAMPLE_PG_PASSWORD", "sluice")
	c := newCluster(t)
	agent := c.startAgent("agent-cdc")

	uniq := strings.ReplaceAll(pg.Name, "_", "-")
	src := kcConfig(t, "debezium-postgres-unwrap-reroute.json")
	src["database.hostname"], src["database.port"], src["database.dbname"] = pg.Host, pg.Port, pg.Name
	src["slot.name"], src["publication.name"] = "slot_"+pg.Name[len(pg.Name)-8:], "pub_"+pg.Name[len(pg.Name)-8:]
	src["topic.prefix"] = "inv-" + uniq
	src["transforms.reroute.regex"] = `inv-` + uniq + `\.public\.(.*)`
	src["transforms.reroute.replacement"] = uniq + ".$1"
	src["slot.drop.on.stop"] = "false"
	c.apply("inventory-cdc", src)
	c.apply("products-to-mariadb", map[string]string{
		"connector.class": "io.confluent.connect.jdbc.JdbcSinkConnector", "topics": uniq + ".products",
		"connection.url": maria.JDBC, "connection.user": "sluice", "connection.password": "sluice",
		"insert.mode": "upsert", "pk.mode": "record_key", "delete.enabled": "true", "auto.create": "true", "auto.evolve": "true",
		"table.name.format": "products",
		"key.converter":     "org.apache.kafka.connect.json.JsonConverter", "key.converter.schemas.enable": "false",
		"value.converter": "org.apache.kafka.connect.json.JsonConverter", "value.converter.schemas.enable": "false",
	})
	c.waitRunning("inventory-cdc")
	c.waitRunning("products-to-mariadb")
	const cols = "id, name, qty"
	equal := func() bool {
		return slices.Equal(tableRows(t, pg, "SELECT "+cols+" FROM products"), tableRows(t, maria, "SELECT "+cols+" FROM products"))
	}
	testenv.WaitFor(t, time.Minute, "the snapshot's 300 rows in MariaDB", equal)
	// The snapshot's progress shows in the task's status.
	testenv.WaitFor(t, 10*time.Second, "the snapshot's summary in the status", func() bool {
		st := c.status("inventory-cdc")
		return st != nil && len(st.GetTasks()) == 1 && strings.Contains(st.GetTasks()[0].GetMessage(), "snapshot done: 300 rows from 2 tables")
	})

	pg.Exec(t, `UPDATE products SET qty = qty * 10 WHERE id % 3 = 0`, `DELETE FROM products WHERE id % 5 = 0`,
		`INSERT INTO products SELECT i, 'q' || i, i FROM generate_series(301, 600) i`)
	agent.kill()
	pg.Exec(t, `UPDATE products SET name = name || '!' WHERE id % 7 = 0`, `DELETE FROM products WHERE id % 11 = 0`,
		`INSERT INTO products SELECT i, 'r' || i, NULL FROM generate_series(601, 700) i`)
	agent.start()
	testenv.WaitFor(t, 2*time.Minute, "MariaDB to equal PostgreSQL after the kill", equal)
	var n int
	_ = pg.DB.QueryRow("SELECT count(*) FROM products").Scan(&n)
	if got := len(tableRows(t, maria, "SELECT id FROM products")); got != n {
		t.Fatalf("%d rows in MariaDB, %d in PostgreSQL", got, n)
	}
}

// TestMariaDBCDCToPostgres captures MariaDB's binary log with a Debezium
// MySQL config into jdbc-sink upserting and deleting in PostgreSQL, both
// with Confluent's AvroConverter for keys and values through the Schema
// Registry (in make test a real one) and schema.name.adjustment.mode=avro
// for the hyphenated topic prefix: through the snapshot, changes and a
// SIGKILL of the agent, the copy ends equal, and the registry holds the
// topic's key and value subjects.
func TestMariaDBCDCToPostgres(t *testing.T) {
	maria, pg := testenv.MariaDB(t), testenv.Postgres(t)
	registry := testenv.Registry(t)
	avro := map[string]string{
		"key.converter": "io.confluent.connect.avro.AvroConverter", "key.converter.schema.registry.url": registry,
		"value.converter": "io.confluent.connect.avro.AvroConverter", "value.converter.schema.registry.url": registry,
	}
	withAvro := func(cfg map[string]string) map[string]string {
		for k, v := range avro {
			cfg[k] = v
		}
		return cfg
	}
	maria.Exec(t, "CREATE TABLE customers (id INT PRIMARY KEY, name VARCHAR(40) NOT NULL, credit DECIMAL(8,2))")
	var vals []string
	for i := 1; i <= 200; i++ {
		vals = append(vals, fmt.Sprintf("(%d, 'c%d', %d.25)", i, i, i))
	}
	maria.Exec(t, "INSERT INTO customers VALUES "+strings.Join(vals, ","))
	c := newCluster(t)
	agent := c.startAgent("agent-mysql-cdc")
	prefix := "shop-" + strings.ReplaceAll(maria.Name, "_", "-")
	c.apply("shop-cdc", withAvro(map[string]string{
		"connector.class": "io.debezium.connector.mysql.MySqlConnector", "database.hostname": maria.Host, "database.port": maria.Port,
		"database.user": "sluice", "database.password": "sluice", "database.server.id": fmt.Sprint(5400 + time.Now().UnixNano()%900),
		"topic.prefix": prefix, "database.include.list": maria.Name,
		"transforms": "unwrap", "transforms.unwrap.type": "io.debezium.transforms.ExtractNewRecordState",
		"transforms.unwrap.delete.handling.mode": "rewrite", "transforms.unwrap.drop.tombstones": "false",
		// The topic prefix has hyphens, which Avro names may not: Debezium's
		// answer, as its docs give it for Avro.
		"schema.name.adjustment.mode": "avro",
	}))
	c.apply("customers-to-postgres", withAvro(map[string]string{
		"connector.class": "io.confluent.connect.jdbc.JdbcSinkConnector", "topics": prefix + "." + maria.Name + ".customers",
		"connection.url": pg.JDBC, "connection.user": "sluice", "connection.password": "sluice",
		"insert.mode": "upsert", "pk.mode": "record_key", "delete.enabled": "true", "auto.create": "true", "auto.evolve": "true",
		"table.name.format": "customers",
	}))
	c.waitRunning("shop-cdc")
	c.waitRunning("customers-to-postgres")
	const q = "SELECT id, name, credit FROM customers"
	equal := func() bool { return slices.Equal(tableRows(t, maria, q), tableRows(t, pg, q)) }
	testenv.WaitFor(t, time.Minute, "the snapshot's 200 rows in PostgreSQL", equal)

	maria.Exec(t, "UPDATE customers SET credit = credit + 1 WHERE id % 3 = 0", "DELETE FROM customers WHERE id % 5 = 0",
		"INSERT INTO customers SELECT id + 200, CONCAT('n', id), NULL FROM customers WHERE id <= 100")
	agent.kill()
	maria.Exec(t, "UPDATE customers SET name = CONCAT(name, '!') WHERE id % 7 = 0", "DELETE FROM customers WHERE id % 11 = 0")
	agent.start()
	testenv.WaitFor(t, 2*time.Minute, "PostgreSQL to equal MariaDB after the kill", equal)

	topic := prefix + "." + maria.Name + ".customers"
	for _, subject := range []string{topic + "-key", topic + "-value"} {
		resp, err := http.Get(strings.TrimRight(registry, "/") + "/subjects/" + subject + "/versions")
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			t.Errorf("subject %s: HTTP %d from the registry", subject, resp.StatusCode)
		}
	}
}
