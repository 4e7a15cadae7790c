package schemaregistry_test

import (
	"bytes"
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"reflect"
	"strings"
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

// Schemas with references: registered with them, read back with them by
// id, by subject and version and as the latest, and registering finds the
// version srfake's answer (the id alone, as Confluent's) leaves out.
func TestClientReferences(t *testing.T) {
	t.Parallel()
	var hits atomic.Int32
	var noVersions atomic.Bool
	reg := srfake.NewRegistry()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		hits.Add(1)
		if noVersions.Load() && strings.HasSuffix(r.URL.Path, "/versions") && r.Method == http.MethodGet {
			http.NotFound(w, r)
			return
		}
		reg.Handler().ServeHTTP(w, r)
	}))
	t.Cleanup(srv.Close)
	c, err := schemaregistry.New(schemaregistry.Config{URLs: []string{srv.URL}})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	const dep = `syntax = "proto3"; package dep; message D { string s = 1; }`
	const root = `syntax = "proto3"; package root; import "dep.proto"; message R { dep.D d = 1; }`
	depSchema := schemaregistry.Schema{Type: schemaregistry.Protobuf, Schema: dep}
	if _, err := c.LookupSchema(ctx, "dep", depSchema); !errors.Is(err, schemaregistry.ErrNotFound) {
		t.Fatalf("lookup before registering: %v", err)
	}
	// A second version of dep, so that its version is not 1.
	if _, err := c.Register(ctx, "dep", schemaregistry.Protobuf, `syntax = "proto3"; package dep; message Old {}`); err != nil {
		t.Fatal(err)
	}
	d, err := c.RegisterSchema(ctx, "dep", depSchema)
	if err != nil || d.Version != 2 || d.Subject != "dep" || d.ID == 0 {
		t.Fatalf("%+v %v", d, err)
	}
	refs := []schemaregistry.Reference{{Name: "dep.proto", Subject: "dep", Version: d.Version}}
	rootSchema := schemaregistry.Schema{Type: schemaregistry.Protobuf, Schema: root, References: refs}
	r, err := c.RegisterSchema(ctx, "root-value", rootSchema)
	if err != nil || r.Version != 1 || r.ID == d.ID {
		t.Fatalf("%+v %v", r, err)
	}
	n := hits.Load()
	for range 3 { // cached: no more requests
		if again, err := c.RegisterSchema(ctx, "root-value", rootSchema); err != nil || again.ID != r.ID || again.Version != 1 {
			t.Fatalf("%+v %v", again, err)
		}
		if again, err := c.LookupSchema(ctx, "dep", depSchema); err != nil || again.ID != d.ID || again.Version != 2 {
			t.Fatalf("%+v %v", again, err)
		}
	}
	if hits.Load() != n {
		t.Errorf("%d requests for cached answers", hits.Load()-n)
	}
	// The same text without its references is another schema.
	if _, err := c.LookupSchema(ctx, "root-value", schemaregistry.Schema{Type: schemaregistry.Protobuf, Schema: root}); err == nil {
		t.Error("lookup without references: want an error")
	}

	fresh, _ := schemaregistry.New(schemaregistry.Config{URLs: []string{srv.URL}})
	if s, err := fresh.ByID(ctx, r.ID); err != nil || s.Schema != root || !reflect.DeepEqual(s.References, refs) {
		t.Fatalf("by id: %+v %v", s, err)
	}
	if s, err := fresh.Latest(ctx, "root-value"); err != nil || s.ID != r.ID || !reflect.DeepEqual(s.References, refs) {
		t.Fatalf("latest: %+v %v", s, err)
	}
	v, err := fresh.Version(ctx, "dep", 2)
	if err != nil || v.ID != d.ID || v.Schema.Schema != dep || v.Type != schemaregistry.Protobuf || v.Version != 2 || v.Subject != "dep" {
		t.Fatalf("version: %+v %v", v, err)
	}
	n = hits.Load()
	if again, err := fresh.Version(ctx, "dep", 2); err != nil || again.ID != d.ID || hits.Load() != n {
		t.Fatalf("version again (%d requests): %+v %v", hits.Load()-n, again, err)
	}
	if _, err := fresh.Version(ctx, "dep", 9); !errors.Is(err, schemaregistry.ErrNotFound) {
		t.Errorf("unknown version: %v", err)
	}

	// Without GET /schemas/ids/{id}/versions the version comes from a
	// lookup.
	noVersions.Store(true)
	if v, err := fresh.RegisterSchema(ctx, "dep", depSchema); err != nil || v.ID != d.ID || v.Version != 2 {
		t.Fatalf("without ids/versions: %+v %v", v, err)
	}
}
