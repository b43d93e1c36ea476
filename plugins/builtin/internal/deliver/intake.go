package deliver

import (
	"errors"
	"io"
	"net/http"

	"github.com/khula-cop/khula/internal/intake"
)

// FetchError classifies an error of intake.FetchCentral or intake.FetchKobo
// for the host: a refused token, a missing form or an export over the
// limit is permanent (the operator must act); a server error that outlived
// the fetch's own retries, a time-out or a broken connection is transient.
// The fetch's messages name the URL, never the token.
func FetchError(err error) error {
	if err == nil {
		return nil
	}
	var status *intake.StatusError
	if errors.As(err, &status) {
		code := status.StatusCode
		if code >= 500 || code == http.StatusTooManyRequests || code == http.StatusRequestTimeout {
			return Transient("%v", err)
		}
		return Permanent("%v", err)
	}
	var large *intake.TooLargeError
	if errors.As(err, &large) {
		return Permanent("%v", err)
	}
	return Transient("%v", err)
}

// CheckServerURL validates a form server's base URL at configuration time.
func CheckServerURL(setting, raw string) error {
	if err := CheckURL(raw); err != nil {
		return Permanent("%s %q: want the server's http(s) base URL, such as https://central.example.org", setting, raw)
	}
	return nil
}

// ReadAllFetched reads what a fetch returned, classifying its error.
func ReadAllFetched(rc io.ReadCloser, err error) ([]byte, error) {
	if err != nil {
		return nil, FetchError(err)
	}
	defer rc.Close()
	data, err := io.ReadAll(rc)
	if err != nil {
		return nil, Transient("reading the submissions: %v", err)
	}
	return data, nil
}

// FormServer is the part of an intake plugin's settings that reaches its
// form server: the base URL and the variable holding the API token.
type FormServer struct {
	URL      string   `json:"url"`
	TokenEnv string   `json:"token_env"`
	Timeout  Duration `json:"timeout,omitempty"`
}

// Token checks the URL and reads the token; what names the server for
// the messages ("the Central token").
func (s FormServer) Token(what string) (string, error) {
	if err := CheckServerURL("url", s.URL); err != nil {
		return "", err
	}
	if s.TokenEnv == "" {
		return "", Permanent("token_env is required: the environment variable holding %s", what)
	}
	token, err := Secret(s.TokenEnv)
	if err != nil {
		return "", err
	}
	if token == "" {
		return "", Permanent("token_env: $%s is empty", s.TokenEnv)
	}
	return token, nil
}
