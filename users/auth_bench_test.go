package users

import (
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"

	"golang.org/x/crypto/bcrypt"
)

// benchPassword is the password of the account the benchmarks sign in as.
const benchPassword = "correct horse battery staple"

// benchFileStore returns a file store holding one account, "alice", whose
// hash is of benchPassword at the default cost, as "regauth user add"
// makes it: the cost of a password check is that of the hash.
func benchFileStore(b *testing.B) *File {
	b.Helper()
	a, err := NewAccount("alice", benchPassword, []string{"dev"}, DefaultCost, time.Now())
	if err != nil {
		b.Fatal(err)
	}
	data, err := MarshalFile(map[string]Account{a.Name: a})
	if err != nil {
		b.Fatal(err)
	}
	path := filepath.Join(b.TempDir(), "users.yaml")
	if err := os.WriteFile(path, data, 0o600); err != nil {
		b.Fatal(err)
	}
	f, err := OpenFile(path)
	if err != nil {
		b.Fatal(err)
	}
	return f
}

// BenchmarkAuthenticateCached is a client that signs in again and again
// with the same good password, as a CI job pulling many images does: one
// lookup and one HMAC per call once the first bcrypt check succeeded.
func BenchmarkAuthenticateCached(b *testing.B) {
	auth, err := NewAuthenticator(benchFileStore(b), DefaultCost)
	if err != nil {
		b.Fatal(err)
	}
	auth.EnableCache(10_000, 5*time.Minute)
	benchmarkGoodPassword(b, auth)
}

// BenchmarkAuthenticateUncached is the same sign-in with the cache off:
// every call pays bcrypt at the default cost, as the first sign-in of a
// client does with the cache on.
func BenchmarkAuthenticateUncached(b *testing.B) {
	auth, err := NewAuthenticator(benchFileStore(b), DefaultCost)
	if err != nil {
		b.Fatal(err)
	}
	benchmarkGoodPassword(b, auth)
}

func benchmarkGoodPassword(b *testing.B, auth *Authenticator) {
	ctx := b.Context()
	if _, err := auth.Authenticate(ctx, "alice", benchPassword); err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := auth.Authenticate(ctx, "alice", benchPassword); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkReload100kUsers reads a users file of 100,000 accounts, each
// in a team, as the server does when the file changes. Besides time and
// allocations per reload it reports MB-heap: the heap the loaded store
// holds, measured after a collection, over what was in use before it was
// opened. The accounts share one hash, which changes neither the file's
// size nor the store's memory: each parsed account holds its own copy.
func BenchmarkReload100kUsers(b *testing.B) {
	const n = 100_000
	path := filepath.Join(b.TempDir(), "users.yaml")
	if err := writeManyUsers(path, n); err != nil {
		b.Fatal(err)
	}

	before := heapInUse()
	f, err := OpenFile(path)
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		if err := f.Reload(); err != nil {
			b.Fatal(err)
		}
	}

	b.StopTimer()
	if got := len(f.m.load()); got != n {
		b.Fatalf("loaded %d accounts, want %d", got, n)
	}
	held := heapInUse() - before
	runtime.KeepAlive(f)
	b.ReportMetric(float64(held)/(1<<20), "MB-heap")
}

// writeManyUsers writes a users file of n accounts in the form MarshalFile
// writes, without building them in memory first.
func writeManyUsers(path string, n int) error {
	hash, err := bcrypt.GenerateFromPassword([]byte(benchPassword), bcrypt.MinCost)
	if err != nil {
		return err
	}
	stamp := time.Now().UTC().Format(time.RFC3339Nano)
	var sb strings.Builder
	sb.Grow(n * 180)
	sb.WriteString("users:\n")
	for i := range n {
		fmt.Fprintf(&sb, "  user%d:\n    password: %s\n    teams:\n      - team%d\n"+
			"    created: %s\n    changed: %s\n", i, hash, i%1000, stamp, stamp)
	}
	return os.WriteFile(path, []byte(sb.String()), 0o600)
}

// heapInUse returns the bytes of heap in use after a full collection.
func heapInUse() uint64 {
	runtime.GC()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	return ms.HeapInuse
}
