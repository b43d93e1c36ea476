package api

import (
	"context"
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
		s.background.Add(1)
		go func() {
			defer s.background.Done()
			s.logAuditHead()
			tick := time.NewTicker(AuditDrainEvery)
			defer tick.Stop()
			lastHead := time.Now()
			for {
				select {
				case <-s.stopping():
					return
				case <-tick.C:
				}
				s.drainAuditOutbox()
				if time.Since(lastHead) >= AuditHeadLogEvery {
					s.logAuditHead()
					lastHead = time.Now()
				}
			}
		}()
	})
}

// drainAuditOutbox appends every queued entry, a batch at a time.
func (s *Server) drainAuditOutbox() {
	if s.Store == nil {
		return
	}
	for {
		ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
		n, err := s.Store.DrainAuditOutbox(ctx, auditDrainBatch)
		cancel()
		if err != nil {
			if s.Logger != nil {
				s.Logger.Warn("draining the audit outbox failed; the entries stay queued", "error", err)
			}
			return
		}
		if n > 0 && s.Logger != nil {
			s.Logger.Info("queued audit entries appended to the chain", "entries", n)
		}
		if n < auditDrainBatch {
			return
		}
	}
}

// logAuditHead writes the chain's head (entry number and hash, no personal
// data) to the log.
func (s *Server) logAuditHead() {
	if s.Logger == nil {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	head, err := s.Store.ReadAuditHead(ctx)
	if err != nil {
		s.Logger.Warn("reading the audit head failed", "error", err)
		return
	}
	s.Logger.Info("audit head", "seq", head.Seq, "hash", head.Hash, "verify_with", "khula audit verify --head "+head.String())
}
