// Package api serves khula's HTTP API (gin, under /api/v1) and the health
// endpoints. Human inputs become Temporal Updates; the validators in the
// workflows are the authority on what is accepted, and their field errors
// come back as 422 problem documents. Reads come from the app database.
package api

import (
	"context"
	"log/slog"
	"net/http"
	"sync"
	"time"

	"github.com/gin-gonic/gin"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/converter"

	"github.com/khula-cop/khula/internal/auth"
	"github.com/khula-cop/khula/internal/cycle"
	"github.com/khula-cop/khula/internal/instrument"
	"github.com/khula-cop/khula/internal/metrics"
	"github.com/khula-cop/khula/internal/store"
	"github.com/khula-cop/khula/sites"
)

// Directory finds sites and the instrument version each one uses.
type Directory interface {
	Site(id string) (*sites.Site, bool)
	Sites() []*sites.Site
	Instrument(siteID string) (cycle.InstrumentRef, bool)
}

// Instruments finds a loaded instrument version.
type Instruments interface {
	Instrument(ref cycle.InstrumentRef) (*instrument.Instrument, bool)
}

// Server holds the API's dependencies.
type Server struct {
	Temporal client.Client
	Store    *store.Store
	Sites    Directory
	// Instruments gives the domains' labels and the research codebook.
	Instruments Instruments
	Logger      *slog.Logger
	// AllowCompressedTime lets a wave or meeting run with a compressed day
	// (the simulator); production leaves it off.
	AllowCompressedTime bool
	// Ready reports whether the process can serve (database, engine, plugins).
	Ready func(ctx context.Context) error
	// Now is the clock; nil means time.Now.
	Now func() time.Time
	// TrustedProxies lists the proxies (addresses or CIDRs) whose
	// X-Forwarded-For names the client; none by default.
	TrustedProxies []string
	// Codec, when set, serves /codec/decode and /codec/encode for an
	// operator's Temporal UI; CodecCORSOrigin is that UI's origin.
	Codec           converter.PayloadCodec
	CodecCORSOrigin string
	// Metrics, when set, counts requests; Gatherer, when set, is served at /metrics.
	Metrics  *metrics.HTTP
	Gatherer prometheus.Gatherer
	// Mount, when set, registers more routes on the same engine (the web UI).
	Mount func(r *gin.Engine)

	// touched holds when each token's last use was last recorded;
	// background counts those writes still running (Wait waits for them).
	touched sync.Map
	// signIns throttles wrong passwords per username and address.
	signIns    signInThrottle
	background sync.WaitGroup
	drainOnce  sync.Once
	stopOnce   sync.Once
	closeOnce  sync.Once
	stop       chan struct{}
}

// Wait stops the writes the server does in the background (a token's last
// use, audit entries being retried) after one last attempt, and waits for
// them: call it after the HTTP server has stopped and before closing the
// store.
func (s *Server) Wait() {
	s.stopping()
	s.closeOnce.Do(func() { close(s.stop) })
	s.background.Wait()
	// Entries queued by the last attempts above are appended now if the
	// chain takes them; otherwise they stay queued for the next process.
	s.drainAuditOutbox(s.Logger)
}

// stopping is closed when Wait is called.
func (s *Server) stopping() <-chan struct{} {
	s.stopOnce.Do(func() { s.stop = make(chan struct{}) })
	return s.stop
}

func (s *Server) now() time.Time {
	if s.Now != nil {
		return s.Now().UTC()
	}
	return time.Now().UTC()
}

// RequestDeadline bounds the work of one request: a request that waits
// longer (for a database write lock another process holds, for a pool
// connection behind queued writers) gives up and answers 503 with
// Retry-After, rather than hold the client until its own timeout.
const RequestDeadline = 25 * time.Second

func requestDeadline(d time.Duration) gin.HandlerFunc {
	return func(c *gin.Context) {
		ctx, cancel := context.WithTimeout(c.Request.Context(), d)
		defer cancel()
		c.Request = c.Request.WithContext(ctx)
		c.Next()
	}
}

