package api

import (
	"crypto/rand"
	"encoding/base64"
	"net/http"

	"github.com/gin-gonic/gin"
)

// offlineKey gives a signed-in field worker's browser the key it encrypts
// forms queued without a connection under (AES-GCM in the browser). The key
// is the user's, kept sealed on the server: any sign-in of the same user
// opens what an earlier one queued, and the browser keeps the key only
// while the session lasts, so a lost phone's queue stays sealed until the
// practitioner signs in again. Only browser sessions get it: a token
// client has no offline queue.
func (s *Server) offlineKey(c *gin.Context) {
	p := principal(c)
	if p.Via != "session" {
		problem(c, http.StatusForbidden, "Browser sessions only", "the offline key is for a signed-in browser")
		return
	}
	key, err := s.Store.DeviceKeyFor(c.Request.Context(), p.UserID, func() ([]byte, error) {
		k := make([]byte, 32)
		_, err := rand.Read(k)
		return k, err
	})
	if err != nil {
		storeProblem(c, err, "offline key")
		return
	}
	c.Header("Cache-Control", "no-store")
	c.JSON(http.StatusOK, gin.H{"key": base64.RawURLEncoding.EncodeToString(key), "alg": "A256GCM"})
}
