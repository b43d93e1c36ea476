package activities_test

import (
	"errors"
	"fmt"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/khula-cop/khula/activities"
	"github.com/khula-cop/khula/plugins"
)

func TestDispatchReferralPicksAServingService(t *testing.T) {
	cases := []struct {
		name        string
		serviceType string
		school      string
		urgent      bool
		wantService string
		wantContact plugins.Contact
	}{
		{name: "clinic serving meadowlands", serviceType: "clinic", school: "meadowlands",
			wantService: "clinic-a", wantContact: plugins.Contact{Channel: "email", Address: "clinic.a@example.org"}},
		{name: "clinic serving malvern skips the one that does not", serviceType: "clinic", school: "malvern", urgent: true,
			wantService: "clinic-b", wantContact: plugins.Contact{Channel: "email", Address: "clinic.b@example.org"}},
		{name: "service without a school list serves every school; the first listed wins", serviceType: "social_development", school: "malvern",
			wantService: "dsd", wantContact: plugins.Contact{Channel: "email", Address: "dsd@example.org"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			r := &fakeReferrer{receipt: plugins.ReferralReceipt{DispatchRef: "D-77"}}
			a := &activities.Activities{Sites: fakeSites{"jhb": testSite()}, Plugins: &fakePlugins{referrer: r}}
			in := activities.DispatchInput{
				ReferralID: "referral/jhb/3/c-0001/1", SiteID: "jhb", SchoolID: tc.school, CycleID: "cycle/jhb/3/c-0001",
				Domain: "health", ServiceType: tc.serviceType, Urgent: tc.urgent,
			}
			val, err := newEnv(a, nil).ExecuteActivity(a.DispatchReferral, in)
			require.NoError(t, err)
			var out activities.DispatchOutput
			require.NoError(t, val.Get(&out))
			assert.Equal(t, activities.DispatchOutput{ServiceID: tc.wantService, DispatchRef: "D-77"}, out)

			require.Len(t, r.got, 1)
			assert.Equal(t, plugins.ReferralRequest{
				IdempotencyKey: "referral/jhb/3/c-0001/1",
				SiteID:         "jhb",
				SchoolID:       tc.school,
				ServiceID:      tc.wantService,
				ServiceType:    tc.serviceType,
				Domain:         "health",
				Urgent:         tc.urgent,
				ChildRef:       "cycle/jhb/3/c-0001", // the opaque cycle ID, never a name
				Contact:        tc.wantContact,
				Language:       "en",
			}, r.got[0])
		})
	}
}

func TestDispatchReferralDuplicateReceipt(t *testing.T) {
	r := &fakeReferrer{receipt: plugins.ReferralReceipt{DispatchRef: "D-1", Duplicate: true}}
	a := &activities.Activities{Sites: fakeSites{"jhb": testSite()}, Plugins: &fakePlugins{referrer: r}}
	val, err := newEnv(a, nil).ExecuteActivity(a.DispatchReferral, activities.DispatchInput{
		ReferralID: "referral/jhb/3/c-0001/0", SiteID: "jhb", SchoolID: "meadowlands", CycleID: "cycle/jhb/3/c-0001", Domain: "protection", ServiceType: "social_development", Urgent: true,
	})
	require.NoError(t, err)
	var out activities.DispatchOutput
	require.NoError(t, val.Get(&out))
	assert.Equal(t, activities.DispatchOutput{ServiceID: "dsd", DispatchRef: "D-1", Duplicate: true}, out)
}

func TestDispatchReferralErrors(t *testing.T) {
	cases := []struct {
		name         string
		site         string
		serviceType  string
		school       string
		dispatchErr  error
		referrerErr  error
		wantType     string // "" means an ordinary, retryable error
		wantDispatch bool   // whether the plugin is reached
	}{
		{name: "no service of the type", site: "jhb", serviceType: "food_relief", school: "meadowlands", wantType: activities.ErrTypeNoService},
		{name: "services of the type serve other schools only", site: "jhb", serviceType: "clinic", school: "doornkop", wantType: activities.ErrTypeNoService},
		{name: "unknown site", site: "atlantis", serviceType: "clinic", school: "meadowlands", wantType: activities.ErrTypeUnknownSite},
		{name: "plugin rejects permanently", site: "jhb", serviceType: "clinic", school: "meadowlands",
			dispatchErr: fmt.Errorf("service closed: %w", plugins.ErrPermanent), wantType: activities.ErrTypePluginRejected, wantDispatch: true},
		{name: "plugin fails transiently", site: "jhb", serviceType: "clinic", school: "meadowlands",
			dispatchErr: errors.New("timeout talking to the referral gateway"), wantDispatch: true},
		{name: "referral plugin not available", site: "jhb", serviceType: "clinic", school: "meadowlands",
			referrerErr: errors.New("plugin crashed")},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			r := &fakeReferrer{err: tc.dispatchErr}
			a := &activities.Activities{Sites: fakeSites{"jhb": testSite()}, Plugins: &fakePlugins{referrer: r, referrerErr: tc.referrerErr}}
			_, err := newEnv(a, nil).ExecuteActivity(a.DispatchReferral, activities.DispatchInput{
				ReferralID: "referral/jhb/3/c-0001/1", SiteID: tc.site, SchoolID: tc.school, CycleID: "cycle/jhb/3/c-0001", Domain: "nutrition", ServiceType: tc.serviceType,
			})
			if tc.wantType == "" {
				wantRetryable(t, err)
			} else {
				wantAppError(t, err, tc.wantType, true)
			}
			if tc.wantDispatch {
				assert.Len(t, r.got, 1)
			} else {
				assert.Empty(t, r.got, "the plugin must not be called")
			}
		})
	}
}
