package api

import (
	"context"
	"log/slog"
	"time"
)

// Audit outbox drain timings.
const (
	// AuditDrainEvery is how often the server appends queued audit entries
	// (writes whose entry could not be appended at once) to the chain.
	AuditDrainEvery = 5 * time.Second
	// AuditHeadLogEvery is how often the chain's head is written to the
	// log: a copy outside the database, which `khula audit verify --head`
	// takes to notice a deleted tail.
	AuditHeadLogEvery = 10 * time.Minute
	auditDrainBatch   = 500
)

// startAuditDrain starts, once per server, the loop that drains the audit
// outbox and logs the chain's head; Wait stops it after a last drain.
func (s *Server) startAuditDrain() {
	if s.Store == nil {
		return
	}
	s.drainOnce.Do(func() {
		// The loop keeps the logger the server had when it started: it
		// never reads the Server's fields while they may still be set.
		logger := s.Logger
		s.background.Add(1)
		go func() {
			defer s.background.Done()
			s.logAuditHead(logger)
			tick := time.NewTicker(AuditDrainEvery)
			defer tick.Stop()
			lastHead := time.Now()
			for {
				select {
				case <-s.stopping():
					return
				case <-tick.C:
				}
				s.drainAuditOutbox(logger)
				if time.Since(lastHead) >= AuditHeadLogEvery {
					s.logAuditHead(logger)
					lastHead = time.Now()
				}
			}
		}()
	})
}

// drainAuditOutbox appends every queued entry, a batch at a time.
func (s *Server) drainAuditOutbox(logger *slog.Logger) {
	if s.Store == nil {
		return
	}
	for {
		ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
		n, err := s.Store.DrainAuditOutbox(ctx, auditDrainBatch)
		cancel()
		if err != nil {
			if logger != nil {
				logger.Warn("draining the audit outbox failed; the entries stay queued", "error", err)
			}
			return
		}
		if n > 0 && logger != nil {
			logger.Info("queued audit entries appended to the chain", "entries", n)
		}
		if n < auditDrainBatch {
			return
		}
	}
}

// logAuditHead writes the chain's head (entry number and hash, no personal
// data) to the log.
func (s *Server) logAuditHead(logger *slog.Logger) {
	if logger == nil {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	head, err := s.Store.ReadAuditHead(ctx)
	if err != nil {
		logger.Warn("reading the audit head failed", "error", err)
		return
	}
	logger.Info("audit head", "seq", head.Seq, "hash", head.Hash, "verify_with", "khula audit verify --head "+head.String())
}
