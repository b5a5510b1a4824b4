package main

import (
	"context"
	"fmt"
	"log/slog"
	"strings"

	"github.com/regauth/regauth/internal/filewatch"
	"github.com/regauth/regauth/throttle"
	"github.com/regauth/regauth/tokenserver"
	"github.com/regauth/regauth/users"
)

// backend is where accounts, refresh tokens and failed-login counts live.
type backend struct {
	users    users.Store
	tokens   users.TokenStore
	failures throttle.Counter
	// files are the files a server must watch, by what they hold.
	files []watchedFile
	// ping checks that the store answers; nil for files.
	ping func(context.Context) error
}

// openStore returns the account store the configuration names.
func openStore(c *config) (users.Store, error) {
	b, err := openBackend(c)
	if err != nil {
		return nil, err
	}
	return b.users, nil
}

// openBackend opens the stores the configuration names: all in Redis,
// shared by every token server, when store is a redis:// or rediss:// URL
// (also set by REGAUTH_STORE); otherwise the users and tokens files, with
// failed logins counted in memory.
func openBackend(c *config) (*backend, error) {
	switch {
	case c.Store == "" || c.Store == "file":
		u, err := users.OpenFile(c.path(c.Users))
		if err != nil {
			return nil, err
		}
		t, err := users.OpenTokenFile(c.path(c.Tokens))
		if err != nil {
			return nil, err
		}
		return &backend{
			users: u, tokens: t, failures: throttle.NewMemory(nil),
			files: []watchedFile{{"accounts", u.Path(), u.Reload}, {"refresh tokens", t.Path(), t.Reload}},
		}, nil
	case strings.HasPrefix(c.Store, "redis://"), strings.HasPrefix(c.Store, "rediss://"):
		client, err := users.ParseRedisURL(c.Store)
		if err != nil {
			return nil, err
		}
		r := users.NewRedis(client)
		ping := func(ctx context.Context) error { return client.Ping(ctx).Err() }
		return &backend{users: r, tokens: r, failures: throttle.NewRedis(client), ping: ping}, nil
	}
	return nil, fmt.Errorf("config: store: want file, redis:// or rediss://")
}

// watchedFile is a file a server reloads when it changes.
type watchedFile struct {
	what   string // what it holds, for the log and the metrics
	path   string
	reload func() error
}

// watcher reloads files when they change, logs the outcome and counts it.
// A failed reload leaves the last good state in force.
type watcher struct {
	ctx     context.Context
	log     *slog.Logger
	metrics *tokenserver.Metrics
}

func (w *watcher) watch(what, path string, reload func() error) error {
	return filewatch.Watch(w.ctx, path,
		func() {
			if err := reload(); err != nil {
				w.metrics.Reloads.WithLabelValues(what, "failed").Inc()
				w.log.Error("reload refused; the last good state stays in force",
					"what", what, "file", path, "err", err)
				return
			}
			w.metrics.Reloads.WithLabelValues(what, "ok").Inc()
			w.log.Info("reloaded", "what", what, "file", path)
		},
		func(err error) { w.log.Warn("file watch", "what", what, "file", path, "err", err) },
	)
}
