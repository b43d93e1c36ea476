package bench

import (
	"context"
	"fmt"
	"sync"
	"time"

	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/worker"
	"go.temporal.io/sdk/workflow"
)

// baselineQueue is the task queue of the bare-engine baselines.
const baselineQueue = "bench-baseline"

// emptyWorkflow does nothing: the bare engine's cost of a workflow.
func emptyWorkflow(workflow.Context) error { return nil }

// noop is an activity that does nothing.
func noop(context.Context) error { return nil }

// sevenActivities has the shape of a cycle: seven activities in a row.
func sevenActivities(ctx workflow.Context) error {
	ctx = workflow.WithActivityOptions(ctx, workflow.ActivityOptions{StartToCloseTimeout: 30 * time.Second})
	for range 7 {
		if err := workflow.ExecuteActivity(ctx, noop).Get(ctx, nil); err != nil {
			return err
		}
	}
	return nil
}

// startBaselineWorker serves the baseline workflows with khula's worker tuning.
func startBaselineWorker(c client.Client, opts worker.Options) (worker.Worker, error) {
	w := worker.New(c, baselineQueue, opts)
	w.RegisterWorkflowWithOptions(emptyWorkflow, workflow.RegisterOptions{Name: "BenchEmpty"})
	w.RegisterWorkflowWithOptions(sevenActivities, workflow.RegisterOptions{Name: "BenchSevenActivities"})
	w.RegisterActivity(noop)
	if err := w.Start(); err != nil {
		return nil, fmt.Errorf("starting the baseline worker: %w", err)
	}
	return w, nil
}

// rateResult is a throughput measurement.
type rateResult struct {
	N        int
	Elapsed  time.Duration
	PerSec   float64
	Failures int
}

// runWorkflows starts n workflows of a type from a pool of starters and
// waits for all to complete; it reports completed workflows per second.
func runWorkflows(ctx context.Context, c client.Client, typ string, n, concurrency int, prefix string) rateResult {
	start := time.Now()
	var mu sync.Mutex
	failures := 0
	jobs := make(chan int)
	var wg sync.WaitGroup
	for range concurrency {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range jobs {
				run, err := c.ExecuteWorkflow(ctx, client.StartWorkflowOptions{ID: fmt.Sprintf("%s-%d", prefix, i), TaskQueue: baselineQueue}, typ)
				if err == nil {
					err = run.Get(ctx, nil)
				}
				if err != nil {
					mu.Lock()
					failures++
					mu.Unlock()
				}
			}
		}()
	}
	for i := range n {
		jobs <- i
	}
	close(jobs)
	wg.Wait()
	el := time.Since(start)
	return rateResult{N: n, Elapsed: el, PerSec: float64(n-failures) / el.Seconds(), Failures: failures}
}
