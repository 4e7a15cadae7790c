package client

import (
	"context"
	"errors"
	"net"

	"connectrpc.com/connect"
)

// Sentinel errors for the codes callers branch on. A unary call's error
// matches one of them with errors.Is:
//
//	_, err := c.Connectors.GetConnector(ctx, req)
//	if errors.Is(err, client.ErrNotFound) { ... }
var (
	ErrNotFound           = errors.New("not found")
	ErrAlreadyExists      = errors.New("already exists")
	ErrInvalidArgument    = errors.New("invalid argument")
	ErrFailedPrecondition = errors.New("failed precondition")
	ErrUnavailable        = errors.New("unavailable")
	ErrDeadlineExceeded   = errors.New("deadline exceeded")
	ErrUnauthenticated    = errors.New("unauthenticated")
	ErrPermissionDenied   = errors.New("permission denied")
	ErrUnimplemented      = errors.New("unimplemented")
	ErrInternal           = errors.New("internal")
)

var sentinels = map[connect.Code]error{
	connect.CodeNotFound:           ErrNotFound,
	connect.CodeAlreadyExists:      ErrAlreadyExists,
	connect.CodeInvalidArgument:    ErrInvalidArgument,
	connect.CodeFailedPrecondition: ErrFailedPrecondition,
	connect.CodeUnavailable:        ErrUnavailable,
	connect.CodeDeadlineExceeded:   ErrDeadlineExceeded,
	connect.CodeUnauthenticated:    ErrUnauthenticated,
	connect.CodePermissionDenied:   ErrPermissionDenied,
	connect.CodeUnimplemented:      ErrUnimplemented,
	connect.CodeInternal:           ErrInternal,
}

// Error is the error of a unary call that failed: the API's code and the
// server's message. It matches the sentinel of its code with errors.Is and
// unwraps to the *connect.Error, so connect.CodeOf and errors.As with a
// *connect.Error keep working.
type Error struct {
	// Code is the Connect (and gRPC) status code.
	Code connect.Code
	// Message is the server's message, or the transport's when the call
	// did not reach the server.
	Message string
	err     *connect.Error
}

func (e *Error) Error() string { return e.err.Error() }

// Unwrap returns the *connect.Error.
func (e *Error) Unwrap() error { return e.err }

// Is reports whether target is the sentinel of e's code.
func (e *Error) Is(target error) bool {
	s, ok := sentinels[e.Code]
	return ok && s == target
}

// errorInterceptor turns the *connect.Error of a unary call into an *Error.
type errorInterceptor struct{}

func (errorInterceptor) WrapUnary(next connect.UnaryFunc) connect.UnaryFunc {
	return func(ctx context.Context, req connect.AnyRequest) (connect.AnyResponse, error) {
		res, err := next(ctx, req)
		if err != nil {
			var ce *connect.Error
			if errors.As(err, &ce) {
				return res, &Error{Code: ce.Code(), Message: ce.Message(), err: ce}
			}
		}
		return res, err
	}
}

func (errorInterceptor) WrapStreamingClient(next connect.StreamingClientFunc) connect.StreamingClientFunc {
	return next
}

func (errorInterceptor) WrapStreamingHandler(next connect.StreamingHandlerFunc) connect.StreamingHandlerFunc {
	return next
}

// isDialError reports whether err is a failure to connect, so the request
// never left: repeating it is safe whatever the call.
func isDialError(err error) bool {
	var op *net.OpError
	return errors.As(err, &op) && op.Op == "dial"
}
