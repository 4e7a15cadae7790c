package builtin

import (
	"testing"

	"github.com/sluicehq/sluice/connectors"
)

func TestLookup(t *testing.T) {
	t.Parallel()
	r := Registry()
	for name, want := range map[string]string{
		"file-source": "file-source",
		"org.apache.kafka.connect.file.FileStreamSourceConnector": "file-source",
		"FileStreamSource":          "file-source",
		"FileStreamSourceConnector": "file-source",
		"file-sink":                 "file-sink",
		"org.apache.kafka.connect.file.FileStreamSinkConnector": "file-sink",
		"FileStreamSink":   "file-sink",
		"datagen":          "datagen",
		"DatagenConnector": "datagen",
	} {
		p, ok := r.Lookup(name)
		if !ok || p.Name != want {
			t.Errorf("Lookup(%q) = %v, %v; want %s", name, p, ok, want)
		}
	}
}

func TestRegistryCopiesAndRegister(t *testing.T) {
	t.Parallel()
	a, b := Registry(), Registry()
	extra := *a.Plugins()[0]
	extra.Name, extra.Class, extra.Aliases = "extra", "", nil
	if err := a.Register(extra); err != nil {
		t.Fatal(err)
	}
	if _, ok := b.Lookup("extra"); ok {
		t.Fatal("a plugin added to one copy shows in another")
	}
	if got, want := len(b.Plugins()), len(Plugins()); got != want {
		t.Fatalf("%d plugins, want %d", got, want)
	}
	r := connectors.NewRegistry()
	if err := Register(r); err != nil {
		t.Fatal(err)
	}
	for _, n := range []string{"file-source", "file-sink", "datagen"} {
		if _, ok := r.Lookup(n); !ok {
			t.Fatalf("Register did not add %s", n)
		}
	}
	if err := Register(r); err == nil {
		t.Fatal("registering twice: no error")
	}
}
