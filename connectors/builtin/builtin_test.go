package builtin

import "testing"

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
