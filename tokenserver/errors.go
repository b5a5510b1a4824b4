package tokenserver

import (
	"encoding/json"
	"fmt"
	"net/http"
	"strconv"
	"time"
)

// requestError is what a client is told when its request fails: a status,
// an OAuth 2 error code and a short description that never holds internal
// detail. The detailed reason goes to the log.
type requestError struct {
	status      int
	code        string // OAuth 2 error code (RFC 6749 section 5.2)
	description string
	cause       error // for the log only
	retryAfter  time.Duration
}

func (e *requestError) Error() string {
	if e.cause != nil {
		return fmt.Sprintf("%s: %v", e.description, e.cause)
	}
	return e.description
}

func (e *requestError) Unwrap() error { return e.cause }

func badRequest(description string, cause error) *requestError {
	return &requestError{status: http.StatusBadRequest, code: "invalid_request",
		description: description, cause: cause}
}

func unauthorized(cause error) *requestError {
	return &requestError{status: http.StatusUnauthorized, code: "invalid_grant",
		description: "authentication failed: wrong user name or password", cause: cause}
}

// invalidRefresh answers a refresh token that is no good. It is 401, like
// a wrong password: the client must log in again.
func invalidRefresh(cause error) *requestError {
	return &requestError{status: http.StatusUnauthorized, code: "invalid_grant",
		description: "the refresh token is invalid, expired or revoked; log in again", cause: cause}
}

func unavailable(cause error) *requestError {
	return &requestError{status: http.StatusServiceUnavailable, code: "temporarily_unavailable",
		description: "the account store cannot be reached; try again", cause: cause}
}

func tooManyAttempts(wait time.Duration) *requestError {
	return &requestError{status: http.StatusTooManyRequests, code: "slow_down",
		description: "too many failed logins; try again later", retryAfter: wait}
}

func internal(cause error) *requestError {
	return &requestError{status: http.StatusInternalServerError, code: "server_error",
		description: "the token could not be issued", cause: cause}
}

// errorBody carries the error in both forms clients read: the OAuth 2
// fields that containerd parses, and the registry "errors" list that the
// Docker client turns into its message.
type errorBody struct {
	Error       string          `json:"error"`
	Description string          `json:"error_description"`
	Errors      []registryError `json:"errors"`
}

type registryError struct {
	Code    string `json:"code"`
	Message string `json:"message"`
}

var registryCodes = map[int]string{
	http.StatusBadRequest:         "UNSUPPORTED",
	http.StatusUnauthorized:       "UNAUTHORIZED",
	http.StatusMethodNotAllowed:   "UNSUPPORTED",
	http.StatusServiceUnavailable: "UNAVAILABLE",
	http.StatusTooManyRequests:    "TOOMANYREQUESTS",
}

func writeError(w http.ResponseWriter, e *requestError, realm string) {
	if e.retryAfter > 0 {
		w.Header().Set("Retry-After", strconv.Itoa(int(e.retryAfter.Round(time.Second)/time.Second)+1))
	}
	if e.status == http.StatusUnauthorized {
		w.Header().Set("WWW-Authenticate", fmt.Sprintf("Basic realm=%q", realm))
	}
	if e.status == http.StatusMethodNotAllowed {
		// RFC 9110 section 15.5.6: a 405 lists the methods that work.
		w.Header().Set("Allow", "GET, HEAD, POST")
	}
	code, ok := registryCodes[e.status]
	if !ok {
		code = "UNKNOWN"
	}
	writeJSON(w, e.status, errorBody{
		Error:       e.code,
		Description: e.description,
		Errors:      []registryError{{Code: code, Message: e.description}},
	})
}

// writeJSON answers v as JSON with a Content-Length. A token answer is
// larger than the 2 KB net/http holds back before it must start sending,
// so encoding it after WriteHeader would send it chunked, without a length.
func writeJSON(w http.ResponseWriter, status int, v any) {
	body, err := json.Marshal(v)
	if err != nil {
		// Only this package's answer types come here, and they encode.
		status, body = http.StatusInternalServerError, []byte(`{"error":"server_error"}`)
	}
	body = append(body, '\n')

	h := w.Header()
	h.Set("Content-Type", "application/json")
	h.Set("Content-Length", strconv.Itoa(len(body)))
	h.Set("Cache-Control", "no-store")
	h.Set("Pragma", "no-cache")
	w.WriteHeader(status)
	_, _ = w.Write(body)
}
