package main

import (
	"context"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	"github.com/regauth/regauth/users"
)

// The CLI tests that use Redis take the server scripts/test.sh names in
// REGAUTH_TEST_REDIS (host:port), or start their own on a free loopback
// port. On a shared server they keep to one database, emptied first.
const (
	redisEnv    = "REGAUTH_TEST_REDIS"
	testRedisDB = 15
)

// testRedisURL returns the URL of an empty Redis database for this test.
func testRedisURL(t *testing.T) string {
	t.Helper()
	addr := os.Getenv(redisEnv)
	if addr == "" {
		addr = startRedis(t)
	}
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

// startRedis starts a memory-only redis-server on a free loopback port for
// the rest of the test and returns its address.
func startRedis(t *testing.T) string {
	t.Helper()
	if _, err := exec.LookPath("redis-server"); err != nil {
		t.Skipf("%s is not set and redis-server is not installed "+
			"(Debian package redis-server); scripts/test.sh provides both", redisEnv)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := ln.Addr().(*net.TCPAddr).Port
	ln.Close()
	addr := fmt.Sprintf("127.0.0.1:%d", port)

	dir := t.TempDir()
	logFile := filepath.Join(dir, "redis.log")
	cmd := exec.Command("redis-server", "--bind", "127.0.0.1", "--port", fmt.Sprint(port),
		"--save", "", "--appendonly", "no", "--dir", dir, "--logfile", logFile)
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan struct{})
	go func() {
		_ = cmd.Wait()
		close(exited)
	}()
	t.Cleanup(func() {
		_ = cmd.Process.Kill()
		<-exited
	})

	client, err := users.ParseRedisURL("redis://" + addr + "?max_retries=-1")
	if err != nil {
		t.Fatal(err)
	}
	defer client.Close()
	deadline := time.Now().Add(20 * time.Second)
	for client.Ping(context.Background()).Err() != nil {
		select {
		case <-exited:
			log, _ := os.ReadFile(logFile)
			t.Fatalf("redis-server exited at start:\n%s", log)
		default:
		}
		if time.Now().After(deadline) {
			t.Fatalf("redis-server on %s not answering after 20s", addr)
		}
		time.Sleep(20 * time.Millisecond)
	}
	return addr
}
