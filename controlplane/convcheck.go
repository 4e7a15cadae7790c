package controlplane

import (
	"strings"

	"github.com/sluicehq/sluice/connectors"
	"github.com/sluicehq/sluice/connectors/converter"
)

// headerConverters are the header.converter classes Sluice takes. Headers
// move as bytes, untouched; the values transforms put in headers
// (HeaderFrom, InsertHeader, ExtractNewRecordState's add.headers) are
// written as SimpleHeaderConverter writes them, which is also what
// StringConverter and ByteArrayConverter write for text and bytes.
var headerConverters = []string{
	"org.apache.kafka.connect.storage.SimpleHeaderConverter", "SimpleHeaderConverter", "simple",
	converter.StringClass, "StringConverter", "string",
	converter.ByteArrayClass, "ByteArrayConverter", "bytes",
}

// extraProblems finds what the connector's spec cannot: transforms and
// predicates, and converters, each named by the config key at fault.
func (a *connectorAPI) extraProblems(raw map[string]string) []connectors.FieldError {
	_, errs := a.cp.cfg.Transforms.Parse(raw)
	for _, isKey := range []bool{true, false} {
		if _, err := converter.FromConfig(raw, isKey); err != nil {
			field, reason, ok := strings.Cut(err.Error(), ": ")
			if !ok {
				field, reason = connectors.KeyValueConverter, err.Error()
				if isKey {
					field = connectors.KeyKeyConverter
				}
			}
			errs = append(errs, connectors.FieldError{Field: field, Reason: reason})
		}
	}
	if hc := strings.TrimSpace(raw[connectors.KeyHeaderConv]); hc != "" {
		known := false
		for _, c := range headerConverters {
			known = known || strings.EqualFold(hc, c)
		}
		if !known {
			errs = append(errs, connectors.FieldError{Field: connectors.KeyHeaderConv, Reason: "Sluice moves headers as bytes and writes header values as " +
				"org.apache.kafka.connect.storage.SimpleHeaderConverter does; it takes that class (the default), StringConverter or ByteArrayConverter, not " + hc})
		}
	}
	return errs
}
