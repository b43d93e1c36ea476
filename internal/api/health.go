package api

import (
	"context"
	"log/slog"
	"net/http"
	"time"

	"github.com/gin-gonic/gin"
)

// readyTimeout bounds one readiness check.
const readyTimeout = 3 * time.Second

// HealthRoutes registers /healthz (the process answers) and /readyz (its
// database and engine answer) on r, the same for the API and for a
// worker's ops listener. A failed readiness check is a 503 problem that
// does not say which dependency failed or where it is: that is for the
// operator's log, not for whoever can reach the port. A nil ready is
// always ready.
func HealthRoutes(r gin.IRoutes, ready func(context.Context) error, logger *slog.Logger) {
	r.GET("/healthz", func(c *gin.Context) { c.JSON(http.StatusOK, gin.H{"status": "ok"}) })
	r.GET("/readyz", func(c *gin.Context) {
		if ready != nil {
			ctx, cancel := context.WithTimeout(c.Request.Context(), readyTimeout)
			defer cancel()
			if err := ready(ctx); err != nil {
				if logger != nil {
					logger.Warn("not ready", "error", err)
				}
				problem(c, http.StatusServiceUnavailable, "Not ready", "the database or the engine does not answer; the server log says which")
				return
			}
		}
		c.JSON(http.StatusOK, gin.H{"status": "ready"})
	})
}
