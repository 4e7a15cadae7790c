package runtime

import (
	"context"
	"time"
)

// waitLease holds a task's next write while its agent may have lost its
// session lease (Config.LeaseValid): an agent frozen past its lease (a GC
// pause, SIGSTOP, a VM migration) wakes up with its tasks possibly given to
// another agent, and must not write before its lease watcher stops them. It
// returns false when ctx ends first (the task is being stopped); the records
// not written are not committed, and are read again by whoever runs the
// task next.
func (t *task) waitLease(ctx context.Context) bool {
	valid := t.rt.cfg.LeaseValid
	if valid == nil || valid() {
		return true
	}
	t.log.Warn("holding writes: the agent's session lease may have lapsed")
	for !valid() {
		if !sleep(ctx, 20*time.Millisecond) {
			return false
		}
	}
	t.log.Info("lease renewed: writing again")
	return true
}
