package tokenserver

import (
	"context"
	"crypto/rand"
	"errors"
	"log/slog"
	"net"
	"net/http"
	"net/netip"
	"strings"
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
	// Refresher issues and checks refresh tokens; nil disables them.
	Refresher Refresher
	// Metrics records Prometheus series; nil records nothing.
	Metrics *Metrics
	// TrustedProxies are the peers whose X-Forwarded-For header names the
	// client. From anyone else the header is ignored: a client could
	// write any address there.
	TrustedProxies []netip.Prefix
	// Ping reports whether the account store can be reached, for
	// readiness; nil means it always can.
	Ping func(context.Context) error
}

// Refresher issues refresh tokens at login and checks them at refresh.
// Check returns an error wrapping users.ErrInvalidToken for a token that
// is no good, and any other error when it cannot tell.
type Refresher interface {
	Issue(ctx context.Context, acct users.Account, service, clientID string) (string, users.RefreshToken, error)
	Check(ctx context.Context, raw, service, clientID string) (users.Account, users.RefreshToken, error)
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
// Basic credentials, as the Docker registry token specification describes,
// and POST with an OAuth 2 form, password or refresh token grant.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	start := s.cfg.Now()
	ev := auditEvent{clientIP: clientIP(r, s.cfg.TrustedProxies), method: r.Method}

	resp, err := s.serve(w, r, &ev)
	if err != nil {
		var re *requestError
		if !errors.As(err, &re) {
			re = internal(err)
		}
		ev.outcome, ev.status, ev.reason = re.code, re.status, re.Error()
		writeError(w, re, s.cfg.Service)
	} else {
		ev.outcome, ev.status = grantOutcome(ev.decisions), http.StatusOK
		writeJSON(w, http.StatusOK, resp)
	}
	ev.duration = s.cfg.Now().Sub(start)
	ev.log(r.Context(), s.cfg.Logger)
	s.cfg.Metrics.observeRequest(&ev)
}

// grantOutcome says how much of what was asked a token carries: all of it
// ("granted", also for a login that asks nothing), some ("partial") or none
// ("denied": the client gets a token that the registry will refuse).
func grantOutcome(decisions []acl.Decision) string {
	all, none := true, true
	for _, d := range decisions {
		if d.Granted != d.Scope.Actions {
			all = false
		}
		if d.Granted != 0 {
			none = false
		}
	}
	switch {
	case all:
		return "granted"
	case none:
		return "denied"
	}
	return "partial"
}

// tokenResponse is the body of a successful answer. token and access_token
// hold the same value: older clients read the first, OAuth 2 clients the
// second. scope answers OAuth 2 requests only.
type tokenResponse struct {
	Token        string `json:"token"`
	AccessToken  string `json:"access_token"`
	Scope        string `json:"scope,omitempty"`
	ExpiresIn    int    `json:"expires_in"`
	IssuedAt     string `json:"issued_at"`
	RefreshToken string `json:"refresh_token,omitempty"`
}

func (s *Server) serve(w http.ResponseWriter, r *http.Request, ev *auditEvent) (*tokenResponse, error) {
	req, err := parseRequest(w, r, s.cfg.Service)
	ev.service, ev.account, ev.scopes, ev.grant = clip(req.service), clip(req.user), req.scopes, req.grantType
	if err != nil {
		return nil, err
	}

	subj, acct, err := s.authenticate(r.Context(), req, ev)
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
	resp := &tokenResponse{
		Token:       token,
		AccessToken: token,
		ExpiresIn:   int(s.cfg.TokenTTL / time.Second),
		IssuedAt:    claims.IssuedAt.UTC().Format(time.RFC3339),
	}
	if req.oauth {
		resp.Scope = grantedScopes(decisions)
	}

	// A refresh token answers a password login that asked for offline
	// access. A refresh grant keeps the token it came with: the Docker
	// daemon goes on using the one it got at login.
	if req.offline && req.hasCredentials && s.cfg.Refresher != nil {
		rt, rec, err := s.cfg.Refresher.Issue(r.Context(), acct, req.service, req.clientID)
		if err != nil {
			return nil, unavailable(err)
		}
		s.cfg.Metrics.observeRefresh("issued")
		resp.RefreshToken, ev.refreshID = rt, rec.ID
	}
	return resp, nil
}

// authenticate returns the subject of the request: anonymous without
// credentials, the account whose password matched, or the account of a
// good refresh token.
func (s *Server) authenticate(ctx context.Context, req *tokenRequest, ev *auditEvent) (
	acl.Subject, users.Account, error) {
	var (
		acct users.Account
		err  error
	)
	switch {
	case req.refreshToken != "":
		acct, err = s.checkRefresh(ctx, req, ev)
	case req.hasCredentials:
		acct, err = s.checkPassword(ctx, req, ev.clientIP)
	default:
		return acl.Subject{}, users.Account{}, nil
	}
	if err != nil {
		return acl.Subject{}, users.Account{}, err
	}
	return acl.Subject{Account: acct.Name, Teams: acct.Teams}, acct, nil
}

