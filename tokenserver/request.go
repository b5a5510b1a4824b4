package tokenserver

import (
	"errors"
	"mime"
	"net/http"
	"net/url"
	"unicode/utf8"

	"github.com/regauth/regauth/acl"
)

// Grant types of the OAuth 2 form (POST) requests.
const (
	grantPassword     = "password"
	grantRefreshToken = "refresh_token"
)

// tokenRequest is a parsed token request, GET or POST.
type tokenRequest struct {
	oauth     bool   // a POST form request; the answer carries scope
	grantType string // for POST: password or refresh_token
	service   string
	scopes    []acl.Scope
	offline   bool   // the client would keep a refresh token
	clientID  string // client_id, such as "docker"

	hasCredentials bool // a user name and password came, by header or form
	user, password string
	refreshToken   string
}

// Size limits. A query or form with 64 scopes of 512 bytes fits well
// within; anything larger is not a token request.
const (
	maxQueryLen = 64 << 10
	maxFormLen  = 64 << 10
)

// parseRequest reads a token request. service is the one service this
// server issues tokens for: a request naming another is refused, one naming
// none gets a token for it, as some challenges carry no service.
func parseRequest(w http.ResponseWriter, r *http.Request, service string) (*tokenRequest, error) {
	var (
		req *tokenRequest
		err error
	)
	switch r.Method {
	case http.MethodGet, http.MethodHead:
		req, err = parseGet(r)
	case http.MethodPost:
		req, err = parsePost(w, r)
	default:
		return &tokenRequest{}, &requestError{status: http.StatusMethodNotAllowed,
			code: "invalid_request", description: "use GET or POST"}
	}
	if err != nil {
		return req, err
	}

	if len(req.clientID) > maxClientIDLen || !printable(req.clientID) {
		return req, badRequest("client_id must be at most 128 printable characters", nil)
	}
	if req.service != "" && req.service != service {
		return req, badRequest("unknown service "+quote(req.service), nil)
	}
	req.service = service
	return req, nil
}

// parseGet reads the token request of the Docker registry token
// specification: query parameters and optional Basic credentials.
func parseGet(r *http.Request) (*tokenRequest, error) {
	req := &tokenRequest{}
	if len(r.URL.RawQuery) > maxQueryLen {
		return req, badRequest("query too long", nil)
	}
	q, err := url.ParseQuery(r.URL.RawQuery)
	if err != nil {
		return req, badRequest("malformed query", err)
	}

	user, password, err := parseBasic(r.Header.Get("Authorization"))
	switch {
	case err == nil:
		req.hasCredentials, req.user, req.password = true, user, password
	case !errors.Is(err, errNoCredentials):
		return req, badRequest("malformed Authorization header: want Basic credentials", err)
	}

	req.service = q.Get("service")
	if acct := q.Get("account"); acct != "" && req.hasCredentials && acct != req.user {
		return req, badRequest("account does not match the credentials", nil)
	}
	// A HEAD answer has no body, so it could not carry a refresh token.
	req.offline = q.Get("offline_token") == "true" && r.Method != http.MethodHead
	req.clientID = q.Get("client_id")

	req.scopes, err = acl.ParseScopes(q["scope"])
	if err != nil {
		return req, badRequest(err.Error(), err)
	}
	return req, nil
}

// parsePost reads an OAuth 2 token request (RFC 6749 sections 4.3 and 6)
// as the Docker registry specification profiles it: a form with grant_type
// password or refresh_token, a required client_id, and scopes in one
// space-separated field.
func parsePost(w http.ResponseWriter, r *http.Request) (*tokenRequest, error) {
	req := &tokenRequest{oauth: true}
	ct, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type"))
	if ct != "application/x-www-form-urlencoded" {
		return req, badRequest("want a form body (application/x-www-form-urlencoded)", nil)
	}
	r.Body = http.MaxBytesReader(w, r.Body, maxFormLen)
	if err := r.ParseForm(); err != nil {
		// The parser's message quotes bytes of the body, which may be a
		// password: the log gets no more than the client.
		return req, badRequest("malformed form", nil)
	}
	f := r.PostForm

	req.service = f.Get("service")
	req.clientID = f.Get("client_id")
	req.offline = f.Get("access_type") == "offline"
	if req.clientID == "" {
		return req, badRequest("client_id is required", nil)
	}

	switch grant := f.Get("grant_type"); grant {
	case grantPassword:
		req.grantType = grant
		req.user, req.password = f.Get("username"), f.Get("password")
		if req.user == "" {
			return req, badRequest("username is required", nil)
		}
		req.hasCredentials = true
	case grantRefreshToken:
		req.grantType = grant
		req.refreshToken = f.Get("refresh_token")
		if req.refreshToken == "" {
			return req, badRequest("refresh_token is required", nil)
		}
	default:
		// Not echoed into the log or the metrics: a client could make
		// every request a new label.
		req.grantType = "unsupported"
		return req, &requestError{status: http.StatusBadRequest, code: "unsupported_grant_type",
			description: "grant_type must be password or refresh_token"}
	}

	var err error
	req.scopes, err = acl.ParseScopes(f["scope"])
	if err != nil {
		return req, badRequest(err.Error(), err)
	}
	return req, nil
}

// maxClientIDLen bounds client_id, which refresh token records keep.
const maxClientIDLen = 128

func printable(s string) bool {
	for _, r := range s {
		if r < ' ' || r == 0x7f || r == utf8.RuneError {
			return false
		}
	}
	return true
}

// quote returns s quoted and cut short, for echoing client input safely.
func quote(s string) string {
	const limit = 64
	if len(s) > limit {
		s = s[:limit] + "..."
	}
	return `"` + url.QueryEscape(s) + `"`
}
