package users

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"slices"
	"strings"
	"time"

	"github.com/redis/go-redis/v9"
)

// Redis key layout. Every key carries the hash tag {regauth} so that on a
// Redis Cluster they share one slot and transactions over several of them
// work.
//
//	{regauth}:users          set of account names
//	{regauth}:user:NAME      hash: hash, teams (comma-separated), disabled
//	                         and robot ("1" or absent), expires, created,
//	                         changed (RFC 3339)
//	{regauth}:changes        pub/sub channel; each write publishes the name
const (
	redisUsersKey      = "{regauth}:users"
	redisUserKeyPrefix = "{regauth}:user:"
	// RedisChangesChannel carries the name of each account that changed,
	// for servers that cache accounts.
	RedisChangesChannel = "{regauth}:changes"
)

// Redis is the Redis store. It keeps nothing in memory: every lookup asks
// Redis, so every server sharing it sees a change on its next request.
type Redis struct {
	client redis.UniversalClient
}

// NewRedis returns a store over client.
func NewRedis(client redis.UniversalClient) *Redis { return &Redis{client: client} }

// ParseRedisURL returns a client for a redis:// or rediss:// URL: a plain
// server, a Sentinel group when the URL names master_name, or a Cluster
// when it lists more than one node with addr parameters. The query
// parameters are those of go-redis's URL parsers.
func ParseRedisURL(raw string) (redis.UniversalClient, error) {
	u, err := url.Parse(raw)
	if err != nil {
		return nil, fmt.Errorf("redis URL: %w", redactURLError(err))
	}
	q := u.Query()
	switch {
	case q.Has("master_name"):
		o, err := redis.ParseFailoverURL(raw)
		if err != nil {
			return nil, fmt.Errorf("redis sentinel URL: %w", redactURLError(err))
		}
		return redis.NewFailoverClient(o), nil
	case q.Has("addr"):
		o, err := redis.ParseClusterURL(raw)
		if err != nil {
			return nil, fmt.Errorf("redis cluster URL: %w", redactURLError(err))
		}
		return redis.NewClusterClient(o), nil
	}
	o, err := redis.ParseURL(raw)
	if err != nil {
		return nil, fmt.Errorf("redis URL: %w", redactURLError(err))
	}
	return redis.NewClient(o), nil
}

// redactURLError drops the URL from a url.Error: it may hold a password.
func redactURLError(err error) error {
	if ue, ok := errors.AsType[*url.Error](err); ok {
		return ue.Err
	}
	return err
}

func userKey(name string) string { return redisUserKeyPrefix + name }

// Lookup returns the account named name.
func (r *Redis) Lookup(ctx context.Context, name string) (Account, error) {
	fields, err := r.client.HGetAll(ctx, userKey(name)).Result()
	if err != nil {
		return Account{}, fmt.Errorf("redis: %w", err)
	}
	if len(fields) == 0 {
		return Account{}, ErrNotFound
	}
	return decodeAccount(name, fields)
}

