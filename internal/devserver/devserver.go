// Package devserver embeds a single-process Temporal server (go.temporal.io/server)
// that persists to one SQLite file. It is the engine behind `khula dev` and
// `khula engine`, and the only package of khula that imports the server module:
// its first build takes minutes, so nothing else should pull it in.
package devserver

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"time"

	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/api/operatorservice/v1"
	"go.temporal.io/api/workflowservice/v1"
	"go.temporal.io/sdk/client"
	"go.temporal.io/server/common/authorization"
	"go.temporal.io/server/common/cluster"
	"go.temporal.io/server/common/config"
	"go.temporal.io/server/common/dynamicconfig"
	"go.temporal.io/server/common/metrics"
	sqliteplugin "go.temporal.io/server/common/persistence/sql/sqlplugin/sqlite"
	"go.temporal.io/server/schema/sqlite"
	"go.temporal.io/server/temporal"
	"google.golang.org/protobuf/types/known/durationpb"

	"github.com/khula-cop/khula/internal/freeport"
)

// Options configure the embedded engine. Zero values take the documented defaults.
type Options struct {
	// DatabaseFile is the SQLite file holding the engine's state. Required.
	// The schema is created when the file does not exist yet.
	DatabaseFile string
	// Namespace is registered before the server accepts calls. Default "khula".
	Namespace string
	// SearchAttributes are the custom search attributes registered on Namespace.
	SearchAttributes map[string]enumspb.IndexedValueType
	// IP is the address the frontend listens on. Default 127.0.0.1.
	IP string
	// FrontendPort is the gRPC port clients and workers dial. 0 picks a free port.
	FrontendPort int
	// Retention is how long closed workflow histories are kept. Default 30 days.
	Retention time.Duration
	// Logger receives the server's own log lines. Default discards below Warn.
	Logger *slog.Logger
}

// Server is a running embedded Temporal engine.
type Server struct {
	opts     Options
	server   temporal.Server
	hostPort string
}

func (o *Options) validate() error {
	if o.DatabaseFile == "" {
		return errors.New("devserver: DatabaseFile is required")
	}
	if o.Namespace == "" {
		o.Namespace = "khula"
	}
	if o.IP == "" {
		o.IP = "127.0.0.1"
	}
	if o.Retention == 0 {
		o.Retention = 30 * 24 * time.Hour
	}
	if o.Retention < 24*time.Hour {
		return fmt.Errorf("devserver: retention %s is shorter than the engine's minimum of one day", o.Retention)
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
	}
	if o.FrontendPort < 0 || o.FrontendPort > 65535 {
		return fmt.Errorf("devserver: frontend port %d is not a TCP port", o.FrontendPort)
	}
	return nil
}

// New prepares an engine: it creates the schema when the database file is new,
// registers the namespace with its search attributes, and checks that the
// ports are free. Call Start to serve.
func New(opts Options) (*Server, error) {
	if err := opts.validate(); err != nil {
		return nil, err
	}
	if err := os.MkdirAll(filepath.Dir(opts.DatabaseFile), 0o700); err != nil {
		return nil, fmt.Errorf("devserver: creating data directory: %w", err)
	}
	if opts.FrontendPort != 0 {
		if err := checkPortFree(opts.IP, opts.FrontendPort); err != nil {
			return nil, err
		}
	}
	sqlCfg := sqlConfig(opts.DatabaseFile)
	if _, err := os.Stat(opts.DatabaseFile); errors.Is(err, os.ErrNotExist) {
		if err := sqlite.SetupSchema(sqlCfg); err != nil {
			return nil, fmt.Errorf("devserver: creating engine schema in %s: %w", opts.DatabaseFile, err)
		}
	} else if err := forgetStaleHosts(opts.DatabaseFile); err != nil {
		return nil, err
	}
	ns, err := sqlite.NewNamespaceConfig(clusterName, opts.Namespace, false, opts.SearchAttributes)
	if err != nil {
		return nil, fmt.Errorf("devserver: namespace %q: %w", opts.Namespace, err)
	}
	if err := sqlite.CreateNamespaces(sqlCfg, ns); err != nil {
		return nil, fmt.Errorf("devserver: registering namespace %q: %w", opts.Namespace, err)
	}

	// The engine's services bind ports chosen a moment earlier; another
	// process can take one in between. Such a failure is retried with new
	// ports instead of ending the run (a fixed frontend port stays fixed).
	var lastErr error
	for attempt := 1; attempt <= bindAttempts; attempt++ {
		srv, hostPort, err := build(opts, sqlCfg)
		if err == nil {
			opts.FrontendPort = portOf(hostPort)
			return &Server{opts: opts, server: srv, hostPort: hostPort}, nil
		}
		lastErr = err
		if !isBindFailure(err) {
			return nil, err
		}
		opts.Logger.Warn("engine port taken while starting; choosing new ports", "attempt", attempt, "err", err)
	}
	return nil, fmt.Errorf("devserver: no free ports after %d attempts: %w", bindAttempts, lastErr)
}

