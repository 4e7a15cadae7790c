// Package controlplane is Sluice's control plane replica: it serves the API
// (gRPC, gRPC-Web and the Connect protocol on one port, with reflection and
// health), holds agent sessions, and, when elected leader through etcd,
// schedules tasks onto agents. All state lives in etcd (see store.go for
// the keyspace); replicas are stateless and any number can share one etcd.
package controlplane

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"github.com/twmb/franz-go/pkg/kgo"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"connectrpc.com/grpchealth"
	"connectrpc.com/grpcreflect"
	clientv3 "go.etcd.io/etcd/client/v3"
	"go.etcd.io/etcd/client/v3/concurrency"
	"go.etcd.io/etcd/server/v3/embed"
	"go.uber.org/zap"
	"google.golang.org/grpc"

	"github.com/sluicehq/sluice/api/gen/sluice/v1/sluicev1connect"
	"github.com/sluicehq/sluice/connectors"
	"github.com/sluicehq/sluice/internal/telemetry"
	"github.com/sluicehq/sluice/internal/tracing"
	"github.com/sluicehq/sluice/transforms"
)

// DefaultListen is the API's default address: Kafka Connect's REST port.
const DefaultListen = "127.0.0.1:8083"

// Version is reported by replicas.
var Version = "dev"

var errNotLeader = errors.New("this replica is no longer the leader")

// Config configures a control plane replica.
type Config struct {
	// Listen is the API address. Default DefaultListen.
	Listen string
	// Name identifies the replica. Default: host name and port.
	Name string
	// Etcd are the endpoints of an etcd cluster. Empty: run an embedded
	// single-node etcd in DataDir.
	Etcd []string
	// DataDir holds the embedded etcd's data. Default "sluice-data".
	DataDir string
	// EtcdListen is the embedded etcd's client address; "auto" picks a
	// free port. Default 127.0.0.1:2379.
	EtcdListen string
	// Prefix is put before every key. Default "/sluice/".
	Prefix string
	// SessionTTL is how long an agent stays registered without a
	// heartbeat. Default 10s.
	SessionTTL time.Duration
	// HeartbeatInterval is how often agents send heartbeats. Default a
	// third of SessionTTL.
	HeartbeatInterval time.Duration
	// ReassignDelay is how long a lost agent's tasks wait for it before
	// they move; 0 moves them at once.
	ReassignDelay time.Duration
	// MoveTimeout is how long an agent has to release a task moved off it
	// (rebalance, placement change) before the task is reassigned anyway.
	// Default 30s.
	MoveTimeout time.Duration
	// Registry holds the connector plugins (for validation, task configs
	// and ListPlugins). Required.
	Registry *connectors.Registry
	// Transforms holds the transforms and predicates connector configs may
	// name (validation, ListPlugins). Default transforms.Builtin().
	Transforms *transforms.Registry
	// Kafka are the seed brokers of the Kafka cluster the agents use: the
	// offsets API reads and changes sink connectors' consumer group
	// offsets there. Optional; without it only source offsets are served.
	Kafka []string
	// KafkaOptions are added to the control plane's Kafka clients.
	KafkaOptions []kgo.Opt
	// Logger defaults to slog.Default().
	Logger *slog.Logger
	// LogLevel, when set, is the level Logger's handler reads: Kafka
	// Connect's /admin/loggers changes it.
	LogLevel *slog.LevelVar
	// DisableTopicTracking turns off active topics (Kafka Connect's
	// topic.tracking.enable=false): tasks' reports are ignored and the
	// topics endpoints answer 403.
	DisableTopicTracking bool
	// DisableTopicReset refuses PUT /connectors/{name}/topics/reset with 403
	// (topic.tracking.allow.reset=false).
	DisableTopicReset bool
	// Now is the clock. Default time.Now.
	Now func() time.Time
}

// ControlPlane is one replica.
type ControlPlane struct {
	cfg   Config
	log   *slog.Logger
	keys  keys
	ready chan struct{}

	mu        sync.Mutex
	addr      string
	endpoints []string
	etcd      *clientv3.Client
	leader    bool
	started   time.Time

	hub *hub
	// levelModified is when the log level last changed through
	// /admin/loggers (Unix ms; 0: never).
	levelModified atomic.Int64
}

