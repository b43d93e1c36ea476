// Package store keeps khula's queryable records (children, consent, waves,
// cycle stages, scores, meetings, referrals) in SQLite (pure Go, the default)
// or PostgreSQL through gorm. Durable workflow state lives in Temporal; this
// database mirrors it for lists, dashboards and reports. Every write is keyed
// by a deterministic ID, so a retried activity writes once.
package store

import (
	"context"
	"database/sql"
	"embed"
	"errors"
	"fmt"
	"io/fs"
	"net/url"
	"strings"
	"time"

	"github.com/pressly/goose/v3"
	"gorm.io/driver/postgres"
	"gorm.io/driver/sqlite"
	"gorm.io/gorm"
	"gorm.io/gorm/logger"
	_ "modernc.org/sqlite" // registers the pure-Go "sqlite" driver
)

//go:embed migrations/*.sql
var migrations embed.FS

// Dialects the store runs on.
const (
	DialectSQLite   = "sqlite"
	DialectPostgres = "postgres"
)

// ErrNotFound reports a record that does not exist.
var ErrNotFound = errors.New("store: not found")

// Store is the app database.
type Store struct {
	db      *gorm.DB
	sqlDB   *sql.DB
	dialect string
	cipher  FieldCipher
}

// Open connects to dsn: "postgres://..." for PostgreSQL, otherwise a SQLite
// file path (optionally prefixed "sqlite:"). It does not migrate; call Migrate.
func Open(ctx context.Context, dsn string) (*Store, error) {
	var (
		dialector gorm.Dialector
		dialect   string
		sqlDB     *sql.DB
	)
	switch {
	case strings.HasPrefix(dsn, "postgres://"), strings.HasPrefix(dsn, "postgresql://"):
		dialect = DialectPostgres
		dialector = postgres.Open(dsn)
	default:
		dialect = DialectSQLite
		path := strings.TrimPrefix(dsn, "sqlite:")
		if path == "" {
			return nil, errors.New("store: empty database path")
		}
		q := url.Values{}
		// WAL lets the API read while activities write; busy_timeout waits for
		// the writer instead of failing; immediate transactions avoid the
		// read-then-write upgrade that SQLite cannot always grant.
		q.Add("_pragma", "journal_mode(WAL)")
		q.Add("_pragma", "busy_timeout(10000)")
		q.Add("_pragma", "foreign_keys(1)")
		q.Add("_pragma", "synchronous(NORMAL)")
		q.Set("_txlock", "immediate")
		// Times as "2006-01-02 15:04:05.999999999-07:00", which sorts and
		// which SQLite's date functions read.
		q.Set("_time_format", "sqlite")
		var err error
		sqlDB, err = sql.Open("sqlite", "file:"+path+"?"+q.Encode())
		if err != nil {
			return nil, fmt.Errorf("store: opening %s: %w", path, err)
		}
		sqlDB.SetMaxOpenConns(4)
		dialector = sqlite.Dialector{Conn: sqlDB}
	}
	db, err := gorm.Open(dialector, &gorm.Config{
		Logger:                 logger.Discard,
		SkipDefaultTransaction: true,
		NowFunc:                func() time.Time { return time.Now().UTC() },
	})
	if err != nil {
		return nil, fmt.Errorf("store: connecting (%s): %w", dialect, err)
	}
	if sqlDB == nil {
		if sqlDB, err = db.DB(); err != nil {
			return nil, fmt.Errorf("store: %w", err)
		}
	}
	if err := sqlDB.PingContext(ctx); err != nil {
		_ = sqlDB.Close()
		return nil, fmt.Errorf("store: database unreachable (%s): %w", dialect, err)
	}
	return &Store{db: db, sqlDB: sqlDB, dialect: dialect}, nil
}

// Migrate applies every pending migration and returns how many ran.
func (s *Store) Migrate(ctx context.Context) (int, error) {
	p, err := s.migrator()
	if err != nil {
		return 0, err
	}
	res, err := p.Up(ctx)
	if err != nil {
		return len(res), fmt.Errorf("store: migrating: %w", err)
	}
	return len(res), nil
}

// SchemaVersion reports the database's migration version and the newest this build knows.
func (s *Store) SchemaVersion(ctx context.Context) (current, latest int64, err error) {
	p, err := s.migrator()
	if err != nil {
		return 0, 0, err
	}
	return p.GetVersions(ctx)
}

func (s *Store) migrator() (*goose.Provider, error) {
	dialect := goose.DialectSQLite3
	if s.dialect == DialectPostgres {
		dialect = goose.DialectPostgres
	}
	sub, err := fs.Sub(migrations, "migrations")
	if err != nil {
		return nil, fmt.Errorf("store: migrations: %w", err)
	}
	p, err := goose.NewProvider(dialect, s.sqlDB, sub)
	if err != nil {
		return nil, fmt.Errorf("store: migrations: %w", err)
	}
	return p, nil
}

// Ping checks that the database answers.
func (s *Store) Ping(ctx context.Context) error {
	if err := s.sqlDB.PingContext(ctx); err != nil {
		return fmt.Errorf("store: %w", err)
	}
	return nil
}

// Dialect is "sqlite" or "postgres".
func (s *Store) Dialect() string { return s.dialect }

// Close releases the connections.
func (s *Store) Close() error { return s.sqlDB.Close() }

// DB exposes the gorm handle to packages that build their own queries.
func (s *Store) DB(ctx context.Context) *gorm.DB { return s.with(ctx) }
