// Package client is the Go client of Sluice's API: one constructor that
// takes the control plane's address and options, and returns typed clients
// for the ConnectorService, the ClusterService and the AgentService. The
// sluice CLI and the agent use it.
//
//	c, err := client.New("http://127.0.0.1:8083", client.WithToken(token))
//	res, err := c.Connectors.GetConnector(ctx, connect.NewRequest(&sluicev1.GetConnectorRequest{Name: "copy"}))
//	if errors.Is(err, client.ErrNotFound) { ... }
//
// Around the generated code it adds what a caller would otherwise write
// each time: a bearer token on every call, TLS, a timeout for unary calls,
// retries of calls that are safe to repeat when the control plane is
// unavailable, and errors that errors.Is and errors.As can tell apart (see
// Error).
package client

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"os"
	"strings"
	"time"

	"connectrpc.com/connect"

	"github.com/sluicehq/sluice/api/gen/sluice/v1/sluicev1connect"
)

// DefaultAddress is the control plane's default API address.
const DefaultAddress = "http://127.0.0.1:8083"

// EnvServer names the environment variable that overrides DefaultAddress.
const EnvServer = "SLUICE_SERVER"

// Client holds one typed client per service.
type Client struct {
	Connectors sluicev1connect.ConnectorServiceClient
	Cluster    sluicev1connect.ClusterServiceClient
	Agents     sluicev1connect.AgentServiceClient
	// BaseURL is the address the client talks to.
	BaseURL string
}

type options struct {
	httpClient *http.Client
	tls        *tls.Config
	token      string
	timeout    time.Duration
	retry      retryPolicy
	grpc       bool
	connectOpt []connect.ClientOption
}

// Option configures a Client.
type Option func(*options)

// WithHTTPClient uses the given HTTP client instead of the default one, an
// HTTP/2 client (cleartext for http:// addresses) as NewHTTPClient returns.
// WithTLS has no effect with it: configure the client's transport instead.
func WithHTTPClient(c *http.Client) Option { return func(o *options) { o.httpClient = c } }

// WithTLS sets the TLS configuration for https:// addresses (for example a
// private CA in RootCAs, or a client certificate). With it, a bare
// host:port address means https://host:port. Default: the system's roots.
func WithTLS(cfg *tls.Config) Option { return func(o *options) { o.tls = cfg } }

// WithToken sends "Authorization: Bearer <token>" with every call, unary
// and streaming. Default: no Authorization header.
func WithToken(token string) Option { return func(o *options) { o.token = token } }

// WithTimeout bounds every unary call that has no deadline of its own,
// retries included. Default: 30s; 0 leaves calls unbounded. Streams are not
// bounded.
func WithTimeout(d time.Duration) Option { return func(o *options) { o.timeout = d } }

// WithRetry makes up to attempts tries of a unary call that failed with
// Unavailable, when the call is safe to repeat: a read or an idempotent
// call (as the API declares them), or any call that could not connect at
// all. The waits start at backoff and double, with jitter, up to 5s; the
// context's deadline ends them. attempts <= 1 turns retries off. Default:
// 4 attempts from 100ms.
func WithRetry(attempts int, backoff time.Duration) Option {
	return func(o *options) {
		o.retry = retryPolicy{attempts: attempts, backoff: backoff, maxBackoff: 5 * time.Second}
	}
}

// WithGRPC speaks the gRPC protocol instead of the Connect protocol.
func WithGRPC() Option { return func(o *options) { o.grpc = true } }

// WithClientOptions adds connect client options (interceptors and such).
// Their interceptors run inside the client's own: they see each try of a
// retried call and the errors as connect returns them.
func WithClientOptions(opts ...connect.ClientOption) Option {
	return func(o *options) { o.connectOpt = append(o.connectOpt, opts...) }
}

// Address returns the address to use: addr if set, else $SLUICE_SERVER,
// else DefaultAddress. A bare host:port gets http:// in front.
func Address(addr string) string {
	return address(addr, "http://")
}

func address(addr, scheme string) string {
	if addr == "" {
		addr = os.Getenv(EnvServer)
	}
	if addr == "" {
		addr = DefaultAddress
	}
	if !strings.Contains(addr, "://") {
		addr = scheme + addr
	}
	return strings.TrimRight(addr, "/")
}

// NewHTTPClient returns an HTTP client that speaks HTTP/2, in cleartext to
// http:// addresses, as gRPC streams need.
func NewHTTPClient() *http.Client {
	return newHTTPClient(nil)
}

func newHTTPClient(cfg *tls.Config) *http.Client {
	if cfg == nil {
		cfg = &tls.Config{MinVersion: tls.VersionTLS12}
	} else {
		cfg = cfg.Clone()
	}
	p := new(http.Protocols)
	p.SetUnencryptedHTTP2(true)
	p.SetHTTP2(true)
	return &http.Client{Transport: &http.Transport{
		Protocols:       p,
		TLSClientConfig: cfg,
		IdleConnTimeout: 90 * time.Second,
	}}
}

