package e2e

import (
	"encoding/json"
	"fmt"
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

// tableRows reads "SELECT q" into sorted lines, values joined by |.
func tableRows(t *testing.T, db *testenv.Database, q string) []string {
	t.Helper()
	rs, err := db.DB.Query(q)
	if err != nil {
		return []string{"error: " + err.Error()}
	}
	defer rs.Close()
	cols, _ := rs.Columns()
	var out []string
	for rs.Next() {
		vals := make([]any, len(cols))
		ptrs := make([]any, len(cols))
		for i := range vals {
			ptrs[i] = &vals[i]
		}
		if err := rs.Scan(ptrs...); err != nil {
			t.Fatal(err)
		}
		parts := make([]string, len(vals))
		for i, v := range vals {
			if b, ok := v.([]byte); ok {
				v = string(b)
			}
			parts[i] = fmt.Sprint(v)
		}
		out = append(out, strings.Join(parts, "|"))
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
