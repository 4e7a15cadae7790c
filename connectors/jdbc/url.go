package jdbc

import (
	"fmt"
	"net"
	"net/url"
	"strings"
	"time"

	"github.com/go-sql-driver/mysql"
)

// endpoint is a database to connect to, read from a JDBC URL and the
// connection.user and connection.password settings.
type endpoint struct {
	dialect  *dialect
	host     string
	port     string
	database string
	user     string
	password string
	params   url.Values
}

// parseURL reads a JDBC URL, jdbc:postgresql://host:port/db?params,
// jdbc:mysql://... or jdbc:mariadb://..., with the user and password given
// apart (they win over user= and password= parameters in the URL).
func parseURL(raw, user, password string) (*endpoint, error) {
	rest, ok := strings.CutPrefix(strings.TrimSpace(raw), "jdbc:")
	if !ok {
		return nil, fmt.Errorf("%q is not a JDBC URL: it should start with jdbc:postgresql://, jdbc:mysql:// or jdbc:mariadb://", raw)
	}
	scheme, _, _ := strings.Cut(rest, ":")
	d := dialects[strings.ToLower(scheme)]
	if d == nil {
		return nil, fmt.Errorf("database %q is not supported: use jdbc:postgresql://, jdbc:mysql:// or jdbc:mariadb://", scheme)
	}
	u, err := url.Parse(rest)
	if err != nil {
		return nil, fmt.Errorf("%q is not a valid URL: %v", raw, err)
	}
	if u.Host == "" {
		return nil, fmt.Errorf("%q names no host: write it as jdbc:%s://host:port/database", raw, scheme)
	}
	// MySQL's URLs may list several hosts; the first is used.
	hostport, _, _ := strings.Cut(u.Host, ",")
	host, port, err := net.SplitHostPort(hostport)
	if err != nil {
		host, port = hostport, d.defaultPort
	}
	e := &endpoint{dialect: d, host: host, port: port, database: strings.TrimPrefix(u.Path, "/"), params: u.Query()}
	if e.database == "" {
		return nil, fmt.Errorf("%q names no database: write it as jdbc:%s://host:port/database", raw, scheme)
	}
	e.user, e.password = e.params.Get("user"), e.params.Get("password")
	e.params.Del("user")
	e.params.Del("password")
	if user != "" {
		e.user = user
	}
	if password != "" {
		e.password = password
	}
	return e, nil
}

// dsn is the Go driver's connection string for the endpoint.
func (e *endpoint) dsn() string {
	switch e.dialect.name {
	case postgres:
		u := url.URL{Scheme: "postgres", Host: net.JoinHostPort(e.host, e.port), Path: "/" + e.database}
		if e.user != "" {
			u.User = url.UserPassword(e.user, e.password)
		}
		// Sessions in UTC: timestamps without a zone read and compare as
		// UTC, as Kafka Connect's db.timezone default has them.
		q := url.Values{"timezone": {"UTC"}}
		// The JDBC driver's parameters that mean the same to pgx.
		for _, k := range []string{"sslmode", "sslcert", "sslkey", "sslrootcert", "application_name", "connect_timeout"} {
			if v := e.params.Get(k); v != "" {
				q.Set(k, v)
			}
		}
		if v := param(e.params, "ApplicationName"); v != "" {
			q.Set("application_name", v)
		}
		if q.Get("sslmode") == "" {
			if v := e.params.Get("ssl"); v == "true" {
				q.Set("sslmode", "require")
			} else {
				q.Set("sslmode", "prefer")
			}
		}
		u.RawQuery = q.Encode()
		return u.String()
	default:
		c := mysql.NewConfig()
		c.User, c.Passwd = e.user, e.password
		c.Net, c.Addr, c.DBName = "tcp", net.JoinHostPort(e.host, e.port), e.database
		c.ParseTime = true
		c.Loc = time.UTC
		c.InterpolateParams = true
		c.Params = map[string]string{"time_zone": "'+00:00'"}
		if v := e.params.Get("connectTimeout"); v != "" {
			if d, err := time.ParseDuration(v + "ms"); err == nil {
				c.Timeout = d
			}
		}
		return c.FormatDSN()
	}
}

// redacted is the URL as it may be shown: without a password.
func (e *endpoint) String() string {
	return fmt.Sprintf("%s://%s/%s (user %q)", e.dialect.name, net.JoinHostPort(e.host, e.port), e.database, e.user)
}

// param looks a URL parameter up without regard to case.
func param(v url.Values, k string) string {
	for key, vs := range v {
		if strings.EqualFold(key, k) && len(vs) > 0 {
			return vs[0]
		}
	}
	return ""
}
