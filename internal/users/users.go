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
	"github.com/khula-cop/khula/sites"
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

// Sites finds a site by ID: the site directory (*sitedir.Directory) or
// the API's view of it.
type Sites interface {
	Site(id string) (*sites.Site, bool)
}

// Check validates a spec against the sites: every error listed.
func Check(s Spec, dir Sites) error {
	var errs []error
	for _, p := range problems(s, dir, flagWords) {
		errs = append(errs, errors.New(p.Message))
	}
	return errors.Join(errs...)
}

// Problem is one reason a spec or a scope was refused.
type Problem struct {
	// Field is what is wrong: username, role, sites, schools, practice or
	// sees_names.
	Field string
	// Code is unknown (a site or school not in the directory), required,
	// not_allowed or invalid.
	Code string
	// Value is the site or school at fault, if one is.
	Value string
	// Message says what is wrong in words.
	Message string
}

// wording picks the words of a message: the CLI's flags (--site) or plain
// words for the API and the web pages.
type wording bool

const (
	flagWords  wording = true
	plainWords wording = false
)

func (w wording) say(flags, plain string) string {
	if w == flagWords {
		return flags
	}
	return plain
}

// problems lists what is wrong with a spec: the role's rules on sites,
// schools and practice, and every site and school not in the directory.
func problems(s Spec, dir Sites, w wording) []Problem {
	var out []Problem
	add := func(field, code, value, msg string) {
		out = append(out, Problem{Field: field, Code: code, Value: value, Message: msg})
	}
	if s.Username == "" {
		add("username", "required", "", "username is required")
	}
	if _, err := auth.ParseRole(string(s.Role)); err != nil {
		add("role", "invalid", string(s.Role), err.Error())
	}
	switch s.Role {
	case auth.ProgrammeManager, auth.Ops:
		if len(s.Sites) > 0 || len(s.Schools) > 0 {
			field := "sites"
			if len(s.Sites) == 0 {
				field = "schools"
			}
			add(field, "not_allowed", "", fmt.Sprintf(w.say("a %s works across all sites: give no --site or --school",
				"a %s works across all sites: give no site or school"), s.Role))
		}
	case auth.SiteCoordinator:
		if len(s.Sites) == 0 {
			add("sites", "required", "", w.say("a site coordinator needs at least one --site", "a site coordinator needs at least one site"))
		}
		if len(s.Schools) > 0 {
			add("schools", "not_allowed", "", w.say("a site coordinator works across the site's schools: give no --school",
				"a site coordinator works across the site's schools: give no school"))
		}
	case auth.Advisor:
		if len(s.Schools) > 0 {
			add("schools", "not_allowed", "", w.say("an advisor reads whole sites: give no --school (--site narrows to some sites)",
				"an advisor reads whole sites: give no school (sites narrow the advisor to some sites; none: every site)"))
		}
	case auth.Practitioner:
		if len(s.Sites) != 1 || len(s.Schools) == 0 {
			field := "sites"
			if len(s.Sites) == 1 {
				field = "schools"
			}
			add(field, "required", "", w.say("a practitioner needs one --site and at least one --school",
				"a practitioner needs one site and at least one school of it"))
		}
		if !slices.Contains(auth.Practices, s.Practice) {
			add("practice", "required", s.Practice, fmt.Sprintf(w.say("a practitioner needs --practice, one of %v", "a practitioner needs a practice, one of %v"), auth.Practices))
		}
	}
	for _, id := range s.Sites {
		site, ok := dir.Site(id)
		if !ok {
			add("sites", "unknown", id, fmt.Sprintf("no site %q", id))
			continue
		}
		for _, sc := range s.Schools {
			if _, ok := site.School(sc); !ok {
				add("schools", "unknown", sc, fmt.Sprintf("site %s has no school %q", id, sc))
			}
		}
	}
	if s.SeesNames && s.Role != auth.Advisor {
		add("sees_names", "not_allowed", "", w.say("--sees-names is for advisors: the other roles' access to names follows their role",
			"seeing names is for advisors: the other roles' access to names follows their role"))
	}
	return out
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