// Handler builds the gin engine with every route.
//
// It also starts the drain of the audit outbox (see startAuditDrain).
func (s *Server) Handler() http.Handler {
	s.startAuditDrain()
	gin.SetMode(gin.ReleaseMode)
	r := gin.New()
	// The client's address is the connection's unless it comes through a
	// proxy the operator named: X-Forwarded-For from anyone else is ignored
	// (sign-in throttling counts by address).
	if err := r.SetTrustedProxies(s.TrustedProxies); err != nil && s.Logger != nil {
		s.Logger.Error("trusted proxies not understood: trusting none", "error", err)
		_ = r.SetTrustedProxies(nil)
	}
	r.Use(gin.CustomRecovery(func(c *gin.Context, _ any) {
		problem(c, http.StatusInternalServerError, "Internal error", "the error was logged")
	}))
	r.Use(s.accessLog())
	r.Use(securityHeaders(), crossOrigin(), s.releaseRefusedKeys())
	r.Use(requestDeadline(RequestDeadline))
	if s.Metrics != nil {
		r.Use(s.Metrics.Middleware())
	}
	r.HandleMethodNotAllowed = true
	r.NoRoute(func(c *gin.Context) { problem(c, http.StatusNotFound, "Not found", "no such route") })
	r.NoMethod(func(c *gin.Context) { problem(c, http.StatusMethodNotAllowed, "Method not allowed", "") })

	HealthRoutes(r, s.Ready, s.Logger)
	if s.Gatherer != nil {
		// Metrics describe the programme (children per stage and school):
		// only the ops role reads them, with an API token (a Prometheus
		// scrape's bearer token).
		r.GET("/metrics", s.authenticate(), roles(auth.Ops),
			gin.WrapH(promhttp.HandlerFor(s.Gatherer, promhttp.HandlerOpts{ErrorHandling: promhttp.ContinueOnError})))
	}

	s.codecRoutes(r)
	r.POST("/api/v1/session", s.signIn)
	r.GET("/api/v1/openapi.json", s.openAPI)
	v1 := r.Group("/api/v1", s.authenticate(), checkReasonHeader(), s.auditChildDenials())
	v1.DELETE("/session", s.signOut)
	v1.GET("/session/offline-key", roles(fieldWorkers...), s.offlineKey)
	v1.GET("/me", s.me)
	v1.GET("/sites", roles(anyRole...), s.listSites)
	v1.GET("/sites/:site", roles(anyRole...), s.getSite)
	v1.POST("/sites/:site/cohort", roles(planners...), s.importCohort)
	v1.POST("/sites/:site/intake", roles(fieldWorkers...), s.importSubmissions)
	v1.GET("/work", roles(childViewers...), s.getWorkPage)
	v1.GET("/work/children", roles(fieldWorkers...), s.workChildren)

	v1.POST("/waves", roles(planners...), s.launchWave)
	v1.GET("/waves", roles(childViewers...), s.listWavesPage)
	v1.GET("/waves/:site/:wave", roles(childViewers...), s.getWave)

	v1.GET("/cycles/:site/:wave/:child", roles(childViewers...), s.getCycle)
	v1.POST("/cycles/:site/:wave/:child/assessments", roles(fieldWorkers...), s.submitAssessment)
	v1.POST("/cycles/:site/:wave/:child/follow-ups", roles(fieldWorkers...), s.recordFollowUp)

	v1.POST("/meetings", roles(fieldWorkers...), s.startMeeting)
	v1.GET("/meetings/:site/:school/:date", roles(childViewers...), s.getMeeting)
	v1.POST("/meetings/:site/:school/:date/minutes", roles(fieldWorkers...), s.submitMinutes)

	v1.POST("/referrals/:site/:wave/:child/:k/acknowledge", roles(fieldWorkers...), s.acknowledgeReferral)
	v1.POST("/referrals/:site/:wave/:child/:k/outcome", roles(fieldWorkers...), s.referralOutcome)
	s.windowRoutes(v1)
	s.concernRoutes(v1)
	s.privacyRoutes(v1)
	s.followUpRoutes(v1)
	s.copRoutes(v1)
	s.reviewRoutes(v1)
	s.evidenceRoutes(v1)
	s.userRoutes(v1)
	if s.Mount != nil {
		s.Mount(r)
	}
	return r
}

// accessLog logs the route template, never the concrete path: paths carry
// child and cycle IDs, which stay out of logs.
func (s *Server) accessLog() gin.HandlerFunc {
	return func(c *gin.Context) {
		start := time.Now()
		c.Next()
		if s.Logger == nil {
			return
		}
		route := c.FullPath()
		if route == "" {
			route = "unmatched"
		}
		level := slog.LevelDebug
		if c.Writer.Status() >= 500 {
			level = slog.LevelWarn
		}
		s.Logger.Log(c.Request.Context(), level, "http request", "method", c.Request.Method, "route", route,
			"status", c.Writer.Status(), "duration", time.Since(start).Round(time.Microsecond))
	}
}
