package connectors

import (
	"errors"
	"fmt"
	"sort"
	"strconv"
	"strings"

	"github.com/sluicehq/sluice/internal/placement"
)

// Keys every connector config has, with Kafka Connect's names.
const (
	KeyName           = "name"
	KeyConnectorClass = "connector.class"
	KeyTasksMax       = "tasks.max"
	KeyKeyConverter   = "key.converter"
	KeyValueConverter = "value.converter"
	KeyHeaderConv     = "header.converter"
	KeyTopics         = "topics"
	KeyTopicsRegex    = "topics.regex"
	KeyTransforms     = "transforms"
	KeyPredicates     = "predicates"
	// KeyPlacementSelector pins a connector's tasks to the agents whose
	// labels match it. Sluice's own key; Kafka Connect has no placement.
	KeyPlacementSelector = "placement.selector"

	// Error handling, with Kafka Connect's names and meaning.
	KeyErrorsRetryTimeout   = "errors.retry.timeout"
	KeyErrorsRetryDelayMax  = "errors.retry.delay.max.ms"
	KeyErrorsTolerance      = "errors.tolerance"
	KeyErrorsLogEnable      = "errors.log.enable"
	KeyErrorsLogMessages    = "errors.log.include.messages"
	KeyErrorsDLQTopic       = "errors.deadletterqueue.topic.name"
	KeyErrorsDLQReplication = "errors.deadletterqueue.topic.replication.factor"
	KeyErrorsDLQHeaders     = "errors.deadletterqueue.context.headers.enable"
	// KeyTaskID is set in every task config to the task's number.
	KeyTaskID = "task.id"
)

// SinkGroupID is a sink connector's consumer group, as Kafka Connect names
// it, so that a connector moved from Kafka Connect keeps its offsets.
func SinkGroupID(connector string) string { return "connect-" + connector }

// DefaultConverter is the converter used when a config names none.
const DefaultConverter = "org.apache.kafka.connect.json.JsonConverter"

func positiveInt(v string) error {
	n, err := strconv.Atoi(strings.TrimSpace(v))
	if err != nil || n < 1 {
		return fmt.Errorf("%q must be a whole number of at least 1", v)
	}
	return nil
}

func atLeastMinusOne(v string) error {
	n, err := strconv.ParseInt(strings.TrimSpace(v), 10, 64)
	if err != nil || n < -1 {
		return fmt.Errorf("%q must be a number of milliseconds, 0 for no retries or -1 to retry forever", v)
	}
	return nil
}

func nonNegative(v string) error {
	n, err := strconv.ParseInt(strings.TrimSpace(v), 10, 64)
	if err != nil || n < 0 {
		return fmt.Errorf("%q must be a whole number of at least 0", v)
	}
	return nil
}

