package client_test

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"io"
	"log"
	"net"
	"net/http"
	"net/http/httptest"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"connectrpc.com/connect"

	sluicev1 "github.com/sluicehq/sluice/api/gen/sluice/v1"
	"github.com/sluicehq/sluice/api/gen/sluice/v1/sluicev1connect"
	client "github.com/sluicehq/sluice/clients/go"
)

// fakeConnectors answers as the control plane would, and fails on demand.
type fakeConnectors struct {
	sluicev1connect.UnimplementedConnectorServiceHandler
	calls       atomic.Int32 // calls of any method
	unavailable atomic.Int32 // calls left to fail with Unavailable
	auth        atomic.Value // the last Authorization header
	once        sync.Once
	called      chan struct{} // closed by the first call
}

func (f *fakeConnectors) begin(h http.Header) error {
	f.calls.Add(1)
	f.once.Do(func() { close(f.called) })
	f.auth.Store(h.Get("Authorization"))
	if f.unavailable.Add(-1) >= 0 {
		return connect.NewError(connect.CodeUnavailable, errors.New("no leader yet"))
	}
	return nil
}

func (f *fakeConnectors) GetConnector(ctx context.Context, req *connect.Request[sluicev1.GetConnectorRequest]) (*connect.Response[sluicev1.GetConnectorResponse], error) {
	if err := f.begin(req.Header()); err != nil {
		return nil, err
	}
	switch req.Msg.GetName() {
	case "copy":
		return connect.NewResponse(&sluicev1.GetConnectorResponse{Connector: &sluicev1.Connector{Name: "copy"}}), nil
	case "slow":
		<-ctx.Done()
		return nil, ctx.Err()
	}
	return nil, connect.NewError(connect.CodeNotFound, errors.New(`connector "`+req.Msg.GetName()+`" not found`))
}

func (f *fakeConnectors) ListConnectors(_ context.Context, req *connect.Request[sluicev1.ListConnectorsRequest]) (*connect.Response[sluicev1.ListConnectorsResponse], error) {
	if err := f.begin(req.Header()); err != nil {
		return nil, err
	}
	return connect.NewResponse(&sluicev1.ListConnectorsResponse{Connectors: []*sluicev1.Connector{{Name: "copy"}}}), nil
}

func (f *fakeConnectors) ApplyConnector(_ context.Context, req *connect.Request[sluicev1.ApplyConnectorRequest]) (*connect.Response[sluicev1.ApplyConnectorResponse], error) {
	if err := f.begin(req.Header()); err != nil {
		return nil, err
	}
	if req.Msg.GetConfig()["connector.class"] == "" {
		return nil, connect.NewError(connect.CodeInvalidArgument, errors.New("connector.class is required"))
	}
	return connect.NewResponse(&sluicev1.ApplyConnectorResponse{Connector: &sluicev1.Connector{Name: req.Msg.GetName()}, Created: true}), nil
}

// serve starts a real HTTP server (HTTP/1.1 and cleartext HTTP/2, or TLS)
// with the fake ConnectorService.
func serve(t *testing.T, tlsOn bool) (*fakeConnectors, *httptest.Server) {
	t.Helper()
	f := &fakeConnectors{called: make(chan struct{})}
	mux := http.NewServeMux()
	mux.Handle(sluicev1connect.NewConnectorServiceHandler(f))
	srv := httptest.NewUnstartedServer(mux)
	srv.Config.ErrorLog = log.New(io.Discard, "", 0) // the untrusted-CA handshake of TestTLS
	srv.Config.Protocols = new(http.Protocols)
	srv.Config.Protocols.SetHTTP1(true)
	srv.Config.Protocols.SetHTTP2(true)
	srv.Config.Protocols.SetUnencryptedHTTP2(true)
	if tlsOn {
		srv.EnableHTTP2 = true
		srv.StartTLS()
	} else {
		srv.Start()
	}
	t.Cleanup(srv.Close)
	return f, srv
}