// New checks cfg and returns a replica; Run starts it.
func New(cfg Config) (*ControlPlane, error) {
	if cfg.Registry == nil {
		return nil, errors.New("controlplane: no connector registry")
	}
	cfg.Listen = cmp.Or(cfg.Listen, DefaultListen)
	cfg.DataDir = cmp.Or(cfg.DataDir, "sluice-data")
	cfg.EtcdListen = cmp.Or(cfg.EtcdListen, "127.0.0.1:2379")
	cfg.Prefix = cmp.Or(cfg.Prefix, "/sluice/")
	if !strings.HasSuffix(cfg.Prefix, "/") {
		cfg.Prefix += "/"
	}
	cfg.SessionTTL = cmp.Or(cfg.SessionTTL, 10*time.Second)
	if cfg.SessionTTL < 2*time.Second {
		return nil, fmt.Errorf("controlplane: --session-ttl %s is too short: at least 2s", cfg.SessionTTL)
	}
	cfg.HeartbeatInterval = cmp.Or(cfg.HeartbeatInterval, cfg.SessionTTL/3)
	cfg.MoveTimeout = cmp.Or(cfg.MoveTimeout, 30*time.Second)
	if cfg.Transforms == nil {
		cfg.Transforms = transforms.Builtin()
	}
	if cfg.ReassignDelay < 0 {
		return nil, fmt.Errorf("controlplane: --reassign-delay %s is negative", cfg.ReassignDelay)
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	cfg.Logger = cmp.Or(cfg.Logger, slog.Default())
	if cfg.Name == "" {
		host, _ := os.Hostname()
		_, port, _ := net.SplitHostPort(cfg.Listen)
		cfg.Name = cmp.Or(host, "sluice") + ":" + port
	}
	cp := &ControlPlane{cfg: cfg, log: cfg.Logger.With("replica", cfg.Name), keys: keys{cfg.Prefix}, ready: make(chan struct{})}
	cp.hub = newHub(cp)
	return cp, nil
}

// Ready is closed once the replica serves its API.
func (cp *ControlPlane) Ready() <-chan struct{} { return cp.ready }

// Addr is the API's address, once Ready.
func (cp *ControlPlane) Addr() string {
	cp.mu.Lock()
	defer cp.mu.Unlock()
	return cp.addr
}

// EtcdEndpoints are the etcd endpoints in use, once Ready.
func (cp *ControlPlane) EtcdEndpoints() []string {
	cp.mu.Lock()
	defer cp.mu.Unlock()
	return cp.endpoints
}

// IsLeader reports whether this replica runs the scheduler now.
func (cp *ControlPlane) IsLeader() bool {
	cp.mu.Lock()
	defer cp.mu.Unlock()
	return cp.leader
}

// Run runs the replica until ctx ends.
func (cp *ControlPlane) Run(ctx context.Context) error {
	cp.started = cp.cfg.Now()
	endpoints := cp.cfg.Etcd
	if len(endpoints) == 0 {
		e, eps, err := cp.startEmbeddedEtcd()
		if err != nil {
			return err
		}
		defer e.Close()
		endpoints = eps
	}
	cli, err := clientv3.New(clientv3.Config{
		Endpoints:   endpoints,
		DialTimeout: 5 * time.Second,
		Logger:      quietZap(),
		DialOptions: []grpc.DialOption{grpc.WithChainUnaryInterceptor(etcdInterceptor)},
	})
	if err != nil {
		return fmt.Errorf("etcd client for %s: %w", strings.Join(endpoints, ","), err)
	}
	defer cli.Close()
	defer cp.observe()()
	// Fail early and clearly when etcd is not there.
	sctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	_, err = cli.Get(sctx, cp.keys.prefix+keyElection)
	cancel()
	if err != nil {
		return fmt.Errorf("etcd at %s does not answer: %w", strings.Join(endpoints, ","), err)
	}

	ln, err := net.Listen("tcp", cp.cfg.Listen)
	if err != nil {
		return fmt.Errorf("listen on %s: %w", cp.cfg.Listen, err)
	}
	cp.mu.Lock()
	cp.etcd, cp.endpoints, cp.addr = cli, endpoints, ln.Addr().String()
	cp.mu.Unlock()

	srv := &http.Server{Handler: cp.handler(), ReadHeaderTimeout: 10 * time.Second}
	srv.Protocols = new(http.Protocols)
	srv.Protocols.SetHTTP1(true)
	srv.Protocols.SetUnencryptedHTTP2(true)

	ctx, stop := context.WithCancel(ctx)
	defer stop()
	errc := make(chan error, 3)
	go func() {
		if err := srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			errc <- fmt.Errorf("serve API: %w", err)
		}
	}()
	go cp.hub.run(ctx)
	go func() { errc <- cp.lead(ctx) }()
	close(cp.ready)
	cp.log.Info("control plane serving", "listen", cp.addr, "etcd", endpoints, "prefix", cp.keys.prefix)

	select {
	case <-ctx.Done():
	case err = <-errc:
	}
	stop()
	sctx, cancel = context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	cp.hub.closeAll()
	_ = srv.Shutdown(sctx)
	if err != nil && !errors.Is(err, context.Canceled) {
		return err
	}
	return nil
}

