package client

import (
	"context"
	"math/rand/v2"
	"time"

	"connectrpc.com/connect"
)

// retryPolicy says how often and how patiently to repeat a call.
type retryPolicy struct {
	attempts            int
	backoff, maxBackoff time.Duration
}

// wait returns the pause before try n+1 (n >= 1): backoff doubled n-1
// times, at most maxBackoff, less up to a fifth at random so that many
// clients do not come back at once.
func (p retryPolicy) wait(n int) time.Duration {
	d := p.backoff
	for i := 1; i < n && d < p.maxBackoff; i++ {
		d *= 2
	}
	d = min(d, p.maxBackoff)
	if d <= 0 {
		return 0
	}
	return d - rand.N(d/5+1)
}

// retryable reports whether a call that failed with err may be tried again.
func retryable(spec connect.Spec, err error) bool {
	if connect.CodeOf(err) != connect.CodeUnavailable {
		return false
	}
	switch spec.IdempotencyLevel {
	case connect.IdempotencyNoSideEffects, connect.IdempotencyIdempotent:
		return true
	}
	return isDialError(err)
}

// retryInterceptor repeats unary calls that retryable allows, while the
// context lives.
func retryInterceptor(p retryPolicy) connect.UnaryInterceptorFunc {
	return func(next connect.UnaryFunc) connect.UnaryFunc {
		return func(ctx context.Context, req connect.AnyRequest) (connect.AnyResponse, error) {
			for n := 1; ; n++ {
				res, err := next(ctx, req)
				if err == nil || n >= p.attempts || !retryable(req.Spec(), err) {
					return res, err
				}
				t := time.NewTimer(p.wait(n))
				select {
				case <-ctx.Done():
					t.Stop()
					return res, err
				case <-t.C:
				}
			}
		}
	}
}
