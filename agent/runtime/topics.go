package runtime

import (
	"sync"
	"sync/atomic"
)

// TopicReporter is implemented by a Reporter that tracks active topics
// (Kafka Connect's KIP-558): ActiveTopic is called once per topic a task
// produces to or consumes from, per run of the task and per reset.
type TopicReporter interface {
	ActiveTopic(ref TaskRef, epoch int64, topic string)
}

// activeTopics remembers the topics a task has reported. saw is called
// from the task's goroutine, on the data path: the common case (the topic
// of the previous record) costs a string comparison and an atomic load.
type activeTopics struct {
	t    *task
	last string
	gen  int64 // reset generation last seen by saw

	reset atomic.Int64 // the assignment's TopicsReset
	mu    sync.Mutex
	seen  map[string]int64 // topic -> reset generation it was reported under
}

func (a *activeTopics) saw(topic string) {
	g := a.reset.Load()
	if topic == a.last && g == a.gen {
		return
	}
	a.last, a.gen = topic, g
	rep, ok := a.t.rt.cfg.Reporter.(TopicReporter)
	if !ok {
		return
	}
	a.mu.Lock()
	if gen, done := a.seen[topic]; done && gen == g {
		a.mu.Unlock()
		return
	}
	if a.seen == nil {
		a.seen = map[string]int64{}
	}
	a.seen[topic] = g
	a.mu.Unlock()
	rep.ActiveTopic(a.t.ref, a.t.epoch.Load(), topic)
}

// setReset follows the connector's reset number: topics are reported again
// after a reset.
func (a *activeTopics) setReset(n int64) { a.reset.Store(n) }
