package testenv

import (
	"context"
	"database/sql"
	"fmt"
	"net"
	"strings"
	"testing"
	"time"

	_ "github.com/go-sql-driver/mysql" // driver "mysql"
	_ "github.com/jackc/pgx/v5/stdlib" // driver "pgx"
)

// Database is a database of a test's own on one of the test servers, as
// deploy/local/ sets them up (user sluice, password sluice), dropped when
// the test ends.
type Database struct {
	// Host and Port of the server, Name of the database.
	Host, Port, Name string
	// JDBC is the JDBC URL of the database (jdbc:postgresql://...).
	JDBC string
	// DB is a connection pool to it, as user sluice.
	DB *sql.DB
}

// Exec runs statements, failing the test on an error.
func (d *Database) Exec(t testing.TB, stmts ...string) {
	t.Helper()
	for _, s := range stmts {
		if _, err := d.DB.Exec(s); err != nil {
			t.Fatalf("%s: %v", s, err)
		}
	}
}

// Postgres creates a database of the test's own on the test PostgreSQL
// (SLUICE_TEST_POSTGRES, host:port).
func Postgres(t testing.TB) *Database {
	t.Helper()
	addr := server(t, "SLUICE_TEST_POSTGRES", "PostgreSQL", "deploy/local/postgres.sh start")[0]
	host, port, _ := net.SplitHostPort(addr)
	dsn := func(db string) string { return fmt.Sprintf("postgres://sluice:sluice@%s/%s?sslmode=disable", addr, db) }
	name := strings.ReplaceAll(unique(t), "-", "_")
	if len(name) > 60 {
		name = name[len(name)-60:]
	}
	admin := open(t, "pgx", dsn("sluice"))
	defer admin.Close()
	if _, err := admin.Exec(`CREATE DATABASE "` + name + `"`); err != nil {
		t.Fatalf("create database %s: %v", name, err)
	}
	db := open(t, "pgx", dsn(name))
	t.Cleanup(func() {
		db.Close()
		a := open(t, "pgx", dsn("sluice"))
		defer a.Close()
		// Replication slots keep a database alive: drop this one's first.
		_, _ = a.Exec(`SELECT pg_drop_replication_slot(slot_name) FROM pg_replication_slots WHERE database = $1 AND NOT active`, name)
		_, _ = a.Exec(`DROP DATABASE IF EXISTS "` + name + `" WITH (FORCE)`)
	})
	return &Database{Host: host, Port: port, Name: name, DB: db,
		JDBC: fmt.Sprintf("jdbc:postgresql://%s/%s", addr, name)}
}

// MariaDB creates a database of the test's own on the test MariaDB
// (SLUICE_TEST_MARIADB, host:port).
func MariaDB(t testing.TB) *Database {
	t.Helper()
	addr := server(t, "SLUICE_TEST_MARIADB", "MariaDB", "deploy/local/mariadb.sh start")[0]
	host, port, _ := net.SplitHostPort(addr)
	dsn := func(db string) string {
		return fmt.Sprintf("sluice:sluice@tcp(%s)/%s?parseTime=true&loc=UTC&time_zone=%%27%%2B00%%3A00%%27", addr, db)
	}
	name := strings.ReplaceAll(unique(t), "-", "_")
	if len(name) > 60 {
		name = name[len(name)-60:]
	}
	admin := open(t, "mysql", dsn("sluice"))
	defer admin.Close()
	if _, err := admin.Exec("CREATE DATABASE `" + name + "`"); err != nil {
		t.Fatalf("create database %s: %v", name, err)
	}
	db := open(t, "mysql", dsn(name))
	t.Cleanup(func() {
		db.Close()
		a := open(t, "mysql", dsn("sluice"))
		defer a.Close()
		_, _ = a.Exec("DROP DATABASE IF EXISTS `" + name + "`")
	})
	return &Database{Host: host, Port: port, Name: name, DB: db,
		JDBC: fmt.Sprintf("jdbc:mariadb://%s/%s", addr, name)}
}

func open(t testing.TB, driver, dsn string) *sql.DB {
	t.Helper()
	db, err := sql.Open(driver, dsn)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	if err := db.PingContext(ctx); err != nil {
		t.Fatalf("connect to %s: %v", driver, err)
	}
	return db
}

// Rows runs a query and returns its rows, each as its values joined by |:
// text and bytes as text, times as 2006-01-02T15:04:05.000 in UTC, NULL as
// <nil>, the rest as fmt prints them.
func (d *Database) Rows(q string) ([]string, error) {
	rs, err := d.DB.Query(q)
	if err != nil {
		return nil, err
	}
	defer rs.Close()
	cols, err := rs.Columns()
	if err != nil {
		return nil, err
	}
	vals := make([]any, len(cols))
	ptrs := make([]any, len(cols))
	for i := range vals {
		ptrs[i] = &vals[i]
	}
	var out []string
	parts := make([]string, len(cols))
	for rs.Next() {
		if err := rs.Scan(ptrs...); err != nil {
			return nil, err
		}
		for i, v := range vals {
			switch x := v.(type) {
			case []byte:
				parts[i] = string(x)
			case time.Time:
				parts[i] = x.UTC().Format("2006-01-02T15:04:05.000")
			default:
				parts[i] = fmt.Sprint(x)
			}
		}
		out = append(out, strings.Join(parts, "|"))
	}
	return out, rs.Err()
}
