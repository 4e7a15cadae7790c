package runtime

// TaskCounts returns, per connector, how many of its tasks this runtime
// runs in each state, named as in task status: RUNNING, PAUSED or FAILED
// (Kafka Connect's connect-worker-metrics connector-running-task-count and
// its siblings).
func (r *Runtime) TaskCounts() map[string]map[string]int {
	r.mu.Lock()
	defer r.mu.Unlock()
	out := map[string]map[string]int{}
	for ref, t := range r.tasks {
		m := out[ref.Connector]
		if m == nil {
			m = map[string]int{"RUNNING": 0, "PAUSED": 0, "FAILED": 0}
			out[ref.Connector] = m
		}
		switch {
		case t.failed.Load():
			m["FAILED"]++
		case t.paused.Load():
			m["PAUSED"]++
		default:
			m["RUNNING"]++
		}
	}
	return out
}
