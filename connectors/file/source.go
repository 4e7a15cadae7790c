// Package file holds file-source and file-sink, Sluice's versions of Kafka
// Connect's FileStreamSource and FileStreamSink: the same class names, config
// keys and source offsets ({"filename": ...} / {"position": ...}), so a
// FileStream config runs unchanged and resumes from the offsets it had.
//
// Unlike Kafka Connect's, both need a file: standard input and output are
// not supported.
//
// file-source runs one task. It emits complete lines only (a last line
// without its newline waits for it), strips "\n" and "\r\n", and follows the
// file as it grows. A Poll at the end of the file waits up to 250ms and
// returns an empty batch; so does a Poll while the file does not exist yet.
// A file that becomes shorter than what was read, or whose path now names
// another file, is read again from its start. The SourceOffset, the byte
// position after the line as an int64, is set on the last record of each
// batch only (the runtime commits per batch); every record carries the
// SourcePartition.
//
// file-sink appends one line per record: a raw value as is, a structured
// one in its text form, a null value as "null". Each Put reaches the file in
// one append of whole lines (per MiB at most); Flush also syncs it to disk.
// Several tasks may append to one file: their lines interleave, whole.
package file

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/sluicehq/sluice/connectors"
	"github.com/sluicehq/sluice/connectors/schema"
)

// Config keys, as Kafka Connect names them.
const (
	KeyFile      = "file"
	KeyTopic     = "topic"
	KeyBatchSize = "batch.size"

	// Source partition and offset keys, as FileStreamSourceTask writes them.
	PartitionKey = "filename"
	PositionKey  = "position"
)

// readBuffer is the size of the source's read buffer: large enough for
// few system calls, small enough for many tasks on one agent.
const readBuffer = 64 << 10

// minReadBuffer is the smallest read buffer, for small files.
const minReadBuffer = 4 << 10

// grow gives the reader a full-size buffer once the unread part of the
// file outgrows the small one. It swaps readers only when nothing is
// buffered, so no byte is lost.
func (s *source) grow() {
	if s.r.Size() >= readBuffer || s.r.Buffered() > 0 {
		return
	}
	st, err := s.f.Stat()
	if err != nil || st.Size()-s.pos-int64(len(s.pending)) <= int64(s.r.Size()) {
		return
	}
	s.r = bufio.NewReaderSize(s.f, readBuffer)
}

// idleWait is how long Poll waits for more data at the end of the file.
const idleWait = 250 * time.Millisecond

// SourcePlugin describes file-source.
func SourcePlugin() *connectors.Plugin {
	return &connectors.Plugin{
		Name:    "file-source",
		Class:   "org.apache.kafka.connect.file.FileStreamSourceConnector",
		Aliases: []string{"FileStreamSource"},
		Type:    connectors.SourceType,
		Version: "1.0.0",
		Description: "Reads a text file line by line into a topic, and keeps following it as it grows " +
			"(a truncated or replaced file is read again from its start). Each complete line, without its " +
			"newline (\\n or \\r\\n), becomes one record value, as a string. Runs one task.",
		Spec: connectors.Spec{Fields: []connectors.Field{
			{Name: KeyFile, Type: connectors.TypeString, Required: true, Importance: connectors.High,
				Doc: "Path of the file to read. Unlike Kafka Connect, standard input is not supported."},
			{Name: KeyTopic, Type: connectors.TypeString, Required: true, Importance: connectors.High,
				Doc: "The topic to publish data to."},
			{Name: KeyBatchSize, Type: connectors.TypeInt, Default: "2000", Importance: connectors.Low,
				Validate: positive, Doc: "The maximum number of records the source task can read from the file each time it is polled."},
		}},
		// One task, whatever tasks.max says, as FileStreamSourceConnector.
		TaskConfigs: func(cfg connectors.Config, _ int) ([]map[string]string, error) {
			out := make(map[string]string, len(cfg.Raw()))
			for k, v := range cfg.Raw() {
				out[k] = v
			}
			return []map[string]string{out}, nil
		},
		NewSource: func() connectors.Source { return &source{} },
	}
}

func positive(v string) error {
	n, err := strconv.Atoi(strings.TrimSpace(v))
	if err != nil || n < 1 {
		return fmt.Errorf("%q must be a whole number of at least 1", v)
	}
	return nil
}

type source struct {
	path      string
	topic     string
	batch     int
	log       *slog.Logger
	partition map[string]any
	valSchema *schema.Schema

	f      *os.File
	r      *bufio.Reader
	pos    int64 // offset of the next byte to read
	warned bool
	// pending holds the start of a line whose newline has not arrived yet.
	pending []byte
	// recs is the batch slice, reused from Poll to Poll.
	recs []connectors.Record
}

func (s *source) Open(_ context.Context, sc connectors.SourceContext) error {
	s.path = sc.Config.String(KeyFile)
	s.topic = sc.Config.String(KeyTopic)
	s.batch = sc.Config.Int(KeyBatchSize)
	if s.batch < 1 {
		s.batch = 2000
	}
	s.log = sc.Logger
	if s.log == nil {
		s.log = slog.Default()
	}
	s.partition = map[string]any{PartitionKey: s.path}
	s.valSchema = &schema.Schema{Type: schema.String}
	if sc.Offsets != nil {
		if off := sc.Offsets.Offset(s.partition); off != nil {
			p, err := connectors.Int64(off[PositionKey])
			if err != nil {
				return fmt.Errorf("stored offset of %s: %w", s.path, err)
			}
			s.pos = max(p, 0)
			s.log.Info("resuming file", "file", s.path, "position", p)
		}
	}
	return nil
}

