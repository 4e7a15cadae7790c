package runtime

import (
	"fmt"
	"sync"
	"testing"

	"github.com/sluicehq/sluice/connectors"
)

type topicLog struct {
	mu  sync.Mutex
	got []string
}

func (l *topicLog) TaskState(TaskRef, Status)                   {}
func (l *topicLog) Offsets(TaskRef, int64, []connectors.Offset) {}
func (l *topicLog) ActiveTopic(_ TaskRef, epoch int64, topic string) {
	l.add(fmt.Sprint(topic, "@", epoch))
}
func (l *topicLog) add(s string) { l.mu.Lock(); l.got = append(l.got, s); l.mu.Unlock() }

// TestActiveTopicsReportOncePerReset: a task reports each topic it uses
// once, and again after its connector's topics were reset.
func TestActiveTopicsReportOncePerReset(t *testing.T) {
	log := &topicLog{}
	rt := &Runtime{cfg: Config{Reporter: log}}
	tk := newTask(rt, Assignment{Task: TaskRef{Connector: "c"}, Epoch: 7}, nil)
	for _, topic := range []string{"a", "a", "b", "a", "b"} {
		tk.topics.saw(topic)
	}
	tk.topics.setReset(1)
	for _, topic := range []string{"b", "b", "a"} {
		tk.topics.saw(topic)
	}
	if fmt.Sprint(log.got) != "[a@7 b@7 b@7 a@7]" {
		t.Fatalf("reported %v", log.got)
	}
}

func BenchmarkActiveTopicsSameTopic(b *testing.B) {
	rt := &Runtime{cfg: Config{Reporter: &topicLog{}}}
	tk := newTask(rt, Assignment{Task: TaskRef{Connector: "c"}}, nil)
	topic := "orders"
	b.ReportAllocs()
	for b.Loop() {
		tk.topics.saw(topic)
	}
}
