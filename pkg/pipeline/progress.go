package pipeline

import "context"

// Progress receives how far a long scan stage has come: done of total
// steps of stage (total 0 when unknown). It is called from the scanning
// goroutine and must return quickly.
type Progress func(stage string, done, total int)

type progressKey struct{}

// WithProgress returns a context whose scans report their progress to p.
func WithProgress(ctx context.Context, p Progress) context.Context {
	return context.WithValue(ctx, progressKey{}, p)
}

// Report tells the context's Progress, if any, how far stage has come.
func Report(ctx context.Context, stage string, done, total int) {
	if p, ok := ctx.Value(progressKey{}).(Progress); ok && p != nil {
		p(stage, done, total)
	}
}
