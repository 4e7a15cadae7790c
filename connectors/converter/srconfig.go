package converter

import (
	"fmt"
	"strings"
	"sync"

	"github.com/sluicehq/sluice/connectors/converter/schemaregistry"
)

// Confluent's class names of the Schema Registry converters.
const (
	AvroClass       = "io.confluent.connect.avro.AvroConverter"
	JSONSchemaClass = "io.confluent.connect.json.JsonSchemaConverter"
)

// Subject name strategies (Confluent's class names; the simple names work
// too).
const (
	TopicNameStrategy       = "io.confluent.kafka.serializers.subject.TopicNameStrategy"
	RecordNameStrategy      = "io.confluent.kafka.serializers.subject.RecordNameStrategy"
	TopicRecordNameStrategy = "io.confluent.kafka.serializers.subject.TopicRecordNameStrategy"
)

// srConfig is the settings every Schema Registry converter shares.
type srConfig struct {
	client       *schemaregistry.Client
	isKey        bool
	autoRegister bool
	useLatest    bool
	strategy     string // "topic", "record" or "topicrecord"
	connectMeta  bool
}

func parseSRConfig(opts map[string]string, isKey bool) (*srConfig, error) {
	c := &srConfig{isKey: isKey}
	urls := strings.TrimSpace(opts["schema.registry.url"])
	if urls == "" {
		return nil, &optionError{"schema.registry.url", "is required: the Schema Registry's URL (a comma-separated list for several)"}
	}
	var err error
	if c.autoRegister, err = boolOption(opts, "auto.register.schemas", true); err != nil {
		return nil, err
	}
	if c.useLatest, err = boolOption(opts, "use.latest.version", false); err != nil {
		return nil, err
	}
	if c.connectMeta, err = boolOption(opts, "connect.meta.data", true); err != nil {
		return nil, err
	}
	strategyKey := "value.subject.name.strategy"
	if isKey {
		strategyKey = "key.subject.name.strategy"
	}
	st := strings.TrimSpace(opts[strategyKey])
	if st == "" {
		st = TopicNameStrategy
	}
	switch st[strings.LastIndexByte(st, '.')+1:] {
	case "TopicNameStrategy":
		c.strategy = "topic"
	case "RecordNameStrategy":
		c.strategy = "record"
	case "TopicRecordNameStrategy":
		c.strategy = "topicrecord"
	default:
		return nil, &optionError{strategyKey, fmt.Sprintf("%q is not TopicNameStrategy, RecordNameStrategy or TopicRecordNameStrategy", st)}
	}
	var userInfo string
	switch src := strings.ToUpper(strings.TrimSpace(opts["basic.auth.credentials.source"])); src {
	case "", "URL":
	case "USER_INFO":
		userInfo = opts["basic.auth.user.info"]
		if userInfo == "" {
			userInfo = opts["schema.registry.basic.auth.user.info"]
		}
		if !strings.Contains(userInfo, ":") {
			return nil, &optionError{"basic.auth.user.info", "must be user:password with basic.auth.credentials.source=USER_INFO"}
		}
	default:
		return nil, &optionError{"basic.auth.credentials.source", fmt.Sprintf("%q is not URL or USER_INFO", src)}
	}
	if c.client, err = schemaregistry.New(schemaregistry.Config{URLs: strings.Split(urls, ","), UserInfo: userInfo}); err != nil {
		return nil, &optionError{"schema.registry.url", err.Error()}
	}
	return c, nil
}

// subject names the subject a schema goes under: its record's full name
// is recordName ("" for a schema that is not a named record).
func (c *srConfig) subject(topic, recordName string) (string, error) {
	suffix := "-value"
	if c.isKey {
		suffix = "-key"
	}
	switch c.strategy {
	case "record", "topicrecord":
		if recordName == "" {
			return "", fmt.Errorf("the %s subject name strategy needs a named record schema", c.strategy)
		}
		if c.strategy == "record" {
			return recordName, nil
		}
		return topic + "-" + recordName, nil
	}
	return topic + suffix, nil
}

// memo caches values by key for a converter, safe for concurrent use and
// bounded by maxCached (full, it starts over). load runs outside the lock;
// a failed load is not kept.
type memo[K comparable, V any] struct {
	mu sync.Mutex
	m  map[K]V
}

func (c *memo[K, V]) get(k K, load func() (V, error)) (V, error) {
	c.mu.Lock()
	v, ok := c.m[k]
	c.mu.Unlock()
	if ok {
		return v, nil
	}
	v, err := load()
	if err != nil {
		return v, err
	}
	c.mu.Lock()
	if c.m == nil || len(c.m) >= maxCached {
		c.m = make(map[K]V)
	}
	c.m[k] = v
	c.mu.Unlock()
	return v, nil
}
