package testenv

import (
	"net"
	"net/http/httptest"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/sr/srfake"
)

// Registry returns the base URL of a Confluent-compatible Schema Registry
// for tests: the one at SLUICE_TEST_REGISTRY (host:port, or a URL with a
// path such as http://127.0.0.1:8080/apis/ccompat/v7), which must answer
// (a test skips, or fails under SLUICE_TEST_REQUIRE=1, when it does not);
// without it, franz-go's in-memory implementation of the registry API,
// served on loopback for the test's lifetime.
func Registry(t testing.TB) string {
	t.Helper()
	v := strings.TrimSpace(os.Getenv("SLUICE_TEST_REGISTRY"))
	if v == "" {
		srv := httptest.NewServer(srfake.NewRegistry().Handler())
		t.Cleanup(srv.Close)
		return srv.URL
	}
	url := v
	if !strings.Contains(url, "://") {
		url = "http://" + url
	}
	host := strings.TrimPrefix(strings.TrimPrefix(url, "http://"), "https://")
	if i := strings.IndexByte(host, '/'); i >= 0 {
		host = host[:i]
	}
	c, err := net.DialTimeout("tcp", host, 2*time.Second)
	if err != nil {
		if os.Getenv("SLUICE_TEST_REQUIRE") == "1" {
			t.Fatalf("schema registry at %s does not answer (%v)", v, err)
		}
		t.Skipf("schema registry at %s does not answer (%v)", v, err)
	}
	c.Close()
	return url
}
