package controlplane

import (
	"context"
	"errors"
	"log/slog"
	"time"

	"go.etcd.io/etcd/api/v3/v3rpc/rpctypes"
	clientv3 "go.etcd.io/etcd/client/v3"
)

// watchPrefixes signals changes (without blocking) whenever a key under
// one of the prefixes changes, until ctx ends. A watch that fails resumes
// from the revision after the last one it saw (events or progress
// notifications), so no change is lost; if that revision was compacted
// away, it starts over from now and signals once more: its readers reload
// the whole state on every signal, so a compaction costs a reload, never a
// missed change.
func watchPrefixes(ctx context.Context, cli *clientv3.Client, log *slog.Logger, changes chan<- struct{}, prefixes ...string) {
	signal := func() {
		select {
		case changes <- struct{}{}:
		default:
		}
	}
	type resp struct {
		i int
		r clientv3.WatchResponse
	}
	// next[i] is the revision prefix i resumes from; nil: start over.
	var next []int64
	for ctx.Err() == nil {
		if next == nil {
			// Start from the current revision; readers reload now, so
			// anything before it is seen.
			gctx, cancel := context.WithTimeout(ctx, 5*time.Second)
			g, err := cli.Get(gctx, prefixes[0], clientv3.WithCountOnly())
			cancel()
			if err != nil {
				if !sleepCtx(ctx, time.Second) {
					return
				}
				continue
			}
			next = make([]int64, len(prefixes))
			for i := range next {
				next[i] = g.Header.Revision + 1
			}
			signal()
		}
		wctx, cancel := context.WithCancel(ctx)
		merged := make(chan resp)
		for i, p := range prefixes {
			wc := cli.Watch(wctx, p, clientv3.WithPrefix(), clientv3.WithRev(next[i]), clientv3.WithProgressNotify())
			go func() {
				for r := range wc {
					select {
					case merged <- resp{i, r}:
					case <-wctx.Done():
						return
					}
				}
				select {
				case merged <- resp{i, clientv3.WatchResponse{Canceled: true}}:
				case <-wctx.Done():
				}
			}()
		}
	loop:
		for {
			select {
			case <-ctx.Done():
				cancel()
				return
			case m := <-merged:
				r := m.r
				if compacted(r) {
					log.Info("watch fell behind a compaction; reloading", "compacted", r.CompactRevision)
					next = nil
					break loop
				}
				if r.Canceled || r.Err() != nil {
					if ctx.Err() == nil {
						log.Debug("watch ended; resuming", "prefix", prefixes[m.i], "from", next[m.i], "err", r.Err())
					}
					break loop
				}
				if len(r.Events) > 0 {
					signal()
				}
				if rev := r.Header.Revision + 1; rev > next[m.i] {
					next[m.i] = rev
				}
			}
		}
		cancel()
		if !sleepCtx(ctx, 200*time.Millisecond) {
			return
		}
	}
}

// compacted reports whether a watch fell behind a compaction: the
// revision it resumes from is gone, and its reader must read everything
// again.
func compacted(r clientv3.WatchResponse) bool {
	return r.CompactRevision > 0 || errors.Is(r.Err(), rpctypes.ErrCompacted)
}
