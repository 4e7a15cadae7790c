package schemaregistry_test

import (
	"bytes"
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"sync/atomic"
	"testing"

	"github.com/twmb/franz-go/pkg/sr/srfake"

	"github.com/sluicehq/sluice/connectors/converter/schemaregistry"
)

func TestHeader(t *testing.T) {
	t.Parallel()
	b := schemaregistry.AppendHeader([]byte(nil), 0x01020304)
	if !bytes.Equal(b, []byte{0, 1, 2, 3, 4}) {
		t.Fatalf("% x", b)
	}
	id, rest, err := schemaregistry.SplitHeader(append(b, 'x'))
	if err != nil || id != 0x01020304 || string(rest) != "x" {
		t.Fatalf("%d %q %v", id, rest, err)
	}
	for _, bad := range [][]byte{nil, {0, 1}, {1, 0, 0, 0, 1}} {
		if _, _, err := schemaregistry.SplitHeader(bad); !errors.Is(err, schemaregistry.ErrUnknownMagicByte) {
			t.Errorf("% x: %v", bad, err)
		}
	}
}

func TestClient(t *testing.T) {
	t.Parallel()
	var hits atomic.Int32
	reg := srfake.NewRegistry()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		hits.Add(1)
		reg.Handler().ServeHTTP(w, r)
	}))
	t.Cleanup(srv.Close)
	down := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		http.Error(w, `{"error_code":50001,"message":"down"}`, http.StatusInternalServerError)
	}))
	t.Cleanup(down.Close)
	// The first URL fails with a 5xx: the client goes on to the next.
	c, err := schemaregistry.New(schemaregistry.Config{URLs: []string{down.URL, srv.URL}})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	if _, err := c.Lookup(ctx, "s-value", schemaregistry.Avro, `"string"`); !errors.Is(err, schemaregistry.ErrNotFound) {
		t.Fatalf("lookup before registering: %v", err)
	}
	id, err := c.Register(ctx, "s-value", schemaregistry.Avro, `"string"`)
	if err != nil {
		t.Fatal(err)
	}
	n := hits.Load()
	for range 3 { // cached: no more requests
		if again, err := c.Register(ctx, "s-value", schemaregistry.Avro, `"string"`); err != nil || again != id {
			t.Fatalf("%d %v", again, err)
		}
		if s, err := c.ByID(ctx, id); err != nil || s.Schema != `"string"` || s.Type != schemaregistry.Avro {
			t.Fatalf("%+v %v", s, err)
		}
	}
	if hits.Load() != n {
		t.Errorf("%d requests for cached answers", hits.Load()-n)
	}
	l, err := c.Latest(ctx, "s-value")
	if err != nil || l.ID != id {
		t.Fatalf("%+v %v", l, err)
	}
	jid, err := c.Register(ctx, "j-value", schemaregistry.JSONSchema, `{"type":"string"}`)
	if err != nil || jid == id {
		t.Fatalf("json schema id %d (avro %d): %v", jid, id, err)
	}
	fresh, _ := schemaregistry.New(schemaregistry.Config{URLs: []string{srv.URL}})
	if s, err := fresh.ByID(ctx, jid); err != nil || s.Type != schemaregistry.JSONSchema {
		t.Fatalf("%+v %v", s, err)
	}
	if _, err := fresh.ByID(ctx, 999); !errors.Is(err, schemaregistry.ErrNotFound) {
		t.Errorf("unknown id: %v", err)
	}
	if _, err := schemaregistry.New(schemaregistry.Config{}); err == nil {
		t.Error("no URL: want an error")
	}
}
