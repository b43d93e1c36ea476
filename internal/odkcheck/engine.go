package odkcheck

import (
	"bytes"
	"context"
	"crypto/sha256"
	"embed"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"time"
)

// EngineVersion is the version of @getodk/xforms-engine that engine/package.json
// pins. It names the default cache directory.
const EngineVersion = "0.22.0"

// engineFiles are the npm project's files, copied into the cache directory.
//
//go:embed engine/package.json engine/package-lock.json engine/entry.js
var engineFiles embed.FS

// engineFileNames lists engineFiles in a fixed order.
var engineFileNames = []string{"package.json", "package-lock.json", "entry.js"}

// esbuildArgs bundle entry.js into one ES module for the browser. The engine
// awaits at the top level (it compiles its XPath parser from WebAssembly), so
// the bundle is an ES module, not an IIFE, and the page imports it.
var esbuildArgs = []string{
	"entry.js",
	"--bundle",
	"--format=esm",
	"--platform=browser",
	"--target=chrome120",
	"--charset=utf8",
	"--legal-comments=none",
	"--log-level=warning",
	"--outfile=" + bundleTmpName,
}

const (
	bundleName    = "bundle.js"
	bundleTmpName = "bundle.js.tmp"
	stampName     = "stamp"
	lockName      = ".lock"
	npmDirName    = "npm"

	npmTimeout     = 5 * time.Minute
	esbuildTimeout = 2 * time.Minute
	outputTail     = 4000
)

// engineHash is the SHA-256 of the embedded files and the bundling flags: the
// stamp that says a cached bundle was built from them.
func engineHash() (string, error) {
	h := sha256.New()
	fmt.Fprintf(h, "odkcheck bundle v1\nesbuild %s\n", strings.Join(esbuildArgs, " "))
	for _, name := range engineFileNames {
		b, err := engineFiles.ReadFile("engine/" + name)
		if err != nil {
			return "", err
		}
		fmt.Fprintf(h, "%s %d\n", name, len(b))
		h.Write(b)
	}
	return hex.EncodeToString(h.Sum(nil)), nil
}

// defaultCacheDir is os.UserCacheDir()/khula/odk-engine-<version>, or a
// directory under os.TempDir() when there is no user cache directory.
func defaultCacheDir() string {
	base, err := os.UserCacheDir()
	if err != nil || base == "" {
		base = filepath.Join(os.TempDir(), "khula-cache")
	}
	return filepath.Join(base, "khula", "odk-engine-"+EngineVersion)
}

// loadBundle returns the engine bundle, building it in dir first when the
// cache has none or a stale one.
func loadBundle(ctx context.Context, dir, npm string, logf func(string, ...any)) ([]byte, error) {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, fmt.Errorf("odkcheck: cache directory: %w", err)
	}
	want, err := engineHash()
	if err != nil {
		return nil, err
	}
	unlock, err := lockDir(ctx, filepath.Join(dir, lockName), logf)
	if err != nil {
		return nil, err
	}
	defer unlock()

	if b, ok := cachedBundle(dir, want); ok {
		logf("odkcheck: using the cached ODK form engine %s in %s", EngineVersion, dir)
		return b, nil
	}
	start := time.Now()
	logf("odkcheck: building ODK form engine %s in %s (npm ci, then esbuild)", EngineVersion, dir)
	if err := build(ctx, dir, npm, want); err != nil {
		return nil, err
	}
	b, ok := cachedBundle(dir, want)
	if !ok {
		return nil, fmt.Errorf("odkcheck: the bundle in %s is missing right after building it", dir)
	}
	logf("odkcheck: built the engine bundle (%d bytes) in %s", len(b), time.Since(start).Round(time.Millisecond))
	return b, nil
}

// cachedBundle returns dir's bundle when its stamp is want.
func cachedBundle(dir, want string) ([]byte, bool) {
	stamp, err := os.ReadFile(filepath.Join(dir, stampName))
	if err != nil || strings.TrimSpace(string(stamp)) != want {
		return nil, false
	}
	b, err := os.ReadFile(filepath.Join(dir, bundleName))
	if err != nil || len(b) == 0 {
		return nil, false
	}
	return b, true
}

// build installs the npm project in dir/npm and bundles it into
// dir/bundle.js, then writes the stamp. The caller holds the lock.
func build(ctx context.Context, dir, npm, hash string) error {
	// No stamp while building: a crash leaves a cache that rebuilds.
	if err := os.Remove(filepath.Join(dir, stampName)); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("odkcheck: %w", err)
	}
	work := filepath.Join(dir, npmDirName)
	if err := os.MkdirAll(work, 0o755); err != nil {
		return fmt.Errorf("odkcheck: %w", err)
	}
	for _, name := range engineFileNames {
		b, err := engineFiles.ReadFile("engine/" + name)
		if err != nil {
			return err
		}
		if err := os.WriteFile(filepath.Join(work, name), b, 0o644); err != nil {
			return fmt.Errorf("odkcheck: %w", err)
		}
	}

	// --ignore-scripts: nothing in the tree needs an install script (esbuild's
	// binary comes from its optional platform package), and none should run.
	if err := run(ctx, npmTimeout, work, npm, "ci", "--no-audit", "--no-fund", "--ignore-scripts"); err != nil {
		return err
	}
	esbuild := filepath.Join(work, "node_modules", ".bin", "esbuild")
	if err := run(ctx, esbuildTimeout, work, esbuild, esbuildArgs...); err != nil {
		return err
	}
	if err := os.Rename(filepath.Join(work, bundleTmpName), filepath.Join(dir, bundleName)); err != nil {
		return fmt.Errorf("odkcheck: %w", err)
	}
	return writeFileAtomic(filepath.Join(dir, stampName), []byte(hash+"\n"))
}

// run runs a command in dir with a timeout; a failure names the command and
// shows the end of its output.
func run(ctx context.Context, timeout time.Duration, dir, name string, args ...string) error {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, name, args...)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(),
		"npm_config_update_notifier=false",
		"npm_config_fund=false",
		"npm_config_audit=false",
	)
	cmd.WaitDelay = 10 * time.Second
	var out bytes.Buffer
	cmd.Stdout = &out
	cmd.Stderr = &out
	err := cmd.Run()
	if err == nil {
		return nil
	}
	if ctx.Err() == context.DeadlineExceeded {
		err = fmt.Errorf("timed out after %s", timeout)
	}
	text := out.String()
	if len(text) > outputTail {
		text = "…" + text[len(text)-outputTail:]
	}
	return fmt.Errorf("odkcheck: `%s %s` in %s failed: %v\n%s", name, strings.Join(args, " "), dir, err, strings.TrimSpace(text))
}

// writeFileAtomic writes b to a temporary file beside path and renames it.
func writeFileAtomic(path string, b []byte) error {
	f, err := os.CreateTemp(filepath.Dir(path), filepath.Base(path)+".*.tmp")
	if err != nil {
		return fmt.Errorf("odkcheck: %w", err)
	}
	_, werr := f.Write(b)
	if werr == nil {
		werr = f.Chmod(0o644)
	}
	cerr := f.Close()
	if werr == nil {
		werr = cerr
	}
	if werr == nil {
		werr = os.Rename(f.Name(), path)
	}
	if werr != nil {
		os.Remove(f.Name())
		return fmt.Errorf("odkcheck: %w", werr)
	}
	return nil
}
