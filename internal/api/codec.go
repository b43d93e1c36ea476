package api

import (
	"fmt"
	"io"
	"net/http"

	"github.com/gin-gonic/gin"
	commonpb "go.temporal.io/api/common/v1"
	"google.golang.org/protobuf/encoding/protojson"

	"github.com/khula-cop/khula/internal/auth"
	"github.com/khula-cop/khula/internal/store"
)

// codecRoutes serve Temporal's remote codec protocol, so that an
// authorised operator's Temporal UI (or `temporal --codec-endpoint`) can
// read the encrypted payloads. Only programme managers may, and every
// decode is audited: payloads hold children's answers.
func (s *Server) codecRoutes(r *gin.Engine) {
	if s.Codec == nil {
		return
	}
	g := r.Group("/codec", s.codecCORS())
	g.OPTIONS("/decode", func(c *gin.Context) { c.Status(http.StatusNoContent) })
	g.OPTIONS("/encode", func(c *gin.Context) { c.Status(http.StatusNoContent) })
	authed := g.Group("", s.authenticate(), roles(auth.ProgrammeManager))
	authed.POST("/decode", s.codecHandler(true))
	authed.POST("/encode", s.codecHandler(false))
}

// codecCORS lets the configured Temporal UI origin call the codec endpoints.
func (s *Server) codecCORS() gin.HandlerFunc {
	return func(c *gin.Context) {
		if s.CodecCORSOrigin != "" && c.GetHeader("Origin") == s.CodecCORSOrigin {
			h := c.Writer.Header()
			h.Set("Access-Control-Allow-Origin", s.CodecCORSOrigin)
			h.Set("Access-Control-Allow-Credentials", "true")
			h.Set("Access-Control-Allow-Headers", "Authorization, Content-Type, X-Namespace")
			h.Set("Access-Control-Allow-Methods", "POST, OPTIONS")
			h.Set("Vary", "Origin")
		}
		c.Next()
	}
}

func (s *Server) codecHandler(decode bool) gin.HandlerFunc {
	return func(c *gin.Context) {
		body, err := io.ReadAll(http.MaxBytesReader(c.Writer, c.Request.Body, 4<<20))
		if err != nil {
			problem(c, http.StatusRequestEntityTooLarge, "The payloads are too large", "")
			return
		}
		var in commonpb.Payloads
		if err := protojson.Unmarshal(body, &in); err != nil {
			problem(c, http.StatusBadRequest, "The body is not a Temporal payloads document", "")
			return
		}
		var out []*commonpb.Payload
		if decode {
			out, err = s.Codec.Decode(in.GetPayloads())
		} else {
			out, err = s.Codec.Encode(in.GetPayloads())
		}
		if err != nil {
			problem(c, http.StatusBadRequest, "The payloads could not be converted", "a payload was sealed with an unknown key or is damaged")
			return
		}
		if decode && !s.audit(c, store.AuditDecode, "", "", fmt.Sprintf("decoded %d payload(s) for namespace %q", len(out), c.GetHeader("X-Namespace")), "") {
			return
		}
		data, err := protojson.Marshal(&commonpb.Payloads{Payloads: out})
		if err != nil {
			problem(c, http.StatusInternalServerError, "Encoding the answer failed", "")
			return
		}
		c.Data(http.StatusOK, "application/json", data)
	}
}
