package devserver

import (
	"context"
	"errors"
	"log/slog"
	"net"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/khula-cop/khula/internal/freeport"
)

// TestNewRetriesWhenAPortIsTakenBetweenPickAndBind hands the engine a set
// of ports whose first (the frontend's membership port) another listener
// holds, as happens when another process takes it after the pick. The
// engine must come up on fresh ports instead of panicking.
func TestNewRetriesWhenAPortIsTakenBetweenPickAndBind(t *testing.T) {
	taken, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer taken.Close()
	takenPort := taken.Addr().(*net.TCPAddr).Port

	calls := 0
	pickPorts = func(ip string, n int) ([]int, error) {
		calls++
		ports, err := freeport.PickN(ip, n)
		if err != nil {
			return nil, err
		}
		if calls == 1 {
			ports[0] = takenPort
		}
		return ports, nil
	}
	defer func() { pickPorts = freeport.PickN }()

	srv, err := New(Options{
		DatabaseFile: filepath.Join(t.TempDir(), "engine.db"),
		Logger:       slog.New(slog.DiscardHandler),
	})
	if err != nil {
		t.Fatalf("New with one taken port: %v", err)
	}
	if calls < 2 {
		t.Fatalf("ports were picked %d time(s); the taken port should have forced a second pick", calls)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	if err := srv.Start(ctx); err != nil {
		t.Fatalf("Start after retry: %v", err)
	}
	if err := srv.Stop(); err != nil {
		t.Fatalf("Stop: %v", err)
	}
}

func TestFatalBecomesAnError(t *testing.T) {
	tests := []struct {
		name     string
		panicked any
		wantErr  string
		wantBind bool
	}{
		{"listener", &fatalError{msg: "Failed to start ringpop listener", detail: "error=listen tcp 127.0.0.1:5: bind: address already in use"}, "Failed to start ringpop listener", true},
		{"other fatal", &fatalError{msg: "Unable to create persistence"}, "Unable to create persistence", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := func() (err error) {
				defer recoverFatal(&err)
				panic(tt.panicked)
			}()
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Fatalf("err = %v, want it to contain %q", err, tt.wantErr)
			}
			if got := isBindFailure(err); got != tt.wantBind {
				t.Errorf("isBindFailure = %v, want %v", got, tt.wantBind)
			}
		})
	}
	if isBindFailure(errors.New("Failed to start gRPC listener")) {
		t.Error("a plain error is not the engine's fatal")
	}
}

func TestOtherPanicsAreNotSwallowed(t *testing.T) {
	defer func() {
		if r := recover(); r != "boom" {
			t.Fatalf("recovered %v, want the original panic", r)
		}
	}()
	func() (err error) {
		defer recoverFatal(&err)
		panic("boom")
	}()
}