// New returns a client of the control plane at addr (see Address).
func New(addr string, opts ...Option) (*Client, error) {
	o := options{
		timeout: 30 * time.Second,
		retry:   retryPolicy{attempts: 4, backoff: 100 * time.Millisecond, maxBackoff: 5 * time.Second},
	}
	for _, opt := range opts {
		opt(&o)
	}
	scheme := "http://"
	if o.tls != nil {
		scheme = "https://"
	}
	base := address(addr, scheme)
	u, err := url.Parse(base)
	if err != nil || u.Host == "" || (u.Scheme != "http" && u.Scheme != "https") {
		return nil, fmt.Errorf("server address %q: want http://host:port or https://host:port", addr)
	}
	if o.httpClient == nil {
		o.httpClient = newHTTPClient(o.tls)
	}
	// Outermost first: typed errors see the final error, the timeout bounds
	// every try, the token goes on each try.
	interceptors := []connect.Interceptor{errorInterceptor{}}
	if o.timeout > 0 {
		interceptors = append(interceptors, timeoutInterceptor(o.timeout))
	}
	if o.retry.attempts > 1 {
		interceptors = append(interceptors, retryInterceptor(o.retry))
	}
	if o.token != "" {
		interceptors = append(interceptors, tokenInterceptor("Bearer "+o.token))
	}
	copts := []connect.ClientOption{connect.WithInterceptors(interceptors...)}
	copts = append(copts, o.connectOpt...)
	if o.grpc {
		copts = append(copts, connect.WithGRPC())
	}
	return &Client{
		Connectors: sluicev1connect.NewConnectorServiceClient(o.httpClient, base, copts...),
		Cluster:    sluicev1connect.NewClusterServiceClient(o.httpClient, base, copts...),
		Agents:     sluicev1connect.NewAgentServiceClient(o.httpClient, base, copts...),
		BaseURL:    base,
	}, nil
}

// timeoutInterceptor bounds unary calls that have no deadline of their own.
func timeoutInterceptor(d time.Duration) connect.UnaryInterceptorFunc {
	return func(next connect.UnaryFunc) connect.UnaryFunc {
		return func(ctx context.Context, req connect.AnyRequest) (connect.AnyResponse, error) {
			if _, ok := ctx.Deadline(); !ok {
				var cancel context.CancelFunc
				ctx, cancel = context.WithTimeout(ctx, d)
				defer cancel()
			}
			return next(ctx, req)
		}
	}
}

// tokenInterceptor sets the Authorization header of every call.
type tokenInterceptor string

func (t tokenInterceptor) WrapUnary(next connect.UnaryFunc) connect.UnaryFunc {
	return func(ctx context.Context, req connect.AnyRequest) (connect.AnyResponse, error) {
		req.Header().Set("Authorization", string(t))
		return next(ctx, req)
	}
}

func (t tokenInterceptor) WrapStreamingClient(next connect.StreamingClientFunc) connect.StreamingClientFunc {
	return func(ctx context.Context, spec connect.Spec) connect.StreamingClientConn {
		conn := next(ctx, spec)
		conn.RequestHeader().Set("Authorization", string(t))
		return conn
	}
}

func (t tokenInterceptor) WrapStreamingHandler(next connect.StreamingHandlerFunc) connect.StreamingHandlerFunc {
	return next
}

// Describe turns an API error into one line for people: the code's meaning
// and the server's message, or a hint when the server cannot be reached.
func Describe(err error, server string) string {
	var ce *connect.Error
	if errors.As(err, &ce) {
		switch ce.Code() {
		case connect.CodeUnavailable:
			if isDialError(err) || strings.Contains(ce.Message(), "connect: connection refused") || strings.Contains(ce.Message(), "dial tcp") {
				return fmt.Sprintf("cannot reach the control plane at %s: is it running? (start one with `sluice dev` or set --server / %s)", server, EnvServer)
			}
			return "unavailable: " + ce.Message()
		case connect.CodeNotFound:
			return ce.Message()
		case connect.CodeInvalidArgument:
			return ce.Message()
		case connect.CodeAlreadyExists, connect.CodeFailedPrecondition:
			return ce.Message()
		case connect.CodeDeadlineExceeded:
			return "the control plane did not answer in time: " + ce.Message()
		case connect.CodeUnauthenticated, connect.CodePermissionDenied:
			return fmt.Sprintf("%s: %s (check --token / %s)", ce.Code(), ce.Message(), EnvToken)
		}
		return fmt.Sprintf("%s: %s", ce.Code(), ce.Message())
	}
	return err.Error()
}

// EnvToken names the environment variable the sluice CLI reads its API
// token from.
const EnvToken = "SLUICE_TOKEN"
