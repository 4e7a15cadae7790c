package jdbc

import (
	"context"
	"database/sql"
	"fmt"
	"slices"
	"strconv"
	"strings"

	_ "github.com/go-sql-driver/mysql" // database/sql driver "mysql"
	_ "github.com/jackc/pgx/v5/stdlib" // database/sql driver "pgx"

	"github.com/sluicehq/sluice/connectors/schema"
)

const (
	postgres = "PostgreSqlDatabaseDialect"
	mysqlDB  = "MySqlDatabaseDialect"
)

// dialect is what differs between databases: quoting, placeholders, the
// catalog queries, column types and the upsert statement. Its name is
// Confluent's dialect.name.
type dialect struct {
	name        string
	driver      string
	defaultPort string
	quoteChar   string
	// numbered placeholders ($1) or question marks.
	numbered bool
	// defaultSchema is the schema an unqualified table name is in ("" for
	// MySQL, whose schema is the database).
	defaultSchema string
}

var (
	pgDialect    = &dialect{name: postgres, driver: "pgx", defaultPort: "5432", quoteChar: `"`, numbered: true, defaultSchema: "public"}
	mysqlDialect = &dialect{name: mysqlDB, driver: "mysql", defaultPort: "3306", quoteChar: "`"}
	dialects     = map[string]*dialect{"postgresql": pgDialect, "mysql": mysqlDialect, "mariadb": mysqlDialect}
)

// tableID names a table: in PostgreSQL a schema and a name, in MySQL a
// database (schema) and a name.
type tableID struct {
	schema, name string
}

func (t tableID) String() string {
	if t.schema == "" {
		return t.name
	}
	return t.schema + "." + t.name
}

// parseTable reads "table", "schema.table" or "db.schema.table" (the
// database part must be the connection's).
func (d *dialect) parseTable(s, database string) tableID {
	parts := strings.Split(strings.TrimSpace(s), ".")
	for i, p := range parts {
		parts[i] = strings.Trim(p, "\"`")
	}
	switch len(parts) {
	case 1:
		if d == mysqlDialect {
			return tableID{database, parts[0]}
		}
		return tableID{d.defaultSchema, parts[0]}
	case 2:
		return tableID{parts[0], parts[1]}
	default:
		return tableID{parts[len(parts)-2], parts[len(parts)-1]}
	}
}

func (d *dialect) quote(ident string) string {
	return d.quoteChar + strings.ReplaceAll(ident, d.quoteChar, d.quoteChar+d.quoteChar) + d.quoteChar
}

func (d *dialect) table(t tableID) string {
	if t.schema == "" {
		return d.quote(t.name)
	}
	return d.quote(t.schema) + "." + d.quote(t.name)
}

// ph returns the placeholder of the i-th argument (from 1).
func (d *dialect) ph(i int) string {
	if d.numbered {
		return "$" + strconv.Itoa(i)
	}
	return "?"
}

// listTables lists the base tables the connection can read, in every schema
// but the system's (PostgreSQL) or in the connection's database (MySQL).
func (d *dialect) listTables(ctx context.Context, db *sql.DB) ([]tableID, error) {
	var q string
	if d == pgDialect {
		q = `SELECT table_schema, table_name FROM information_schema.tables
			WHERE table_type = 'BASE TABLE' AND table_schema NOT IN ('pg_catalog', 'information_schema')
			ORDER BY 1, 2`
	} else {
		q = `SELECT table_schema, table_name FROM information_schema.tables
			WHERE table_type = 'BASE TABLE' AND table_schema = DATABASE() ORDER BY 1, 2`
	}
	rows, err := db.QueryContext(ctx, q)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []tableID
	for rows.Next() {
		var t tableID
		if err := rows.Scan(&t.schema, &t.name); err != nil {
			return nil, err
		}
		out = append(out, t)
	}
	return out, rows.Err()
}

// dbColumn is a column as the catalog describes it.
type dbColumn struct {
	name     string
	nullable bool
}

// columns describes a table's columns in order; none means no such table.
func (d *dialect) columns(ctx context.Context, db *sql.DB, t tableID) ([]dbColumn, error) {
	q := `SELECT column_name, is_nullable FROM information_schema.columns
		WHERE table_schema = ` + d.ph(1) + ` AND table_name = ` + d.ph(2) + ` ORDER BY ordinal_position`
	rows, err := db.QueryContext(ctx, q, t.schema, t.name)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []dbColumn
	for rows.Next() {
		var c dbColumn
		var nullable string
		if err := rows.Scan(&c.name, &nullable); err != nil {
			return nil, err
		}
		c.nullable = strings.EqualFold(nullable, "YES")
		out = append(out, c)
	}
	return out, rows.Err()
}

