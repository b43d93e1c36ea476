package activities_test

import (
	"errors"
	"fmt"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/khula-cop/khula/activities"
	"github.com/khula-cop/khula/internal/messages"
	"github.com/khula-cop/khula/plugins"
	"github.com/khula-cop/khula/sites"
)

func email(addr string) sites.Contact { return sites.Contact{Channel: "email", Address: addr} }

// testSite has one school with a full LLCoP (a safeguarding social worker
// speaking isiZulu, a Sesotho teacher and a second, English social worker)
// and one school with only a teacher, so every fallback can be reached.
func testSite() *sites.Site {
	return &sites.Site{
		ID:              "jhb",
		DefaultLanguage: "en",
		Coordinator:     sites.Person{Role: sites.RoleSiteCoordinator, Title: "Coordinator", Language: "en", Contact: email("coord@example.org")},
		Schools: []sites.School{
			{ID: "meadowlands", LLCoP: []sites.Person{
				{Role: sites.RoleSocialWorker, Title: "Social worker", Safeguarding: true, Language: "zu", Contact: email("sw1@example.org")},
				{Role: sites.RoleTeacher, Title: "Teacher", Language: "st", Contact: sites.Contact{Channel: "sms", Address: "+27110000001"}},
				{Role: sites.RoleSocialWorker, Title: "Second social worker", Language: "en", Contact: email("sw2@example.org")},
			}},
			{ID: "malvern", LLCoP: []sites.Person{
				{Role: sites.RoleTeacher, Title: "Teacher", Language: "en", Contact: email("teacher.malvern@example.org")},
			}},
		},
		Services: []sites.Service{
			{ID: "clinic-a", Type: "clinic", Schools: []string{"meadowlands"}, Contact: email("clinic.a@example.org")},
			{ID: "clinic-b", Type: "clinic", Schools: []string{"malvern", "alexandra"}, Contact: email("clinic.b@example.org")},
			{ID: "dsd", Type: "social_development", Contact: email("dsd@example.org")},
			{ID: "dsd-2", Type: "social_development", Contact: email("dsd2@example.org")},
		},
	}
}

// testCatalog has the built-in English texts plus isiZulu and Sesotho
// versions of the safeguarding alert.
func testCatalog(t *testing.T) *messages.Catalog {
	t.Helper()
	c := messages.NewCatalog()
	require.NoError(t, c.Add(messages.SafeguardingAlert, "zu", "OKUPHUTHUMAYO", "Umjikelezo {{.cycle}} e-{{.school}}: {{.flags}}"))
	require.NoError(t, c.Add(messages.SafeguardingAlert, "st", "HO POTLAKILE", "Potoloho {{.cycle}} sekolong {{.school}}: {{.flags}}"))
	return c
}

func alertParams(school string) map[string]string {
	return map[string]string{"cycle": "cycle/jhb/3/c-0001", "school": school, "flags": "protection.disclosure"}
}

// sent is what the test checks of each message the plugin received.
type sent struct {
	Key, Channel, Address, Language, Subject, Body string
}

func sentOf(msgs []plugins.Message) []sent {
	out := make([]sent, 0, len(msgs))
	for _, m := range msgs {
		out = append(out, sent{Key: m.IdempotencyKey, Channel: m.To.Channel, Address: m.To.Address, Language: m.Language, Subject: m.Subject, Body: m.Body})
	}
	return out
}