// CommonSpec holds the fields every connector takes.
var CommonSpec = Spec{Fields: []Field{
	{Name: KeyName, Type: TypeString, Required: true, Importance: High, Group: "Common",
		Doc: "Globally unique name to use for this connector."},
	{Name: KeyConnectorClass, Type: TypeString, Required: true, Importance: High, Group: "Common",
		Doc: "Name or alias of the connector to run, for example file-source or org.apache.kafka.connect.file.FileStreamSourceConnector."},
	{Name: KeyTasksMax, Type: TypeInt, Default: "1", Importance: High, Group: "Common", Validate: positiveInt,
		Doc: "Maximum number of tasks to use for this connector."},
	{Name: KeyKeyConverter, Type: TypeClass, Default: DefaultConverter, Importance: Low, Group: "Common",
		Doc: "Converter class for keys: string, bytes or json, or their Kafka Connect class names. Its options go under key.converter.*, for example key.converter.schemas.enable."},
	{Name: KeyValueConverter, Type: TypeClass, Default: DefaultConverter, Importance: Low, Group: "Common",
		Doc: "Converter class for values: string, bytes or json, or their Kafka Connect class names. Its options go under value.converter.*, for example value.converter.schemas.enable."},
	{Name: KeyHeaderConv, Type: TypeClass, Default: "org.apache.kafka.connect.storage.SimpleHeaderConverter", Importance: Low, Group: "Common",
		Doc: "HeaderConverter class. Sluice moves record headers as bytes, untouched, and writes the header values transforms make as SimpleHeaderConverter does; it takes SimpleHeaderConverter (the default), StringConverter or ByteArrayConverter."},
	{Name: KeyTransforms, Type: TypeList, Importance: Low, Group: "Transforms",
		Doc: "Aliases for the transformations to apply to records, in order."},
	{Name: KeyPredicates, Type: TypeList, Importance: Low, Group: "Predicates",
		Doc: "Aliases for the predicates used by transformations."},
	{Name: KeyErrorsRetryTimeout, Type: TypeLong, Default: "0", Importance: Medium, Group: "Error Handling", Validate: atLeastMinusOne,
		Doc: "The maximum duration in milliseconds that a failed operation will be reattempted. The default is 0, which means no retries will be attempted. Use -1 for infinite retries. Applies to retriable errors of converters and transforms; a sink's or a source's own retriable errors are always retried with backoff."},
	{Name: KeyErrorsRetryDelayMax, Type: TypeLong, Default: "60000", Importance: Medium, Group: "Error Handling", Validate: nonNegative,
		Doc: "The maximum duration in milliseconds between consecutive retry attempts. Backoff starts at 300 ms and doubles; past this maximum, the delay is a random value below it."},
	{Name: KeyErrorsTolerance, Type: TypeString, Default: "none", Importance: Medium, Group: "Error Handling", Allowed: []string{"none", "all"},
		Doc: "Behavior for tolerating errors during connector operation. 'none' is the default value and signals that any error will result in an immediate connector task failure; 'all' changes the behavior to skip over problematic records (a record that cannot be converted or transformed, or that Kafka refuses), sending it to the dead letter topic when one is set."},
	{Name: KeyErrorsLogEnable, Type: TypeBoolean, Default: "false", Importance: Medium, Group: "Error Handling",
		Doc: "If true, write each error and the details of the failed operation and problematic record to the agent's log."},
	{Name: KeyErrorsLogMessages, Type: TypeBoolean, Default: "false", Importance: Low, Group: "Error Handling",
		Doc: "Whether to include in the log the record's key, value and headers (sink: the Kafka record; source: the record the connector produced)."},
	{Name: KeyErrorsDLQTopic, Type: TypeString, Importance: Medium, Group: "Error Handling",
		Doc: "The name of the topic to be used as the dead letter queue (DLQ) for records that fail with errors.tolerance=all. Empty (the default): no DLQ. Kafka Connect has a DLQ for sinks only; Sluice also has one for sources. The DLQ record is durable before the offsets of the record it replaces commit."},
	{Name: KeyErrorsDLQReplication, Type: TypeInt, Default: "3", Importance: Medium, Group: "Error Handling", Validate: positiveInt,
		Doc: "Replication factor used to create the dead letter queue topic when it doesn't already exist."},
	{Name: KeyErrorsDLQHeaders, Type: TypeBoolean, Default: "false", Importance: Medium, Group: "Error Handling",
		Doc: "If true, add headers containing error context to the messages written to the dead letter queue, with Kafka Connect's names (__connect.errors.topic, .partition, .offset, .connector.name, .task.id, .stage, .class.name, .exception.class.name, .exception.message, .exception.stacktrace)."},
	{Name: KeyPlacementSelector, Type: TypeString, Importance: Medium, Group: "Placement",
		Validate: func(v string) error { _, err := placement.Parse(v); return err },
		Doc:      "Runs the tasks only on agents whose labels (sluice agent --labels) match this selector: requirements separated by commas, each key=value, key!=value, key in (a,b), key notin (a,b), key or !key. Example: region=eu-west-1,zone!=c. Tasks that match no live agent stay UNASSIGNED and their status says why."},
}}

// Exactly-once source keys, with Kafka Connect's names (KIP-618).
const (
	KeyExactlyOnceSupport        = "exactly.once.support"
	KeyExactlyOnceSourceSupport  = "exactly.once.source.support"
	KeyTransactionBoundary       = "transaction.boundary"
	KeyTransactionBoundaryMillis = "transaction.boundary.interval.ms"
	KeyOffsetsStorageTopic       = "offsets.storage.topic"
	KeyOffsetsStorageReplication = "offsets.storage.replication.factor"
	// DefaultOffsetsTopic is where exactly-once sources keep their offsets
	// unless offsets.storage.topic names another topic.
	DefaultOffsetsTopic = "sluice-offsets"
)

