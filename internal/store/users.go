package store

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"gorm.io/gorm"
)

// User is someone who signs in to khula.
type User struct {
	ID           string `gorm:"primaryKey"`
	Username     string
	DisplayName  string
	Role         string
	Practice     string
	Sites        string
	Schools      string
	PasswordHash string
	Disabled     bool
	// SeesNames grants an advisor children's names.
	SeesNames bool
	CreatedAt time.Time
}

// APIToken is a token a user or a device calls the API with; only the
// secret's hash is kept.
type APIToken struct {
	ID         string `gorm:"primaryKey"`
	UserID     string
	Name       string
	SecretHash string
	CreatedAt  time.Time
	ExpiresAt  *time.Time
	LastUsedAt *time.Time
	RevokedAt  *time.Time
}

// Session is a browser session; only the session ID's hash is kept.
type Session struct {
	IDHash    string `gorm:"primaryKey;column:id_hash"`
	UserID    string
	CSRF      string `gorm:"column:csrf"`
	CreatedAt time.Time
	ExpiresAt time.Time
}

// ErrUsernameTaken reports a username in use.
var ErrUsernameTaken = errors.New("store: username taken")

// CreateUser adds a user.
func (s *Store) CreateUser(ctx context.Context, u User) error {
	var n int64
	if err := s.with(ctx).Model(&User{}).Where("username = ?", u.Username).Count(&n).Error; err != nil {
		return err
	}
	if n > 0 {
		return fmt.Errorf("%w: %s", ErrUsernameTaken, u.Username)
	}
	u.CreatedAt = u.CreatedAt.UTC()
	return s.with(ctx).Create(&u).Error
}

// UserByUsername finds a user.
func (s *Store) UserByUsername(ctx context.Context, username string) (User, error) {
	return s.userWhere(ctx, "username = ?", username)
}

// UserByID finds a user.
func (s *Store) UserByID(ctx context.Context, id string) (User, error) {
	return s.userWhere(ctx, "id = ?", id)
}

func (s *Store) userWhere(ctx context.Context, q string, arg any) (User, error) {
	var u User
	err := s.with(ctx).Where(q, arg).Take(&u).Error
	if errors.Is(err, gorm.ErrRecordNotFound) {
		return u, fmt.Errorf("user: %w", ErrNotFound)
	}
	return u, err
}

// Users lists every user.
func (s *Store) Users(ctx context.Context) ([]User, error) {
	var out []User
	return out, s.with(ctx).Order("username").Find(&out).Error
}

// CountUsers counts users.
func (s *Store) CountUsers(ctx context.Context) (int64, error) {
	var n int64
	return n, s.with(ctx).Model(&User{}).Count(&n).Error
}

// SetPassword stores a user's password hash.
func (s *Store) SetPassword(ctx context.Context, userID, hash string) error {
	res := s.with(ctx).Model(&User{}).Where("id = ?", userID).Update("password_hash", hash)
	if res.Error == nil && res.RowsAffected == 0 {
		return fmt.Errorf("user %s: %w", userID, ErrNotFound)
	}
	return res.Error
}

// CreateToken stores a token's hash.
func (s *Store) CreateToken(ctx context.Context, t APIToken) error {
	t.CreatedAt = t.CreatedAt.UTC()
	return s.with(ctx).Create(&t).Error
}

// Token finds a live token and its user: not revoked, not expired, user not disabled.
func (s *Store) Token(ctx context.Context, id string, now time.Time) (APIToken, User, error) {
	var t APIToken
	err := s.with(ctx).Where("id = ? AND revoked_at IS NULL AND (expires_at IS NULL OR expires_at > ?)", id, now.UTC()).Take(&t).Error
	if errors.Is(err, gorm.ErrRecordNotFound) {
		return t, User{}, fmt.Errorf("token: %w", ErrNotFound)
	}
	if err != nil {
		return t, User{}, err
	}
	u, err := s.UserByID(ctx, t.UserID)
	if err != nil {
		return t, u, err
	}
	if u.Disabled {
		return t, u, fmt.Errorf("token's user is disabled: %w", ErrNotFound)
	}
	return t, u, nil
}

// TouchToken records a token's last use (at most once a minute, to spare writes).
func (s *Store) TouchToken(ctx context.Context, id string, now time.Time) error {
	return s.with(ctx).Model(&APIToken{}).
		Where("id = ? AND (last_used_at IS NULL OR last_used_at < ?)", id, now.Add(-time.Minute).UTC()).
		Update("last_used_at", now.UTC()).Error
}

// RevokeTokens revokes every token of a user.
func (s *Store) RevokeTokens(ctx context.Context, userID string, now time.Time) (int64, error) {
	res := s.with(ctx).Model(&APIToken{}).Where("user_id = ? AND revoked_at IS NULL", userID).Update("revoked_at", now.UTC())
	return res.RowsAffected, res.Error
}

// CreateSession stores a session's hash.
func (s *Store) CreateSession(ctx context.Context, sess Session) error {
	sess.CreatedAt, sess.ExpiresAt = sess.CreatedAt.UTC(), sess.ExpiresAt.UTC()
	return s.with(ctx).Create(&sess).Error
}

// SessionByHash finds a live session and its user.
func (s *Store) SessionByHash(ctx context.Context, hash string, now time.Time) (Session, User, error) {
	var sess Session
	err := s.with(ctx).Where("id_hash = ? AND expires_at > ?", hash, now.UTC()).Take(&sess).Error
	if errors.Is(err, gorm.ErrRecordNotFound) {
		return sess, User{}, fmt.Errorf("session: %w", ErrNotFound)
	}
	if err != nil {
		return sess, User{}, err
	}
	u, err := s.UserByID(ctx, sess.UserID)
	if err == nil && u.Disabled {
		err = fmt.Errorf("session's user is disabled: %w", ErrNotFound)
	}
	return sess, u, err
}

// DeleteSession ends a session.
func (s *Store) DeleteSession(ctx context.Context, hash string) error {
	return s.with(ctx).Where("id_hash = ?", hash).Delete(&Session{}).Error
}

// ChildSchool returns the site and school of a child, for access checks.
func (s *Store) ChildSchool(ctx context.Context, childID string) (site, school string, err error) {
	var c Child
	err = s.with(ctx).Select("site_id", "school_id").Where("id = ?", childID).Take(&c).Error
	if errors.Is(err, gorm.ErrRecordNotFound) {
		return "", "", fmt.Errorf("child: %w", ErrNotFound)
	}
	return c.SiteID, c.SchoolID, err
}

// JoinList joins a list for a list column.
func JoinList(items []string) string { return strings.Join(items, ",") }
