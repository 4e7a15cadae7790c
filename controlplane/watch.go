package controlplane

import (
	"context"
	"log/slog"
	"time"

	clientv3 "go.etcd.io/etcd/client/v3"
)

// watchPrefixes signals changes (without blocking) whenever a key under
// one of the prefixes changes, until ctx ends. After a watch failure,
// compaction included, it signals once more and watches again from now:
// its readers reload the whole state on every signal, so nothing is
// missed.
func watchPrefixes(ctx context.Context, cli *clientv3.Client, log *slog.Logger, changes chan<- struct{}, prefixes ...string) {
	signal := func() {
		select {
		case changes <- struct{}{}:
		default:
		}
	}
	for ctx.Err() == nil {
		wctx, cancel := context.WithCancel(ctx)
		merged := make(chan clientv3.WatchResponse)
		for _, p := range prefixes {
			wc := cli.Watch(wctx, p, clientv3.WithPrefix())
			go func() {
				for r := range wc {
					select {
					case merged <- r:
					case <-wctx.Done():
						return
					}
				}
				select {
				case merged <- clientv3.WatchResponse{Canceled: true}:
				case <-wctx.Done():
				}
			}()
		}
		// Changes made before the watches started are picked up here.
		signal()
	loop:
		for {
			select {
			case <-ctx.Done():
				cancel()
				return
			case r := <-merged:
				if r.Canceled || r.Err() != nil {
					if ctx.Err() == nil {
						log.Debug("watch ended; watching again", "err", r.Err())
					}
					break loop
				}
				if len(r.Events) > 0 {
					signal()
				}
			}
		}
		cancel()
		select {
		case <-ctx.Done():
			return
		case <-time.After(200 * time.Millisecond):
		}
	}
}