func newClient(t *testing.T, addr string, opts ...client.Option) *client.Client {
	t.Helper()
	c, err := client.New(addr, opts...)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func TestTypedErrors(t *testing.T) {
	t.Parallel()
	_, srv := serve(t, false)
	c := newClient(t, srv.URL)
	ctx := context.Background()

	_, err := c.Connectors.GetConnector(ctx, connect.NewRequest(&sluicev1.GetConnectorRequest{Name: "nope"}))
	if !errors.Is(err, client.ErrNotFound) || errors.Is(err, client.ErrInvalidArgument) {
		t.Fatalf("get a missing connector: %v, want ErrNotFound only", err)
	}
	var e *client.Error
	if !errors.As(err, &e) || e.Code != connect.CodeNotFound || e.Message != `connector "nope" not found` {
		t.Fatalf("errors.As *client.Error: %#v", e)
	}
	var ce *connect.Error
	if !errors.As(err, &ce) || connect.CodeOf(err) != connect.CodeNotFound {
		t.Fatalf("the *connect.Error is no longer reachable: %v", err)
	}
	if got := client.Describe(err, srv.URL); got != `connector "nope" not found` {
		t.Errorf("Describe = %q", got)
	}

	_, err = c.Connectors.ApplyConnector(ctx, connect.NewRequest(&sluicev1.ApplyConnectorRequest{Name: "x"}))
	if !errors.Is(err, client.ErrInvalidArgument) {
		t.Fatalf("apply without a class: %v, want ErrInvalidArgument", err)
	}
}

func TestRetriesIdempotentCallsWhenUnavailable(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name        string
		attempts    int
		unavailable int32
		wantCalls   int32
		wantErr     error
	}{
		{"recovers", 3, 2, 3, nil},
		{"gives up", 2, 5, 2, client.ErrUnavailable},
		{"off", 1, 1, 1, client.ErrUnavailable},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			f, srv := serve(t, false)
			f.unavailable.Store(tc.unavailable)
			c := newClient(t, srv.URL, client.WithRetry(tc.attempts, time.Millisecond))
			res, err := c.Connectors.ListConnectors(context.Background(), connect.NewRequest(&sluicev1.ListConnectorsRequest{}))
			if !errors.Is(err, tc.wantErr) || (err == nil && len(res.Msg.GetConnectors()) != 1) {
				t.Fatalf("list: %v, want %v", err, tc.wantErr)
			}
			if got := f.calls.Load(); got != tc.wantCalls {
				t.Errorf("%d calls reached the server, want %d", got, tc.wantCalls)
			}
		})
	}
}

func TestDoesNotRepeatCallsThatReachedTheServer(t *testing.T) {
	t.Parallel()
	f, srv := serve(t, false)
	f.unavailable.Store(1)
	c := newClient(t, srv.URL, client.WithRetry(5, time.Millisecond))
	_, err := c.Connectors.ApplyConnector(context.Background(), connect.NewRequest(&sluicev1.ApplyConnectorRequest{
		Name: "copy", Config: map[string]string{"connector.class": "file-source"},
	}))
	if !errors.Is(err, client.ErrUnavailable) {
		t.Fatalf("apply: %v, want ErrUnavailable", err)
	}
	if got := f.calls.Load(); got != 1 {
		t.Errorf("ApplyConnector (not idempotent) was sent %d times, want 1", got)
	}
}

// A call that could not connect never left: it is tried again, whatever it
// is.
func TestRetriesAnyCallThatCouldNotConnect(t *testing.T) {
	t.Parallel()
	var dials atomic.Int32
	hc := &http.Client{Transport: &http.Transport{
		DialContext: func(ctx context.Context, network, addr string) (net.Conn, error) {
			dials.Add(1)
			return nil, &net.OpError{Op: "dial", Net: network, Err: errors.New("connection refused")}
		},
	}}
	c := newClient(t, "127.0.0.1:1", client.WithHTTPClient(hc), client.WithRetry(3, time.Millisecond))
	_, err := c.Connectors.ApplyConnector(context.Background(), connect.NewRequest(&sluicev1.ApplyConnectorRequest{Name: "copy"}))
	if !errors.Is(err, client.ErrUnavailable) {
		t.Fatalf("apply: %v, want ErrUnavailable", err)
	}
	if got := dials.Load(); got != 3 {
		t.Errorf("%d dials, want 3", got)
	}
	if got := client.Describe(err, "http://127.0.0.1:1"); got == "" || got[:14] != "cannot reach t" {
		t.Errorf("Describe = %q", got)
	}
}