// List returns every account, sorted by name.
func (r *Redis) List(ctx context.Context) ([]Account, error) {
	names, err := r.client.SMembers(ctx, redisUsersKey).Result()
	if err != nil {
		return nil, fmt.Errorf("redis: %w", err)
	}
	slices.Sort(names)
	cmds := make([]*redis.MapStringStringCmd, len(names))
	_, err = r.client.Pipelined(ctx, func(p redis.Pipeliner) error {
		for i, n := range names {
			cmds[i] = p.HGetAll(ctx, userKey(n))
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("redis: %w", err)
	}
	out := make([]Account, 0, len(names))
	for i, n := range names {
		if len(cmds[i].Val()) == 0 {
			continue // deleted between the two reads
		}
		a, err := decodeAccount(n, cmds[i].Val())
		if err != nil {
			return nil, err
		}
		out = append(out, a)
	}
	return out, nil
}

// Add stores new accounts; if any name is taken it stores none.
func (r *Redis) Add(ctx context.Context, accts ...Account) error {
	if len(accts) == 0 {
		return nil // WATCH and EXISTS refuse an empty key list
	}
	keys := make([]string, len(accts))
	for i, a := range accts {
		keys[i] = userKey(a.Name)
	}
	return r.transaction(ctx, keys, func(tx *redis.Tx) error {
		n, err := tx.Exists(ctx, keys...).Result()
		if err != nil {
			return err
		}
		if n > 0 {
			return ErrExists
		}
		return r.write(ctx, tx, accts...)
	})
}

// Modify applies fn to the stored account and stores the result.
func (r *Redis) Modify(ctx context.Context, name string, fn func(*Account) error) error {
	key := userKey(name)
	return r.transaction(ctx, []string{key}, func(tx *redis.Tx) error {
		fields, err := tx.HGetAll(ctx, key).Result()
		if err != nil {
			return err
		}
		if len(fields) == 0 {
			return fmt.Errorf("%w: %s", ErrNotFound, name)
		}
		a, err := decodeAccount(name, fields)
		if err != nil {
			return err
		}
		if err := fn(&a); err != nil {
			return err
		}
		return r.write(ctx, tx, a)
	})
}

// Delete removes an account.
func (r *Redis) Delete(ctx context.Context, name string) error {
	var n *redis.IntCmd
	_, err := r.client.TxPipelined(ctx, func(p redis.Pipeliner) error {
		n = p.Del(ctx, userKey(name))
		p.SRem(ctx, redisUsersKey, name)
		p.Publish(ctx, RedisChangesChannel, name)
		return nil
	})
	if err != nil {
		return fmt.Errorf("redis: %w", err)
	}
	if n.Val() == 0 {
		return fmt.Errorf("%w: %s", ErrNotFound, name)
	}
	return nil
}

// maxRetries bounds the optimistic transactions that lose a race.
const maxRetries = 10

// transaction runs fn with the keys watched, again if another client
// changed them in between. Errors of fn come back as they are.
func (r *Redis) transaction(ctx context.Context, keys []string, fn func(*redis.Tx) error) error {
	for range maxRetries {
		if err := r.client.Watch(ctx, fn, keys...); !errors.Is(err, redis.TxFailedErr) {
			return err
		}
	}
	return fmt.Errorf("redis: %w after %d tries", redis.TxFailedErr, maxRetries)
}

// write queues the accounts' fields in a MULTI block of tx.
func (r *Redis) write(ctx context.Context, tx *redis.Tx, accts ...Account) error {
	_, err := tx.TxPipelined(ctx, func(p redis.Pipeliner) error {
		for _, a := range accts {
			key := userKey(a.Name)
			p.Del(ctx, key)
			p.HSet(ctx, key, encodeAccount(a))
			p.SAdd(ctx, redisUsersKey, a.Name)
			p.Publish(ctx, RedisChangesChannel, a.Name)
		}
		return nil
	})
	return err
}

func encodeAccount(a Account) map[string]any {
	m := map[string]any{
		"hash":    a.Hash,
		"teams":   strings.Join(a.Teams, ","),
		"created": a.Created.UTC().Format(time.RFC3339),
		"changed": a.Changed.UTC().Format(time.RFC3339),
	}
	if a.Disabled {
		m["disabled"] = "1"
	}
	if a.Robot {
		m["robot"] = "1"
	}
	if !a.Expires.IsZero() {
		m["expires"] = a.Expires.UTC().Format(time.RFC3339)
	}
	return m
}

func decodeAccount(name string, f map[string]string) (Account, error) {
	a := Account{Name: name, Hash: f["hash"], Disabled: f["disabled"] == "1", Robot: f["robot"] == "1"}
	if f["teams"] != "" {
		a.Teams = strings.Split(f["teams"], ",")
	}
	a.Created, _ = time.Parse(time.RFC3339, f["created"])
	a.Changed, _ = time.Parse(time.RFC3339, f["changed"])
	if f["expires"] != "" {
		a.Expires, _ = time.Parse(time.RFC3339, f["expires"])
	}
	if _, err := bcryptCost(a.Hash); err != nil {
		return Account{}, fmt.Errorf("redis: account %s: stored hash is not bcrypt", name)
	}
	return a, nil
}
