package throttle

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/redis/go-redis/v9"
)

// redisKeyPrefix shares the {regauth} hash tag of the account keys.
const redisKeyPrefix = "{regauth}:throttle:"

// Redis is a Counter shared by every token server on one Redis.
type Redis struct {
	client redis.UniversalClient
}

// NewRedis returns a Counter over client.
func NewRedis(client redis.UniversalClient) *Redis { return &Redis{client: client} }

// Add implements Counter. The window starts with the first attempt:
// EXPIRE with NX leaves a running window alone.
func (r *Redis) Add(ctx context.Context, d time.Duration, keys ...string) ([]int, []time.Duration, error) {
	incrs := make([]*redis.IntCmd, len(keys))
	ttls := make([]*redis.DurationCmd, len(keys))
	_, err := r.client.TxPipelined(ctx, func(p redis.Pipeliner) error {
		for i, k := range keys {
			incrs[i] = p.Incr(ctx, redisKeyPrefix+k)
			p.ExpireNX(ctx, redisKeyPrefix+k, d)
			ttls[i] = p.PTTL(ctx, redisKeyPrefix+k)
		}
		return nil
	})
	if err != nil {
		return nil, nil, fmt.Errorf("redis: %w", err)
	}
	counts := make([]int, len(keys))
	left := make([]time.Duration, len(keys))
	for i := range keys {
		counts[i] = int(incrs[i].Val())
		left[i] = max(ttls[i].Val(), 0)
	}
	return counts, left, nil
}

// Count implements Counter.
func (r *Redis) Count(ctx context.Context, keys ...string) ([]int, []time.Duration, error) {
	gets := make([]*redis.StringCmd, len(keys))
	ttls := make([]*redis.DurationCmd, len(keys))
	_, err := r.client.Pipelined(ctx, func(p redis.Pipeliner) error {
		for i, k := range keys {
			gets[i] = p.Get(ctx, redisKeyPrefix+k)
			ttls[i] = p.PTTL(ctx, redisKeyPrefix+k)
		}
		return nil
	})
	if err != nil && !errors.Is(err, redis.Nil) {
		return nil, nil, fmt.Errorf("redis: %w", err)
	}
	counts := make([]int, len(keys))
	left := make([]time.Duration, len(keys))
	for i := range keys {
		counts[i], _ = gets[i].Int()
		left[i] = max(ttls[i].Val(), 0)
	}
	return counts, left, nil
}

// Reset implements Counter.
func (r *Redis) Reset(ctx context.Context, key string) error {
	if err := r.client.Del(ctx, redisKeyPrefix+key).Err(); err != nil {
		return fmt.Errorf("redis: %w", err)
	}
	return nil
}
