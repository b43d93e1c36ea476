package cli

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestDSNKeepsPasswordsOutOfFlags: a database URL with a password is
// refused on the command line (process lists show it) and accepted from
// the environment or a file.
func TestDSNKeepsPasswordsOutOfFlags(t *testing.T) {
	secretFile := filepath.Join(t.TempDir(), "db-url")
	if err := os.WriteFile(secretFile, []byte("postgres://khula:s3cret@db/khula\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		name    string
		flags   connFlags
		env     string
		want    string
		wantErr string
	}{
		{name: "flag with password", flags: connFlags{db: "postgres://khula:s3cret@db/khula"}, wantErr: "process lists"},
		{name: "flag without password", flags: connFlags{db: "postgres://khula@db/khula"}, want: "postgres://khula@db/khula"},
		{name: "sqlite file in flag", flags: connFlags{db: "/var/lib/khula/khula.db"}, want: "/var/lib/khula/khula.db"},
		{name: "password from environment", env: "postgres://khula:s3cret@db/khula", want: "postgres://khula:s3cret@db/khula"},
		{name: "password from file, trimmed", flags: connFlags{dbFile: secretFile}, want: "postgres://khula:s3cret@db/khula"},
		{name: "missing file", flags: connFlags{dbFile: filepath.Join(t.TempDir(), "nope")}, wantErr: "--db-file"},
		{name: "nothing given", wantErr: "no database"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Setenv("KHULA_DB", tc.env)
			got, err := tc.flags.dsn()
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("dsn() = %q, %v; want an error containing %q", got, err, tc.wantErr)
				}
				if strings.Contains(err.Error(), "s3cret") {
					t.Errorf("the error repeats the password: %v", err)
				}
				return
			}
			if err != nil || got != tc.want {
				t.Errorf("dsn() = %q, %v; want %q", got, err, tc.want)
			}
		})
	}
}
