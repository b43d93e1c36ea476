package devserver

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"

	"go.temporal.io/server/common/log"
	"go.temporal.io/server/common/log/tag"
)

// slogAdapter routes the engine's log lines to a slog.Logger.
type slogAdapter struct{ l *slog.Logger }

var _ log.Logger = slogAdapter{}
var _ log.WithLogger = slogAdapter{}

func newLogger(l *slog.Logger) log.Logger { return slogAdapter{l: l.With("component", "temporal")} }

func (a slogAdapter) emit(level slog.Level, msg string, tags []tag.Tag) {
	if !a.l.Enabled(context.Background(), level) {
		return
	}
	attrs := make([]slog.Attr, 0, len(tags))
	for _, t := range tags {
		attrs = append(attrs, slog.Any(t.Key(), t.Value()))
	}
	a.l.LogAttrs(context.Background(), level, msg, attrs...)
}

func (a slogAdapter) Debug(msg string, tags ...tag.Tag)  { a.emit(slog.LevelDebug, msg, tags) }
func (a slogAdapter) Info(msg string, tags ...tag.Tag)   { a.emit(slog.LevelInfo, msg, tags) }
func (a slogAdapter) Warn(msg string, tags ...tag.Tag)   { a.emit(slog.LevelWarn, msg, tags) }
func (a slogAdapter) Error(msg string, tags ...tag.Tag)  { a.emit(slog.LevelError, msg, tags) }
func (a slogAdapter) DPanic(msg string, tags ...tag.Tag) { a.emit(slog.LevelError, msg, tags) }
func (a slogAdapter) Panic(msg string, tags ...tag.Tag) {
	a.emit(slog.LevelError, msg, tags)
	panic(msg)
}
func (a slogAdapter) Fatal(msg string, tags ...tag.Tag) {
	a.emit(slog.LevelError, msg, tags)
	panic(&fatalError{msg: msg, detail: tagText(tags)})
}

// fatalError is what the engine's Fatal log calls raise: the engine ends a
// failed start by logging at Fatal, and khula turns that into an error
// (see recoverFatal) instead of a stack trace.
type fatalError struct {
	msg    string
	detail string
}

func (e *fatalError) Error() string {
	if e.detail == "" {
		return "engine: " + e.msg
	}
	return "engine: " + e.msg + " (" + e.detail + ")"
}

// tagText renders the engine's tags (address, error) for an error message.
func tagText(tags []tag.Tag) string {
	parts := make([]string, 0, len(tags))
	for _, t := range tags {
		parts = append(parts, fmt.Sprintf("%s=%v", t.Key(), t.Value()))
	}
	return strings.Join(parts, " ")
}

// recoverFatal turns a fatalError panic into *err; other panics go on.
func recoverFatal(err *error) {
	r := recover()
	if r == nil {
		return
	}
	if f, ok := r.(*fatalError); ok {
		*err = f
		return
	}
	panic(r)
}

// isBindFailure reports whether err is the engine failing to bind one of
// its listeners, which new ports can cure.
func isBindFailure(err error) bool {
	var f *fatalError
	if !errors.As(err, &f) {
		return false
	}
	return strings.Contains(f.msg, "listener") || strings.Contains(f.detail, "address already in use")
}

// With returns a logger that prepends tags to every line.
func (a slogAdapter) With(tags ...tag.Tag) log.Logger {
	args := make([]any, 0, 2*len(tags))
	for _, t := range tags {
		args = append(args, t.Key(), t.Value())
	}
	return slogAdapter{l: a.l.With(args...)}
}

// discardSDKLogger silences the SDK client used for readiness checks.
type discardSDKLogger struct{}

func (discardSDKLogger) Debug(string, ...any) {}
func (discardSDKLogger) Info(string, ...any)  {}
func (discardSDKLogger) Warn(string, ...any)  {}
func (discardSDKLogger) Error(string, ...any) {}
