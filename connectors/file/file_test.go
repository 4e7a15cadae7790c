package file

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/sluicehq/sluice/connectors"
)

type offsets map[string]map[string]any

func (o offsets) Offset(p map[string]any) map[string]any {
	b, _ := json.Marshal(p)
	return o[string(b)]
}

func openSource(t *testing.T, cfg map[string]string, off offsets) *source {
	t.Helper()
	p := SourcePlugin()
	if errs := p.Spec.Validate(cfg); len(errs) > 0 {
		t.Fatal(errs)
	}
	s := p.NewSource().(*source)
	sc := connectors.SourceContext{TaskInfo: connectors.TaskInfo{Config: connectors.NewConfig(p.Spec, cfg)}, Offsets: off}
	if err := s.Open(context.Background(), sc); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

func lines(recs []connectors.Record) []string {
	out := make([]string, len(recs))
	for i, r := range recs {
		out[i] = string(r.Value)
	}
	return out
}

func poll(t *testing.T, s *source) []connectors.Record {
	t.Helper()
	recs, err := s.Poll(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	return recs
}

func TestSourceReadsCompleteLinesAndTails(t *testing.T) {
	t.Parallel()
	path := filepath.Join(t.TempDir(), "in.txt")
	if err := os.WriteFile(path, []byte("one\r\n\nthree\npart"), 0o644); err != nil {
		t.Fatal(err)
	}
	s := openSource(t, map[string]string{"file": path, "topic": "t"}, nil)
	recs := poll(t, s)
	if got := strings.Join(lines(recs), "|"); got != "one||three" {
		t.Fatalf("lines %q, want one||three (no partial last line)", got)
	}
	if recs[1].Value == nil {
		t.Fatal("an empty line must be an empty string, not null")
	}
	last := recs[len(recs)-1]
	if last.SourceOffset[PositionKey] != int64(12) || last.SourcePartition[PartitionKey] != path {
		t.Fatalf("offset %v partition %v, want position 12", last.SourceOffset, last.SourcePartition)
	}
	if recs := poll(t, s); len(recs) != 0 {
		t.Fatalf("partial line emitted: %q", lines(recs))
	}
	f, _ := os.OpenFile(path, os.O_APPEND|os.O_WRONLY, 0)
	f.WriteString("ial\nfive\n")
	f.Close()
	recs = poll(t, s)
	if got := strings.Join(lines(recs), "|"); got != "partial|five" {
		t.Fatalf("after append: %q", got)
	}
	if recs[len(recs)-1].SourceOffset[PositionKey] != int64(25) {
		t.Fatalf("position %v, want 25", recs[len(recs)-1].SourceOffset)
	}
}

func TestSourceResumesAndHonoursBatchSize(t *testing.T) {
	t.Parallel()
	path := filepath.Join(t.TempDir(), "in.txt")
	os.WriteFile(path, []byte("a\nb\nc\nd\ne\n"), 0o644)
	key, _ := json.Marshal(map[string]any{PartitionKey: path})
	// The offset went through JSON: a float64.
	s := openSource(t, map[string]string{"file": path, "topic": "t", "batch.size": "2"},
		offsets{string(key): {PositionKey: float64(4)}})
	if got := strings.Join(lines(poll(t, s)), ""); got != "cd" {
		t.Fatalf("first batch %q, want cd", got)
	}
	if got := strings.Join(lines(poll(t, s)), ""); got != "e" {
		t.Fatalf("second batch %q, want e", got)
	}
}

func TestSourceWaitsForMissingFile(t *testing.T) {
	t.Parallel()
	path := filepath.Join(t.TempDir(), "later.txt")
	s := openSource(t, map[string]string{"file": path, "topic": "t"}, nil)
	if recs := poll(t, s); len(recs) != 0 {
		t.Fatal("records from a missing file")
	}
	os.WriteFile(path, []byte("x\n"), 0o644)
	if got := lines(poll(t, s)); len(got) != 1 || got[0] != "x" {
		t.Fatalf("got %q", got)
	}
}

func TestSinkAppendsLines(t *testing.T) {
	t.Parallel()
	path := filepath.Join(t.TempDir(), "dir", "out.txt")
	p := SinkPlugin()
	cfg := map[string]string{"file": path}
	for round := range 2 {
		s := p.NewSink()
		if err := s.Open(context.Background(), connectors.SinkContext{TaskInfo: connectors.TaskInfo{Config: connectors.NewConfig(p.Spec, cfg)}}); err != nil {
			t.Fatal(err)
		}
		recs := []connectors.Record{{Value: []byte("raw")}, {ValueData: "text"}, {ValueData: int64(42)}, {}}
		if err := s.Put(context.Background(), recs); err != nil {
			t.Fatal(err)
		}
		if err := s.Flush(context.Background()); err != nil {
			t.Fatal(err)
		}
		b, _ := os.ReadFile(path)
		want := strings.Repeat("raw\ntext\n42\nnull\n", round+1)
		if string(b) != want {
			t.Fatalf("round %d: file %q, want %q", round, b, want)
		}
		s.Close()
	}
}

func TestValidationNamesFields(t *testing.T) {
	t.Parallel()
	r := connectors.NewRegistry()
	r.Register(*SourcePlugin())
	_, errs := r.Validate(map[string]string{"name": "x", "connector.class": "FileStreamSource", "batch.size": "0"})
	var got []string
	for _, e := range errs {
		got = append(got, e.Field)
	}
	for _, want := range []string{"file", "topic", "batch.size"} {
		if !strings.Contains(strings.Join(got, ","), want) {
			t.Errorf("errors %v do not name %s", errs, want)
		}
	}
}

// A file that starts small and then grows is read whole through the
// reader's switch to a full-size buffer.
func TestSourceGrowsItsBuffer(t *testing.T) {
	t.Parallel()
	path := filepath.Join(t.TempDir(), "in.txt")
	os.WriteFile(path, []byte("first\npart"), 0o644)
	s := openSource(t, map[string]string{"file": path, "topic": "t", "batch.size": "100000"}, nil)
	if got := lines(poll(t, s)); len(got) != 1 || got[0] != "first" {
		t.Fatalf("got %q", got)
	}
	f, _ := os.OpenFile(path, os.O_APPEND|os.O_WRONLY, 0)
	var want []string
	f.WriteString("ial\n")
	want = append(want, "partial")
	for i := range 20000 {
		l := strings.Repeat("x", i%50) + "-" + fmt.Sprint(i)
		f.WriteString(l + "\n")
		want = append(want, l)
	}
	f.Close()
	var got []string
	for len(got) < len(want) {
		recs := poll(t, s)
		if len(recs) == 0 {
			break
		}
		got = append(got, lines(recs)...)
	}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Fatalf("read %d lines, want %d (or content differs)", len(got), len(want))
	}
	if s.r.Size() != readBuffer {
		t.Fatalf("buffer %d, want %d after growth", s.r.Size(), readBuffer)
	}
}

func TestSourceRestartsTruncatedFile(t *testing.T) {
	t.Parallel()
	path := filepath.Join(t.TempDir(), "in.txt")
	os.WriteFile(path, []byte("aaaa\nbbbb\n"), 0o644)
	s := openSource(t, map[string]string{"file": path, "topic": "t"}, nil)
	if got := strings.Join(lines(poll(t, s)), "|"); got != "aaaa|bbbb" {
		t.Fatalf("got %q", got)
	}
	os.WriteFile(path, []byte("c\n"), 0o644) // truncates, then writes
	var got []string
	for range 3 {
		got = append(got, lines(poll(t, s))...)
	}
	if strings.Join(got, "|") != "c" {
		t.Fatalf("after truncation: %q, want c", got)
	}
}

func TestSourceRestartsReplacedFile(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	path := filepath.Join(dir, "in.txt")
	os.WriteFile(path, []byte("old\n"), 0o644)
	s := openSource(t, map[string]string{"file": path, "topic": "t"}, nil)
	if got := lines(poll(t, s)); len(got) != 1 || got[0] != "old" {
		t.Fatalf("got %q", got)
	}
	// Rotated: a new, longer file renamed over the path.
	next := filepath.Join(dir, "next.txt")
	os.WriteFile(next, []byte("new one\nnew two\n"), 0o644)
	if err := os.Rename(next, path); err != nil {
		t.Fatal(err)
	}
	var got []string
	for range 3 {
		got = append(got, lines(poll(t, s))...)
	}
	if strings.Join(got, "|") != "new one|new two" {
		t.Fatalf("after replacement: %q", got)
	}
}

// Stored positions arrive as whatever the offset store decoded.
func TestSourceResumesFromAnyNumber(t *testing.T) {
	t.Parallel()
	path := filepath.Join(t.TempDir(), "in.txt")
	os.WriteFile(path, []byte("ab\r\ncd\r\nef\r\n"), 0o644)
	key, _ := json.Marshal(map[string]any{PartitionKey: path})
	for _, pos := range []any{int64(4), json.Number("4"), float64(4), 4} {
		s := openSource(t, map[string]string{"file": path, "topic": "t"}, offsets{string(key): {PositionKey: pos}})
		recs := poll(t, s)
		if got := strings.Join(lines(recs), "|"); got != "cd|ef" {
			t.Fatalf("from %T: %q", pos, got)
		}
		if off := recs[len(recs)-1].SourceOffset[PositionKey]; off != int64(12) {
			t.Fatalf("from %T: position %v, want 12", pos, off)
		}
	}
	// A position past the end (another file by that name): from the start.
	s := openSource(t, map[string]string{"file": path, "topic": "t"}, offsets{string(key): {PositionKey: int64(1000)}})
	if got := strings.Join(lines(poll(t, s)), "|"); got != "ab|cd|ef" {
		t.Fatalf("from past the end: %q", got)
	}
}

// Each record has the shape Kafka Connect's FileStreamSourceTask gives it.
func TestSourceRecordShape(t *testing.T) {
	t.Parallel()
	path := filepath.Join(t.TempDir(), "in.txt")
	os.WriteFile(path, []byte("x\ny\n"), 0o644)
	s := openSource(t, map[string]string{"file": path, "topic": "lines"}, nil)
	recs := poll(t, s)
	for i, r := range recs {
		if r.Topic != "lines" || r.Partition != -1 || r.Key != nil || r.ValueSchema == nil ||
			r.ValueSchema.Type != "string" || r.SourcePartition[PartitionKey] != path {
			t.Fatalf("record %d: %+v", i, r)
		}
	}
	if recs[1].SourceOffset[PositionKey] != int64(4) {
		t.Fatalf("last offset %v", recs[1].SourceOffset)
	}
	// Records of one batch do not share bytes: appending to one value
	// cannot overwrite the next.
	_ = append(recs[0].Value, 'Z')
	if string(recs[1].Value) != "y" {
		t.Fatalf("values overlap: %q", recs[1].Value)
	}
}

func TestSourceRunsOneTask(t *testing.T) {
	t.Parallel()
	r := connectors.NewRegistry()
	if err := r.Register(*SourcePlugin()); err != nil {
		t.Fatal(err)
	}
	cfg := map[string]string{"name": "f", "connector.class": "org.apache.kafka.connect.file.FileStreamSourceConnector",
		"tasks.max": "4", "file": "/tmp/x", "topic": "t"}
	_, tasks, err := r.TaskConfigs(cfg)
	if err != nil {
		t.Fatal(err)
	}
	if len(tasks) != 1 || tasks[0]["file"] != "/tmp/x" || tasks[0][connectors.KeyTaskID] != "0" {
		t.Fatalf("tasks %v", tasks)
	}
	if _, ok := cfg[connectors.KeyTaskID]; ok {
		t.Fatal("the connector config was changed")
	}
}

func TestSinkValidationNamesFile(t *testing.T) {
	t.Parallel()
	r := connectors.NewRegistry()
	r.Register(*SinkPlugin())
	_, errs := r.Validate(map[string]string{"name": "x", "connector.class": "FileStreamSink", "topics": "t"})
	if len(errs) != 1 || errs[0].Field != "file" {
		t.Fatalf("errors %v, want one naming file", errs)
	}
	if ss, ok := SinkPlugin().NewSink().(connectors.StructuredSink); !ok || ss.NeedsStructure() {
		t.Fatal("file-sink must take raw bytes")
	}
}

// TestSinkCutsBackToItsLastCommit: what the file-sink wrote after its last
// flush is cut away when it opens again, and it asks to resume right after
// its last commit: a crash never writes a line twice.
func TestSinkCutsBackToItsLastCommit(t *testing.T) {
	t.Parallel()
	path := filepath.Join(t.TempDir(), "out.txt")
	p := SinkPlugin()
	cfg := connectors.NewConfig(p.Spec, map[string]string{"file": path})
	ctx := context.Background()
	recs := func(from, to int64) []connectors.Record {
		var out []connectors.Record
		for o := from; o < to; o++ {
			out = append(out, connectors.Record{Topic: "t", Partition: 0, Offset: o, Value: []byte(fmt.Sprintf("line %d", o))})
		}
		return out
	}
	open := func() *sink {
		s := p.NewSink().(*sink)
		if err := s.Open(ctx, connectors.SinkContext{TaskInfo: connectors.TaskInfo{Config: cfg}}); err != nil {
			t.Fatal(err)
		}
		return s
	}
	s := open()
	if err := s.Put(ctx, recs(0, 10)); err != nil {
		t.Fatal(err)
	}
	if err := s.Flush(ctx); err != nil {
		t.Fatal(err)
	}
	if err := s.Put(ctx, recs(10, 15)); err != nil { // written, never committed
		t.Fatal(err)
	}
	s.f.Close() // the crash

	s = open()
	stored, err := s.StoredOffsets(ctx, map[string][]int32{"t": {0, 1}})
	if err != nil || len(stored) != 1 || stored["t"][0] != 10 || len(stored["t"]) != 1 {
		t.Fatalf("stored offsets %v, %v; want t[0] at 10 only", stored, err)
	}
	if err := s.Put(ctx, recs(10, 15)); err != nil {
		t.Fatal(err)
	}
	if err := s.Flush(ctx); err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	b, _ := os.ReadFile(path)
	got := strings.Split(strings.TrimSuffix(string(b), "\n"), "\n")
	if len(got) != 15 {
		t.Fatalf("%d lines, want 15: %q", len(got), got)
	}
	for i, l := range got {
		if l != fmt.Sprintf("line %d", i) {
			t.Fatalf("line %d is %q", i, l)
		}
	}
	_, tcs, err := func() (*connectors.Plugin, []map[string]string, error) {
		r := connectors.NewRegistry()
		if err := r.Register(*p); err != nil {
			return nil, nil, err
		}
		return r.TaskConfigs(map[string]string{"name": "x", "connector.class": "file-sink", "file": path, "topics": "t", "tasks.max": "3"})
	}()
	if err != nil || len(tcs) != 1 {
		t.Fatalf("tasks.max=3 gave %d tasks (%v), want 1: a file has one writer", len(tcs), err)
	}
}

func BenchmarkSource(b *testing.B) {
	path := filepath.Join(b.TempDir(), "in.txt")
	line := strings.Repeat("z", 99) + "\n"
	const n = 200_000
	os.WriteFile(path, []byte(strings.Repeat(line, n)), 0o644)
	b.SetBytes(int64(len(line) * n))
	b.ReportAllocs()
	for b.Loop() {
		s := SourcePlugin().NewSource().(*source)
		cfg := map[string]string{"file": path, "topic": "t"}
		s.Open(context.Background(), connectors.SourceContext{TaskInfo: connectors.TaskInfo{Config: connectors.NewConfig(SourcePlugin().Spec, cfg)}})
		for got := 0; got < n; {
			recs, _ := s.Poll(context.Background())
			got += len(recs)
		}
		s.Close()
	}
}

// A structured value is written as Kafka's sink would: its toString.
func TestSinkWritesStructuredText(t *testing.T) {
	t.Parallel()
	path := filepath.Join(t.TempDir(), "out.txt")
	p := SinkPlugin()
	s := p.NewSink()
	if err := s.Open(context.Background(), connectors.SinkContext{TaskInfo: connectors.TaskInfo{Config: connectors.NewConfig(p.Spec, map[string]string{"file": path})}}); err != nil {
		t.Fatal(err)
	}
	recs := []connectors.Record{{ValueData: map[string]any{"a": int64(1)}}, {ValueData: []byte("b"), Value: []byte("ignored")}, {Value: []byte{}}}
	if err := s.Put(context.Background(), recs); err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	b, _ := os.ReadFile(path)
	if string(b) != "{a=1}\nb\n\n" {
		t.Fatalf("file %q", b)
	}
}
