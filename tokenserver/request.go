package tokenserver

import (
	"errors"
	"net/http"
	"net/url"

	"github.com/regauth/regauth/acl"
)

// tokenRequest is a parsed token request.
type tokenRequest struct {
	service  string
	scopes   []acl.Scope
	offline  bool   // offline_token=true: the client would keep a refresh token
	clientID string // client_id, such as "docker"

	hasCredentials bool
	user, password string
}

// maxQueryLen bounds the raw query; 64 scopes of 512 bytes fit well within.
const maxQueryLen = 64 << 10

// parseRequest reads a GET token request. service is the one service this
// server issues tokens for: a request naming another is refused, one naming
// none gets a token for it, as some challenges carry no service.
func parseRequest(r *http.Request, service string) (*tokenRequest, error) {
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
	if req.service != "" && req.service != service {
		return req, badRequest("unknown service "+quote(req.service), nil)
	}
	req.service = service

	if acct := q.Get("account"); acct != "" && req.hasCredentials && acct != req.user {
		return req, badRequest("account does not match the credentials", nil)
	}
	req.offline = q.Get("offline_token") == "true"
	req.clientID = q.Get("client_id")

	req.scopes, err = acl.ParseScopes(q["scope"])
	if err != nil {
		return req, badRequest(err.Error(), err)
	}
	return req, nil
}

// quote returns s quoted and cut short, for echoing client input safely.
func quote(s string) string {
	const limit = 64
	if len(s) > limit {
		s = s[:limit] + "..."
	}
	return `"` + url.QueryEscape(s) + `"`
}
