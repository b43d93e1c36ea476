package api

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"

	"github.com/gin-gonic/gin"

	"github.com/khula-cop/khula/internal/cycle"
)

const maxBody = 1 << 20

// bind decodes a JSON body strictly (unknown fields are errors) into v.
// It writes the problem response itself and returns false on failure.
func bind(c *gin.Context, v any) bool {
	body := http.MaxBytesReader(c.Writer, c.Request.Body, maxBody)
	dec := json.NewDecoder(body)
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		var tooBig *http.MaxBytesError
		var typeErr *json.UnmarshalTypeError
		switch {
		case errors.As(err, &tooBig):
			problem(c, http.StatusRequestEntityTooLarge, "The request body is too large", fmt.Sprintf("at most %d bytes", maxBody))
		case errors.Is(err, io.EOF):
			problem(c, http.StatusBadRequest, "The request body is empty", "send a JSON object")
		case errors.As(err, &typeErr):
			field := typeErr.Field
			if field == "" {
				field = "(body)"
			}
			problem(c, http.StatusUnprocessableEntity, "A field has the wrong type", "nothing was recorded",
				cycle.FieldError{Field: field, Code: "wrong_type", Message: fmt.Sprintf("%s must be %s", field, typeErr.Type.String())})
		case strings.HasPrefix(err.Error(), "json: unknown field "):
			name := strings.Trim(strings.TrimPrefix(err.Error(), "json: unknown field "), `"`)
			problem(c, http.StatusUnprocessableEntity, "Unknown field", "nothing was recorded",
				cycle.FieldError{Field: name, Code: "unknown_field", Message: "this endpoint has no field " + name})
		default:
			invalidBody(c, err)
		}
		return false
	}
	if dec.More() {
		problem(c, http.StatusBadRequest, "The request body holds more than one JSON value", "send one object")
		return false
	}
	if fields := hiddenTextFields(v); len(fields) > 0 {
		var fe fieldErrors
		for _, f := range fields {
			fe.add(f, "hidden_characters", "%s holds control or invisible characters (NUL, escape sequences, zero-width or direction marks): remove them", f)
		}
		fe.reject(c, "request")
		return false
	}
	return true
}

// fieldErrors collects validation problems of a request body.
type fieldErrors []cycle.FieldError

func (f *fieldErrors) add(field, code, format string, args ...any) {
	*f = append(*f, cycle.FieldError{Field: field, Code: code, Message: fmt.Sprintf(format, args...)})
}

// reject writes a 422 if any field is invalid and reports whether it did.
func (f fieldErrors) reject(c *gin.Context, what string) bool {
	if len(f) == 0 {
		return false
	}
	problem(c, http.StatusUnprocessableEntity, "The "+what+" was rejected: nothing was recorded", fmt.Sprintf("%d field(s) invalid", len(f)), f...)
	return true
}
