// Package store keeps khula's queryable records (children, consent, waves,
// cycle stages, scores, meetings, referrals) in SQLite (pure Go, the default)
// or PostgreSQL through gorm. Durable workflow state lives in Temporal; this
// database mirrors it for lists, dashboards and reports. Every write is keyed
// by a deterministic ID, so a retried activity writes once.
package store

import (
	"github.com/khula-cop/khula/internal/dedupe"

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
	"gorm.io/plugin/dbresolver"
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
	db    *gorm.DB
	sqlDB *sql.DB
	// readDB is SQLite's pool of read-only connections (nil on
	// PostgreSQL): reads never queue behind writers waiting for the lock.
	readDB  *sql.DB
	dialect string
	cipher  FieldCipher
	// auditKeys sign the audit chain (nil: no entry can be appended).
	auditKeys AuditKeyer
	// afterErase are told of each child erased (see AfterErase).
	afterErase []func(childID string)
	// index makes the blind-index tokens (nil without a key: no tokens are
	// written and no duplicate is looked for).
	index *dedupe.Indexer
}

// Open connects to dsn: "postgres://..." for PostgreSQL, otherwise a SQLite
// file path (optionally prefixed "sqlite:"). It does not migrate; call Migrate.
func Open(ctx context.Context, dsn string) (*Store, error) {
	var (
		dialector  gorm.Dialector
		dialect    string
		sqlDB      *sql.DB
		sqlitePath string
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
		sqlitePath = path
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
	st := &Store{db: db, sqlDB: sqlDB, dialect: dialect}
	if sqlitePath != "" {
		if err := st.splitReads(ctx, sqlitePath); err != nil {
			_ = sqlDB.Close()
			return nil, err
		}
	}
	return st, nil
}

// splitReads gives SQLite reads a pool of their own. SQLite has one writer
// at a time; a writer waiting for the lock (held by another process, a
// backup, a long import) holds its pooled connection for up to the busy
// timeout, and with one pool for both, reads queued behind such writers
// even though WAL lets them run. Reads outside transactions go to the
// read-only pool; writes and everything inside a transaction stay on the
// writer pool (gorm's dbresolver decides, by statement).
func (s *Store) splitReads(ctx context.Context, path string) error {
	q := url.Values{}
	q.Add("_pragma", "busy_timeout(10000)")
	q.Add("_pragma", "foreign_keys(1)")
	// A statement routed here by mistake fails loudly instead of writing.
	q.Add("_pragma", "query_only(1)")
	q.Set("_time_format", "sqlite")
	readDB, err := sql.Open("sqlite", "file:"+path+"?"+q.Encode())
	if err != nil {
		return fmt.Errorf("store: opening %s for reading: %w", path, err)
	}
	readDB.SetMaxOpenConns(4)
	if err := readDB.PingContext(ctx); err != nil {
		_ = readDB.Close()
		return fmt.Errorf("store: database unreadable (%s): %w", path, err)
	}
	err = s.db.Use(dbresolver.Register(dbresolver.Config{
		Replicas: []gorm.Dialector{sqlite.Dialector{Conn: readDB}},
	}))
	if err != nil {
		_ = readDB.Close()
		return fmt.Errorf("store: read pool: %w", err)
	}
	s.readDB = readDB
	return nil
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
func (s *Store) Close() error {
	var rerr error
	if s.readDB != nil {
		rerr = s.readDB.Close()
	}
	return errors.Join(s.sqlDB.Close(), rerr)
}

// DB exposes the gorm handle to packages that build their own queries.
func (s *Store) DB(ctx context.Context) *gorm.DB { return s.with(ctx) }