// sqlType is the column type auto.create and auto.evolve give a field of
// schema s; key columns of MySQL need a bounded length.
func (d *dialect) sqlType(s *schema.Schema, key bool) (string, error) {
	switch s.Name {
	case schema.DecimalName:
		scale, _ := schema.DecimalScale(s)
		if d == mysqlDialect {
			return fmt.Sprintf("DECIMAL(65,%d)", min(scale, 30)), nil
		}
		return "DECIMAL", nil
	case schema.DateName:
		return "DATE", nil
	case schema.TimeName:
		if d == mysqlDialect {
			return "TIME(3)", nil
		}
		return "TIME", nil
	case schema.TimestampName:
		if d == mysqlDialect {
			return "DATETIME(3)", nil
		}
		return "TIMESTAMP", nil
	}
	pg := d == pgDialect
	switch s.Type {
	case schema.Int8:
		if pg {
			return "SMALLINT", nil
		}
		return "TINYINT", nil
	case schema.Int16:
		return "SMALLINT", nil
	case schema.Int32:
		if pg {
			return "INTEGER", nil
		}
		return "INT", nil
	case schema.Int64:
		return "BIGINT", nil
	case schema.Float32:
		if pg {
			return "REAL", nil
		}
		return "FLOAT", nil
	case schema.Float64:
		if pg {
			return "DOUBLE PRECISION", nil
		}
		return "DOUBLE", nil
	case schema.Boolean:
		if pg {
			return "BOOLEAN", nil
		}
		return "TINYINT", nil
	case schema.String:
		if pg {
			return "TEXT", nil
		}
		if key {
			return "VARCHAR(256)", nil
		}
		return "TEXT", nil
	case schema.Bytes:
		if pg {
			return "BYTEA", nil
		}
		if key {
			return "VARBINARY(1024)", nil
		}
		return "BLOB", nil
	case schema.Array, schema.Map, schema.Struct:
		// Kept as JSON text: both databases can query it.
		if pg {
			return "JSONB", nil
		}
		return "JSON", nil
	}
	return "", fmt.Errorf("has type %s, which has no column type", s.Type)
}

// upsert returns the statement that inserts rows of cols, each row
// replacing the one with the same key columns.
func (d *dialect) upsert(t tableID, cols, keys []string, rows int) string {
	var b strings.Builder
	d.insertInto(&b, t, cols, rows)
	nonKey := make([]string, 0, len(cols))
	for _, c := range cols {
		if !slices.Contains(keys, c) {
			nonKey = append(nonKey, c)
		}
	}
	if d == pgDialect {
		b.WriteString(" ON CONFLICT (")
		d.list(&b, keys, "%s")
		if len(nonKey) == 0 {
			b.WriteString(") DO NOTHING")
			return b.String()
		}
		b.WriteString(") DO UPDATE SET ")
		d.list(&b, nonKey, "%[1]s=EXCLUDED.%[1]s")
		return b.String()
	}
	b.WriteString(" ON DUPLICATE KEY UPDATE ")
	if len(nonKey) == 0 {
		nonKey = keys[:1]
	}
	d.list(&b, nonKey, "%[1]s=VALUES(%[1]s)")
	return b.String()
}

// insert returns the statement that inserts rows of cols.
func (d *dialect) insert(t tableID, cols []string, rows int) string {
	var b strings.Builder
	d.insertInto(&b, t, cols, rows)
	return b.String()
}

func (d *dialect) insertInto(b *strings.Builder, t tableID, cols []string, rows int) {
	b.WriteString("INSERT INTO ")
	b.WriteString(d.table(t))
	b.WriteString(" (")
	d.list(b, cols, "%s")
	b.WriteString(") VALUES ")
	n := 0
	for r := range rows {
		if r > 0 {
			b.WriteByte(',')
		}
		b.WriteByte('(')
		for c := range cols {
			if c > 0 {
				b.WriteByte(',')
			}
			n++
			b.WriteString(d.ph(n))
		}
		b.WriteByte(')')
	}
}

// update returns the statement that sets cols of the row with the key.
func (d *dialect) update(t tableID, cols, keys []string) string {
	var b strings.Builder
	b.WriteString("UPDATE ")
	b.WriteString(d.table(t))
	b.WriteString(" SET ")
	n := 0
	for i, c := range cols {
		if i > 0 {
			b.WriteByte(',')
		}
		n++
		b.WriteString(d.quote(c) + "=" + d.ph(n))
	}
	b.WriteString(" WHERE ")
	for i, k := range keys {
		if i > 0 {
			b.WriteString(" AND ")
		}
		n++
		b.WriteString(d.quote(k) + "=" + d.ph(n))
	}
	return b.String()
}

// delete returns the statement that deletes the rows of rows keys.
func (d *dialect) delete(t tableID, keys []string, rows int) string {
	var b strings.Builder
	b.WriteString("DELETE FROM ")
	b.WriteString(d.table(t))
	b.WriteString(" WHERE ")
	n := 0
	for r := range rows {
		if r > 0 {
			b.WriteString(" OR ")
		}
		b.WriteByte('(')
		for i, k := range keys {
			if i > 0 {
				b.WriteString(" AND ")
			}
			n++
			b.WriteString(d.quote(k) + "=" + d.ph(n))
		}
		b.WriteByte(')')
	}
	return b.String()
}

// list writes names, quoted into format, comma-separated.
func (d *dialect) list(b *strings.Builder, names []string, format string) {
	for i, n := range names {
		if i > 0 {
			b.WriteByte(',')
		}
		fmt.Fprintf(b, format, d.quote(n))
	}
}
