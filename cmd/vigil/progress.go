package main

import (
	"fmt"
	"io"
	"os"
	"strings"
	"sync"
	"time"

	"golang.org/x/term"

	"github.com/vigilsec/vigil/pkg/pipeline"
)

// spin shows a spinner with msg on stderr while long work runs, only when
// stderr is a terminal, followed by the progress the work reports to the
// returned Progress (a bar when it knows its total); the returned function
// stops it and clears the line.
func spin(msg string) (func(), pipeline.Progress) {
	if !term.IsTerminal(int(os.Stderr.Fd())) {
		return func() {}, nil
	}
	return spinTo(os.Stderr, msg, 120*time.Millisecond)
}

// progress is the last report of the work under a spinner.
type progress struct {
	mu          sync.Mutex
	stage       string
	done, total int
}

func (p *progress) set(stage string, done, total int) {
	p.mu.Lock()
	p.stage, p.done, p.total = stage, done, total
	p.mu.Unlock()
}

// String is the report as the spinner shows it: the stage, and a bar of
// 20 cells with the counts when the total is known.
func (p *progress) String() string {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.stage == "" {
		return ""
	}
	if p.total <= 0 {
		return ": " + p.stage
	}
	filled := min(20, 20*p.done/p.total)
	return fmt.Sprintf(": %s [%s%s] %d/%d", p.stage, strings.Repeat("#", filled), strings.Repeat(".", 20-filled), p.done, p.total)
}

func spinTo(w io.Writer, msg string, every time.Duration) (func(), pipeline.Progress) {
	prog := &progress{}
	done := make(chan struct{})
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		frames := `|/-\`
		t := time.NewTicker(every)
		defer t.Stop()
		start := time.Now()
		for i := 0; ; i++ {
			fmt.Fprintf(w, "\r\033[K%c %s%s (%s)", frames[i%len(frames)], msg, prog, time.Since(start).Round(time.Second))
			select {
			case <-done:
				fmt.Fprint(w, "\r\033[K")
				return
			case <-t.C:
			}
		}
	}()
	var once sync.Once
	return func() { once.Do(func() { close(done); wg.Wait() }) }, prog.set
}
