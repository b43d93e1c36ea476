package shared

import (
	"time"

	"google.golang.org/protobuf/types/known/timestamppb"

	"github.com/khula-cop/khula/plugins"
	pb "github.com/khula-cop/khula/plugins/proto/khula/plugin/v1"
)

// This file holds the translation functions between the generated protobuf
// types and the plugins package's Go types: to* functions go to the wire,
// from* functions come from it. Nothing else in khula sees a pb type.

func toRole(role string) pb.Role {
	switch role {
	case plugins.RoleReferral:
		return pb.Role_ROLE_REFERRAL
	case plugins.RoleNotify:
		return pb.Role_ROLE_NOTIFY
	case plugins.RoleExport:
		return pb.Role_ROLE_EXPORT
	case plugins.RoleIntake:
		return pb.Role_ROLE_INTAKE
	}
	return pb.Role_ROLE_UNSPECIFIED
}

func fromRole(r pb.Role) string {
	switch r {
	case pb.Role_ROLE_REFERRAL:
		return plugins.RoleReferral
	case pb.Role_ROLE_NOTIFY:
		return plugins.RoleNotify
	case pb.Role_ROLE_EXPORT:
		return plugins.RoleExport
	case pb.Role_ROLE_INTAKE:
		return plugins.RoleIntake
	}
	return "unspecified"
}

func toInfo(in plugins.Info) *pb.InfoResponse {
	out := &pb.InfoResponse{Name: in.Name, Version: in.Version, ProtocolVersion: int32(in.ProtocolVersion)}
	for _, r := range in.Roles {
		out.Roles = append(out.Roles, toRole(r))
	}
	return out
}

func fromInfo(in *pb.InfoResponse) plugins.Info {
	out := plugins.Info{Name: in.GetName(), Version: in.GetVersion(), ProtocolVersion: int(in.GetProtocolVersion())}
	for _, r := range in.GetRoles() {
		out.Roles = append(out.Roles, fromRole(r))
	}
	return out
}

func toContact(c plugins.Contact) *pb.Contact {
	return &pb.Contact{Channel: c.Channel, Address: c.Address}
}

func fromContact(c *pb.Contact) plugins.Contact {
	return plugins.Contact{Channel: c.GetChannel(), Address: c.GetAddress()}
}

func toService(s plugins.Service) *pb.Service {
	return &pb.Service{
		Id: s.ID, Name: s.Name, Type: s.Type,
		Domains: s.Domains, Schools: s.Schools, Contact: toContact(s.Contact),
	}
}

func fromService(s *pb.Service) plugins.Service {
	return plugins.Service{
		ID: s.GetId(), Name: s.GetName(), Type: s.GetType(),
		Domains: s.GetDomains(), Schools: s.GetSchools(), Contact: fromContact(s.GetContact()),
	}
}

func toServices(in []plugins.Service) []*pb.Service {
	out := make([]*pb.Service, 0, len(in))
	for _, s := range in {
		out = append(out, toService(s))
	}
	return out
}

func fromServices(in []*pb.Service) []plugins.Service {
	out := make([]plugins.Service, 0, len(in))
	for _, s := range in {
		out = append(out, fromService(s))
	}
	return out
}

func toConfig(c plugins.Config) *pb.ConfigureRequest {
	return &pb.ConfigureRequest{
		SiteId: c.SiteID, Role: toRole(c.Role), SettingsJson: c.Settings,
		Services: toServices(c.Services), StateDir: c.StateDir, Timezone: c.Timezone,
		Languages: c.Languages, DefaultLanguage: c.DefaultLanguage,
	}
}

func fromConfig(c *pb.ConfigureRequest) plugins.Config {
	return plugins.Config{
		SiteID: c.GetSiteId(), Role: fromRole(c.GetRole()), Settings: c.GetSettingsJson(),
		Services: fromServices(c.GetServices()), StateDir: c.GetStateDir(), Timezone: c.GetTimezone(),
		Languages: c.GetLanguages(), DefaultLanguage: c.GetDefaultLanguage(),
	}
}

func toServiceQuery(q plugins.ServiceQuery) *pb.FindServicesRequest {
	return &pb.FindServicesRequest{Need: q.Need, Domain: q.Domain, School: q.SchoolID, Area: q.Area}
}

func fromServiceQuery(q *pb.FindServicesRequest) plugins.ServiceQuery {
	return plugins.ServiceQuery{Need: q.GetNeed(), Domain: q.GetDomain(), SchoolID: q.GetSchool(), Area: q.GetArea()}
}

func toReferral(r plugins.ReferralRequest) *pb.ReferralRequest {
	return &pb.ReferralRequest{
		IdempotencyKey: r.IdempotencyKey, SiteId: r.SiteID, SchoolId: r.SchoolID,
		ServiceId: r.ServiceID, ServiceType: r.ServiceType, Domain: r.Domain, Urgent: r.Urgent,
		ChildRef: r.ChildRef, Contact: toContact(r.Contact), Language: r.Language,
	}
}

func fromReferral(r *pb.ReferralRequest) plugins.ReferralRequest {
	return plugins.ReferralRequest{
		IdempotencyKey: r.GetIdempotencyKey(), SiteID: r.GetSiteId(), SchoolID: r.GetSchoolId(),
		ServiceID: r.GetServiceId(), ServiceType: r.GetServiceType(), Domain: r.GetDomain(), Urgent: r.GetUrgent(),
		ChildRef: r.GetChildRef(), Contact: fromContact(r.GetContact()), Language: r.GetLanguage(),
	}
}

