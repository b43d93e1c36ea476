package activities

import (
	"context"
	"fmt"

	"go.temporal.io/sdk/temporal"

	"github.com/khula-cop/khula/internal/cycle"
	"github.com/khula-cop/khula/plugins"
)

// SaveReferral mirrors a referral's state into the database.
func (a *Activities) SaveReferral(ctx context.Context, r cycle.ReferralRecord) error {
	if err := a.Records.SaveReferral(ctx, r); err != nil {
		return fmt.Errorf("saving referral %s: %w", r.ReferralID, err)
	}
	return nil
}

// DispatchInput asks for a referral to be sent to a service.
type DispatchInput struct {
	ReferralID  string `json:"referral_id"`
	SiteID      string `json:"site_id"`
	SchoolID    string `json:"school_id"`
	CycleID     string `json:"cycle_id"`
	Domain      string `json:"domain"`
	ServiceType string `json:"service_type"`
	Urgent      bool   `json:"urgent"`
}

// DispatchOutput says where the referral went.
type DispatchOutput struct {
	ServiceID   string `json:"service_id"`
	DispatchRef string `json:"dispatch_ref"`
	Duplicate   bool   `json:"duplicate"`
}

// DispatchReferral picks a service of the asked type serving the child's
// school and dispatches the referral through the site's referral plugin. The
// referral ID is the idempotency key, so a retry after a crash mid-call
// returns the first dispatch instead of sending a second one.
func (a *Activities) DispatchReferral(ctx context.Context, in DispatchInput) (DispatchOutput, error) {
	site, err := a.site(in.SiteID)
	if err != nil {
		return DispatchOutput{}, err
	}
	services := site.ServicesFor(in.ServiceType, in.SchoolID)
	if len(services) == 0 {
		return DispatchOutput{}, temporal.NewNonRetryableApplicationError(
			fmt.Sprintf("no %s service serves school %s at site %s: add one to the services file", in.ServiceType, in.SchoolID, in.SiteID),
			ErrTypeNoService, nil)
	}
	svc := services[0]
	referrer, err := a.Plugins.Referrer(in.SiteID)
	if err != nil {
		return DispatchOutput{}, fmt.Errorf("referral plugin for %s: %w", in.SiteID, err)
	}
	receipt, err := referrer.Dispatch(ctx, plugins.ReferralRequest{
		IdempotencyKey: in.ReferralID,
		SiteID:         in.SiteID,
		SchoolID:       in.SchoolID,
		ServiceID:      svc.ID,
		ServiceType:    svc.Type,
		Domain:         in.Domain,
		Urgent:         in.Urgent,
		ChildRef:       in.CycleID,
		Contact:        plugins.Contact{Channel: svc.Contact.Channel, Address: svc.Contact.Address},
		Language:       site.DefaultLanguage,
	})
	if err != nil {
		return DispatchOutput{}, pluginError("referral", err)
	}
	return DispatchOutput{ServiceID: svc.ID, DispatchRef: receipt.DispatchRef, Duplicate: receipt.Duplicate}, nil
}
