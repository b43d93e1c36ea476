package shared

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"runtime/debug"
	"strings"
	"time"

	"github.com/hashicorp/go-hclog"
	"github.com/hashicorp/go-plugin"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/khula-cop/khula/plugins"
)

// Impl is what a plugin's main hands to Serve: a name, a Configure step the
// host calls before anything else (and again after every restart), and one
// or more roles, found by the interfaces Impl implements:
//   - referral: plugins.Referrer, optionally plugins.ServiceFinder and plugins.ReferralTracker;
//   - notify: plugins.Notifier, optionally plugins.DeliveryTracker;
//   - export: plugins.Exporter;
//   - intake: plugins.Intaker.
//
// Optional methods a plugin lacks answer plugins.ErrUnsupported. Methods
// may be called concurrently, and every method gets the caller's context:
// its deadline is the host's per-call time-out.
type Impl interface {
	Name() string
	Configure(ctx context.Context, cfg plugins.Config) error
}

// Versioned is implemented by plugins that report their own release in Info.
type Versioned interface {
	Version() string
}

// ErrNotLaunchedByHost is returned by Serve when the process was started by
// hand instead of by a khula worker.
var ErrNotLaunchedByHost = errors.New("this is a khula plugin: a khula worker starts it (name it in a site's site.yaml), it does nothing when run by hand")

// LaunchedByHost reports whether a khula host started this process (the
// handshake's magic cookie is in the environment).
func LaunchedByHost() bool {
	return os.Getenv(Handshake.MagicCookieKey) == Handshake.MagicCookieValue
}

// Serve serves impl to the khula host that started this process, over gRPC
// with the host's automatic mutual TLS, and returns when the host stops the
// plugin. It fails at once when impl serves no role or when the process was
// not started by a khula host.
func Serve(impl Impl) error {
	if !LaunchedByHost() {
		return ErrNotLaunchedByHost
	}
	set, err := PluginSet(impl)
	if err != nil {
		return err
	}
	go exitWithParent(os.Getppid(), time.Second)
	plugin.Serve(&plugin.ServeConfig{
		HandshakeConfig:  Handshake,
		VersionedPlugins: map[int]plugin.PluginSet{ProtocolVersion: set},
		GRPCServer:       NewGRPCServer,
		Logger: hclog.New(&hclog.LoggerOptions{
			Name: impl.Name(), Output: os.Stderr, JSONFormat: true, Level: hclog.Info,
		}),
	})
	return nil
}

// exitWithParent ends the plugin when the khula worker that started it is
// gone (killed without a chance to stop its plugins): an orphan would keep
// its journal locked against the worker's next start. Exiting mid-call is
// a crash the journal already survives.
func exitWithParent(parent int, every time.Duration) {
	if parent <= 1 {
		return
	}
	for range time.Tick(every) {
		if os.Getppid() != parent {
			Logger().Warn("the khula worker that started this plugin is gone; exiting")
			os.Exit(3)
		}
	}
}

// NewGRPCServer builds a plugin's gRPC server from go-plugin's options, with
// interceptors that turn a panicking method (unary or streaming, such as
// Intake.Fetch) into an INTERNAL error instead of a crashed process.
func NewGRPCServer(opts []grpc.ServerOption) *grpc.Server {
	opts = append(opts, grpc.ChainUnaryInterceptor(recoverUnary), grpc.ChainStreamInterceptor(recoverStream))
	return grpc.NewServer(opts...)
}

func recoverUnary(ctx context.Context, req any, info *grpc.UnaryServerInfo, handler grpc.UnaryHandler) (resp any, err error) {
	defer func() {
		if r := recover(); r != nil {
			Logger().Error("plugin method panicked", "method", info.FullMethod, "panic", fmt.Sprint(r), "stack", string(debug.Stack()))
			resp, err = nil, status.Errorf(codes.Internal, "%s: %v: %v", info.FullMethod, errPanicked, r)
		}
	}()
	return handler(ctx, req)
}

func recoverStream(srv any, ss grpc.ServerStream, info *grpc.StreamServerInfo, handler grpc.StreamHandler) (err error) {
	defer func() {
		if r := recover(); r != nil {
			Logger().Error("plugin method panicked", "method", info.FullMethod, "panic", fmt.Sprint(r), "stack", string(debug.Stack()))
			err = status.Errorf(codes.Internal, "%s: %v: %v", info.FullMethod, errPanicked, r)
		}
	}()
	return handler(srv, ss)
}

// Logger returns a logger for plugin code. It writes JSON lines to stderr in
// the shape go-plugin expects, so the host logs them at their own level
// under the plugin's name. Never log a child's personal details.
func Logger() *slog.Logger {
	return NewLogger(os.Stderr)
}

// NewLogger is Logger writing to w.
func NewLogger(w io.Writer) *slog.Logger {
	return slog.New(slog.NewJSONHandler(w, &slog.HandlerOptions{
		Level: slog.LevelInfo,
		ReplaceAttr: func(groups []string, a slog.Attr) slog.Attr {
			if len(groups) > 0 {
				return a
			}
			switch a.Key {
			case slog.TimeKey:
				return slog.String("@timestamp", a.Value.Time().Format("2006-01-02T15:04:05.000000Z07:00"))
			case slog.LevelKey:
				return slog.String("@level", strings.ToLower(a.Value.String()))
			case slog.MessageKey:
				return slog.String("@message", a.Value.String())
			}
			return a
		},
	}))
}