// CommonSourceSpec holds the fields every source connector takes besides
// CommonSpec's.
var CommonSourceSpec = Spec{Fields: []Field{
	{Name: KeyExactlyOnceSupport, Type: TypeString, Default: "requested", Importance: Medium, Group: "Exactly Once Support",
		Allowed: []string{"requested", "required"},
		Doc:     "required runs the connector exactly once: each task writes its records and its source offsets in one Kafka transaction (transactional.id sluice-NAME-TASK), reads its offsets back from offsets.storage.topic, read committed, when it starts, and a zombie instance is fenced by Kafka. requested (the default) runs exactly once only with exactly.once.source.support=enabled, at least once otherwise."},
	{Name: KeyExactlyOnceSourceSupport, Type: TypeString, Default: "disabled", Importance: Medium, Group: "Exactly Once Support",
		Allowed: []string{"disabled", "enabled"},
		Doc:     "Kafka Connect's worker switch, taken per connector: enabled makes exactly.once.support=requested run exactly once."},
	{Name: KeyTransactionBoundary, Type: TypeString, Default: "poll", Importance: Medium, Group: "Exactly Once Support",
		Allowed: []string{"poll", "interval", "connector"},
		Doc:     "Where exactly-once transactions end: poll commits each batch the source returns; interval commits every transaction.boundary.interval.ms; connector lets a connector that defines its own transactions commit and abort them (datagen with transaction.records, for example)."},
	{Name: KeyTransactionBoundaryMillis, Type: TypeLong, Importance: Low, Group: "Exactly Once Support",
		Validate: positiveInt,
		Doc:      "With transaction.boundary=interval, how often to commit a transaction, in milliseconds (default: offset.flush.interval.ms, 1000)."},
	{Name: KeyOffsetsStorageTopic, Type: TypeString, Default: DefaultOffsetsTopic, Importance: Low, Group: "Exactly Once Support",
		Doc: "The topic where an exactly-once source keeps its offsets, in Kafka Connect's format (key [\"NAME\",{partition}], value {offset}); created compacted if missing. Set connect-offsets to share Kafka Connect's."},
	{Name: KeyOffsetsStorageReplication, Type: TypeInt, Default: "-1", Importance: Low, Group: "Exactly Once Support",
		Doc: "Replication factor of offsets.storage.topic when Sluice creates it; -1 uses the broker's default."},
}}

// CommonSinkSpec holds the fields every sink connector takes besides
// CommonSpec's.
var CommonSinkSpec = Spec{Fields: []Field{
	{Name: KeyTopics, Type: TypeList, Importance: High, Group: "Common",
		Doc: "List of topics to consume, separated by commas. Set this or topics.regex."},
	{Name: KeyTopicsRegex, Type: TypeString, Importance: High, Group: "Common",
		Doc: "Regular expression giving the topics to consume. Set this or topics."},
}}

// Registry maps connector.class values to plugins. The zero value is not
// usable; call NewRegistry. A Registry is not safe for concurrent
// registration; register everything before use.
type Registry struct {
	plugins []*Plugin
	byName  map[string]*Plugin
}

// NewRegistry returns an empty registry.
func NewRegistry() *Registry {
	return &Registry{byName: map[string]*Plugin{}}
}

// Clone returns a registry with the same plugins, which can be changed
// without changing r.
func (r *Registry) Clone() *Registry {
	c := NewRegistry()
	for _, p := range r.plugins {
		_ = c.Register(*p)
	}
	return c
}

// Names under which a plugin is found: its name, class, aliases, and the
// class's simple name with and without the Connector suffix (as Kafka
// Connect accepts FileStreamSink for FileStreamSinkConnector).
func lookupNames(p *Plugin) []string {
	names := []string{p.Name}
	if p.Class != "" {
		names = append(names, p.Class)
		simple := p.Class[strings.LastIndex(p.Class, ".")+1:]
		names = append(names, simple, strings.TrimSuffix(simple, "Connector"))
	}
	names = append(names, p.Aliases...)
	return names
}

