package telemetry

import (
	"io"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"go.opentelemetry.io/otel/attribute"
)

// TestPrometheusNames: what a task records comes out of /metrics under the
// names docs/metrics.md lists, with connector and task labels.
func TestPrometheusNames(t *testing.T) {
	h, err := Setup()
	if err != nil {
		t.Fatal(err)
	}
	m := NewTask("orders", 2)
	m.SourcePoll(500, 3*time.Millisecond)
	m.SourceWrite(498)
	m.SinkRead(100, 42)
	m.SinkPut(100, time.Millisecond)
	m.OffsetCommit(true, time.Millisecond)
	m.OffsetCommit(false, time.Millisecond)
	m.RecordError(true, true)
	m.DeadLetter(false)
	m.Retry()
	stop := Observe("sluice_test_gauge", "a gauge", func(obs func(int64, ...attribute.KeyValue)) { obs(7, attribute.String("k", "v")) })
	defer stop()

	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest("GET", "/metrics", nil))
	body, _ := io.ReadAll(rec.Body)
	for _, want := range []string{
		`sluice_source_record_poll_total{connector="orders",task="2"} 500`,
		`sluice_source_record_write_total{connector="orders",task="2"} 498`,
		`sluice_sink_record_read_total{connector="orders",task="2"} 100`,
		`sluice_sink_record_send_total{connector="orders",task="2"} 100`,
		`sluice_sink_record_lag_max{connector="orders",task="2"} 42`,
		`sluice_offset_commit_total{connector="orders",result="success",task="2"} 1`,
		`sluice_offset_commit_total{connector="orders",result="failure",task="2"} 1`,
		`sluice_task_records_skipped_total{connector="orders",task="2"} 1`,
		`sluice_task_errors_logged_total{connector="orders",task="2"} 1`,
		`sluice_deadletterqueue_produce_requests_total{connector="orders",task="2"} 1`,
		`sluice_task_retries_total{connector="orders",task="2"} 1`,
		`sluice_poll_batch_seconds_bucket{connector="orders",task="2",le="0.005"} 1`,
		`sluice_batch_size_count{connector="orders",direction="source",task="2"} 1`,
		`sluice_test_gauge{k="v"} 7`,
		`go_goroutines`, `process_resident_memory_bytes`,
	} {
		if !strings.Contains(string(body), want) {
			t.Errorf("no %s in /metrics", want)
		}
	}
	stop()
	rec = httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest("GET", "/metrics", nil))
	body, _ = io.ReadAll(rec.Body)
	if strings.Contains(string(body), "sluice_test_gauge{") {
		t.Error("an unregistered gauge is still reported")
	}
}

func BenchmarkSourceBatch(b *testing.B) {
	if _, err := Setup(); err != nil {
		b.Fatal(err)
	}
	m := NewTask("bench", 0)
	b.ReportAllocs()
	for b.Loop() {
		m.SourcePoll(1000, time.Millisecond)
		m.SourceWrite(1000)
	}
}
