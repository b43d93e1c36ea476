// Package odkcentral is the built-in "odk-central" intake plugin: on each
// call it downloads the submissions of one ODK Central form (the OData feed
// GET /v1/projects/{project}/forms/{form}.svc/Submissions) for khula to
// submit as assessments. It keeps nothing: the export is returned and
// forgotten, and khula submits each submission once by its instanceID.
//
// Settings (site.yaml plugins.intake.config):
//
//	url: https://central.example.org   # required: the server's base URL
//	project: 3                         # required: the project's number
//	form_id: cwbtt-moutse              # required: the form's ID (khula instrument xform writes it)
//	token_env: KHULA_ODK_CENTRAL_TOKEN # required: variable holding an app-user or session token
//	timeout: 2m                        # per request (default 2m)
package odkcentral

import (
	"context"
	"fmt"

	"github.com/khula-cop/khula/internal/intake"
	"github.com/khula-cop/khula/plugins"
	"github.com/khula-cop/khula/plugins/builtin/internal/deliver"
	"github.com/khula-cop/khula/plugins/shared"
)

// Name is the plugin's name in site.yaml.
const Name = "odk-central"

// Settings are the plugin's config.
type Settings struct {
	deliver.FormServer
	Project int    `json:"project"`
	FormID  string `json:"form_id"`
}

// Plugin fetches one Central form's submissions.
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

// Name returns "odk-central".
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
	if s.Project <= 0 {
		return deliver.Permanent("project must be the Central project's number (1 or more), not %d", s.Project)
	}
	if s.FormID == "" {
		return deliver.Permanent("form_id is required: the form's ID in Central")
	}
	token, err := s.Token("the Central token")
	if err != nil {
		return err
	}
	p.token, p.ready = token, true
	return nil
}

// Fetch downloads the form's submissions as Central's OData JSON.
func (p *Plugin) Fetch(ctx context.Context, _ plugins.IntakeRequest) (plugins.IntakeBatch, error) {
	if !p.ready {
		return plugins.IntakeBatch{}, deliver.Permanent("not configured")
	}
	s := p.settings
	data, err := deliver.ReadAllFetched(intake.FetchCentral(ctx, s.URL, s.Project, s.FormID, p.token,
		intake.WithMaxBytes(plugins.MaxIntakeBytes), intake.WithTimeout(s.Timeout.Or(intake.DefaultFetchTimeout))))
	if err != nil {
		return plugins.IntakeBatch{}, err
	}
	return plugins.IntakeBatch{Format: string(intake.FormatCentralJSON), Data: data,
		Source: fmt.Sprintf("ODK Central %s, project %d, form %s", s.URL, s.Project, s.FormID)}, nil
}
