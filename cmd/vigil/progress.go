package main

import (
	"fmt"
	"io"
	"os"
	"sync"
	"time"

	"golang.org/x/term"
)

// spin shows a spinner with msg on stderr while long work runs, only when
// stderr is a terminal; the returned function stops it and clears the line.
func spin(msg string) func() {
	if !term.IsTerminal(int(os.Stderr.Fd())) {
		return func() {}
	}
	return spinTo(os.Stderr, msg, 120*time.Millisecond)
}

func spinTo(w io.Writer, msg string, every time.Duration) func() {
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
			fmt.Fprintf(w, "\r%c %s (%s)", frames[i%len(frames)], msg, time.Since(start).Round(time.Second))
			select {
			case <-done:
				fmt.Fprint(w, "\r\033[K")
				return
			case <-t.C:
			}
		}
	}()
	var once sync.Once
	return func() { once.Do(func() { close(done); wg.Wait() }) }
}
