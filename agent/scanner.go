package agent

import (
	"bufio"
	"bytes"
	"cmp"
	"context"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"syscall"
	"time"

	"google.golang.org/protobuf/proto"

	vigilv1 "github.com/vigilsec/vigil/pkg/api/vigilv1"
)

// A Scanner runs the scans of an agent's spec. The agent only schedules,
// stores and sends; the analyzers live behind this interface, so an idle
// agent holds none of them in memory.
type Scanner interface {
	// Check refuses a spec that cannot be scanned (check packs, vulnerability
	// data, keys or a cluster configuration that do not load), at start.
	Check(ctx context.Context, spec Spec) error
	// Scan scans every target of spec, handing each target's result to
	// emit as soon as it is done. An error from emit ends the scan with it.
	Scan(ctx context.Context, spec Spec, emit func(*vigilv1.TargetScan) error) error
}

// WorkerName is the scan worker's executable, looked up beside the agent's
// own and then on PATH.
const WorkerName = "vigil-agent-scan"

// Exec is a Scanner that runs each scan in a vigil-agent-scan process: the
// analyzers' code and memory exist only while a scan runs. The spec goes
// to the worker's stdin as JSON, results come back as frames on its stdout,
// and its log records go to the agent's stderr.
type Exec struct {
	// Path of the worker executable (see FindWorker).
	Path string
	// Stderr receives the worker's log records (os.Stderr when nil).
	Stderr io.Writer
	// Logger receives a record of each run: its time and the worker's peak
	// resident set, the agent's memory while it scans (nil: none).
	Logger *slog.Logger
}

// FindWorker returns the scan worker beside the running executable, else
// the one on PATH.
func FindWorker() (string, error) {
	if self, err := os.Executable(); err == nil {
		p := filepath.Join(filepath.Dir(self), WorkerName)
		if st, err := os.Stat(p); err == nil && !st.IsDir() {
			return p, nil
		}
	}
	p, err := exec.LookPath(WorkerName)
	if err != nil {
		return "", fmt.Errorf("scan worker %s not found beside the agent nor on PATH: %w", WorkerName, err)
	}
	return p, nil
}

// Check runs the worker in check mode.
func (e Exec) Check(ctx context.Context, spec Spec) error {
	return e.run(ctx, spec, []string{"--check"}, func(*vigilv1.TargetScan) error {
		return errors.New("scan worker sent a result in check mode")
	})
}

// Scan runs the worker over the spec's targets.
func (e Exec) Scan(ctx context.Context, spec Spec, emit func(*vigilv1.TargetScan) error) error {
	return e.run(ctx, spec, nil, emit)
}

func (e Exec) run(ctx context.Context, spec Spec, args []string, emit func(*vigilv1.TargetScan) error) error {
	in, err := json.Marshal(spec)
	if err != nil {
		return fmt.Errorf("scan worker: %w", err)
	}
	cmd := exec.CommandContext(ctx, e.Path, args...)
	cmd.Stdin = bytes.NewReader(in)
	cmd.Stderr = e.Stderr
	if cmd.Stderr == nil {
		cmd.Stderr = os.Stderr
	}
	// A cancelled scan asks the worker to stop, and kills it if it does
	// not within the grace period.
	cmd.Cancel = func() error { return cmd.Process.Signal(syscall.SIGTERM) }
	cmd.WaitDelay = 10 * time.Second
	out, err := cmd.StdoutPipe()
	if err != nil {
		return fmt.Errorf("scan worker: %w", err)
	}
	began := time.Now()
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("scan worker %s: %w", e.Path, err)
	}
	done, readErr := readWorker(bufio.NewReaderSize(out, 64<<10), emit)
	if readErr != nil {
		// The worker cannot be trusted to go on: stop it, read nothing more.
		cmd.Process.Kill()
	}
	waitErr := cmd.Wait()
	if e.Logger != nil && cmd.ProcessState != nil {
		var peak int64
		if ru, ok := cmd.ProcessState.SysUsage().(*syscall.Rusage); ok {
			peak = ru.Maxrss << 10 // kilobytes on Linux
		}
		e.Logger.InfoContext(ctx, "scan worker exited", "args", args, "exit", cmd.ProcessState.ExitCode(), "peak_rss_bytes", peak,
			"seconds", time.Since(began).Seconds())
	}
	switch {
	case readErr != nil:
		return readErr
	case ctx.Err() != nil:
		return ctx.Err()
	case done == nil:
		return fmt.Errorf("scan worker ended before it finished: %w", cmp.Or(waitErr, errors.New("no final frame")))
	case done.Error != "":
		return errors.New(done.Error)
	case waitErr != nil:
		return fmt.Errorf("scan worker: %w", waitErr)
	}
	return nil
}