func TestNotifyRoutesAndRendersPerRecipient(t *testing.T) {
	const (
		enSubject = "URGENT: safeguarding concern"
		zuSubject = "OKUPHUTHUMAYO"
		stSubject = "HO POTLAKILE"
	)
	enBody := func(school string) string {
		return "Cycle cycle/jhb/3/c-0001 at " + school + " raised a safeguarding concern (protection.disclosure). An urgent referral has been made. Please act today."
	}
	zuBody := "Umjikelezo cycle/jhb/3/c-0001 e-meadowlands: protection.disclosure"
	stBody := "Potoloho cycle/jhb/3/c-0001 sekolong meadowlands: protection.disclosure"
	coordinator := func(key, school string) sent {
		return sent{Key: key, Channel: "email", Address: "coord@example.org", Language: "en", Subject: enSubject, Body: enBody(school)}
	}

	cases := []struct {
		name   string
		school string
		to     string
		want   []sent
	}{
		{
			name: "safeguarding lead of the school, in isiZulu", school: "meadowlands", to: activities.ToSafeguarding,
			want: []sent{{Key: "n1/0", Channel: "email", Address: "sw1@example.org", Language: "zu", Subject: zuSubject, Body: zuBody}},
		},
		{
			name: "coordinator", school: "meadowlands", to: activities.ToCoordinator,
			want: []sent{coordinator("n1/0", "meadowlands")},
		},
		{
			name: "whole LLCoP, each in their language, keys numbered in order", school: "meadowlands", to: activities.ToLLCoP,
			want: []sent{
				{Key: "n1/0", Channel: "email", Address: "sw1@example.org", Language: "zu", Subject: zuSubject, Body: zuBody},
				{Key: "n1/1", Channel: "sms", Address: "+27110000001", Language: "st", Subject: stSubject, Body: stBody},
				{Key: "n1/2", Channel: "email", Address: "sw2@example.org", Language: "en", Subject: enSubject, Body: enBody("meadowlands")},
			},
		},
		{
			name: "social workers only", school: "meadowlands", to: activities.ToSocialWorker,
			want: []sent{
				{Key: "n1/0", Channel: "email", Address: "sw1@example.org", Language: "zu", Subject: zuSubject, Body: zuBody},
				{Key: "n1/1", Channel: "email", Address: "sw2@example.org", Language: "en", Subject: enSubject, Body: enBody("meadowlands")},
			},
		},
		{
			name: "school with no safeguarding lead falls back to the coordinator", school: "malvern", to: activities.ToSafeguarding,
			want: []sent{coordinator("n1/0", "malvern")},
		},
		{
			name: "school with no social worker falls back to the coordinator", school: "malvern", to: activities.ToSocialWorker,
			want: []sent{coordinator("n1/0", "malvern")},
		},
		{
			name: "LLCoP of a school the site does not have goes to the coordinator", school: "atlantis", to: activities.ToLLCoP,
			want: []sent{coordinator("n1/0", "atlantis")},
		},
		{
			name: "safeguarding at an unknown school goes to the coordinator", school: "atlantis", to: activities.ToSafeguarding,
			want: []sent{coordinator("n1/0", "atlantis")},
		},
		{
			name: "social workers at an unknown school go to the coordinator", school: "atlantis", to: activities.ToSocialWorker,
			want: []sent{coordinator("n1/0", "atlantis")},
		},
		{
			name: "unknown audience goes to the coordinator", school: "meadowlands", to: "parents",
			want: []sent{coordinator("n1/0", "meadowlands")},
		},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			n := &fakeNotifier{}
			a := &activities.Activities{Sites: fakeSites{"jhb": testSite()}, Plugins: &fakePlugins{notifier: n}, Messages: testCatalog(t)}
			env := newEnv(a, nil)
			val, err := env.ExecuteActivity(a.Notify, activities.NotifyInput{
				Key: "n1", SiteID: "jhb", SchoolID: tc.school, To: tc.to, Template: messages.SafeguardingAlert, Params: alertParams(tc.school),
			})
			require.NoError(t, err)
			var res activities.NotifyResult
			require.NoError(t, val.Get(&res))
			assert.Equal(t, activities.NotifyResult{Sent: len(tc.want)}, res)
			assert.Equal(t, tc.want, sentOf(n.got))
			for _, m := range n.got {
				assert.Equal(t, "jhb", m.SiteID, "site of %s", m.IdempotencyKey)
				assert.Equal(t, messages.SafeguardingAlert, m.Template, "template of %s", m.IdempotencyKey)
			}
		})
	}
}

