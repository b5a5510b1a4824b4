package tokenserver

import (
	"context"
	"crypto/rand"
	"errors"
	"log/slog"
	"net"
	"net/http"
	"sync/atomic"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"github.com/regauth/regauth/acl"
	"github.com/regauth/regauth/throttle"
	"github.com/regauth/regauth/users"
)

// MinTokenTTL is the shortest token lifetime the server issues: clients
// treat anything shorter as 60 seconds anyway, and the registry allows 60
// seconds of clock skew.
const MinTokenTTL = 60 * time.Second

// DefaultTokenTTL is the token lifetime when the configuration sets none.
const DefaultTokenTTL = 5 * time.Minute

// Accounts authenticates a name and a password. It returns an error
// wrapping users.ErrBadCredentials when they do not match, and any other
// error when it cannot tell.
type Accounts interface {
	Authenticate(ctx context.Context, name, password string) (users.Account, error)
}

// Config is what a Server needs besides its collaborators.
type Config struct {
	Service  string        // the registry's service name; the token audience
	Issuer   string        // the token issuer the registry trusts
	TokenTTL time.Duration // lifetime of access tokens; raised to MinTokenTTL
	Logger   *slog.Logger
	Now      func() time.Time // the clock; time.Now when nil
	// Limiter slows down password guessing; nil disables it.
	Limiter *throttle.Limiter
}

// Server is the token endpoint. It is safe for concurrent use; the signer
// and the policy may be replaced while it serves.
type Server struct {
	cfg      Config
	accounts Accounts
	policy   func() *acl.Policy
	signer   atomic.Pointer[Signer]
}

// New returns a Server. policy is called once per request and returns the
// rules in force, so that they can change while the server runs.
func New(cfg Config, signer *Signer, accounts Accounts, policy func() *acl.Policy) *Server {
	switch {
	case cfg.TokenTTL == 0:
		cfg.TokenTTL = DefaultTokenTTL
	case cfg.TokenTTL < MinTokenTTL:
		cfg.TokenTTL = MinTokenTTL
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	s := &Server{cfg: cfg, accounts: accounts, policy: policy}
	s.signer.Store(signer)
	return s
}

// SetSigner makes the server sign with signer from the next request on.
func (s *Server) SetSigner(signer *Signer) { s.signer.Store(signer) }

// ServeHTTP answers token requests: GET with query parameters and optional
// Basic credentials, as the Docker registry token specification describes.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	start := s.cfg.Now()
	ev := auditEvent{clientIP: clientIP(r), method: r.Method}

	resp, err := s.serve(r, &ev)
	if err != nil {
		var re *requestError
		if !errors.As(err, &re) {
			re = internal(err)
		}
		ev.outcome, ev.status, ev.reason = re.code, re.status, re.Error()
		writeError(w, re, s.cfg.Service)
	} else {
		ev.outcome, ev.status = "granted", http.StatusOK
		writeJSON(w, http.StatusOK, resp)
	}
	ev.duration = s.cfg.Now().Sub(start)
	ev.log(r.Context(), s.cfg.Logger)
}

// tokenResponse is the body of a successful answer. token and access_token
// hold the same value: older clients read the first, OAuth 2 clients the
// second.
type tokenResponse struct {
	Token       string `json:"token"`
	AccessToken string `json:"access_token"`
	ExpiresIn   int    `json:"expires_in"`
	IssuedAt    string `json:"issued_at"`
}

func (s *Server) serve(r *http.Request, ev *auditEvent) (*tokenResponse, error) {
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		return nil, &requestError{status: http.StatusMethodNotAllowed, code: "invalid_request",
			description: "use GET"}
	}

	req, err := parseRequest(r, s.cfg.Service)
	ev.service, ev.account, ev.scopes = req.service, req.user, req.scopes
	if err != nil {
		return nil, err
	}

	subj, err := s.authenticate(r.Context(), req, ev.clientIP)
	if err != nil {
		return nil, err
	}

	decisions := s.policy().Decide(subj, req.scopes)
	ev.decisions = decisions

	claims := s.claims(subj, decisions)
	ev.tokenID = claims.ID
	token, err := s.signer.Load().Sign(claims)
	if err != nil {
		return nil, err
	}
	return &tokenResponse{
		Token:       token,
		AccessToken: token,
		ExpiresIn:   int(s.cfg.TokenTTL / time.Second),
		IssuedAt:    claims.IssuedAt.UTC().Format(time.RFC3339),
	}, nil
}

// authenticate returns the subject of the request: anonymous without
// credentials, or the account whose password matched. Guessing is slowed
// down before bcrypt runs, so a throttled client costs little.
func (s *Server) authenticate(ctx context.Context, req *tokenRequest, ip string) (acl.Subject, error) {
	if !req.hasCredentials {
		return acl.Subject{}, nil
	}
	if err := s.checkThrottle(ctx, req.user, ip); err != nil {
		return acl.Subject{}, err
	}

	acct, err := s.accounts.Authenticate(ctx, req.user, req.password)
	switch {
	case errors.Is(err, users.ErrBadCredentials):
		if s.cfg.Limiter != nil {
			if lerr := s.cfg.Limiter.Failed(ctx, req.user, ip); lerr != nil {
				err = errors.Join(err, lerr)
			}
		}
		return acl.Subject{}, unauthorized(err)
	case err != nil:
		return acl.Subject{}, unavailable(err)
	}

	if s.cfg.Limiter != nil {
		if err := s.cfg.Limiter.Succeeded(ctx, acct.Name); err != nil {
			return acl.Subject{}, unavailable(err)
		}
	}
	return acl.Subject{Account: acct.Name, Teams: acct.Teams}, nil
}

func (s *Server) checkThrottle(ctx context.Context, account, ip string) error {
	if s.cfg.Limiter == nil {
		return nil
	}
	wait, err := s.cfg.Limiter.Wait(ctx, account, ip)
	if err != nil {
		return unavailable(err)
	}
	if wait > 0 {
		return tooManyAttempts(wait)
	}
	return nil
}

// claims builds the token payload. Scopes with nothing granted are left
// out: the registry answers them with insufficient_scope either way.
func (s *Server) claims(subj acl.Subject, decisions []acl.Decision) *Claims {
	now := s.cfg.Now().Truncate(time.Second)
	access := make([]Access, 0, len(decisions))
	for _, d := range decisions {
		if d.Granted == 0 {
			continue
		}
		access = append(access, Access{Type: d.Scope.Type, Name: d.Scope.Name, Actions: d.WireActions()})
	}
	return &Claims{
		Issuer:    s.cfg.Issuer,
		Subject:   subj.Account,
		Audience:  s.cfg.Service,
		ExpiresAt: jwt.NewNumericDate(now.Add(s.cfg.TokenTTL)),
		NotBefore: jwt.NewNumericDate(now),
		IssuedAt:  jwt.NewNumericDate(now),
		ID:        rand.Text(),
		Access:    access,
	}
}

func clientIP(r *http.Request) string {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		return r.RemoteAddr
	}
	return host
}