var referralStates = map[string]pb.ReferralState{
	plugins.ReferralUnknown:      pb.ReferralState_REFERRAL_STATE_UNKNOWN,
	plugins.ReferralPending:      pb.ReferralState_REFERRAL_STATE_PENDING,
	plugins.ReferralDispatched:   pb.ReferralState_REFERRAL_STATE_DISPATCHED,
	plugins.ReferralAcknowledged: pb.ReferralState_REFERRAL_STATE_ACKNOWLEDGED,
	plugins.ReferralCompleted:    pb.ReferralState_REFERRAL_STATE_COMPLETED,
	plugins.ReferralDeclined:     pb.ReferralState_REFERRAL_STATE_DECLINED,
	plugins.ReferralUnreachable:  pb.ReferralState_REFERRAL_STATE_UNREACHABLE,
	plugins.ReferralFailed:       pb.ReferralState_REFERRAL_STATE_FAILED,
}

func toReferralStatus(s plugins.ReferralStatus) *pb.StatusResponse {
	return &pb.StatusResponse{
		State: referralStates[s.State], DispatchRef: s.DispatchRef, Detail: s.Detail,
		UpdatedAt: toTime(s.UpdatedAt),
	}
}

func fromReferralStatus(key string, s *pb.StatusResponse) plugins.ReferralStatus {
	state := plugins.ReferralUnknown
	for k, v := range referralStates {
		if v == s.GetState() {
			state = k
		}
	}
	return plugins.ReferralStatus{
		IdempotencyKey: key, State: state, DispatchRef: s.GetDispatchRef(), Detail: s.GetDetail(),
		UpdatedAt: fromTime(s.GetUpdatedAt()),
	}
}

func toMessage(m plugins.Message) *pb.Message {
	return &pb.Message{
		IdempotencyKey: m.IdempotencyKey, SiteId: m.SiteID, Recipient: toContact(m.To),
		Language: m.Language, Template: m.Template, Subject: m.Subject, Body: m.Body,
	}
}

func fromMessage(m *pb.Message) plugins.Message {
	return plugins.Message{
		IdempotencyKey: m.GetIdempotencyKey(), SiteID: m.GetSiteId(), To: fromContact(m.GetRecipient()),
		Language: m.GetLanguage(), Template: m.GetTemplate(), Subject: m.GetSubject(), Body: m.GetBody(),
	}
}

var deliveryStates = map[string]pb.DeliveryState{
	plugins.DeliveryUnknown:   pb.DeliveryState_DELIVERY_STATE_UNKNOWN,
	plugins.DeliveryPending:   pb.DeliveryState_DELIVERY_STATE_PENDING,
	plugins.DeliverySent:      pb.DeliveryState_DELIVERY_STATE_SENT,
	plugins.DeliveryDelivered: pb.DeliveryState_DELIVERY_STATE_DELIVERED,
	plugins.DeliveryFailed:    pb.DeliveryState_DELIVERY_STATE_FAILED,
}

func toDeliveryState(s plugins.DeliveryState) *pb.DeliveryStatusResponse {
	return &pb.DeliveryStatusResponse{
		State: deliveryStates[s.State], MessageRef: s.MessageRef, Detail: s.Detail,
		UpdatedAt: toTime(s.UpdatedAt),
	}
}

func fromDeliveryState(key string, s *pb.DeliveryStatusResponse) plugins.DeliveryState {
	state := plugins.DeliveryUnknown
	for k, v := range deliveryStates {
		if v == s.GetState() {
			state = k
		}
	}
	return plugins.DeliveryState{
		IdempotencyKey: key, State: state, MessageRef: s.GetMessageRef(), Detail: s.GetDetail(),
		UpdatedAt: fromTime(s.GetUpdatedAt()),
	}
}

func toBatch(b plugins.ExportBatch) *pb.PushRequest {
	out := &pb.PushRequest{IdempotencyKey: b.IdempotencyKey, SiteId: b.SiteID}
	for _, r := range b.Records {
		out.Records = append(out.Records, &pb.Record{
			RecordId: r.RecordID, ChildRef: r.ChildRef, SchoolId: r.SchoolID, Stage: r.Stage,
			EnrolledAt: toTime(r.EnrolledAt), OccurredAt: toTime(r.OccurredAt),
			Attributes: r.Attributes, Values: r.Values,
		})
	}
	for _, a := range b.Aggregates {
		out.Aggregates = append(out.Aggregates, &pb.Aggregate{SchoolId: a.SchoolID, Period: a.Period, Key: a.Key, Value: a.Value})
	}
	return out
}

func fromBatch(b *pb.PushRequest) plugins.ExportBatch {
	out := plugins.ExportBatch{IdempotencyKey: b.GetIdempotencyKey(), SiteID: b.GetSiteId()}
	for _, r := range b.GetRecords() {
		out.Records = append(out.Records, plugins.ExportRecord{
			RecordID: r.GetRecordId(), ChildRef: r.GetChildRef(), SchoolID: r.GetSchoolId(), Stage: r.GetStage(),
			EnrolledAt: fromTime(r.GetEnrolledAt()), OccurredAt: fromTime(r.GetOccurredAt()),
			Attributes: r.GetAttributes(), Values: r.GetValues(),
		})
	}
	for _, a := range b.GetAggregates() {
		out.Aggregates = append(out.Aggregates, plugins.ExportAggregate{SchoolID: a.GetSchoolId(), Period: a.GetPeriod(), Key: a.GetKey(), Value: a.GetValue()})
	}
	return out
}

func toTime(t time.Time) *timestamppb.Timestamp {
	if t.IsZero() {
		return nil
	}
	return timestamppb.New(t)
}

func fromTime(t *timestamppb.Timestamp) time.Time {
	if t == nil || !t.IsValid() {
		return time.Time{}
	}
	return t.AsTime()
}
