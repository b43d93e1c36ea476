package store_test

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/khula-cop/khula/internal/store"
)

// migrationFiles counts the migrations shipped in migrations/.
var migrationFiles = func() int {
	entries, _ := os.ReadDir("migrations")
	n := 0
	for _, e := range entries {
		if strings.HasSuffix(e.Name(), ".sql") {
			n++
		}
	}
	return n
}()

func TestOpenRejectsBadPaths(t *testing.T) {
	missingDir := filepath.Join(t.TempDir(), "no", "such", "dir", "khula.db")
	tests := []struct {
		name    string
		dsn     string
		wantErr string
	}{
		{name: "empty", dsn: "", wantErr: "empty database path"},
		{name: "empty after prefix", dsn: "sqlite:", wantErr: "empty database path"},
		{name: "directory does not exist", dsn: missingDir, wantErr: "unable to open database file"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			st, err := store.Open(context.Background(), tt.dsn)
			if err == nil {
				_ = st.Close()
				t.Fatalf("Open(%q) succeeded, want an error containing %q", tt.dsn, tt.wantErr)
			}
			if st != nil {
				t.Errorf("Open(%q) returned a store with its error", tt.dsn)
			}
			if !strings.Contains(err.Error(), tt.wantErr) {
				t.Errorf("Open(%q) error = %q, want it to contain %q", tt.dsn, err, tt.wantErr)
			}
		})
	}
}

func TestOpenCreatesSQLiteFile(t *testing.T) {
	tests := []struct {
		name   string
		prefix string
	}{
		{name: "plain path", prefix: ""},
		{name: "sqlite prefix", prefix: "sqlite:"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ctx := context.Background()
			path := filepath.Join(t.TempDir(), "app.db")
			st, err := store.Open(ctx, tt.prefix+path)
			if err != nil {
				t.Fatalf("Open: %v", err)
			}
			defer st.Close()
			if got := st.Dialect(); got != store.DialectSQLite {
				t.Errorf("Dialect() = %q, want %q", got, store.DialectSQLite)
			}
			if err := st.Ping(ctx); err != nil {
				t.Errorf("Ping: %v", err)
			}
			if _, err := os.Stat(path); err != nil {
				t.Errorf("database file %s: %v", path, err)
			}
		})
	}
}

func TestMigrateIsIdempotent(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "khula.db")
	st, err := store.Open(ctx, path)
	if err != nil {
		t.Fatalf("Open: %v", err)
	}

	cur, latest, err := st.SchemaVersion(ctx)
	if err != nil {
		t.Fatalf("SchemaVersion before Migrate: %v", err)
	}
	if cur != 0 || latest != int64(migrationFiles) {
		t.Errorf("before Migrate: SchemaVersion = (%d, %d), want (0, %d)", cur, latest, migrationFiles)
	}

	steps := []struct {
		name string
		want int
	}{
		{name: "first run applies every migration", want: migrationFiles},
		{name: "second run applies none", want: 0},
	}
	for _, s := range steps {
		n, err := st.Migrate(ctx)
		if err != nil {
			t.Fatalf("%s: Migrate: %v", s.name, err)
		}
		if n != s.want {
			t.Errorf("%s: Migrate ran %d, want %d", s.name, n, s.want)
		}
		cur, latest, err := st.SchemaVersion(ctx)
		if err != nil {
			t.Fatalf("%s: SchemaVersion: %v", s.name, err)
		}
		if cur != latest || latest != int64(migrationFiles) {
			t.Errorf("%s: SchemaVersion = (%d, %d), want (%d, %d)", s.name, cur, latest, migrationFiles, migrationFiles)
		}
	}
	if err := st.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}

	// Reopening the same file finds the schema in place.
	st2, err := store.Open(ctx, path)
	if err != nil {
		t.Fatalf("reopening: %v", err)
	}
	defer st2.Close()
	n, err := st2.Migrate(ctx)
	if err != nil {
		t.Fatalf("Migrate after reopening: %v", err)
	}
	if n != 0 {
		t.Errorf("Migrate after reopening ran %d, want 0", n)
	}
}

func TestSplitList(t *testing.T) {
	tests := []struct {
		in   string
		want []string
	}{
		{in: "", want: nil},
		{in: "caregiver", want: []string{"caregiver"}},
		{in: "caregiver,teacher", want: []string{"caregiver", "teacher"}},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			got := store.SplitList(tt.in)
			if len(got) != len(tt.want) {
				t.Fatalf("SplitList(%q) = %q, want %q", tt.in, got, tt.want)
			}
			for i := range got {
				if got[i] != tt.want[i] {
					t.Errorf("SplitList(%q)[%d] = %q, want %q", tt.in, i, got[i], tt.want[i])
				}
			}
			if tt.want == nil && got != nil {
				t.Errorf("SplitList(%q) = %#v, want nil", tt.in, got)
			}
		})
	}
}