// open opens the file at s.pos; it returns false when the file is not
// there yet.
func (s *source) open() (bool, error) {
	f, err := os.Open(s.path)
	if errors.Is(err, fs.ErrNotExist) {
		if !s.warned {
			s.log.Warn("file not found; waiting for it", "file", s.path)
			s.warned = true
		}
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("open %s: %w", s.path, err)
	}
	st, err := f.Stat()
	if err != nil {
		f.Close()
		return false, err
	}
	if st.Size() < s.pos {
		s.log.Warn("file is shorter than the stored position: reading it from the start", "file", s.path,
			"position", s.pos, "size", st.Size())
		s.pos = 0
	}
	if _, err := f.Seek(s.pos, io.SeekStart); err != nil {
		f.Close()
		return false, fmt.Errorf("seek %s to %d: %w", s.path, s.pos, err)
	}
	s.warned = false
	s.f = f
	// A small file gets a small buffer (many idle tasks stay light); it
	// grows to readBuffer when the file does (see grow).
	s.r = bufio.NewReaderSize(f, int(min(readBuffer, max(minReadBuffer, st.Size()-s.pos))))
	return true, nil
}

// Poll returns up to batch.size complete lines. At the end of the file it
// waits a little for more and may return an empty batch.
func (s *source) Poll(ctx context.Context) ([]connectors.Record, error) {
	if s.f == nil {
		ok, err := s.open()
		if err != nil {
			return nil, err
		}
		if !ok {
			return nil, wait(ctx, idleWait)
		}
	}
	s.grow()
	// The runtime is done with the previous batch's slice when it calls
	// Poll again: reuse it (the bytes its records point to are not reused).
	recs := s.recs[:0]
	var (
		// Lines of one batch share one backing array, allocated per batch:
		// records in flight are never overwritten.
		backing []byte
	)
	for len(recs) < s.batch {
		chunk, err := s.r.ReadSlice('\n')
		if err == bufio.ErrBufferFull {
			s.pending = append(s.pending, chunk...)
			continue
		}
		if err == io.EOF {
			// An incomplete last line waits for its newline.
			s.pending = append(s.pending, chunk...)
			break
		}
		if err != nil {
			return recs, fmt.Errorf("read %s: %w", s.path, err)
		}
		line := chunk
		if len(s.pending) > 0 {
			line = append(s.pending, chunk...)
			s.pending = s.pending[:0:0]
		}
		s.pos += int64(len(line))
		line = line[:len(line)-1]
		line = bytes.TrimSuffix(line, []byte{'\r'})
		if backing == nil || cap(backing)-len(backing) < len(line) {
			// Sized for what is already read: a small file gets a small
			// block, a large one 64 KiB blocks.
			backing = make([]byte, 0, max(len(line), min(64<<10, len(line)+s.r.Buffered())))
		}
		start := len(backing)
		backing = append(backing, line...)
		recs = append(recs, connectors.Record{
			Topic:           s.topic,
			Partition:       -1,
			Value:           backing[start:len(backing):len(backing)],
			ValueSchema:     s.valSchema,
			SourcePartition: s.partition,
		})
	}
	// Keep the slice for the next Poll only while the file keeps the task
	// busy (full batches): an idle task then holds no batch memory, and no
	// stale records pin old line blocks.
	if len(recs) == s.batch {
		s.recs = recs
	} else {
		s.recs = nil
	}
	if len(recs) > 0 {
		// The runtime commits offsets per batch: only the last record of
		// a batch needs its offset, which saves a map per line.
		recs[len(recs)-1].SourceOffset = map[string]any{PositionKey: s.pos}
		return recs, nil
	}
	// Nothing new: if the file was truncated or replaced, start it over
	// (the next Poll opens it); otherwise wait for more.
	if why := s.changed(); why != "" {
		s.log.Warn("file was "+why+": reading it from the start", "file", s.path, "position", s.pos)
		s.f.Close()
		s.f, s.r, s.pos, s.pending = nil, nil, 0, nil
		return nil, nil
	}
	return nil, wait(ctx, idleWait)
}

// changed says whether the file at s.path is no longer the one being read
// from where it was read to: "truncated" when it is shorter than what was
// read (the complete lines and the pending partial one), "replaced" when
// the path names another file (rotated by renaming, or saved by an editor
// that writes a new file), "" otherwise. A file that is gone keeps being
// read, as it may come back.
func (s *source) changed() string {
	st, err := os.Stat(s.path)
	if err != nil {
		return ""
	}
	if st.Size() < s.pos+int64(len(s.pending)) {
		return "truncated"
	}
	if cur, err := s.f.Stat(); err == nil && !os.SameFile(st, cur) {
		return "replaced"
	}
	return ""
}

func wait(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
	case <-t.C:
	}
	return nil
}

func (s *source) Close() error {
	if s.f != nil {
		return s.f.Close()
	}
	return nil
}
