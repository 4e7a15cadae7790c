package file

import (
	"context"
	"fmt"
	"os"
	"path/filepath"

	"github.com/sluicehq/sluice/connectors"
	"github.com/sluicehq/sluice/connectors/converter"
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
			"other values in their text form, a null value as \"null\", as FileStreamSink does.",
		Spec: connectors.Spec{Fields: []connectors.Field{
			{Name: KeyFile, Type: connectors.TypeString, Required: true, Importance: connectors.High,
				Doc: "Destination filename. Created, with its directories, if missing; appended to otherwise."},
		}},
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
}

func (s *sink) Open(_ context.Context, sc connectors.SinkContext) error {
	s.path = sc.Config.String(KeyFile)
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
	return nil
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
	for i := range recs {
		r := &recs[i]
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
	if _, err := s.f.Write(s.buf); err != nil {
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

// Flush writes the buffer and syncs the file to disk.
func (s *sink) Flush(context.Context) error {
	if err := s.write(); err != nil {
		return err
	}
	if err := s.f.Sync(); err != nil {
		return fmt.Errorf("sync %s: %w", s.path, err)
	}
	return nil
}

func (s *sink) Close() error {
	if s.f == nil {
		return nil
	}
	err := s.write()
	if cerr := s.f.Close(); err == nil {
		err = cerr
	}
	return err
}
