package main

import (
	"context"
	"fmt"
	"log/slog"
	"strings"

	"github.com/regauth/regauth/internal/filewatch"
	"github.com/regauth/regauth/throttle"
	"github.com/regauth/regauth/users"
)

// openStore returns the account store the configuration names: Redis when
// store is a redis:// or rediss:// URL (also set by REGAUTH_STORE), the
// users file otherwise.
func openStore(c *config) (users.Store, error) {
	store, _, err := openBackend(c)
	return store, err
}

// openBackend returns the account store and the failed-login counter that
// goes with it: in Redis, shared by every token server, with the Redis
// store; in memory with the file store.
func openBackend(c *config) (users.Store, throttle.Counter, error) {
	switch {
	case c.Store == "" || c.Store == "file":
		store, err := users.OpenFile(c.path(c.Users))
		return store, throttle.NewMemory(nil), err
	case strings.HasPrefix(c.Store, "redis://"), strings.HasPrefix(c.Store, "rediss://"):
		client, err := users.ParseRedisURL(c.Store)
		if err != nil {
			return nil, nil, err
		}
		return users.NewRedis(client), throttle.NewRedis(client), nil
	}
	return nil, nil, fmt.Errorf("config: store: want file, redis:// or rediss://")
}

// watchFile reloads with reload each time the file at path changes, and
// logs the outcome. A failed reload leaves the last good state in force.
func watchFile(ctx context.Context, log *slog.Logger, what, path string, reload func() error) error {
	return filewatch.Watch(ctx, path,
		func() {
			if err := reload(); err != nil {
				log.Error("reload refused; the last good state stays in force",
					"what", what, "file", path, "err", err)
				return
			}
			log.Info("reloaded", "what", what, "file", path)
		},
		func(err error) { log.Warn("file watch", "what", what, "file", path, "err", err) },
	)
}
