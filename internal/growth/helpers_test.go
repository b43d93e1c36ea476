package growth

import (
	"os"
	"path/filepath"
	"sync"
	"testing"
)

// tablesDir finds WHO's sample tables: $KHULA_WHO_GROWTH_DIR, else
// /work/shared/data/who-growth beside the checkout. It skips the test when
// neither holds them; the tables are never copied into the repository.
func tablesDir(tb testing.TB) string {
	tb.Helper()
	dir := os.Getenv(EnvDir)
	if dir == "" {
		dir = filepath.Join("..", "..", "..", "shared", "data", "who-growth")
	}
	if _, err := os.Stat(filepath.Join(dir, FileLengthForAge2006)); err != nil {
		tb.Skipf("WHO growth tables not found in %s (set %s to the directory holding lenanthro.txt etc.): %v", dir, EnvDir, err)
	}
	return dir
}

var (
	sharedRefsOnce sync.Once
	sharedRefs     *References
	sharedRefsErr  error
)

// loadRefs loads the real WHO tables once per test binary.
func loadRefs(tb testing.TB) *References {
	tb.Helper()
	dir := tablesDir(tb)
	sharedRefsOnce.Do(func() { sharedRefs, sharedRefsErr = LoadReferences(dir) })
	if sharedRefsErr != nil {
		tb.Fatalf("LoadReferences(%s): %v", dir, sharedRefsErr)
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
