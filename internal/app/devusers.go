package app

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/khula-cop/khula/internal/auth"
	"github.com/khula-cop/khula/internal/sitedir"
	"github.com/khula-cop/khula/internal/store"
	"github.com/khula-cop/khula/internal/users"
)

// SimulatorUser is the dev user the simulator acts as: a site coordinator
// of every site, who may do everything practitioners do there.
const SimulatorUser = "coordinator"

// TokenFile is where dev keeps a user's API token (mode 0600).
func TokenFile(dataDir, username string) string {
	return filepath.Join(dataDir, "tokens", username+".token")
}

// seedDevUsers creates one user per role on a database without users, with
// random passwords and a token each, written to files in the data directory
// readable only by its owner. It returns a line for the banner.
func seedDevUsers(ctx context.Context, st *store.Store, dir *sitedir.Directory, dataDir string) (string, error) {
	access := filepath.Join(dataDir, "dev-access.txt")
	n, err := st.CountUsers(ctx)
	if err != nil {
		return "", err
	}
	if n > 0 {
		return fmt.Sprintf("sign-in details in %s", access), nil
	}
	var siteIDs []string
	for _, s := range dir.Sites() {
		siteIDs = append(siteIDs, s.ID)
	}
	specs := []users.Spec{
		{Username: "manager", DisplayName: "Programme manager (demo)", Role: auth.ProgrammeManager},
		{Username: SimulatorUser, DisplayName: "Site coordinator (demo)", Role: auth.SiteCoordinator, Sites: siteIDs},
		{Username: "ops", DisplayName: "Ops (demo)", Role: auth.Ops},
	}
	if site, ok := dir.Site("johannesburg"); ok && len(site.Schools) > 0 {
		specs = append(specs, users.Spec{Username: "social-worker", DisplayName: "Social worker, " + site.Schools[0].Name,
			Role: auth.Practitioner, Practice: "social_worker", Sites: []string{site.ID}, Schools: []string{site.Schools[0].ID}})
	}
	if err := os.MkdirAll(filepath.Join(dataDir, "tokens"), 0o700); err != nil {
		return "", err
	}
	var b strings.Builder
	b.WriteString("# khula dev sign-in details (made-up demo users; keep this file private)\n")
	b.WriteString("# Browser: POST /api/v1/session {username, password}. API: Authorization: Bearer <token>.\n")
	for _, spec := range specs {
		pw, err := randomPassword()
		if err != nil {
			return "", err
		}
		spec.Password = pw
		if _, err := users.Create(ctx, st, dir, spec); err != nil {
			return "", fmt.Errorf("dev user %s: %w", spec.Username, err)
		}
		tok, err := users.NewToken(ctx, st, spec.Username, "dev", 0)
		if err != nil {
			return "", err
		}
		if err := os.WriteFile(TokenFile(dataDir, spec.Username), []byte(tok+"\n"), 0o600); err != nil {
			return "", err
		}
		fmt.Fprintf(&b, "%-14s role %-18s password %s  token file %s\n", spec.Username, spec.Role, pw, TokenFile(dataDir, spec.Username))
	}
	if err := os.WriteFile(access, []byte(b.String()), 0o600); err != nil {
		return "", err
	}
	return fmt.Sprintf("created users manager, %s, social-worker and ops: passwords and tokens in %s", SimulatorUser, access), nil
}

func randomPassword() (string, error) {
	b := make([]byte, 12)
	if _, err := rand.Read(b); err != nil {
		return "", err
	}
	return base64.RawURLEncoding.EncodeToString(b), nil
}
