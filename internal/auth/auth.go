// Package auth holds khula's access model: users with a role and a scope of
// sites and schools, API tokens and browser sessions stored only as hashes,
// and the rules for who may see or do what. A programme manager works
// across all sites; a site coordinator within their sites; a practitioner
// (social worker, teacher, nurse, fieldworker) within their schools; ops
// staff see health and metrics, never a child's data; an advisor (the
// Advisory Level CoP's academic and research partners) reads every site's
// aggregates and reviews plans for children at high risk, without
// children's names unless a programme manager grants them.
package auth

import (
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"

	"golang.org/x/crypto/bcrypt"
)

// Role is what a user does.
type Role string

// The roles.
const (
	ProgrammeManager Role = "programme_manager"
	SiteCoordinator  Role = "site_coordinator"
	Practitioner     Role = "practitioner"
	Ops              Role = "ops"
	// Advisor is a member of the Advisory Level CoP (ALCoP).
	Advisor Role = "advisor"
)

// Roles lists every role.
var Roles = []Role{ProgrammeManager, SiteCoordinator, Practitioner, Ops, Advisor}

// Practices a practitioner can have.
var Practices = []string{"social_worker", "teacher", "nurse", "fieldworker"}

// ParseRole checks a role name.
func ParseRole(s string) (Role, error) {
	for _, r := range Roles {
		if string(r) == s {
			return r, nil
		}
	}
	return "", fmt.Errorf("role %q is not one of programme_manager, site_coordinator, practitioner, ops, advisor", s)
}

// Principal is the authenticated caller of a request.
type Principal struct {
	UserID      string
	Username    string
	DisplayName string
	Role        Role
	Practice    string
	Sites       []string
	Schools     []string
	// SeesNames is set for an advisor granted children's names.
	SeesNames bool
	// Via is "token" or "session"; CSRF is the session's anti-forgery token.
	Via  string
	CSRF string
}

// SeesChildren reports whether the role may ever see a child's data.
func (p Principal) SeesChildren() bool { return p.Role != Ops }

// InSite reports whether the principal works at site (programme managers work everywhere).
func (p Principal) InSite(site string) bool {
	switch p.Role {
	case ProgrammeManager:
		return true
	case Advisor:
		// Read-only, and only where a route lets advisors in.
		return len(p.Sites) == 0 || slices.Contains(p.Sites, site)
	case SiteCoordinator, Practitioner:
		return slices.Contains(p.Sites, site)
	}
	return false
}

// InSchool reports whether the principal may see the children of a school.
func (p Principal) InSchool(site, school string) bool {
	switch p.Role {
	case ProgrammeManager:
		return true
	case SiteCoordinator:
		return slices.Contains(p.Sites, site)
	case Practitioner:
		return slices.Contains(p.Sites, site) && slices.Contains(p.Schools, school)
	}
	return false
}

// TokenPrefix starts every API token, so a leaked one is easy to spot and revoke.
const TokenPrefix = "khula_"

// NewToken makes an API token: "khula_<id>_<secret>". Only the secret's
// hash is stored; the full token is shown once.
func NewToken() (id, secret, full string, err error) {
	id, err = randomString(9)
	if err != nil {
		return "", "", "", err
	}
	secret, err = randomString(24)
	if err != nil {
		return "", "", "", err
	}
	id = strings.ToLower(strings.NewReplacer("-", "a", "_", "b").Replace(id))
	return id, secret, TokenPrefix + id + "_" + secret, nil
}

// ErrMalformedToken reports a bearer token that is not a khula token.
var ErrMalformedToken = errors.New("auth: not a khula API token")

// ParseToken splits a full token into its ID and secret.
func ParseToken(full string) (id, secret string, err error) {
	rest, ok := strings.CutPrefix(full, TokenPrefix)
	if !ok {
		return "", "", ErrMalformedToken
	}
	id, secret, ok = strings.Cut(rest, "_")
	if !ok || id == "" || len(secret) < 16 {
		return "", "", ErrMalformedToken
	}
	return id, secret, nil
}

// Hash is the stored form of a token secret or session ID.
func Hash(secret string) string {
	sum := sha256.Sum256([]byte(secret))
	return hex.EncodeToString(sum[:])
}

// HashMatches compares a secret with a stored hash in constant time.
func HashMatches(stored, secret string) bool {
	return subtle.ConstantTimeCompare([]byte(stored), []byte(Hash(secret))) == 1
}

// NewSessionID makes a browser session ID and its CSRF token.
func NewSessionID() (id, csrf string, err error) {
	if id, err = randomString(32); err != nil {
		return "", "", err
	}
	csrf, err = randomString(24)
	return id, csrf, err
}

// MinPasswordLength is the shortest password accepted.
const MinPasswordLength = 10

// HashPassword hashes a password with bcrypt.
func HashPassword(pw string) (string, error) {
	if len(pw) < MinPasswordLength {
		return "", fmt.Errorf("auth: a password needs at least %d characters", MinPasswordLength)
	}
	h, err := bcrypt.GenerateFromPassword([]byte(pw), bcrypt.DefaultCost)
	if err != nil {
		return "", fmt.Errorf("auth: hashing password: %w", err)
	}
	return string(h), nil
}

// PasswordMatches checks a password against its bcrypt hash.
func PasswordMatches(hash, pw string) bool {
	return hash != "" && bcrypt.CompareHashAndPassword([]byte(hash), []byte(pw)) == nil
}

func randomString(n int) (string, error) {
	b := make([]byte, n)
	if _, err := rand.Read(b); err != nil {
		return "", fmt.Errorf("auth: random: %w", err)
	}
	return base64.RawURLEncoding.EncodeToString(b), nil
}

var (
	dummyOnce sync.Once
	dummyHash []byte
)

// SpendPasswordCheck costs what a real password check costs, so that a
// sign-in for an unknown user takes as long as one for a known user.
func SpendPasswordCheck(pw string) {
	dummyOnce.Do(func() { dummyHash, _ = bcrypt.GenerateFromPassword([]byte("khula-no-such-user"), bcrypt.DefaultCost) })
	_ = bcrypt.CompareHashAndPassword(dummyHash, []byte(pw))
}
