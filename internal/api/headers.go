package api

import (
	"mime"
	"net/http"
	"strings"

	"github.com/gin-gonic/gin"
)

// securityHeaders sets what every answer needs: API answers (children's
// data) are never stored by a browser or proxy and never sniffed as another
// type; over TLS the browser is told to keep to HTTPS.
func securityHeaders() gin.HandlerFunc {
	return func(c *gin.Context) {
		h := c.Writer.Header()
		h.Set("X-Content-Type-Options", "nosniff")
		if strings.HasPrefix(c.Request.URL.Path, "/api/") || strings.HasPrefix(c.Request.URL.Path, "/codec/") {
			h.Set("Cache-Control", "no-store")
		}
		if c.Request.TLS != nil || c.GetHeader("X-Forwarded-Proto") == "https" {
			h.Set("Strict-Transport-Security", "max-age=31536000")
		}
		c.Next()
	}
}

// crossOrigin refuses state-changing browser requests from another origin
// (Go's CrossOriginProtection: Sec-Fetch-Site, else Origin against Host),
// a second layer behind the CSRF token. API clients with tokens send
// neither header and pass. The codec routes are called by the operator's
// Temporal UI from its own origin and have their CORS check instead.
func crossOrigin() gin.HandlerFunc {
	cop := http.NewCrossOriginProtection()
	return func(c *gin.Context) {
		if strings.HasPrefix(c.Request.URL.Path, "/codec/") {
			c.Next()
			return
		}
		if err := cop.Check(c.Request); err != nil {
			problem(c, http.StatusForbidden, "Cross-origin request refused", "this request came from another site's page")
			c.Abort()
			return
		}
		c.Next()
	}
}

// isJSON reports a JSON request body by its Content-Type.
func isJSON(c *gin.Context) bool {
	mt, _, err := mime.ParseMediaType(c.GetHeader("Content-Type"))
	return err == nil && (mt == "application/json" || strings.HasSuffix(mt, "+json"))
}
