// Package client is the Go client of Sluice's API: one constructor that
// takes the control plane's address and returns typed clients for the
// ConnectorService and the ClusterService. The sluice CLI uses it.
//
//	c, err := client.New("http://127.0.0.1:8083")
//	res, err := c.Connectors.ListConnectors(ctx, connect.NewRequest(&sluicev1.ListConnectorsRequest{}))
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
	timeout    time.Duration
	grpc       bool
	connectOpt []connect.ClientOption
}

// Option configures a Client.
type Option func(*options)

// WithHTTPClient uses the given HTTP client instead of the default one, an
// HTTP/2 (cleartext for http:// addresses) client.
func WithHTTPClient(c *http.Client) Option { return func(o *options) { o.httpClient = c } }

// WithTimeout bounds every unary call. Default: 30s. Streams are not bounded.
func WithTimeout(d time.Duration) Option { return func(o *options) { o.timeout = d } }

// WithGRPC speaks the gRPC protocol instead of the Connect protocol.
func WithGRPC() Option { return func(o *options) { o.grpc = true } }

// WithClientOptions adds connect client options (interceptors and such).
func WithClientOptions(opts ...connect.ClientOption) Option {
	return func(o *options) { o.connectOpt = append(o.connectOpt, opts...) }
}

// Address returns the address to use: addr if set, else $SLUICE_SERVER,
// else DefaultAddress. A bare host:port gets http:// in front.
func Address(addr string) string {
	if addr == "" {
		addr = os.Getenv(EnvServer)
	}
	if addr == "" {
		addr = DefaultAddress
	}
	if !strings.Contains(addr, "://") {
		addr = "http://" + addr
	}
	return strings.TrimRight(addr, "/")
}

// NewHTTPClient returns an HTTP client that speaks HTTP/2, in cleartext to
// http:// addresses, as gRPC streams need.
func NewHTTPClient() *http.Client {
	p := new(http.Protocols)
	p.SetUnencryptedHTTP2(true)
	p.SetHTTP2(true)
	return &http.Client{Transport: &http.Transport{
		Protocols:       p,
		TLSClientConfig: &tls.Config{MinVersion: tls.VersionTLS12},
		IdleConnTimeout: 90 * time.Second,
	}}
}

// New returns a client of the control plane at addr (see Address).
func New(addr string, opts ...Option) (*Client, error) {
	o := options{timeout: 30 * time.Second}
	for _, opt := range opts {
		opt(&o)
	}
	base := Address(addr)
	u, err := url.Parse(base)
	if err != nil || u.Host == "" || (u.Scheme != "http" && u.Scheme != "https") {
		return nil, fmt.Errorf("server address %q: want http://host:port or https://host:port", addr)
	}
	if o.httpClient == nil {
		o.httpClient = NewHTTPClient()
	}
	copts := append([]connect.ClientOption{}, o.connectOpt...)
	if o.grpc {
		copts = append(copts, connect.WithGRPC())
	}
	if o.timeout > 0 {
		copts = append(copts, connect.WithInterceptors(timeoutInterceptor(o.timeout)))
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

// Describe turns an API error into one line for people: the code's meaning
// and the server's message, or a hint when the server cannot be reached.
func Describe(err error, server string) string {
	var ce *connect.Error
	if errors.As(err, &ce) {
		switch ce.Code() {
		case connect.CodeUnavailable:
			if strings.Contains(ce.Message(), "connect: connection refused") || strings.Contains(ce.Message(), "dial tcp") {
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
		}
		return fmt.Sprintf("%s: %s", ce.Code(), ce.Message())
	}
	return err.Error()
}
