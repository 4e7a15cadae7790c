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