// readWorker reads frames until the final one or the end of the stream,
// handing each target to emit.
func readWorker(r io.Reader, emit func(*vigilv1.TargetScan) error) (*vigilv1.WorkerDone, error) {
	for {
		msg, err := ReadFrame(r)
		if errors.Is(err, io.EOF) {
			return nil, nil
		}
		if err != nil {
			return nil, err
		}
		switch b := msg.Body.(type) {
		case *vigilv1.WorkerMessage_Target:
			if err := emit(b.Target); err != nil {
				return nil, err
			}
		case *vigilv1.WorkerMessage_Done:
			return b.Done, nil
		default:
			return nil, errors.New("scan worker: frame without a body")
		}
	}
}

// MaxFrame bounds one frame between worker and agent: a target's result
// larger than this is refused rather than read.
const MaxFrame = 1 << 30

// WriteFrame writes msg as one frame: its length as four big-endian bytes,
// then its protobuf encoding.
func WriteFrame(w io.Writer, msg *vigilv1.WorkerMessage) error {
	data, err := proto.Marshal(msg)
	if err != nil {
		return fmt.Errorf("frame: %w", err)
	}
	if len(data) > MaxFrame {
		return fmt.Errorf("frame of %d bytes exceeds the %d byte limit", len(data), MaxFrame)
	}
	var head [4]byte
	binary.BigEndian.PutUint32(head[:], uint32(len(data)))
	if _, err := w.Write(head[:]); err != nil {
		return fmt.Errorf("frame: %w", err)
	}
	if _, err := w.Write(data); err != nil {
		return fmt.Errorf("frame: %w", err)
	}
	return nil
}

// ReadFrame reads one frame written by WriteFrame; io.EOF when the stream
// ended cleanly between frames.
func ReadFrame(r io.Reader) (*vigilv1.WorkerMessage, error) {
	var head [4]byte
	if _, err := io.ReadFull(r, head[:]); err != nil {
		if errors.Is(err, io.EOF) {
			return nil, io.EOF
		}
		return nil, fmt.Errorf("scan worker: truncated frame header: %w", err)
	}
	n := binary.BigEndian.Uint32(head[:])
	if n > MaxFrame {
		return nil, fmt.Errorf("scan worker: frame of %d bytes exceeds the %d byte limit", n, MaxFrame)
	}
	// Read in steps, so a corrupt length cannot make the agent allocate a
	// gigabyte for a stream that ends early.
	var buf bytes.Buffer
	if _, err := io.CopyN(&buf, r, int64(n)); err != nil {
		if errors.Is(err, io.EOF) {
			err = io.ErrUnexpectedEOF // the stream ended inside a frame
		}
		return nil, fmt.Errorf("scan worker: truncated frame of %d bytes: %w", n, err)
	}
	msg := &vigilv1.WorkerMessage{}
	if err := proto.Unmarshal(buf.Bytes(), msg); err != nil {
		return nil, fmt.Errorf("scan worker: frame: %w", err)
	}
	return msg, nil
}
