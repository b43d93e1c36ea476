package shared

import (
	"context"
	"errors"
	"fmt"
	"sync"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/khula-cop/khula/plugins"
	pb "github.com/khula-cop/khula/plugins/proto/khula/plugin/v1"
)

// serverState is shared by the control and role servers of one plugin
// process: the roles served, and whether the host has configured it.
type serverState struct {
	impl  Impl
	roles []string

	mu         sync.RWMutex
	configured bool
}

func (s *serverState) ready() error {
	if s == nil {
		return nil
	}
	s.mu.RLock()
	defer s.mu.RUnlock()
	if !s.configured {
		return status.Error(codes.FailedPrecondition, "plugin is not configured: the host must call Configure first")
	}
	return nil
}

type controlServer struct {
	pb.UnimplementedPluginServer
	impl  Impl
	state *serverState
}

func (s *controlServer) Info(ctx context.Context, _ *pb.InfoRequest) (*pb.InfoResponse, error) {
	info := plugins.Info{Name: s.impl.Name(), ProtocolVersion: ProtocolVersion}
	if v, ok := s.impl.(Versioned); ok {
		info.Version = v.Version()
	}
	if s.state != nil {
		info.Roles = s.state.roles
	}
	return toInfo(info), nil
}

func (s *controlServer) Configure(ctx context.Context, req *pb.ConfigureRequest) (*pb.ConfigureResponse, error) {
	if s.state != nil {
		s.state.mu.Lock()
		defer s.state.mu.Unlock()
	}
	if err := s.impl.Configure(ctx, fromConfig(req)); err != nil {
		return nil, toStatus(fmt.Errorf("configuring plugin %q for site %q: %w", s.impl.Name(), req.GetSiteId(), err))
	}
	if s.state != nil {
		s.state.configured = true
	}
	return &pb.ConfigureResponse{}, nil
}

type referralServer struct {
	pb.UnimplementedReferralServer
	impl  plugins.Referrer
	state *serverState
}

func (s *referralServer) FindServices(ctx context.Context, req *pb.FindServicesRequest) (*pb.FindServicesResponse, error) {
	if err := s.state.ready(); err != nil {
		return nil, err
	}
	f, ok := s.impl.(plugins.ServiceFinder)
	if !ok {
		return nil, status.Error(codes.Unimplemented, "this referral plugin has no service directory")
	}
	svcs, err := f.FindServices(ctx, fromServiceQuery(req))
	if err != nil {
		return nil, toStatus(err)
	}
	return &pb.FindServicesResponse{Services: toServices(svcs)}, nil
}

func (s *referralServer) Dispatch(ctx context.Context, req *pb.DispatchRequest) (*pb.DispatchResponse, error) {
	if err := s.state.ready(); err != nil {
		return nil, err
	}
	if req.GetReferral().GetIdempotencyKey() == "" {
		return nil, status.Error(codes.InvalidArgument, "referral without an idempotency key")
	}
	rec, err := s.impl.Dispatch(ctx, fromReferral(req.GetReferral()))
	if err != nil {
		return nil, toStatus(err)
	}
	return &pb.DispatchResponse{DispatchRef: rec.DispatchRef, Duplicate: rec.Duplicate}, nil
}

func (s *referralServer) Status(ctx context.Context, req *pb.StatusRequest) (*pb.StatusResponse, error) {
	if err := s.state.ready(); err != nil {
		return nil, err
	}
	t, ok := s.impl.(plugins.ReferralTracker)
	if !ok {
		return nil, status.Error(codes.Unimplemented, "this referral plugin does not track referrals")
	}
	st, err := t.Status(ctx, req.GetIdempotencyKey())
	if err != nil {
		return nil, toStatus(err)
	}
	return toReferralStatus(st), nil
}

type notifyServer struct {
	pb.UnimplementedNotifyServer
	impl  plugins.Notifier
	state *serverState
}

func (s *notifyServer) Send(ctx context.Context, req *pb.SendRequest) (*pb.SendResponse, error) {
	if err := s.state.ready(); err != nil {
		return nil, err
	}
	if req.GetMessage().GetIdempotencyKey() == "" {
		return nil, status.Error(codes.InvalidArgument, "message without an idempotency key")
	}
	d, err := s.impl.Send(ctx, fromMessage(req.GetMessage()))
	if err != nil {
		return nil, toStatus(err)
	}
	return &pb.SendResponse{MessageRef: d.MessageRef, Duplicate: d.Duplicate}, nil
}

func (s *notifyServer) DeliveryStatus(ctx context.Context, req *pb.DeliveryStatusRequest) (*pb.DeliveryStatusResponse, error) {
	if err := s.state.ready(); err != nil {
		return nil, err
	}
	t, ok := s.impl.(plugins.DeliveryTracker)
	if !ok {
		return nil, status.Error(codes.Unimplemented, "this notify plugin does not track deliveries")
	}
	st, err := t.DeliveryStatus(ctx, req.GetIdempotencyKey())
	if err != nil {
		return nil, toStatus(err)
	}
	return toDeliveryState(st), nil
}

type exportServer struct {
	pb.UnimplementedExportServer
	impl  plugins.Exporter
	state *serverState
}

func (s *exportServer) Push(ctx context.Context, req *pb.PushRequest) (*pb.PushResponse, error) {
	if err := s.state.ready(); err != nil {
		return nil, err
	}
	if req.GetIdempotencyKey() == "" {
		return nil, status.Error(codes.InvalidArgument, "export batch without an idempotency key")
	}
	r, err := s.impl.Push(ctx, fromBatch(req))
	if err != nil {
		return nil, toStatus(err)
	}
	return &pb.PushResponse{PushRef: r.PushRef, Accepted: int32(r.Accepted), Duplicate: r.Duplicate}, nil
}

// intakeChunk is how much of an export one FetchChunk carries: well under
// gRPC's default 4 MiB message limit.
const intakeChunk = 1 << 20

type intakeServer struct {
	pb.UnimplementedIntakeServer
	impl  plugins.Intaker
	state *serverState
}

func (s *intakeServer) Fetch(req *pb.FetchRequest, stream pb.Intake_FetchServer) error {
	if err := s.state.ready(); err != nil {
		return err
	}
	b, err := s.impl.Fetch(stream.Context(), plugins.IntakeRequest{SiteID: req.GetSiteId()})
	if err != nil {
		return toStatus(err)
	}
	if len(b.Data) > plugins.MaxIntakeBytes {
		// The host would refuse it after reading it all; say so at once.
		return status.Errorf(codes.FailedPrecondition, "the export has %d bytes, more than the %d an intake plugin may return", len(b.Data), plugins.MaxIntakeBytes)
	}
	// At least one chunk, even for an empty export: the first carries
	// format and source.
	chunk := &pb.FetchChunk{Format: b.Format, Source: b.Source}
	data := b.Data
	for {
		n := min(len(data), intakeChunk)
		chunk.Data, data = data[:n], data[n:]
		if err := stream.Send(chunk); err != nil {
			return err
		}
		if len(data) == 0 {
			return nil
		}
		chunk = &pb.FetchChunk{}
	}
}

// errPanicked is what a caller sees when a plugin method panicked: the
// plugin stays up, the call fails with INTERNAL (retryable).
var errPanicked = errors.New("plugin method panicked")
