package web_test

import (
	"fmt"
	"os"
	"os/exec"
	"testing"

	"github.com/khula-cop/khula/plugins/builtin"
)

// envServePlugin makes the test binary serve a built-in plugin instead of
// running the tests: the browser test's khula dev re-executes it, so its
// plugins are real processes, as in production.
const envServePlugin = "KHULA_WEB_TEST_PLUGIN"

func TestMain(m *testing.M) {
	if name := os.Getenv(envServePlugin); name != "" {
		if err := builtin.Serve(name); err != nil {
			fmt.Fprintln(os.Stderr, "plugin:", err)
			os.Exit(1)
		}
		os.Exit(0)
	}
	os.Exit(m.Run())
}

func pluginCommand(name string) *exec.Cmd {
	cmd := exec.Command(os.Args[0])
	cmd.Env = append(os.Environ(), envServePlugin+"="+name)
	return cmd
}
