package throttle

import (
	"context"
	"sync"
	"time"
)

// maxMemoryKeys bounds the memory counter: past it, expired windows are
// swept, then the keys with the fewest attempts, so a flood of made-up
// names cannot grow the process without limit, nor push out the count of
// an account that is being guessed at.
const maxMemoryKeys = 100_000

// Memory is a Counter in the process's memory.
type Memory struct {
	mu   sync.Mutex
	now  func() time.Time
	wins map[string]window
}

type window struct {
	count int
	ends  time.Time
}

// NewMemory returns an empty Memory counter. now is the clock; time.Now
// when nil.
func NewMemory(now func() time.Time) *Memory {
	if now == nil {
		now = time.Now
	}
	return &Memory{now: now, wins: map[string]window{}}
}

// Add implements Counter.
func (m *Memory) Add(_ context.Context, d time.Duration, keys ...string) ([]int, []time.Duration, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	now := m.now()
	counts := make([]int, len(keys))
	ttls := make([]time.Duration, len(keys))
	for i, k := range keys {
		w, ok := m.wins[k]
		if !ok || !now.Before(w.ends) {
			m.makeRoom(now)
			w = window{ends: now.Add(d)}
		}
		w.count++
		m.wins[k] = w
		counts[i], ttls[i] = w.count, w.ends.Sub(now)
	}
	return counts, ttls, nil
}

// Count implements Counter.
func (m *Memory) Count(_ context.Context, keys ...string) ([]int, []time.Duration, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	now := m.now()
	counts := make([]int, len(keys))
	ttls := make([]time.Duration, len(keys))
	for i, k := range keys {
		if w, ok := m.wins[k]; ok && now.Before(w.ends) {
			counts[i], ttls[i] = w.count, w.ends.Sub(now)
		}
	}
	return counts, ttls, nil
}

// Reset implements Counter.
func (m *Memory) Reset(_ context.Context, key string) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	delete(m.wins, key)
	return nil
}

func (m *Memory) makeRoom(now time.Time) {
	if len(m.wins) < maxMemoryKeys {
		return
	}
	// Sweep to a tenth below the bound, so that the sweep, a pass over
	// every key, runs once per many thousand new keys and not for each.
	target := maxMemoryKeys - maxMemoryKeys/10
	for fewest := 0; len(m.wins) > target; fewest++ {
		for k, w := range m.wins {
			if !now.Before(w.ends) || w.count <= fewest {
				delete(m.wins, k)
			}
		}
	}
}