// bindAttempts is how many sets of ports New tries before giving up.
const bindAttempts = 5

// pickPorts chooses the services' ports; a test replaces it to hand out a
// taken port.
var pickPorts = freeport.PickN

// clusterName is the engine's one (non-replicated) cluster.
const clusterName = "active"

// build chooses the services' ports and assembles the engine. A fatal
// error the engine raises while assembling (it panics through the logger)
// comes back as an error.
func build(opts Options, sqlCfg *config.SQL) (srv temporal.Server, hostPort string, err error) {
	ports, err := pickPorts(opts.IP, 9)
	if err != nil {
		return nil, "", fmt.Errorf("devserver: %w", err)
	}
	if opts.FrontendPort == 0 {
		opts.FrontendPort = ports[8]
	}
	cfg := buildConfig(opts, sqlCfg, ports[:8])
	logger := newLogger(opts.Logger)
	authorizer, err := authorization.GetAuthorizerFromConfig(&cfg.Global.Authorization)
	if err != nil {
		return nil, "", fmt.Errorf("devserver: authorizer: %w", err)
	}
	claimMapper, err := authorization.GetClaimMapperFromConfig(&cfg.Global.Authorization, logger)
	if err != nil {
		return nil, "", fmt.Errorf("devserver: claim mapper: %w", err)
	}
	dyn := dynamicconfig.StaticClient{
		// Search attributes registered a moment ago must be usable at once.
		dynamicconfig.ForceSearchAttributesCacheRefreshOnRead.Key(): true,
		// One engine on a small machine: keep the frontend from throttling a wave launch.
		dynamicconfig.FrontendRPS.Key():                                 10000,
		dynamicconfig.FrontendNamespaceReplicationInducingAPIsRPS.Key(): 100,
		// One process, a handful of pollers: with the default four partitions
		// a task can wait in a partition no poller is on. One partition each.
		dynamicconfig.MatchingNumTaskqueueReadPartitions.Key():  1,
		dynamicconfig.MatchingNumTaskqueueWritePartitions.Key(): 1,
	}
	defer recoverFatal(&err)
	srv, err = temporal.NewServer(
		temporal.WithConfig(cfg),
		temporal.ForServices(temporal.DefaultServices),
		temporal.WithLogger(logger),
		temporal.WithAuthorizer(authorizer),
		temporal.WithClaimMapper(func(*config.Config) authorization.ClaimMapper { return claimMapper }),
		temporal.WithDynamicConfigClient(dyn),
	)
	if err != nil {
		return nil, "", fmt.Errorf("devserver: building engine: %w", err)
	}
	return srv, net.JoinHostPort(opts.IP, strconv.Itoa(opts.FrontendPort)), nil
}

func portOf(hostPort string) int {
	_, p, _ := net.SplitHostPort(hostPort)
	n, _ := strconv.Atoi(p)
	return n
}

