//go:build !unix

package journal

// lockFile is a no-op where flock is not available: run one worker per
// state directory.
func lockFile(string) (func() error, error) { return func() error { return nil }, nil }

func syncDir(string) error { return nil }
