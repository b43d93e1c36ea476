package shared

import (
	"context"
	"errors"
	"fmt"
	"io"

	"github.com/khula-cop/khula/plugins"
	pb "github.com/khula-cop/khula/plugins/proto/khula/plugin/v1"
)

// Controller is the control service every plugin serves, as the host sees it.
type Controller interface {
	Info(ctx context.Context) (plugins.Info, error)
	Configure(ctx context.Context, cfg plugins.Config) error
}

// errGarbage marks a reply that breaks the protocol (a missing field a
// well-behaved plugin always fills). It is transient: a fixed or restarted
// plugin may answer properly.
var errGarbage = errors.New("plugin broke the protocol")

type controlClient struct{ c pb.PluginClient }

var _ Controller = (*controlClient)(nil)

func (c *controlClient) Info(ctx context.Context) (plugins.Info, error) {
	resp, err := c.c.Info(ctx, &pb.InfoRequest{})
	if err != nil {
		return plugins.Info{}, fromStatus("Info", err)
	}
	info := fromInfo(resp)
	if info.Name == "" {
		return info, fmt.Errorf("Info: %w: %w: the plugin gave no name", plugins.ErrUnavailable, errGarbage)
	}
	return info, nil
}

func (c *controlClient) Configure(ctx context.Context, cfg plugins.Config) error {
	_, err := c.c.Configure(ctx, toConfig(cfg))
	return fromStatus("Configure", err)
}

type referralClient struct{ c pb.ReferralClient }

var _ plugins.ReferralService = (*referralClient)(nil)

func (c *referralClient) FindServices(ctx context.Context, q plugins.ServiceQuery) ([]plugins.Service, error) {
	resp, err := c.c.FindServices(ctx, toServiceQuery(q))
	if err != nil {
		return nil, fromStatus("FindServices", err)
	}
	return fromServices(resp.GetServices()), nil
}

func (c *referralClient) Dispatch(ctx context.Context, req plugins.ReferralRequest) (plugins.ReferralReceipt, error) {
	resp, err := c.c.Dispatch(ctx, &pb.DispatchRequest{Referral: toReferral(req)})
	if err != nil {
		return plugins.ReferralReceipt{}, fromStatus("Dispatch", err)
	}
	if resp.GetDispatchRef() == "" {
		return plugins.ReferralReceipt{}, fmt.Errorf("Dispatch: %w: %w: the reply has no dispatch reference", plugins.ErrUnavailable, errGarbage)
	}
	return plugins.ReferralReceipt{DispatchRef: resp.GetDispatchRef(), Duplicate: resp.GetDuplicate()}, nil
}

func (c *referralClient) Status(ctx context.Context, key string) (plugins.ReferralStatus, error) {
	resp, err := c.c.Status(ctx, &pb.StatusRequest{IdempotencyKey: key})
	if err != nil {
		return plugins.ReferralStatus{}, fromStatus("Status", err)
	}
	return fromReferralStatus(key, resp), nil
}

type notifyClient struct{ c pb.NotifyClient }

var _ plugins.NotifyService = (*notifyClient)(nil)

func (c *notifyClient) Send(ctx context.Context, msg plugins.Message) (plugins.Delivery, error) {
	resp, err := c.c.Send(ctx, &pb.SendRequest{Message: toMessage(msg)})
	if err != nil {
		return plugins.Delivery{}, fromStatus("Send", err)
	}
	if resp.GetMessageRef() == "" {
		return plugins.Delivery{}, fmt.Errorf("Send: %w: %w: the reply has no message reference", plugins.ErrUnavailable, errGarbage)
	}
	return plugins.Delivery{MessageRef: resp.GetMessageRef(), Duplicate: resp.GetDuplicate()}, nil
}

func (c *notifyClient) DeliveryStatus(ctx context.Context, key string) (plugins.DeliveryState, error) {
	resp, err := c.c.DeliveryStatus(ctx, &pb.DeliveryStatusRequest{IdempotencyKey: key})
	if err != nil {
		return plugins.DeliveryState{}, fromStatus("DeliveryStatus", err)
	}
	return fromDeliveryState(key, resp), nil
}

type exportClient struct{ c pb.ExportClient }

var _ plugins.Exporter = (*exportClient)(nil)

func (c *exportClient) Push(ctx context.Context, b plugins.ExportBatch) (plugins.ExportReceipt, error) {
	resp, err := c.c.Push(ctx, toBatch(b))
	if err != nil {
		return plugins.ExportReceipt{}, fromStatus("Push", err)
	}
	if resp.GetPushRef() == "" {
		return plugins.ExportReceipt{}, fmt.Errorf("Push: %w: %w: the reply has no push reference", plugins.ErrUnavailable, errGarbage)
	}
	return plugins.ExportReceipt{PushRef: resp.GetPushRef(), Accepted: int(resp.GetAccepted()), Duplicate: resp.GetDuplicate()}, nil
}

type intakeClient struct{ c pb.IntakeClient }

var _ plugins.Intaker = (*intakeClient)(nil)

// errTooLarge marks an export longer than plugins.MaxIntakeBytes.
var errTooLarge = fmt.Errorf("the export is larger than %d bytes (plugins.MaxIntakeBytes)", plugins.MaxIntakeBytes)

// Fetch reads the export's chunks and puts them together. It stops reading,
// and fails for good, once the export passes plugins.MaxIntakeBytes.
func (c *intakeClient) Fetch(ctx context.Context, req plugins.IntakeRequest) (plugins.IntakeBatch, error) {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel() // ends the stream if we stop reading early
	stream, err := c.c.Fetch(ctx, &pb.FetchRequest{SiteId: req.SiteID})
	if err != nil {
		return plugins.IntakeBatch{}, fromStatus("Fetch", err)
	}
	var out plugins.IntakeBatch
	chunks := 0
	for {
		chunk, err := stream.Recv()
		if err == io.EOF {
			break
		}
		if err != nil {
			return plugins.IntakeBatch{}, fromStatus("Fetch", err)
		}
		if chunks == 0 {
			out.Format, out.Source = chunk.GetFormat(), chunk.GetSource()
		}
		chunks++
		if len(out.Data)+len(chunk.GetData()) > plugins.MaxIntakeBytes {
			return plugins.IntakeBatch{}, fmt.Errorf("Fetch: %w: %w", plugins.ErrPermanent, errTooLarge)
		}
		out.Data = append(out.Data, chunk.GetData()...)
	}
	if chunks == 0 {
		return plugins.IntakeBatch{}, fmt.Errorf("Fetch: %w: %w: the reply has no chunk", plugins.ErrUnavailable, errGarbage)
	}
	return out, nil
}