func (s *Server) checkRefresh(ctx context.Context, req *tokenRequest, ev *auditEvent) (users.Account, error) {
	if s.cfg.Refresher == nil {
		return users.Account{}, &requestError{status: http.StatusBadRequest,
			code: "unsupported_grant_type", description: "refresh tokens are not enabled"}
	}
	acct, rec, err := s.cfg.Refresher.Check(ctx, req.refreshToken, req.service, req.clientID)
	ev.refreshID, ev.account = rec.ID, rec.Account
	switch {
	case errors.Is(err, users.ErrInvalidToken):
		s.cfg.Metrics.observeRefresh("refused")
		return users.Account{}, invalidRefresh(err)
	case err != nil:
		return users.Account{}, unavailable(err)
	}
	s.cfg.Metrics.observeRefresh("accepted")
	return acct, nil
}

// end records the outcome of a password check that attempt let through.
func (s *Server) end(ctx context.Context, account, ip string, o throttle.Outcome) error {
	if s.cfg.Limiter == nil {
		return nil
	}
	return s.cfg.Limiter.End(ctx, account, ip, o)
}

// clip cuts a client-given name for the log: a valid account name is at
// most users.MaxNameLen bytes, and a longer name or service is not worth
// logging whole.
func clip(name string) string {
	if len(name) <= users.MaxNameLen {
		return name
	}
	return name[:users.MaxNameLen] + "..."
}

// checkPassword checks a user name and password. Guessing is slowed down
// before bcrypt runs, so a throttled client costs little.
func (s *Server) checkPassword(ctx context.Context, req *tokenRequest, ip string) (users.Account, error) {
	// A name no account can have needs no bcrypt to refuse, and must not
	// become a key of the failed-login counts: it could be any length.
	if err := users.ValidateName(req.user); err != nil {
		return users.Account{}, unauthorized(errors.New("not a valid account name"))
	}
	if err := s.attempt(ctx, req.user, ip); err != nil {
		return users.Account{}, err
	}

	start := time.Now()
	acct, err := s.accounts.Authenticate(ctx, req.user, req.password)
	s.cfg.Metrics.observePassword(passwordResult(err), time.Since(start).Seconds())
	switch {
	case errors.Is(err, users.ErrBadCredentials):
		return users.Account{}, unauthorized(errors.Join(err, s.end(ctx, req.user, ip, throttle.Failed)))
	case err != nil:
		return users.Account{}, unavailable(errors.Join(err, s.end(ctx, req.user, ip, throttle.Undecided)))
	}
	if err := s.end(ctx, acct.Name, ip, throttle.Succeeded); err != nil {
		return users.Account{}, unavailable(err)
	}
	return acct, nil
}

func passwordResult(err error) string {
	switch {
	case err == nil:
		return "ok"
	case errors.Is(err, users.ErrBadCredentials):
		return "bad"
	}
	return "error"
}

// grantedScopes returns the granted scopes in the space-separated form of
// an OAuth 2 scope field.
func grantedScopes(decisions []acl.Decision) string {
	var b strings.Builder
	for _, d := range decisions {
		if d.Granted == 0 {
			continue
		}
		if b.Len() > 0 {
			b.WriteByte(' ')
		}
		b.WriteString(d.Scope.Type + ":" + d.Scope.Name + ":" + strings.Join(d.WireActions(), ","))
	}
	return b.String()
}

// attempt asks the limiter whether a password check may run, before
// bcrypt does, so that a throttled client costs little.
func (s *Server) attempt(ctx context.Context, account, ip string) error {
	if s.cfg.Limiter == nil {
		return nil
	}
	wait, err := s.cfg.Limiter.Begin(ctx, account, ip)
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

// clientIP returns the address of the client. Behind a trusted proxy it is
// the last address in X-Forwarded-For that is not itself a trusted proxy:
// addresses further left were written by the client and prove nothing.
func clientIP(r *http.Request, trusted []netip.Prefix) string {
	peer := r.RemoteAddr
	if host, _, err := net.SplitHostPort(peer); err == nil {
		peer = host
	}
	if len(trusted) == 0 || !isTrusted(peer, trusted) {
		return peer
	}
	hops := strings.Split(strings.Join(r.Header.Values("X-Forwarded-For"), ","), ",")
	for i := len(hops) - 1; i >= 0; i-- {
		hop := strings.TrimSpace(hops[i])
		if _, err := netip.ParseAddr(hop); err != nil {
			break
		}
		if !isTrusted(hop, trusted) {
			return hop
		}
		peer = hop
	}
	return peer
}

func isTrusted(addr string, trusted []netip.Prefix) bool {
	ip, err := netip.ParseAddr(addr)
	if err != nil {
		return false
	}
	ip = ip.Unmap()
	for _, p := range trusted {
		if p.Contains(ip) {
			return true
		}
	}
	return false
}
