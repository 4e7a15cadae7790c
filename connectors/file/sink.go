package file

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"os"
	"path/filepath"
	"sync"

	"github.com/sluicehq/sluice/connectors"
	"github.com/sluicehq/sluice/connectors/converter"
	"github.com/sluicehq/sluice/internal/atomicfile"
)

// SinkPlugin describes file-sink.
func SinkPlugin() *connectors.Plugin {
	return &connectors.Plugin{
		Name:    "file-sink",
		Class:   "org.apache.kafka.connect.file.FileStreamSinkConnector",
		Aliases: []string{"FileStreamSink"},
		Type:    connectors.SinkType,
		Version: "1.0.0",
		Description: "Appends each record's value to a file, one line per record. Strings are written as they are, " +
			"other values in their text form, a null value as \"null\", as FileStreamSink does. Exactly once: the " +
			"Kafka offsets of what the file holds are kept beside it (FILE.sluice-offsets, replaced atomically on " +
			"every flush with the file's committed size), so after a crash the file is cut back to its last commit " +
			"and reading resumes from there: no line is written twice. A file has one writer: one task.",
		Spec: connectors.Spec{Fields: []connectors.Field{
			{Name: KeyFile, Type: connectors.TypeString, Required: true, Importance: connectors.High,
				Doc: "Destination filename. Created, with its directories, if missing; appended to otherwise."},
		}},
		// One task: several writers of one file could not cut it back to
		// a commit without cutting each other's lines.
		TaskConfigs: func(cfg connectors.Config, _ int) ([]map[string]string, error) {
			m := make(map[string]string, len(cfg.Raw()))
			for k, v := range cfg.Raw() {
				m[k] = v
			}
			return []map[string]string{m}, nil
		},
		NewSink: func() connectors.Sink { return &sink{} },
	}
}

// writeBuffer is the most the sink buffers before it appends to the file.
// The buffer grows to it as batches need (an idle task holds little).
const writeBuffer = 1 << 20

type sink struct {
	path string
	f    *os.File
	buf  []byte
	log  *slog.Logger

	// size is what the file holds, written so far.
	size int64
	// next is, per partition, the offset after the last record Put;
	// committed is what the last Flush stored beside the file.
	mu        sync.Mutex
	next      map[string]map[int32]int64
	committed storedOffsets
}

// storedOffsets is the content of FILE.sluice-offsets.
type storedOffsets struct {
	// Size is the file's size when these offsets were committed.
	Size int64 `json:"size"`
	// Offsets: topic -> partition -> offset of the next record to write.
	Offsets map[string]map[int32]int64 `json:"offsets"`
}

func (s *sink) offsetsPath() string { return s.path + ".sluice-offsets" }

func (s *sink) Open(_ context.Context, sc connectors.SinkContext) error {
	s.path = sc.Config.String(KeyFile)
	s.log = sc.Logger
	if dir := filepath.Dir(s.path); dir != "" {
		if err := os.MkdirAll(dir, 0o755); err != nil {
			return fmt.Errorf("create directory of %s: %w", s.path, err)
		}
	}
	f, err := os.OpenFile(s.path, os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o644)
	if err != nil {
		return fmt.Errorf("open %s: %w", s.path, err)
	}
	s.f = f
	st, err := f.Stat()
	if err != nil {
		return err
	}
	s.size = st.Size()
	s.next = map[string]map[int32]int64{}
	s.committed = storedOffsets{Size: s.size, Offsets: map[string]map[int32]int64{}}
	b, err := os.ReadFile(s.offsetsPath())
	switch {
	case errors.Is(err, os.ErrNotExist):
		// A new file, or one written before: everything in it stays.
	case err != nil:
		return fmt.Errorf("read %s: %w", s.offsetsPath(), err)
	default:
		var so storedOffsets
		if err := json.Unmarshal(b, &so); err != nil {
			return fmt.Errorf("%s is damaged (%v): remove it to start from the consumer group's offsets", s.offsetsPath(), err)
		}
		if so.Offsets == nil {
			so.Offsets = map[string]map[int32]int64{}
		}
		switch {
		case s.size > so.Size:
			// Lines written after the last commit: their records are read
			// again, so they go.
			if err := f.Truncate(so.Size); err != nil {
				return fmt.Errorf("cut %s back to its last commit (%d bytes): %w", s.path, so.Size, err)
			}
			if s.log != nil {
				s.log.Warn("file cut back to its last commit; the records after it are read again",
					"file", s.path, "from", s.size, "to", so.Size)
			}
			s.size = so.Size
		case s.size < so.Size:
			if s.log != nil {
				s.log.Warn("file is shorter than at its last commit: it was changed outside Sluice",
					"file", s.path, "size", s.size, "committed", so.Size)
			}
		}
		s.committed = so
	}
	return nil
}

