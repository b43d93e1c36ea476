// Command sms-gateway is an example third-party khula plugin, built the way
// a site's IT team would build theirs: its own Go module, depending only on
// khula's public plugin packages. It serves the notify role by posting each
// message to an HTTP SMS gateway:
//
//	POST <url>/messages
//	Authorization: Bearer <API key from $api_key_env>
//	Idempotency-Key: <the message's idempotency key>
//	{"to": "+27...", "from": "<sender_id>", "text": "...", "reference": "<idempotency key>"}
//
// and expects 2xx with {"id": "..."}; 4xx (but 408, 409, 429) is a
// permanent refusal, anything else is retried. A message is sent once per
// idempotency key (plugins/journal in the plugin's state directory); after a
// crash mid-send it is resent under the same key for the gateway to drop.
//
// Build it, pin it, name it in site.yaml:
//
//	go build -o /opt/khula/plugins/sms-gateway .
//	sha256sum /opt/khula/plugins/sms-gateway
//
//	plugins:
//	  notify:
//	    path: /opt/khula/plugins/sms-gateway
//	    sha256: <the sum>
//	    config: {url: https://sms.example.org/api, api_key_env: SMS_API_KEY, sender_id: KHULA}
package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"strings"
	"time"

	"github.com/khula-cop/khula/plugins"
	"github.com/khula-cop/khula/plugins/journal"
	"github.com/khula-cop/khula/plugins/shared"
)

func main() {
	if err := shared.Serve(&gateway{}); err != nil {
		fmt.Fprintln(os.Stderr, "sms-gateway:", err)
		os.Exit(1)
	}
}

// settings are the plugin's config in site.yaml.
type settings struct {
	URL       string `json:"url"`
	APIKeyEnv string `json:"api_key_env"`
	SenderID  string `json:"sender_id"`
}

type gateway struct {
	settings settings
	apiKey   string
	journal  *journal.Journal
	client   *http.Client
}

var (
	_ shared.Impl           = (*gateway)(nil)
	_ shared.Versioned      = (*gateway)(nil)
	_ plugins.NotifyService = (*gateway)(nil)
)

func (g *gateway) Name() string    { return "sms-gateway" }
func (g *gateway) Version() string { return "0.1.0" }

func (g *gateway) Configure(ctx context.Context, cfg plugins.Config) error {
	if err := json.Unmarshal(cfg.Settings, &g.settings); err != nil {
		return fmt.Errorf("%w: config: %v", plugins.ErrPermanent, err)
	}
	if !strings.HasPrefix(g.settings.URL, "http://") && !strings.HasPrefix(g.settings.URL, "https://") {
		return fmt.Errorf("%w: config: url %q must be an http(s) URL", plugins.ErrPermanent, g.settings.URL)
	}
	if g.settings.APIKeyEnv != "" {
		g.apiKey = os.Getenv(g.settings.APIKeyEnv)
		if g.apiKey == "" {
			return fmt.Errorf("%w: config: $%s is empty", plugins.ErrPermanent, g.settings.APIKeyEnv)
		}
	}
	j, err := journal.Open(cfg.StateDir, "sms")
	if err != nil {
		return fmt.Errorf("%w: %v", plugins.ErrPermanent, err)
	}
	g.journal, g.client = j, &http.Client{}
	return nil
}

type smsRequest struct {
	To        string `json:"to"`
	From      string `json:"from,omitempty"`
	Text      string `json:"text"`
	Reference string `json:"reference"`
}

func (g *gateway) Send(ctx context.Context, msg plugins.Message) (plugins.Delivery, error) {
	if msg.To.Channel != "sms" {
		return plugins.Delivery{}, fmt.Errorf("%w: the sms-gateway plugin sends SMS only, not %q", plugins.ErrPermanent, msg.To.Channel)
	}
	text := msg.Body
	if msg.Subject != "" {
		text = msg.Subject + "\n" + msg.Body
	}
	d, dup, err := journal.Do(ctx, g.journal, msg.IdempotencyKey, journal.Op[struct{}, plugins.Delivery]{
		Send: func(ctx context.Context, _ struct{}, _ journal.Attempt) (plugins.Delivery, error) {
			id, err := g.post(ctx, msg.IdempotencyKey, smsRequest{To: msg.To.Address, From: g.settings.SenderID, Text: text, Reference: msg.IdempotencyKey})
			if err != nil {
				return plugins.Delivery{}, err
			}
			return plugins.Delivery{MessageRef: "sms:" + id}, nil
		},
	})
	d.Duplicate = dup
	return d, err
}

func (g *gateway) post(ctx context.Context, key string, body smsRequest) (string, error) {
	payload, _ := json.Marshal(body)
	ctx, cancel := context.WithTimeout(ctx, 15*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, strings.TrimRight(g.settings.URL, "/")+"/messages", bytes.NewReader(payload))
	if err != nil {
		return "", fmt.Errorf("%w: %v", plugins.ErrPermanent, err)
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Idempotency-Key", key)
	if g.apiKey != "" {
		req.Header.Set("Authorization", "Bearer "+g.apiKey)
	}
	resp, err := g.client.Do(req)
	if err != nil {
		return "", fmt.Errorf("%w: SMS gateway: %v", plugins.ErrUnavailable, err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(io.LimitReader(resp.Body, 1<<16))
	switch {
	case resp.StatusCode/100 == 2:
		var r struct {
			ID string `json:"id"`
		}
		if err := json.Unmarshal(raw, &r); err != nil || r.ID == "" {
			return "", fmt.Errorf("%w: SMS gateway answered %s without a message id", plugins.ErrUnavailable, resp.Status)
		}
		return r.ID, nil
	case resp.StatusCode == 408 || resp.StatusCode == 409 || resp.StatusCode == 429 || resp.StatusCode >= 500:
		return "", fmt.Errorf("%w: SMS gateway answered %s", plugins.ErrUnavailable, resp.Status)
	}
	return "", fmt.Errorf("%w: SMS gateway refused the message: %s %s", plugins.ErrPermanent, resp.Status, bytes.TrimSpace(raw))
}

func (g *gateway) DeliveryStatus(ctx context.Context, key string) (plugins.DeliveryState, error) {
	st := plugins.DeliveryState{IdempotencyKey: key, State: plugins.DeliveryUnknown}
	e, ok := g.journal.Get(key)
	if !ok {
		return st, nil
	}
	st.UpdatedAt = e.At
	switch e.State {
	case journal.Pending:
		st.State = plugins.DeliveryPending
	case journal.Failed:
		st.State, st.Detail = plugins.DeliveryFailed, e.Error
	case journal.Done:
		var d plugins.Delivery
		if err := json.Unmarshal(e.Receipt, &d); err != nil {
			return st, errors.New("damaged journal entry")
		}
		st.State, st.MessageRef = plugins.DeliverySent, d.MessageRef
	}
	return st, nil
}