func TestNotifyCountsDuplicates(t *testing.T) {
	cases := []struct {
		name      string
		seen      []string // keys the plugin sent before this attempt
		want      activities.NotifyResult
		wantCalls int
	}{
		{name: "first attempt", want: activities.NotifyResult{Sent: 3}, wantCalls: 3},
		{name: "retry after the first message went out", seen: []string{"n2/0"}, want: activities.NotifyResult{Sent: 2, Duplicates: 1}, wantCalls: 3},
		{name: "retry after everything went out", seen: []string{"n2/0", "n2/1", "n2/2"}, want: activities.NotifyResult{Duplicates: 3}, wantCalls: 3},
		{name: "keys of another notification do not count", seen: []string{"n1/0", "n1/1"}, want: activities.NotifyResult{Sent: 3}, wantCalls: 3},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			n := &fakeNotifier{seen: map[string]bool{}}
			for _, k := range tc.seen {
				n.seen[k] = true
			}
			a := &activities.Activities{Sites: fakeSites{"jhb": testSite()}, Plugins: &fakePlugins{notifier: n}, Messages: testCatalog(t)}
			val, err := newEnv(a, nil).ExecuteActivity(a.Notify, activities.NotifyInput{
				Key: "n2", SiteID: "jhb", SchoolID: "meadowlands", To: activities.ToLLCoP, Template: messages.SafeguardingAlert, Params: alertParams("meadowlands"),
			})
			require.NoError(t, err)
			var res activities.NotifyResult
			require.NoError(t, val.Get(&res))
			assert.Equal(t, tc.want, res)
			assert.Len(t, n.got, tc.wantCalls)
		})
	}
}

// A transient failure part-way through is retried with the same keys, so
// the recipients reached before it are not messaged twice.
func TestNotifyRetryAfterPartialFailureSendsEachKeyOnce(t *testing.T) {
	n := &fakeNotifier{failOn: "n3/1", err: errors.New("smtp: connection reset")}
	a := &activities.Activities{Sites: fakeSites{"jhb": testSite()}, Plugins: &fakePlugins{notifier: n}, Messages: testCatalog(t)}
	in := activities.NotifyInput{Key: "n3", SiteID: "jhb", SchoolID: "meadowlands", To: activities.ToLLCoP, Template: messages.SafeguardingAlert, Params: alertParams("meadowlands")}

	_, err := newEnv(a, nil).ExecuteActivity(a.Notify, in)
	wantRetryable(t, err)

	val, err := newEnv(a, nil).ExecuteActivity(a.Notify, in)
	require.NoError(t, err)
	var res activities.NotifyResult
	require.NoError(t, val.Get(&res))
	assert.Equal(t, activities.NotifyResult{Sent: 2, Duplicates: 1}, res)
	assert.Equal(t, map[string]bool{"n3/0": true, "n3/1": true, "n3/2": true}, n.seen)
}

func TestNotifyErrors(t *testing.T) {
	cases := []struct {
		name         string
		site         string
		template     string
		sendErr      error
		notifierErr  error
		wantType     string // "" means an ordinary, retryable error
		nonRetryable bool
	}{
		{name: "plugin rejects permanently", site: "jhb", template: messages.SafeguardingAlert,
			sendErr: fmt.Errorf("address bounced: %w", plugins.ErrPermanent), wantType: activities.ErrTypePluginRejected, nonRetryable: true},
		{name: "plugin rejection wrapped twice is still permanent", site: "jhb", template: messages.SafeguardingAlert,
			sendErr: fmt.Errorf("webhook: %w", fmt.Errorf("422 from gateway: %w", plugins.ErrPermanent)), wantType: activities.ErrTypePluginRejected, nonRetryable: true},
		{name: "plugin fails transiently", site: "jhb", template: messages.SafeguardingAlert,
			sendErr: errors.New("dial tcp: connection refused")},
		{name: "no notify plugin for the site yet", site: "jhb", template: messages.SafeguardingAlert,
			notifierErr: errors.New("plugin process starting")},
		{name: "unknown site", site: "atlantis", template: messages.SafeguardingAlert,
			wantType: activities.ErrTypeUnknownSite, nonRetryable: true},
		{name: "unknown template", site: "jhb", template: "no_such_template",
			wantType: "BadTemplate", nonRetryable: true},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			n := &fakeNotifier{err: tc.sendErr}
			a := &activities.Activities{Sites: fakeSites{"jhb": testSite()}, Plugins: &fakePlugins{notifier: n, notifierErr: tc.notifierErr}, Messages: testCatalog(t)}
			_, err := newEnv(a, nil).ExecuteActivity(a.Notify, activities.NotifyInput{
				Key: "n4", SiteID: tc.site, SchoolID: "meadowlands", To: activities.ToCoordinator, Template: tc.template, Params: alertParams("meadowlands"),
			})
			if tc.wantType == "" {
				wantRetryable(t, err)
			} else {
				wantAppError(t, err, tc.wantType, tc.nonRetryable)
			}
			assert.Empty(t, n.got, "no message may be recorded as sent")
		})
	}
}
