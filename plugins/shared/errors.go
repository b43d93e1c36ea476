package shared

import (
	"context"
	"errors"
	"fmt"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/khula-cop/khula/plugins"
)

// toStatus turns a plugin implementation's error into the gRPC status the
// protocol prescribes: permanent errors become FAILED_PRECONDITION,
// unsupported calls UNIMPLEMENTED, everything else a retryable code. An
// error that already carries a gRPC status keeps it.
func toStatus(err error) error {
	if err == nil {
		return nil
	}
	if st, ok := status.FromError(err); ok {
		return st.Err()
	}
	code := codes.Unavailable
	switch {
	case errors.Is(err, plugins.ErrUnsupported):
		code = codes.Unimplemented
	case errors.Is(err, plugins.ErrPermanent):
		code = codes.FailedPrecondition
	case errors.Is(err, context.DeadlineExceeded):
		code = codes.DeadlineExceeded
	case errors.Is(err, context.Canceled):
		code = codes.Canceled
	}
	return status.Error(code, err.Error())
}

// fromStatus turns an error of a gRPC call into the plugins package's error
// kinds, so callers test with errors.Is(err, plugins.ErrPermanent).
func fromStatus(method string, err error) error {
	if err == nil {
		return nil
	}
	st, ok := status.FromError(err)
	if !ok {
		if errors.Is(err, context.DeadlineExceeded) || errors.Is(err, context.Canceled) {
			return fmt.Errorf("%s: %w", method, err)
		}
		return fmt.Errorf("%s: %w: %w", method, plugins.ErrUnavailable, err)
	}
	msg := st.Message()
	switch st.Code() {
	case codes.Unimplemented:
		return fmt.Errorf("%s: %w: %s", method, plugins.ErrUnsupported, msg)
	case codes.InvalidArgument, codes.FailedPrecondition, codes.NotFound, codes.PermissionDenied,
		codes.Unauthenticated, codes.AlreadyExists, codes.OutOfRange:
		return fmt.Errorf("%s: %w: %s", method, plugins.ErrPermanent, msg)
	case codes.DeadlineExceeded:
		return fmt.Errorf("%s: %w: %w: %s", method, plugins.ErrUnavailable, context.DeadlineExceeded, msg)
	case codes.Canceled:
		return fmt.Errorf("%s: %w: %s", method, context.Canceled, msg)
	}
	return &transientError{method: method, code: st.Code(), msg: msg}
}

// transientError is a retryable failure of a call; Code tells a transport
// failure (UNAVAILABLE: the process may be gone) from a plugin's own error.
type transientError struct {
	method string
	code   codes.Code
	msg    string
}

func (e *transientError) Error() string {
	return fmt.Sprintf("%s: %v: %s (%s)", e.method, plugins.ErrUnavailable, e.msg, e.code)
}

func (e *transientError) Unwrap() error { return plugins.ErrUnavailable }

// IsTransport reports whether err is a failure of the connection to the
// plugin process rather than an error the plugin returned: after one, the
// host checks whether the process is still alive.
func IsTransport(err error) bool {
	var te *transientError
	return errors.As(err, &te) && (te.code == codes.Unavailable || te.code == codes.Unknown || te.code == codes.Internal)
}
