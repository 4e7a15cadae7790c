package controlplane

import (
	"context"
	"strings"
	"testing"

	"connectrpc.com/connect"

	sluicev1 "github.com/sluicehq/sluice/api/gen/sluice/v1"
)

// TestConverterSettingsAreCheckedAtCreation: a wrong converter class or
// option is refused when the connector is created, naming the key, not
// found when its task starts; header.converter takes Kafka Connect's
// classes for headers-as-bytes.
func TestConverterSettingsAreCheckedAtCreation(t *testing.T) {
	t.Parallel()
	_, c := start(t, 0)
	base := func(kv ...string) map[string]string {
		m := map[string]string{"connector.class": "test-source", "topic": "t"}
		for i := 0; i+1 < len(kv); i += 2 {
			m[kv[i]] = kv[i+1]
		}
		return m
	}
	for _, tc := range []struct {
		cfg   map[string]string
		field string
	}{
		{base("value.converter", "com.example.Nope"), "value.converter"},
		{base("key.converter", "json", "key.converter.schemas.enable", "maybe"), "key.converter.schemas.enable"},
		{base("header.converter", "org.apache.kafka.connect.json.JsonConverter"), "header.converter"},
	} {
		_, err := c.Connectors.ApplyConnector(context.Background(), connect.NewRequest(&sluicev1.ApplyConnectorRequest{Name: "conv", Config: tc.cfg}))
		if connect.CodeOf(err) != connect.CodeInvalidArgument || !strings.Contains(err.Error(), tc.field) {
			t.Errorf("%v: %v, want InvalidArgument naming %s", tc.cfg, err, tc.field)
		}
		res, err := c.Connectors.ValidateConnectorConfig(context.Background(), connect.NewRequest(&sluicev1.ValidateConnectorConfigRequest{Config: tc.cfg}))
		if err != nil || res.Msg.GetErrorCount() == 0 {
			t.Errorf("validate %v: %v errors, %v", tc.cfg, res.Msg.GetErrorCount(), err)
		}
	}
	apply(t, c, "conv-ok", base("header.converter", "org.apache.kafka.connect.storage.SimpleHeaderConverter",
		"value.converter", "org.apache.kafka.connect.storage.StringConverter"))
}
