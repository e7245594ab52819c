package trust

import (
	"errors"
	"fmt"
	"os"
	"sync"
	"time"
)

// Watched is a file a running server re-reads when it changes (its size
// or modification time), checking at most once a second. A version that
// fails to parse keeps the last good value in force and is reported by Err;
// a missing file parses as empty input.
type Watched[T any] struct {
	path  string
	parse func(path string, data []byte) (T, error)
	every time.Duration

	mu      sync.Mutex
	checked time.Time
	stamp   stamp
	val     T
	err     error
}

type stamp struct {
	mod  time.Time
	size int64
}

// Watch reads path once; an error there is returned, later ones are kept.
func Watch[T any](path string, parse func(path string, data []byte) (T, error)) (*Watched[T], error) {
	w := &Watched[T]{path: path, parse: parse, every: time.Second}
	if err := w.load(); err != nil {
		return nil, err
	}
	return w, nil
}

func (w *Watched[T]) load() error {
	st := w.stat()
	data, err := os.ReadFile(w.path)
	if err != nil && !errors.Is(err, os.ErrNotExist) {
		return fmt.Errorf("read %s: %w", w.path, err)
	}
	v, err := w.parse(w.path, data)
	if err != nil {
		return err
	}
	w.val, w.stamp = v, st
	return nil
}

func (w *Watched[T]) stat() stamp {
	fi, err := os.Stat(w.path)
	if err != nil {
		return stamp{}
	}
	return stamp{fi.ModTime(), fi.Size()}
}

// Get is the file's current value.
func (w *Watched[T]) Get() T {
	w.mu.Lock()
	defer w.mu.Unlock()
	if now := time.Now(); now.Sub(w.checked) >= w.every {
		w.checked = now
		if st := w.stat(); st != w.stamp {
			w.err = w.load()
		}
	}
	return w.val
}

// Err is the last reload error.
func (w *Watched[T]) Err() error {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.err
}
