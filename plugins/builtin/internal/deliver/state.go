package deliver

import (
	"encoding/json"
	"fmt"
	"net/http"
	"time"
	_ "time/tzdata" // sites name IANA zones; minimal images lack the database

	"github.com/khula-cop/khula/plugins"
	"github.com/khula-cop/khula/plugins/journal"
)

// Location loads a site's time zone; empty means Africa/Johannesburg.
func Location(name string) (*time.Location, error) {
	if name == "" {
		name = "Africa/Johannesburg"
	}
	loc, err := time.LoadLocation(name)
	if err != nil {
		return nil, Permanent("time zone %q: %v", name, err)
	}
	return loc, nil
}

// OpenJournal opens the journal name in the plugin's state directory.
func OpenJournal(cfg plugins.Config, name string) (*journal.Journal, error) {
	if cfg.StateDir == "" {
		return nil, Permanent("the host gave no state directory: the idempotency journal needs one")
	}
	j, err := journal.Open(cfg.StateDir, name)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", plugins.ErrPermanent, err)
	}
	return j, nil
}

// HTTPClient is the client built-ins post with: no global state, bounded
// redirects, time-outs from the call's context and the settings.
func HTTPClient() *http.Client {
	return &http.Client{
		Transport: http.DefaultTransport.(*http.Transport).Clone(),
		CheckRedirect: func(req *http.Request, via []*http.Request) error {
			if len(via) >= 3 {
				return http.ErrUseLastResponse
			}
			return nil
		},
	}
}

// ReferralStatus reads a referral's state from a journal whose receipts are
// plugins.ReferralReceipt.
func ReferralStatus(j *journal.Journal, key string) plugins.ReferralStatus {
	e, ok := j.Get(key)
	st := plugins.ReferralStatus{IdempotencyKey: key, State: plugins.ReferralUnknown}
	if !ok {
		return st
	}
	st.UpdatedAt = e.At
	switch e.State {
	case journal.Pending:
		st.State, st.Detail = plugins.ReferralPending, fmt.Sprintf("attempt %d not confirmed; the next Dispatch resends under the same key", e.Attempt)
	case journal.Failed:
		st.State, st.Detail = plugins.ReferralFailed, e.Error
	case journal.Done:
		var r plugins.ReferralReceipt
		_ = json.Unmarshal(e.Receipt, &r)
		st.State, st.DispatchRef = plugins.ReferralDispatched, r.DispatchRef
	}
	return st
}

// DeliveryState reads a message's state from a journal whose receipts are
// plugins.Delivery.
func DeliveryState(j *journal.Journal, key string) plugins.DeliveryState {
	e, ok := j.Get(key)
	st := plugins.DeliveryState{IdempotencyKey: key, State: plugins.DeliveryUnknown}
	if !ok {
		return st
	}
	st.UpdatedAt = e.At
	switch e.State {
	case journal.Pending:
		st.State, st.Detail = plugins.DeliveryPending, fmt.Sprintf("attempt %d not confirmed", e.Attempt)
	case journal.Failed:
		st.State, st.Detail = plugins.DeliveryFailed, e.Error
	case journal.Done:
		var d plugins.Delivery
		_ = json.Unmarshal(e.Receipt, &d)
		st.State, st.MessageRef = plugins.DeliverySent, d.MessageRef
	}
	return st
}
