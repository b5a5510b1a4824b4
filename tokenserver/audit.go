package tokenserver

import (
	"context"
	"log/slog"
	"time"

	"github.com/regauth/regauth/acl"
)

// auditEvent is the one log record of a token request. It holds what was
// asked and decided, never a password, a token or a header.
type auditEvent struct {
	clientIP  string
	method    string
	service   string
	account   string
	scopes    []acl.Scope
	decisions []acl.Decision
	outcome   string
	status    int
	reason    string
	tokenID   string
	grant     string // grant_type of a POST
	refreshID string // id of the refresh token issued or used
	duration  time.Duration
}

func (e *auditEvent) log(ctx context.Context, logger *slog.Logger) {
	// With the level above info the record is dropped; building it first
	// would cost its allocations on every request all the same.
	if !logger.Enabled(ctx, slog.LevelInfo) {
		return
	}
	asked := make([]string, len(e.scopes))
	for i, s := range e.scopes {
		asked[i] = s.String()
	}
	var granted []string
	for _, d := range e.decisions {
		if d.Granted != 0 {
			granted = append(granted, d.Scope.Type+":"+d.Scope.Name+":"+d.Granted.String())
		}
	}
	account := e.account
	if account == "" {
		account = "anonymous"
	}

	attrs := []slog.Attr{
		slog.String("account", account),
		slog.String("client_ip", e.clientIP),
		slog.String("method", e.method),
		slog.String("service", e.service),
		slog.Any("scopes_asked", asked),
		slog.Any("scopes_granted", granted),
		slog.String("outcome", e.outcome),
		slog.Int("status", e.status),
		slog.Duration("duration", e.duration),
	}
	if e.tokenID != "" {
		attrs = append(attrs, slog.String("token_id", e.tokenID))
	}
	if e.grant != "" {
		attrs = append(attrs, slog.String("grant_type", e.grant))
	}
	if e.refreshID != "" {
		attrs = append(attrs, slog.String("refresh_token_id", e.refreshID))
	}
	if e.reason != "" {
		attrs = append(attrs, slog.String("reason", e.reason))
	}
	logger.LogAttrs(ctx, slog.LevelInfo, "token request", attrs...)
}
