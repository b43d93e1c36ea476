package shared

import (
	"context"

	"github.com/hashicorp/go-plugin"
	"google.golang.org/grpc"

	"github.com/khula-cop/khula/plugins"
	pb "github.com/khula-cop/khula/plugins/proto/khula/plugin/v1"
)

// The plugin.GRPCPlugin implementations. On the plugin side GRPCServer
// registers the implementation's shim; on the host side GRPCClient returns a
// value implementing the plugins interface (Impl is nil there). net/rpc is
// not supported.

// ControlPlugin carries the control service (Info, Configure).
type ControlPlugin struct {
	plugin.NetRPCUnsupportedPlugin
	Impl  Impl
	state *serverState
}

// ReferralPlugin carries the referral role.
type ReferralPlugin struct {
	plugin.NetRPCUnsupportedPlugin
	Impl  plugins.Referrer
	state *serverState
}

// NotifyPlugin carries the notify role.
type NotifyPlugin struct {
	plugin.NetRPCUnsupportedPlugin
	Impl  plugins.Notifier
	state *serverState
}

// ExportPlugin carries the export role.
type ExportPlugin struct {
	plugin.NetRPCUnsupportedPlugin
	Impl  plugins.Exporter
	state *serverState
}

// IntakePlugin carries the intake role.
type IntakePlugin struct {
	plugin.NetRPCUnsupportedPlugin
	Impl  plugins.Intaker
	state *serverState
}

var (
	_ plugin.GRPCPlugin = (*ControlPlugin)(nil)
	_ plugin.GRPCPlugin = (*ReferralPlugin)(nil)
	_ plugin.GRPCPlugin = (*NotifyPlugin)(nil)
	_ plugin.GRPCPlugin = (*ExportPlugin)(nil)
	_ plugin.GRPCPlugin = (*IntakePlugin)(nil)
)

// GRPCServer registers the control service.
func (p *ControlPlugin) GRPCServer(_ *plugin.GRPCBroker, s *grpc.Server) error {
	pb.RegisterPluginServer(s, &controlServer{impl: p.Impl, state: p.state})
	return nil
}

// GRPCClient returns a Controller.
func (p *ControlPlugin) GRPCClient(_ context.Context, _ *plugin.GRPCBroker, c *grpc.ClientConn) (any, error) {
	return &controlClient{c: pb.NewPluginClient(c)}, nil
}

// GRPCServer registers the referral service.
func (p *ReferralPlugin) GRPCServer(_ *plugin.GRPCBroker, s *grpc.Server) error {
	pb.RegisterReferralServer(s, &referralServer{impl: p.Impl, state: p.state})
	return nil
}

// GRPCClient returns a plugins.ReferralService.
func (p *ReferralPlugin) GRPCClient(_ context.Context, _ *plugin.GRPCBroker, c *grpc.ClientConn) (any, error) {
	return &referralClient{c: pb.NewReferralClient(c)}, nil
}

// GRPCServer registers the notify service.
func (p *NotifyPlugin) GRPCServer(_ *plugin.GRPCBroker, s *grpc.Server) error {
	pb.RegisterNotifyServer(s, &notifyServer{impl: p.Impl, state: p.state})
	return nil
}

// GRPCClient returns a plugins.NotifyService.
func (p *NotifyPlugin) GRPCClient(_ context.Context, _ *plugin.GRPCBroker, c *grpc.ClientConn) (any, error) {
	return &notifyClient{c: pb.NewNotifyClient(c)}, nil
}

// GRPCServer registers the export service.
func (p *ExportPlugin) GRPCServer(_ *plugin.GRPCBroker, s *grpc.Server) error {
	pb.RegisterExportServer(s, &exportServer{impl: p.Impl, state: p.state})
	return nil
}

// GRPCClient returns a plugins.Exporter.
func (p *ExportPlugin) GRPCClient(_ context.Context, _ *plugin.GRPCBroker, c *grpc.ClientConn) (any, error) {
	return &exportClient{c: pb.NewExportClient(c)}, nil
}

// GRPCServer registers the intake service.
func (p *IntakePlugin) GRPCServer(_ *plugin.GRPCBroker, s *grpc.Server) error {
	pb.RegisterIntakeServer(s, &intakeServer{impl: p.Impl, state: p.state})
	return nil
}

// GRPCClient returns a plugins.Intaker.
func (p *IntakePlugin) GRPCClient(_ context.Context, _ *plugin.GRPCBroker, c *grpc.ClientConn) (any, error) {
	return &intakeClient{c: pb.NewIntakeClient(c)}, nil
}
