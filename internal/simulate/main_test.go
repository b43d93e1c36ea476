package simulate_test

import (
	"fmt"
	"io"
	"os"
	"os/exec"
	"runtime"
	"testing"
	"time"

	"github.com/khula-cop/khula/plugins/builtin"
)

// The test binary plays two other parts when re-executed: a built-in plugin
// (khula dev's plugin host starts it, so plugins are real processes as in
// production) and a CPU hog that loads every core.
const (
	envServePlugin = "KHULA_SIMULATE_TEST_PLUGIN"
	envHog         = "KHULA_SIMULATE_TEST_HOG"
	// hogLifetime bounds a hog whose test died without stopping it.
	hogLifetime = 10 * time.Minute
)

func TestMain(m *testing.M) {
	if name := os.Getenv(envServePlugin); name != "" {
		if err := builtin.Serve(name); err != nil {
			fmt.Fprintln(os.Stderr, "plugin:", err)
			os.Exit(1)
		}
		os.Exit(0)
	}
	if os.Getenv(envHog) != "" {
		hog()
	}
	os.Exit(m.Run())
}

// hog busy-loops on every core until its standard input closes (the test
// stopped it, or died) or hogLifetime passes.
func hog() {
	for range runtime.NumCPU() {
		go func() {
			x := uint64(1)
			for {
				x = x*6364136223846793005 + 1442695040888963407
			}
		}()
	}
	go func() {
		time.Sleep(hogLifetime)
		os.Exit(0)
	}()
	_, _ = io.Copy(io.Discard, os.Stdin)
	os.Exit(0)
}

// pluginCommand re-executes the test binary as a built-in plugin.
func pluginCommand(name string) *exec.Cmd {
	cmd := exec.Command(os.Args[0])
	cmd.Env = append(os.Environ(), envServePlugin+"="+name)
	return cmd
}

// startHog starts a process that keeps every core busy; the function it
// returns stops it (and so does the end of the test).
func startHog(t *testing.T) func() {
	t.Helper()
	cmd := exec.Command(os.Args[0])
	cmd.Env = append(os.Environ(), envHog+"=1")
	stdin, err := cmd.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatalf("starting the CPU hog: %v", err)
	}
	stopped := false
	stop := func() {
		if stopped {
			return
		}
		stopped = true
		stdin.Close()
		done := make(chan struct{})
		go func() { _ = cmd.Wait(); close(done) }()
		select {
		case <-done:
		case <-time.After(5 * time.Second):
			_ = cmd.Process.Kill()
			<-done
		}
	}
	t.Cleanup(stop)
	return stop
}
