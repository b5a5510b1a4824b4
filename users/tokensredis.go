package users

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/redis/go-redis/v9"
)

// Refresh token keys in Redis:
//
//	{regauth}:token:ID       hash: account, service, client_id,
//	                         secret_sha256, stamp, created, expires;
//	                         expires with the token
//	{regauth}:tokens:NAME    set of the ids of an account's tokens
const (
	redisTokenKeyPrefix  = "{regauth}:token:"
	redisTokensKeyPrefix = "{regauth}:tokens:"
	redisTokenIndexKey   = "{regauth}:tokens"
)

var _ TokenStore = (*Redis)(nil)

// SaveToken implements TokenStore.
func (r *Redis) SaveToken(ctx context.Context, t RefreshToken) error {
	key := redisTokenKeyPrefix + t.ID
	_, err := r.client.TxPipelined(ctx, func(p redis.Pipeliner) error {
		p.HSet(ctx, key, map[string]any{
			"account":       t.Account,
			"service":       t.Service,
			"client_id":     t.ClientID,
			"secret_sha256": t.SecretHash,
			"stamp":         t.Stamp,
			"created":       t.Created.UTC().Format(time.RFC3339Nano),
			"expires":       t.Expires.UTC().Format(time.RFC3339Nano),
		})
		p.ExpireAt(ctx, key, t.Expires)
		p.SAdd(ctx, redisTokensKeyPrefix+t.Account, t.ID)
		p.SAdd(ctx, redisTokenIndexKey, t.Account)
		return nil
	})
	if err != nil {
		return fmt.Errorf("redis: %w", err)
	}
	return nil
}

// LookupToken implements TokenStore.
func (r *Redis) LookupToken(ctx context.Context, id string) (RefreshToken, error) {
	f, err := r.client.HGetAll(ctx, redisTokenKeyPrefix+id).Result()
	if err != nil {
		return RefreshToken{}, fmt.Errorf("redis: %w", err)
	}
	if len(f) == 0 {
		return RefreshToken{}, ErrNotFound
	}
	return decodeToken(id, f), nil
}

// ListTokens implements TokenStore. Ids of records that expired are
// dropped from the account's set on the way.
func (r *Redis) ListTokens(ctx context.Context, account string) ([]RefreshToken, error) {
	accounts := []string{account}
	if account == "" {
		var err error
		if accounts, err = r.client.SMembers(ctx, redisTokenIndexKey).Result(); err != nil {
			return nil, fmt.Errorf("redis: %w", err)
		}
	}
	var out []RefreshToken
	for _, a := range accounts {
		ids, err := r.client.SMembers(ctx, redisTokensKeyPrefix+a).Result()
		if err != nil {
			return nil, fmt.Errorf("redis: %w", err)
		}
		for _, id := range ids {
			t, err := r.LookupToken(ctx, id)
			if errors.Is(err, ErrNotFound) {
				r.client.SRem(ctx, redisTokensKeyPrefix+a, id)
				continue
			}
			if err != nil {
				return nil, err
			}
			out = append(out, t)
		}
	}
	sortTokens(out)
	return out, nil
}

// RevokeTokens implements TokenStore.
func (r *Redis) RevokeTokens(ctx context.Context, ids ...string) (int, error) {
	n := 0
	for _, id := range ids {
		t, err := r.LookupToken(ctx, id)
		if errors.Is(err, ErrNotFound) {
			continue
		}
		if err != nil {
			return n, err
		}
		_, err = r.client.TxPipelined(ctx, func(p redis.Pipeliner) error {
			p.Del(ctx, redisTokenKeyPrefix+id)
			p.SRem(ctx, redisTokensKeyPrefix+t.Account, id)
			return nil
		})
		if err != nil {
			return n, fmt.Errorf("redis: %w", err)
		}
		n++
	}
	return n, nil
}

func decodeToken(id string, f map[string]string) RefreshToken {
	t := RefreshToken{
		ID:         id,
		Account:    f["account"],
		Service:    f["service"],
		ClientID:   f["client_id"],
		SecretHash: f["secret_sha256"],
		Stamp:      f["stamp"],
	}
	t.Created, _ = time.Parse(time.RFC3339Nano, f["created"])
	t.Expires, _ = time.Parse(time.RFC3339Nano, f["expires"])
	return t
}
