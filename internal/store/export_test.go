package store

// AuditHashForTest exposes the chain's hash so tests can play an attacker
// who recomputes it with a key of their own.
func AuditHashForTest(e AuditEntry, key []byte) string { return auditHash(e, key) }
