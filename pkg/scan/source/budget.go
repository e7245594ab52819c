package source

import (
	"context"
	"sync/atomic"

	"golang.org/x/sync/semaphore"
)

// Budget bounds the memory that scans in flight may hold: each file, set
// or image scan reserves an estimate of its peak before it starts and
// waits while the budget is spent, so work queues instead of growing the
// heap past the limit. A nil Budget admits everything.
type Budget struct {
	sem  *semaphore.Weighted
	size int64
	// held and peak are the reserved bytes now and at most.
	held, peak atomic.Int64
}

// Cost factors: how much memory scanning a byte of input takes at peak.
// Streamed files cost their window, not their size.
const (
	parseFactor = 8  // YAML, HCL, JSON, source text parsed into trees
	sastFactor  = 40 // Go packages type-checked and in SSA form
	streamCost  = 2 << 20
	minCost     = 64 << 10
	// ImageCost is what reading one image reserves: one file of up to the
	// image limits' file size at a time, plus its inventory.
	ImageCost = 256 << 20
)

// NewBudget returns a budget of size bytes, or nil for no limit.
func NewBudget(size int64) *Budget {
	if size <= 0 {
		return nil
	}
	return &Budget{sem: semaphore.NewWeighted(size), size: size}
}

// Reserve waits until n bytes (capped at the whole budget, so one large
// job runs alone rather than never) are free, and returns their release.
func (b *Budget) Reserve(ctx context.Context, n int64) (func(), error) {
	if b == nil {
		return func() {}, nil
	}
	n = min(max(n, minCost), b.size)
	if err := b.sem.Acquire(ctx, n); err != nil {
		return nil, err
	}
	held := b.held.Add(n)
	for {
		p := b.peak.Load()
		if held <= p || b.peak.CompareAndSwap(p, held) {
			break
		}
	}
	return func() {
		b.held.Add(-n)
		b.sem.Release(n)
	}, nil
}

// Held is the bytes reserved now.
func (b *Budget) Held() int64 { return b.held.Load() }

// Peak is the most bytes ever reserved at once.
func (b *Budget) Peak() int64 { return b.peak.Load() }

// FileCost estimates the peak memory of scanning one file of size bytes.
func FileCost(fsc FileScanner, size int64) int64 {
	if _, ok := fsc.(StreamScanner); ok {
		return min(size, streamCost)
	}
	return size * parseFactor
}

// SetCost estimates the peak memory of a set scan over total bytes.
func SetCost(name string, total int64) int64 {
	if name == "sast-go" {
		return total * sastFactor
	}
	return total * parseFactor
}