// StoredOffsets implements connectors.OffsetStoringSink.
func (s *sink) StoredOffsets(_ context.Context, parts map[string][]int32) (map[string]map[int32]int64, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := map[string]map[int32]int64{}
	for topic, ps := range parts {
		for _, p := range ps {
			if o, ok := s.committed.Offsets[topic][p]; ok {
				if out[topic] == nil {
					out[topic] = map[int32]int64{}
				}
				out[topic][p] = o
			}
		}
	}
	return out, nil
}

// NeedsStructure is false: the sink writes the raw value bytes, which with
// StringConverter are the string Kafka Connect's sink would write. A value
// the runtime or a transform made structured (ValueData) is written in its
// text form.
func (s *sink) NeedsStructure() bool { return false }

// Put writes one line per record, with one append per batch (or per MiB),
// always of whole lines, so several tasks appending to one file interleave
// by whole lines at worst.
func (s *sink) Put(_ context.Context, recs []connectors.Record) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	for i := range recs {
		r := &recs[i]
		if r.Topic != "" {
			ps := s.next[r.Topic]
			if ps == nil {
				ps = map[int32]int64{}
				s.next[r.Topic] = ps
			}
			ps[r.Partition] = r.Offset + 1
		}
		switch {
		case r.ValueData != nil:
			var err error
			if s.buf, err = appendText(s.buf, r); err != nil {
				return err
			}
		case r.Value != nil:
			s.buf = append(s.buf, r.Value...)
		default:
			s.buf = append(s.buf, "null"...)
		}
		s.buf = append(s.buf, '\n')
		if len(s.buf) >= writeBuffer {
			if err := s.write(); err != nil {
				return err
			}
		}
	}
	// Each batch reaches the file (not yet the disk) at once, so readers of
	// the file see records without waiting for the next flush; Flush syncs.
	return s.write()
}

func (s *sink) write() error {
	if len(s.buf) == 0 {
		return nil
	}
	n, err := s.f.Write(s.buf)
	s.size += int64(n)
	if err != nil {
		return fmt.Errorf("write %s: %w", s.path, err)
	}
	s.buf = s.buf[:0]
	return nil
}

// appendText appends the text form of a structured value: a string or
// bytes as they are, anything else as StringConverter writes it (Java's
// toString: {a=1} for a map, Struct{...} for a struct), or with %v if that
// converter is not available.
func appendText(b []byte, r *connectors.Record) ([]byte, error) {
	switch v := r.ValueData.(type) {
	case string:
		return append(b, v...), nil
	case []byte:
		return append(b, v...), nil
	}
	if textConverter == nil {
		return fmt.Appendf(b, "%v", r.ValueData), nil
	}
	t, err := textConverter.FromConnect(r.Topic, r.ValueSchema, r.ValueData)
	if err != nil {
		return b, fmt.Errorf("render value of %s[%d]@%d: %w", r.Topic, r.Partition, r.Offset, err)
	}
	return append(b, t...), nil
}

// textConverter renders structured values as Java's toString would.
var textConverter, _ = converter.New(converter.StringClass, nil, false)

// Flush writes the buffer, syncs the file, then replaces the offsets file
// (written aside, synced, renamed over): data and offsets commit together.
func (s *sink) Flush(context.Context) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if err := s.write(); err != nil {
		return err
	}
	if err := s.f.Sync(); err != nil {
		return fmt.Errorf("sync %s: %w", s.path, err)
	}
	so := storedOffsets{Size: s.size, Offsets: map[string]map[int32]int64{}}
	for topic, ps := range s.committed.Offsets {
		so.Offsets[topic] = maps.Clone(ps)
	}
	for topic, ps := range s.next {
		if so.Offsets[topic] == nil {
			so.Offsets[topic] = map[int32]int64{}
		}
		maps.Copy(so.Offsets[topic], ps)
	}
	b, err := json.Marshal(so)
	if err != nil {
		return err
	}
	if err := atomicfile.Write(s.offsetsPath(), b); err != nil {
		return fmt.Errorf("commit offsets beside %s: %w", s.path, err)
	}
	s.committed = so
	return nil
}

func (s *sink) Close() error {
	if s.f == nil {
		return nil
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	err := s.write()
	if cerr := s.f.Close(); err == nil {
		err = cerr
	}
	return err
}