// Start serves the engine and waits until the namespace answers, its
// retention is set and every search attribute is registered.
func (s *Server) Start(ctx context.Context) (err error) {
	defer recoverFatal(&err)
	if err := s.server.Start(); err != nil {
		return fmt.Errorf("devserver: starting engine: %w", err)
	}
	if err := s.ensureNamespace(ctx); err != nil {
		_ = s.server.Stop()
		return err
	}
	return nil
}

// Stop shuts the engine down.
func (s *Server) Stop() error {
	if err := s.server.Stop(); err != nil {
		return fmt.Errorf("devserver: stopping engine: %w", err)
	}
	return nil
}

// HostPort is the frontend address clients and workers dial.
func (s *Server) HostPort() string { return s.hostPort }

// Namespace is the namespace the engine registered.
func (s *Server) Namespace() string { return s.opts.Namespace }

// ensureNamespace sets retention and adds search attributes missing from an
// engine file created by an older khula, so upgrades need no manual step.
func (s *Server) ensureNamespace(ctx context.Context) error {
	ctx, cancel := context.WithTimeout(ctx, time.Minute)
	defer cancel()
	c, err := dialWhenReady(ctx, s.hostPort, s.opts.Namespace)
	if err != nil {
		return err
	}
	defer c.Close()
	wf := c.WorkflowService()
	desc, err := wf.DescribeNamespace(ctx, &workflowservice.DescribeNamespaceRequest{Namespace: s.opts.Namespace})
	if err != nil {
		return fmt.Errorf("devserver: describing namespace: %w", err)
	}
	if desc.GetConfig().GetWorkflowExecutionRetentionTtl().AsDuration() != s.opts.Retention {
		cfg := desc.GetConfig()
		cfg.WorkflowExecutionRetentionTtl = durationpb.New(s.opts.Retention)
		if _, err := wf.UpdateNamespace(ctx, &workflowservice.UpdateNamespaceRequest{Namespace: s.opts.Namespace, Config: cfg}); err != nil {
			return fmt.Errorf("devserver: setting retention: %w", err)
		}
	}
	op := c.OperatorService()
	have, err := op.ListSearchAttributes(ctx, &operatorservice.ListSearchAttributesRequest{Namespace: s.opts.Namespace})
	if err != nil {
		return fmt.Errorf("devserver: listing search attributes: %w", err)
	}
	missing := map[string]enumspb.IndexedValueType{}
	for name, typ := range s.opts.SearchAttributes {
		if _, ok := have.GetCustomAttributes()[name]; !ok {
			missing[name] = typ
		}
	}
	if len(missing) > 0 {
		if _, err := op.AddSearchAttributes(ctx, &operatorservice.AddSearchAttributesRequest{Namespace: s.opts.Namespace, SearchAttributes: missing}); err != nil {
			return fmt.Errorf("devserver: adding search attributes: %w", err)
		}
	}
	return nil
}

func dialWhenReady(ctx context.Context, hostPort, namespace string) (client.Client, error) {
	var lastErr error
	for {
		c, err := client.DialContext(ctx, client.Options{HostPort: hostPort, Namespace: namespace, Logger: discardSDKLogger{}})
		if err == nil {
			if _, err = c.CheckHealth(ctx, &client.CheckHealthRequest{}); err == nil {
				return c, nil
			}
			c.Close()
		}
		lastErr = err
		select {
		case <-ctx.Done():
			return nil, fmt.Errorf("devserver: engine at %s did not become ready: %w", hostPort, lastErr)
		case <-time.After(200 * time.Millisecond):
		}
	}
}

// sqlConfig is the engine's SQLite persistence.
func sqlConfig(file string) *config.SQL {
	return &config.SQL{
		PluginName:   sqliteplugin.PluginName,
		DatabaseName: file,
		ConnectAttributes: map[string]string{
			"mode": "rwc",
			// WAL lets readers run beside the single writer. NORMAL sync in WAL
			// mode loses nothing when the process is killed (what dev mode
			// promises); only a power cut can drop the last commits.
			"_journal_mode": "wal",
			"_synchronous":  "1",
		},
	}
}

