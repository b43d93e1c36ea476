// Package cli holds khula's command-line interface (spf13/cobra): one
// binary, one file per subcommand, each a thin layer over an internal package.
package cli

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"strings"
	"syscall"

	"github.com/spf13/cobra"
)

// ExitError carries a specific exit status (e.g. 2 for invalid input).
type ExitError struct {
	Code int
	Err  error
}

func (e *ExitError) Error() string {
	if e.Err == nil {
		return ""
	}
	return e.Err.Error()
}
func (e *ExitError) Unwrap() error { return e.Err }

// Main runs the CLI and returns the process exit status.
func Main(args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	root := newRoot(stdin, stdout, stderr)
	root.SetArgs(args)
	err := root.ExecuteContext(ctx)
	if err == nil {
		return 0
	}
	var exit *ExitError
	if errors.As(err, &exit) {
		if exit.Err != nil && exit.Err.Error() != "" {
			fmt.Fprintln(stderr, "khula:", exit.Err)
		}
		return exit.Code
	}
	fmt.Fprintln(stderr, "khula:", err)
	return 1
}

type globals struct {
	stdin    io.Reader
	stdout   io.Writer
	stderr   io.Writer
	logLevel string
}

func (g *globals) logger() *slog.Logger {
	level := slog.LevelWarn
	switch strings.ToLower(g.logLevel) {
	case "debug":
		level = slog.LevelDebug
	case "info":
		level = slog.LevelInfo
	case "error":
		level = slog.LevelError
	}
	return slog.New(slog.NewTextHandler(g.stderr, &slog.HandlerOptions{Level: level}))
}

func newRoot(stdin io.Reader, stdout, stderr io.Writer) *cobra.Command {
	g := &globals{stdin: stdin, stdout: stdout, stderr: stderr}
	root := &cobra.Command{
		Use:           "khula",
		Short:         "Orchestrate the Community of Practice cycle for child well-being",
		Long:          "khula runs the CoP cycle (enrol, assess, score, plan, refer, follow up, reassess) for every child in a wave, on Temporal.",
		SilenceUsage:  true,
		SilenceErrors: true,
	}
	root.SetIn(stdin)
	root.SetOut(stdout)
	root.SetErr(stderr)
	root.PersistentFlags().StringVar(&g.logLevel, "log-level", envOr("KHULA_LOG_LEVEL", "warn"), "log level: debug, info, warn or error ($KHULA_LOG_LEVEL)")
	root.AddCommand(newDevCmd(g), newSimulateCmd(g), newScoreCmd(g), newGrowthCmd(g), newSiteCmd(g), newServeCmd(g), newWorkerCmd(g), newEngineCmd(g), newMigrateCmd(g), newDemoCmd(g), newUserCmd(g), newPluginCmd(g), newBenchCmd(g), newKeysCmd(g), newAuditCmd(g), newRetentionCmd(g), newOpsCmd(g), newExportCmd(g), newInstrumentCmd(g))
	return root
}

func envOr(name, def string) string {
	if v := os.Getenv(name); v != "" {
		return v
	}
	return def
}
