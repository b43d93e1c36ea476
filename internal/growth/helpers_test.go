package growth

import (
	"os"
	"path/filepath"
	"sync"
	"testing"
)

// sharedTablesDir is WHO's copy of the tables beside the checkout
// ($KHULA_WHO_GROWTH_DIR, else ../shared/data/who-growth next to the
// repository), or "" when neither holds them. Only the test that compares
// the built-in tables with WHO's files needs it.
func sharedTablesDir() string {
	dir := os.Getenv(EnvDir)
	if dir == "" {
		dir = filepath.Join("..", "..", "..", "shared", "data", "who-growth")
	}
	if _, err := os.Stat(filepath.Join(dir, FileLengthForAge2006)); err != nil {
		return ""
	}
	return dir
}

var (
	sharedRefsOnce sync.Once
	sharedRefs     *References
	sharedRefsErr  error
)

// loadRefs loads the built-in WHO tables once per test binary.
func loadRefs(tb testing.TB) *References {
	tb.Helper()
	sharedRefsOnce.Do(func() { sharedRefs, sharedRefsErr = LoadEmbedded() })
	if sharedRefsErr != nil {
		tb.Fatalf("LoadEmbedded: %v", sharedRefsErr)
	}
	return sharedRefs
}

// pick returns one indicator of a result.
func pick(r Result, ind Indicator) ZScore {
	switch ind {
	case HeightForAge:
		return r.HFA
	case WeightForAge:
		return r.WFA
	default:
		return r.BFA
	}
}
