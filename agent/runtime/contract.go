package runtime

import (
	"log/slog"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/sluicehq/sluice/connectors"
	"github.com/sluicehq/sluice/connectors/configprovider"
)

// TaskRef names one task of one connector.
type TaskRef struct {
	Connector string
	Task      int
}

// State is a task's observed state, as reported to the control plane.
type State int

// Task states (the subset of Kafka Connect's that a task on an agent has).
const (
	StateRunning State = iota + 1
	StatePaused
	StateFailed
	// StateStopped means the task ended and released everything: sent
	// once when a task the agent no longer has has been shut down.
	StateStopped
)

// Assignment is one task the agent must run, as the control plane sent it.
type Assignment struct {
	Task   TaskRef
	Epoch  int64
	Config map[string]string
	Paused bool
	// Offsets are the committed source offsets to resume from.
	Offsets []connectors.Offset
	// Restart grows when someone asks for the task to restart: a running
	// task whose Restart changes stops and starts again.
	Restart int64
	// TopicsReset grows when the connector's active topics are reset: the
	// task reports the topics it uses again.
	TopicsReset int64
	// TraceParent is the W3C traceparent of the API call that created or
	// changed the connector, if traced: the task's start span joins it.
	TraceParent string
}

// Status is what a task reports about itself.
type Status struct {
	Epoch int64
	State State
	// Trace explains a failure; Message says what the task is doing.
	Trace, Message string
	// Restarts counts the restarts after failures under this epoch.
	Restarts int32
}

// Reporter receives what tasks report. Its methods must not block for long:
// the session client buffers and sends.
type Reporter interface {
	// TaskState reports a task's state.
	TaskState(ref TaskRef, st Status)
	// Offsets reports source offsets that Kafka has acknowledged every
	// record before, newest per source partition.
	Offsets(ref TaskRef, epoch int64, offsets []connectors.Offset)
}

// Config configures a Runtime.
type Config struct {
	// Registry holds the connector plugins the runtime can run.
	Registry *connectors.Registry
	// Brokers are the Kafka seed brokers (host:port).
	Brokers []string
	// Reporter receives task states and offsets.
	Reporter Reporter
	// OffsetFlushInterval is how often committed source offsets go to the
	// Reporter. Default 1s.
	OffsetFlushInterval time.Duration
	// AgentName names the agent in Kafka client ids and logs.
	AgentName string
	// Logger defaults to slog.Default().
	Logger *slog.Logger
	// ConfigProviders are the config providers whose ${provider:...}
	// placeholders tasks resolve when they start, and what they may read.
	// Its zero value enables configprovider.Default with no limits.
	ConfigProviders configprovider.Providers
	// LeaseValid, when set, says whether the agent still holds its session
	// lease; tasks hold their writes while it says no (lease.go).
	LeaseValid func() bool
	// KafkaOptions are added to every Kafka client the runtime makes, after
	// its own (tests and benchmarks tune them here).
	KafkaOptions []kgo.Opt
}