// handler serves every API on one mux.
func (cp *ControlPlane) handler() http.Handler {
	mux := http.NewServeMux()
	capi := &connectorAPI{cp}
	traced := tracing.HandlerOptions() // nothing when tracing is off
	mux.Handle(sluicev1connect.NewConnectorServiceHandler(capi, traced...))
	(&restAPI{cp: cp, api: capi}).register(mux)
	mux.Handle(sluicev1connect.NewClusterServiceHandler(&clusterAPI{cp}, traced...))
	mux.Handle(sluicev1connect.NewAgentServiceHandler(cp.hub, traced...))
	services := []string{
		sluicev1connect.ConnectorServiceName,
		sluicev1connect.AgentServiceName,
		sluicev1connect.ClusterServiceName,
	}
	mux.Handle(grpchealth.NewHandler(&healthChecker{cp: cp, services: services}))
	reflector := grpcreflect.NewStaticReflector(services...)
	mux.Handle(grpcreflect.NewHandlerV1(reflector))
	mux.Handle(grpcreflect.NewHandlerV1Alpha(reflector))
	// Prometheus metrics (docs/metrics.md): this replica's, and in
	// `sluice dev` the agent's that runs in the same process.
	if h, err := telemetry.Setup(); err == nil {
		mux.Handle("GET /metrics", h)
	} else {
		cp.log.Warn("no /metrics", "err", err)
	}
	return mux
}

// healthChecker is SERVING while etcd answers.
type healthChecker struct {
	cp       *ControlPlane
	services []string
}

func (h *healthChecker) Check(ctx context.Context, req *grpchealth.CheckRequest) (*grpchealth.CheckResponse, error) {
	if req.Service != "" && !contains(h.services, req.Service) {
		return nil, errNotFound("service %q is not served here", req.Service)
	}
	ctx, cancel := context.WithTimeout(ctx, 2*time.Second)
	defer cancel()
	if _, err := h.cp.etcd.Get(ctx, h.cp.keys.prefix+keyElection); err != nil {
		return &grpchealth.CheckResponse{Status: grpchealth.StatusNotServing}, nil
	}
	return &grpchealth.CheckResponse{Status: grpchealth.StatusServing}, nil
}

func contains(ss []string, s string) bool {
	for _, x := range ss {
		if x == s {
			return true
		}
	}
	return false
}

// lead registers the replica, campaigns for leadership and schedules while
// it leads, until ctx ends.
func (cp *ControlPlane) lead(ctx context.Context) error {
	ttl := max(int(cp.cfg.SessionTTL/time.Second), 2)
	for ctx.Err() == nil {
		sess, err := concurrency.NewSession(cp.etcd, concurrency.WithTTL(ttl), concurrency.WithContext(ctx))
		if err != nil {
			cp.log.Warn("etcd session failed; retrying", "err", err)
			if !sleepCtx(ctx, time.Second) {
				break
			}
			continue
		}
		cp.leadWith(ctx, sess)
		// Close revokes the lease, so that another replica leads at once.
		_ = sess.Close()
	}
	return nil
}

