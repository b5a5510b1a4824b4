package main

import (
	"fmt"
	"testing"

	"github.com/regauth/regauth/internal/testredis"
	"github.com/regauth/regauth/users"
)

// The CLI tests that use Redis take the server scripts/test.sh names in
// REGAUTH_TEST_REDIS (host:port), or start their own on a free loopback
// port. On a shared server they keep to one database, emptied first.
const testRedisDB = 15

// testRedisURL returns the URL of an empty Redis database for this test.
func testRedisURL(t *testing.T) string {
	t.Helper()
	addr := testredis.Addr(t)
	url := fmt.Sprintf("redis://%s/%d", addr, testRedisDB)

	client, err := users.ParseRedisURL(url)
	if err != nil {
		t.Fatal(err)
	}
	defer client.Close()
	if err := client.FlushDB(t.Context()).Err(); err != nil {
		t.Fatalf("FLUSHDB on %s: %v", addr, err)
	}
	return url
}
