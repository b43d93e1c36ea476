// Package users creates users and their API tokens: the operations behind
// `khula user` and the dev seed, kept out of the CLI so both share them.
package users

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/google/uuid"

	"github.com/khula-cop/khula/internal/auth"
	"github.com/khula-cop/khula/internal/sitedir"
	"github.com/khula-cop/khula/internal/store"
)

// Spec describes a user to create.
type Spec struct {
	Username    string
	DisplayName string
	Role        auth.Role
	Practice    string
	Sites       []string
	Schools     []string
	Password    string
	// SeesNames grants an advisor children's names.
	SeesNames bool
}

// Check validates a spec against the sites: every error listed.
func Check(s Spec, dir *sitedir.Directory) error {
	var errs []error
	if s.Username == "" {
		errs = append(errs, errors.New("username is required"))
	}
	if _, err := auth.ParseRole(string(s.Role)); err != nil {
		errs = append(errs, err)
	}
	switch s.Role {
	case auth.ProgrammeManager, auth.Ops:
		if len(s.Sites) > 0 || len(s.Schools) > 0 {
			errs = append(errs, fmt.Errorf("a %s works across all sites: give no --site or --school", s.Role))
		}
	case auth.SiteCoordinator:
		if len(s.Sites) == 0 {
			errs = append(errs, errors.New("a site coordinator needs at least one --site"))
		}
		if len(s.Schools) > 0 {
			errs = append(errs, errors.New("a site coordinator works across the site's schools: give no --school"))
		}
	case auth.Advisor:
		if len(s.Schools) > 0 {
			errs = append(errs, errors.New("an advisor reads whole sites: give no --school (--site narrows to some sites)"))
		}
	case auth.Practitioner:
		if len(s.Sites) != 1 || len(s.Schools) == 0 {
			errs = append(errs, errors.New("a practitioner needs one --site and at least one --school"))
		}
		if !slices.Contains(auth.Practices, s.Practice) {
			errs = append(errs, fmt.Errorf("a practitioner needs --practice, one of %v", auth.Practices))
		}
	}
	for _, id := range s.Sites {
		site, ok := dir.Site(id)
		if !ok {
			errs = append(errs, fmt.Errorf("no site %q", id))
			continue
		}
		for _, sc := range s.Schools {
			if _, ok := site.School(sc); !ok {
				errs = append(errs, fmt.Errorf("site %s has no school %q", id, sc))
			}
		}
	}
	if s.SeesNames && s.Role != auth.Advisor {
		errs = append(errs, errors.New("--sees-names is for advisors: the other roles' access to names follows their role"))
	}
	return errors.Join(errs...)
}

// Create adds a user (with a password when the spec has one).
func Create(ctx context.Context, st *store.Store, dir *sitedir.Directory, s Spec) (store.User, error) {
	if err := Check(s, dir); err != nil {
		return store.User{}, err
	}
	u := store.User{
		ID: uuid.NewString(), Username: s.Username, DisplayName: s.DisplayName, Role: string(s.Role), Practice: s.Practice,
		Sites: store.JoinList(s.Sites), Schools: store.JoinList(s.Schools), SeesNames: s.SeesNames, CreatedAt: time.Now(),
	}
	if u.DisplayName == "" {
		u.DisplayName = s.Username
	}
	if s.Password != "" {
		h, err := auth.HashPassword(s.Password)
		if err != nil {
			return u, err
		}
		u.PasswordHash = h
	}
	if err := st.CreateUser(ctx, u); err != nil {
		return u, err
	}
	return u, nil
}

// NewToken creates an API token for a user and returns it in full: it is
// shown once and only its hash is kept.
func NewToken(ctx context.Context, st *store.Store, username, name string, ttl time.Duration) (string, error) {
	u, err := st.UserByUsername(ctx, username)
	if err != nil {
		return "", fmt.Errorf("no user %q", username)
	}
	id, secret, full, err := auth.NewToken()
	if err != nil {
		return "", err
	}
	t := store.APIToken{ID: id, UserID: u.ID, Name: name, SecretHash: auth.Hash(secret), CreatedAt: time.Now()}
	if ttl > 0 {
		exp := time.Now().Add(ttl).UTC()
		t.ExpiresAt = &exp
	}
	if err := st.CreateToken(ctx, t); err != nil {
		return "", err
	}
	return full, nil
}