func (cp *ControlPlane) leadWith(ctx context.Context, sess *concurrency.Session) {
	rec := replicaRecord{Name: cp.cfg.Name, Address: cp.Addr(), Version: Version, StartTime: cp.started}
	if _, err := cp.etcd.Put(ctx, cp.keys.replica(cp.cfg.Name), mustJSON(rec), clientv3.WithLease(sess.Lease())); err != nil {
		cp.log.Warn("register replica", "err", err)
		return
	}
	el := concurrency.NewElection(sess, cp.keys.prefix+keyElection)
	cctx, cancel := context.WithCancel(ctx)
	defer cancel()
	go func() {
		select {
		case <-sess.Done():
			cancel()
		case <-cctx.Done():
		}
	}()
	if err := el.Campaign(cctx, cp.cfg.Name); err != nil {
		return
	}
	cp.log.Info("elected leader: scheduling")
	cpInstruments()
	cpm.leaderChanges.Add(ctx, 1, cp.replicaAttr())
	cp.mu.Lock()
	cp.leader = true
	cp.mu.Unlock()
	defer func() {
		cp.mu.Lock()
		cp.leader = false
		cp.mu.Unlock()
		cp.log.Info("no longer leader")
	}()
	s := &scheduler{cp: cp, leaderKey: el.Key(), leaderRev: el.Rev(), lost: map[string]time.Time{}}
	if err := s.run(cctx); err != nil && !errors.Is(err, context.Canceled) {
		cp.log.Warn("scheduler stopped", "err", err)
	}
	if ctx.Err() == nil {
		rctx, rcancel := context.WithTimeout(context.Background(), 2*time.Second)
		_ = el.Resign(rctx)
		rcancel()
	}
}

func sleepCtx(ctx context.Context, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return false
	case <-t.C:
		return true
	}
}

// startEmbeddedEtcd runs a single-node etcd in DataDir.
func (cp *ControlPlane) startEmbeddedEtcd() (*embed.Etcd, []string, error) {
	clientAddr := cp.cfg.EtcdListen
	if clientAddr == "auto" {
		a, err := freeAddr()
		if err != nil {
			return nil, nil, err
		}
		clientAddr = a
	}
	if err := os.MkdirAll(cp.cfg.DataDir, 0o700); err != nil {
		return nil, nil, fmt.Errorf("embedded etcd data dir: %w", err)
	}
	// The peer address is stored in the member's data: keep the same one
	// across restarts.
	peerFile := filepath.Join(cp.cfg.DataDir, "peer-address")
	peerAddr := ""
	if b, err := os.ReadFile(peerFile); err == nil {
		peerAddr = strings.TrimSpace(string(b))
	} else {
		if peerAddr, err = freeAddr(); err != nil {
			return nil, nil, err
		}
		if err := os.WriteFile(peerFile, []byte(peerAddr+"\n"), 0o600); err != nil {
			return nil, nil, fmt.Errorf("embedded etcd data dir: %w", err)
		}
	}
	ec := embed.NewConfig()
	ec.Name = "sluice"
	ec.Dir = filepath.Join(cp.cfg.DataDir, "etcd")
	cu := url.URL{Scheme: "http", Host: clientAddr}
	pu := url.URL{Scheme: "http", Host: peerAddr}
	ec.ListenClientUrls, ec.AdvertiseClientUrls = []url.URL{cu}, []url.URL{cu}
	ec.ListenPeerUrls, ec.AdvertisePeerUrls = []url.URL{pu}, []url.URL{pu}
	ec.InitialCluster = ec.Name + "=" + pu.String()
	ec.LogLevel = "error"
	ec.LogOutputs = []string{"stderr"}
	e, err := embed.StartEtcd(ec)
	if err != nil {
		return nil, nil, fmt.Errorf("start embedded etcd in %s on %s: %w", cp.cfg.DataDir, clientAddr, err)
	}
	select {
	case <-e.Server.ReadyNotify():
	case <-time.After(60 * time.Second):
		e.Close()
		return nil, nil, errors.New("embedded etcd did not become ready in 60s")
	}
	cp.log.Info("embedded etcd ready", "dir", cp.cfg.DataDir, "client", cu.String())
	return e, []string{clientAddr}, nil
}

func freeAddr() (string, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", err
	}
	defer l.Close()
	return l.Addr().String(), nil
}

// quietZap is the etcd client's logger: its errors reach us as returned
// errors, which we log ourselves.
func quietZap() *zap.Logger { return zap.NewNop() }