// buildConfig is the engine's configuration with its services on ports
// (eight: four gRPC, three membership, one metrics).
func buildConfig(opts Options, sqlCfg *config.SQL, ports []int) *config.Config {
	service := func(grpcPort, membershipPort int) config.Service {
		return config.Service{RPC: config.RPC{GRPCPort: grpcPort, MembershipPort: membershipPort, BindOnIP: opts.IP}}
	}
	hostPort := net.JoinHostPort(opts.IP, strconv.Itoa(opts.FrontendPort))
	cfg := &config.Config{
		Global: config.Global{
			Membership: config.Membership{MaxJoinDuration: 30 * time.Second, BroadcastAddress: opts.IP},
			Metrics: &metrics.Config{
				// The engine's own metrics stay in process; khula exports its own.
				Prometheus: &metrics.PrometheusConfig{ListenAddress: net.JoinHostPort(opts.IP, strconv.Itoa(ports[6])), HandlerPath: "/metrics"},
			},
		},
		Persistence: config.Persistence{
			DefaultStore:     sqliteplugin.PluginName,
			VisibilityStore:  sqliteplugin.PluginName,
			NumHistoryShards: 1,
			DataStores:       map[string]config.DataStore{sqliteplugin.PluginName: {SQL: sqlCfg}},
		},
		ClusterMetadata: &cluster.Config{
			EnableGlobalNamespace:    false,
			FailoverVersionIncrement: 10,
			MasterClusterName:        clusterName,
			CurrentClusterName:       clusterName,
			ClusterInformation: map[string]cluster.ClusterInformation{
				clusterName: {Enabled: true, InitialFailoverVersion: 1, RPCAddress: hostPort},
			},
		},
		DCRedirectionPolicy: config.DCRedirectionPolicy{Policy: "noop"},
		Services: map[string]config.Service{
			"frontend": service(opts.FrontendPort, ports[0]),
			"history":  service(ports[1], ports[2]),
			"matching": service(ports[3], ports[4]),
			"worker":   service(ports[5], ports[7]),
		},
		Archival: config.Archival{
			History:    config.HistoryArchival{State: "disabled"},
			Visibility: config.VisibilityArchival{State: "disabled"},
		},
		PublicClient: config.PublicClient{HostPort: hostPort},
		NamespaceDefaults: config.NamespaceDefaults{
			Archival: config.ArchivalNamespaceDefaults{
				History:    config.HistoryArchivalNamespaceDefaults{State: "disabled"},
				Visibility: config.VisibilityArchivalNamespaceDefaults{State: "disabled"},
			},
		},
	}
	return cfg
}

// forgetStaleHosts removes the previous run's service hosts from the
// engine's membership table. This engine is the only process using the
// file, so those hosts are gone; left in place, the services spend tens of
// seconds trying to join them after a restart and answer "not enough hosts".
func forgetStaleHosts(file string) error {
	db, err := sql.Open("sqlite", "file:"+file+"?_pragma=busy_timeout(5000)")
	if err != nil {
		return fmt.Errorf("devserver: opening %s: %w", file, err)
	}
	defer db.Close()
	if _, err := db.Exec("DELETE FROM cluster_membership"); err != nil {
		return fmt.Errorf("devserver: clearing stale hosts in %s: %w", file, err)
	}
	return nil
}

func checkPortFree(ip string, port int) error {
	l, err := net.Listen("tcp", net.JoinHostPort(ip, strconv.Itoa(port)))
	if err != nil {
		return fmt.Errorf("devserver: port %d on %s is in use (is another khula dev or temporal server running? choose another with --temporal-port): %w", port, ip, err)
	}
	return l.Close()
}
