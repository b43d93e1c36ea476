// Package temporalx connects khula to a Temporal frontend (the embedded
// engine or an external cluster) with the payload codec, and starts cycles
// with deterministic IDs so a relaunch never duplicates one.
package temporalx

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"

	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/api/serviceerror"
	"go.temporal.io/sdk/client"
	sdklog "go.temporal.io/sdk/log"

	"github.com/khula-cop/khula/internal/codec"
	"github.com/khula-cop/khula/internal/cycle"
	"github.com/khula-cop/khula/sites"
	"github.com/khula-cop/khula/workflows"
)

// Options say how to reach the engine.
type Options struct {
	HostPort  string
	Namespace string
	Keys      *codec.Keyring
	// DataKeys, when set, seals each child's cycle payloads with the
	// child's own data key (crypto-shredding); without it (tools with no
	// database) everything is sealed with the keyring and a child's
	// payloads cannot be opened.
	DataKeys *codec.DataKeys
	TLS      *tls.Config
	APIKey   string
	Logger   *slog.Logger
	// Metrics receives the SDK's own metrics (nil: none).
	Metrics client.MetricsHandler
}

// Dial connects a client whose payloads and failures are encrypted.
func Dial(ctx context.Context, opts Options) (client.Client, error) {
	if opts.Keys == nil {
		return nil, errors.New("temporalx: a payload keyring is required: workflow payloads are never stored in clear")
	}
	pc := codec.New(opts.Keys)
	if opts.DataKeys != nil {
		pc = pc.WithDataKeys(opts.DataKeys)
	}
	co := client.Options{
		HostPort:         opts.HostPort,
		Namespace:        opts.Namespace,
		DataConverter:    pc.DataConverter(),
		FailureConverter: pc.FailureConverter(),
	}
	if opts.Logger != nil {
		co.Logger = sdklog.NewStructuredLogger(opts.Logger)
	}
	if opts.Metrics != nil {
		co.MetricsHandler = opts.Metrics
	}
	if opts.TLS != nil {
		co.ConnectionOptions.TLS = opts.TLS
	}
	if opts.APIKey != "" {
		co.Credentials = client.NewAPIKeyStaticCredentials(opts.APIKey)
	}
	c, err := client.DialContext(ctx, co)
	if err != nil {
		return nil, fmt.Errorf("connecting to Temporal at %s (namespace %s): %w", opts.HostPort, opts.Namespace, err)
	}
	return c, nil
}

// Starter starts ChildCycleWorkflows; it implements activities.CycleStarter.
type Starter struct {
	Client client.Client
}

// StartCycle starts the cycle unless a cycle with its ID exists already
// (running or closed), in which case started is false.
func (s *Starter) StartCycle(ctx context.Context, in cycle.CycleInput) (bool, error) {
	_, err := s.Client.ExecuteWorkflow(ctx, client.StartWorkflowOptions{
		ID:                       cycle.CycleID(in.SiteID, in.Wave, in.ChildID),
		TaskQueue:                sites.TaskQueue(in.SiteID),
		WorkflowIDReusePolicy:    enumspb.WORKFLOW_ID_REUSE_POLICY_REJECT_DUPLICATE,
		WorkflowIDConflictPolicy: enumspb.WORKFLOW_ID_CONFLICT_POLICY_FAIL,
		TypedSearchAttributes:    cycle.CycleSearchAttributes(in),
	}, workflows.CycleWorkflowName, in)
	var already *serviceerror.WorkflowExecutionAlreadyStarted
	if errors.As(err, &already) {
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("starting %s: %w", cycle.CycleID(in.SiteID, in.Wave, in.ChildID), err)
	}
	return true, nil
}

// SignalCycle signals a workflow of the cycle's family (a cycle, its wave);
// a workflow that has closed or does not exist is no error (closed is
// false): there is nothing left for the signal to change.
func (s *Starter) SignalCycle(ctx context.Context, workflowID, name string, arg any) (bool, error) {
	err := s.Client.SignalWorkflow(ctx, workflowID, "", name, arg)
	var notFound *serviceerror.NotFound
	if errors.As(err, &notFound) {
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("signalling %s: %w", workflowID, err)
	}
	return true, nil
}

// ChildSubject maps a workflow ID to the child whose data key seals its
// payloads: a child's cycle (cycle/SITE/WAVE/CHILD) is about that child.
// Referrals are not: a safeguarding referral outlives a withdrawal of
// consent (the duty of care), and carries codes, not answers or notes.
func ChildSubject(workflowID string) (string, bool) {
	ref, err := cycle.ParseCycleID(workflowID)
	if err != nil {
		return "", false
	}
	return ref.Child, true
}