// Register adds a plugin. It fails if one of its names is taken.
func (r *Registry) Register(p Plugin) error {
	if p.Name == "" {
		return errors.New("register plugin: empty name")
	}
	switch p.Type {
	case SourceType:
		if p.NewSource == nil {
			return fmt.Errorf("register plugin %s: source without NewSource", p.Name)
		}
	case SinkType:
		if p.NewSink == nil {
			return fmt.Errorf("register plugin %s: sink without NewSink", p.Name)
		}
	default:
		return fmt.Errorf("register plugin %s: unknown type", p.Name)
	}
	pp := &p
	names := lookupNames(pp)
	for _, n := range names {
		if _, taken := r.byName[strings.ToLower(n)]; taken {
			return fmt.Errorf("register plugin %s: name %q is taken", p.Name, n)
		}
	}
	for _, n := range names {
		r.byName[strings.ToLower(n)] = pp
	}
	r.plugins = append(r.plugins, pp)
	sort.Slice(r.plugins, func(i, j int) bool { return r.plugins[i].Name < r.plugins[j].Name })
	return nil
}

// Lookup finds a plugin by name, class name or alias, ignoring case.
func (r *Registry) Lookup(name string) (*Plugin, bool) {
	p, ok := r.byName[strings.ToLower(strings.TrimSpace(name))]
	return p, ok
}

// Plugins returns every plugin, sorted by name.
func (r *Registry) Plugins() []*Plugin {
	return append([]*Plugin(nil), r.plugins...)
}

// FullSpec returns the fields a plugin's config takes: the common ones and
// the plugin's own.
func (p *Plugin) FullSpec() Spec {
	s := CommonSpec
	switch p.Type {
	case SinkType:
		s = s.With(CommonSinkSpec.Fields...)
	case SourceType:
		s = s.With(CommonSourceSpec.Fields...)
	}
	return s.With(p.Spec.Fields...)
}

// Validate checks a connector config: the plugin exists and every field is
// valid. It returns the plugin and every problem found.
func (r *Registry) Validate(raw map[string]string) (*Plugin, []FieldError) {
	class := strings.TrimSpace(raw[KeyConnectorClass])
	if class == "" {
		return nil, []FieldError{{KeyConnectorClass, "is required: name the connector to run, for example file-source"}}
	}
	p, ok := r.Lookup(class)
	if !ok {
		names := make([]string, 0, len(r.plugins))
		for _, q := range r.plugins {
			names = append(names, q.Name)
		}
		return nil, []FieldError{{KeyConnectorClass, fmt.Sprintf("no connector named %q; known: %s", class, strings.Join(names, ", "))}}
	}
	errs := p.FullSpec().Validate(raw)
	if len(errs) == 0 && p.Check != nil {
		errs = p.Check(NewConfig(p.FullSpec(), raw))
	}
	if p.Type == SourceType && strings.EqualFold(strings.TrimSpace(raw[KeyTransactionBoundary]), "connector") && !p.DefinesTransactions {
		errs = append(errs, FieldError{KeyTransactionBoundary, fmt.Sprintf(
			"connector needs a connector that defines its own transactions, and %s does not: use poll or interval", p.Name)})
	}
	if p.Type == SinkType {
		topics, regex := strings.TrimSpace(raw[KeyTopics]), strings.TrimSpace(raw[KeyTopicsRegex])
		switch {
		case topics == "" && regex == "":
			errs = append(errs, FieldError{KeyTopics, "must configure one of topics or topics.regex"})
		case topics != "" && regex != "":
			errs = append(errs, FieldError{KeyTopics, "set topics or topics.regex, not both"})
		}
	}
	return p, errs
}

// TaskConfigs validates raw and splits it into task configs, each carrying
// task.id.
func (r *Registry) TaskConfigs(raw map[string]string) (*Plugin, []map[string]string, error) {
	p, errs := r.Validate(raw)
	if len(errs) > 0 {
		return p, nil, &ValidationError{Errors: errs}
	}
	cfg := NewConfig(p.FullSpec(), raw)
	maxTasks := cfg.Int(KeyTasksMax)
	var tasks []map[string]string
	if p.TaskConfigs != nil {
		var err error
		if tasks, err = p.TaskConfigs(cfg, maxTasks); err != nil {
			return p, nil, fmt.Errorf("task configs of %s: %w", p.Name, err)
		}
		if len(tasks) > maxTasks {
			return p, nil, fmt.Errorf("task configs of %s: %d tasks is more than tasks.max=%d", p.Name, len(tasks), maxTasks)
		}
	} else {
		for range maxTasks {
			tasks = append(tasks, clone(raw))
		}
	}
	for i, t := range tasks {
		t[KeyTaskID] = strconv.Itoa(i)
	}
	return p, tasks, nil
}

func clone(m map[string]string) map[string]string {
	out := make(map[string]string, len(m)+1)
	for k, v := range m {
		out[k] = v
	}
	return out
}
