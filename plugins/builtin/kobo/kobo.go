// Package kobo is the built-in "kobo" intake plugin: on each call it
// downloads the submissions of one KoboToolbox form (asset), following the
// API's pages (GET /api/v2/assets/{uid}/data/?format=json), for khula to
// submit as assessments. It keeps nothing: khula submits each submission
// once by its instanceID however often it is fetched.
//
// Settings (site.yaml plugins.intake.config):
//
//	url: https://kf.kobotoolbox.org   # required: the server's base URL
//	asset_uid: aBcD1234efGh           # required: the form's asset UID
//	token_env: KHULA_KOBO_TOKEN       # required: variable holding the API token
//	timeout: 2m                       # per request (default 2m)
package kobo

import (
	"context"
	"fmt"

	"github.com/khula-cop/khula/internal/intake"
	"github.com/khula-cop/khula/plugins"
	"github.com/khula-cop/khula/plugins/builtin/internal/deliver"
	"github.com/khula-cop/khula/plugins/shared"
)

// Name is the plugin's name in site.yaml.
const Name = "kobo"

// Settings are the plugin's config.
type Settings struct {
	deliver.FormServer
	AssetUID string `json:"asset_uid"`
}

// Plugin fetches one KoboToolbox form's submissions.
type Plugin struct {
	settings Settings
	token    string
	ready    bool
}

// New returns an unconfigured plugin.
func New() *Plugin { return &Plugin{} }

var (
	_ shared.Impl     = (*Plugin)(nil)
	_ plugins.Intaker = (*Plugin)(nil)
)

// Name returns "kobo".
func (p *Plugin) Name() string { return Name }

// Configure checks the settings and reads the token.
func (p *Plugin) Configure(_ context.Context, cfg plugins.Config) error {
	if p.ready {
		return deliver.Permanent("already configured")
	}
	if err := deliver.Decode(cfg.Settings, &p.settings); err != nil {
		return err
	}
	s := p.settings
	if s.AssetUID == "" {
		return deliver.Permanent("asset_uid is required: the form's asset UID in KoboToolbox")
	}
	token, err := s.Token("the KoboToolbox API token")
	if err != nil {
		return err
	}
	p.token, p.ready = token, true
	return nil
}

// Fetch downloads the form's submissions as one KoboToolbox JSON document.
func (p *Plugin) Fetch(ctx context.Context, _ plugins.IntakeRequest) (plugins.IntakeBatch, error) {
	if !p.ready {
		return plugins.IntakeBatch{}, deliver.Permanent("not configured")
	}
	s := p.settings
	data, err := deliver.ReadAllFetched(intake.FetchKobo(ctx, s.URL, s.AssetUID, p.token,
		intake.WithMaxBytes(plugins.MaxIntakeBytes), intake.WithTimeout(s.Timeout.Or(intake.DefaultFetchTimeout))))
	if err != nil {
		return plugins.IntakeBatch{}, err
	}
	return plugins.IntakeBatch{Format: string(intake.FormatKoboJSON), Data: data,
		Source: fmt.Sprintf("KoboToolbox %s, asset %s", s.URL, s.AssetUID)}, nil
}
