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
	m.SinkPut(100, time.Millisecond, true)
	m.SinkPut(100, time.Millisecond, false) // a failed Put sends nothing
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
	if !strings.Contains(string(body), `sluice_put_batch_seconds_count{connector="orders",task="2"} 2`) {
		t.Error("a failed Put's time is not recorded")
	}

	// A stopped task's gauges go (its counters stay); so does an
	// unregistered gauge.
	stop()
	m.Close()
	rec = httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest("GET", "/metrics", nil))
	body, _ = io.ReadAll(rec.Body)
	if strings.Contains(string(body), "sluice_test_gauge{") {
		t.Error("an unregistered gauge is still reported")
	}
	if strings.Contains(string(body), `sluice_sink_record_lag_max{connector="orders"`) {
		t.Error("a stopped task's lag is still reported")
	}
	if !strings.Contains(string(body), `sluice_sink_record_read_total{connector="orders",task="2"} 100`) {
		t.Error("a stopped task's counter is gone")
	}
}

// TestRecordingDoesNotAllocate: the per-batch calls of the data path cost
// no garbage.
func TestRecordingDoesNotAllocate(t *testing.T) {
	if _, err := Setup(); err != nil {
		t.Fatal(err)
	}
	m := NewTask("allocs", 0)
	defer m.Close()
	if n := testing.AllocsPerRun(100, func() {
		m.SourcePoll(1000, time.Millisecond)
		m.SourceWrite(1000)
		m.SinkRead(1000, 5)
		m.SinkPut(1000, time.Millisecond, true)
		m.OffsetCommit(true, time.Millisecond)
	}); n != 0 {
		t.Errorf("%v allocations per batch, want 0", n)
	}
}

func BenchmarkSourceBatch(b *testing.B) {
	if _, err := Setup(); err != nil {
		b.Fatal(err)
	}
	m := NewTask("bench", 0)
	defer m.Close()
	b.ReportAllocs()
	for b.Loop() {
		m.SourcePoll(1000, time.Millisecond)
		m.SourceWrite(1000)
	}
}

func BenchmarkSinkBatch(b *testing.B) {
	if _, err := Setup(); err != nil {
		b.Fatal(err)
	}
	m := NewTask("bench-sink", 0)
	defer m.Close()
	b.ReportAllocs()
	for b.Loop() {
		m.SinkRead(1000, 10)
		m.SinkPut(1000, time.Millisecond, true)
	}
}
