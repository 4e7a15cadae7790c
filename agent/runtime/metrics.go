package runtime

// TaskCounts returns, per connector, how many of its tasks this runtime
// runs in each state: running, paused or failed (Kafka Connect's
// connect-worker-metrics connector-running-task-count and its siblings).
func (r *Runtime) TaskCounts() map[string]map[string]int {
	r.mu.Lock()
	defer r.mu.Unlock()
	out := map[string]map[string]int{}
	for ref, t := range r.tasks {
		m := out[ref.Connector]
		if m == nil {
			m = map[string]int{"running": 0, "paused": 0, "failed": 0}
			out[ref.Connector] = m
		}
		switch {
		case t.failed.Load():
			m["failed"]++
		case t.paused.Load():
			m["paused"]++
		default:
			m["running"]++
		}
	}
	return out
}