func TestRetryStopsWithTheContext(t *testing.T) {
	t.Parallel()
	f, srv := serve(t, false)
	f.unavailable.Store(100)
	c := newClient(t, srv.URL, client.WithRetry(100, time.Hour))
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() {
		_, err := c.Connectors.ListConnectors(ctx, connect.NewRequest(&sluicev1.ListConnectorsRequest{}))
		done <- err
	}()
	<-f.called
	cancel()
	// The first try's answer, or the cancellation if it came first; never
	// an hour's wait.
	if err := <-done; !errors.Is(err, client.ErrUnavailable) && !errors.Is(err, context.Canceled) {
		t.Fatalf("list: %v, want ErrUnavailable or context.Canceled", err)
	}
	if got := f.calls.Load(); got != 1 {
		t.Errorf("%d calls after the context ended, want 1", got)
	}
}

func TestToken(t *testing.T) {
	t.Parallel()
	f, srv := serve(t, false)
	c := newClient(t, srv.URL, client.WithToken("s3cret"))
	if _, err := c.Connectors.ListConnectors(context.Background(), connect.NewRequest(&sluicev1.ListConnectorsRequest{})); err != nil {
		t.Fatal(err)
	}
	if got := f.auth.Load(); got != "Bearer s3cret" {
		t.Errorf("Authorization = %q", got)
	}
	c = newClient(t, srv.URL)
	if _, err := c.Connectors.ListConnectors(context.Background(), connect.NewRequest(&sluicev1.ListConnectorsRequest{})); err != nil {
		t.Fatal(err)
	}
	if got := f.auth.Load(); got != "" {
		t.Errorf("Authorization without a token = %q", got)
	}
}

func TestTimeout(t *testing.T) {
	t.Parallel()
	_, srv := serve(t, false)
	c := newClient(t, srv.URL, client.WithTimeout(50*time.Millisecond))
	_, err := c.Connectors.GetConnector(context.Background(), connect.NewRequest(&sluicev1.GetConnectorRequest{Name: "slow"}))
	if !errors.Is(err, client.ErrDeadlineExceeded) || !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("slow call: %v, want ErrDeadlineExceeded", err)
	}
}

func TestTLS(t *testing.T) {
	t.Parallel()
	_, srv := serve(t, true)
	roots := x509.NewCertPool()
	roots.AddCert(srv.Certificate())
	c := newClient(t, srv.Listener.Addr().String(), client.WithTLS(&tls.Config{RootCAs: roots}))
	if c.BaseURL[:8] != "https://" {
		t.Errorf("BaseURL %q: a bare host:port with TLS should mean https://", c.BaseURL)
	}
	res, err := c.Connectors.GetConnector(context.Background(), connect.NewRequest(&sluicev1.GetConnectorRequest{Name: "copy"}))
	if err != nil || res.Msg.GetConnector().GetName() != "copy" {
		t.Fatalf("get over TLS: %v", err)
	}
	// Without the CA the server is not trusted.
	c = newClient(t, srv.URL, client.WithRetry(1, 0))
	if _, err := c.Connectors.GetConnector(context.Background(), connect.NewRequest(&sluicev1.GetConnectorRequest{Name: "copy"})); err == nil {
		t.Fatal("a server signed by an unknown CA was trusted")
	}
}

func TestNewRejectsBadAddresses(t *testing.T) {
	t.Parallel()
	for _, addr := range []string{"ftp://host:1", "http://", "://x"} {
		if _, err := client.New(addr); err == nil {
			t.Errorf("New(%q) succeeded", addr)
		}
	}
}
