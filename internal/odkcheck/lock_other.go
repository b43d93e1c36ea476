//go:build !unix

package odkcheck

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"time"
)

// lockDir makes path as a lock file exclusively, waiting while it exists. A
// lock file older than staleLock is taken to be left by a dead process.
func lockDir(ctx context.Context, path string, logf func(string, ...any)) (unlock func(), err error) {
	const staleLock = 15 * time.Minute
	told := false
	for {
		f, err := os.OpenFile(path+".held", os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o644)
		if err == nil {
			f.Close()
			return func() { os.Remove(path + ".held") }, nil
		}
		if !errors.Is(err, fs.ErrExist) {
			return nil, fmt.Errorf("odkcheck: lock: %w", err)
		}
		if st, err := os.Stat(path + ".held"); err == nil && time.Since(st.ModTime()) > staleLock {
			os.Remove(path + ".held")
			continue
		}
		if !told {
			logf("odkcheck: waiting for another process to finish with %s", path)
			told = true
		}
		select {
		case <-ctx.Done():
			return nil, fmt.Errorf("odkcheck: waiting for the lock %s: %w", path, ctx.Err())
		case <-time.After(200 * time.Millisecond):
		}
	}
}
