// Command vigil-agent-scan runs one scan round for vigil-agent: it reads the
// agent's spec as JSON on stdin, scans its targets and writes each target's
// result as a frame on stdout, its log records on stderr. vigil-agent starts
// it for each scan, so the analyzers live only as long as the scan.
//
//	vigil-agent-scan [--check] < spec.json > frames
package main

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"runtime/debug"
	"syscall"

	"github.com/spf13/pflag"

	"github.com/vigilsec/vigil/agent"
	"github.com/vigilsec/vigil/agent/worker"
	vigilv1 "github.com/vigilsec/vigil/pkg/api/vigilv1"
	"github.com/vigilsec/vigil/pkg/version"
)

// maxSpec bounds the spec read from stdin.
const maxSpec = 16 << 20

// defaultHeapLimit is the soft limit of the worker's heap when the spec
// sets no memory budget.
const defaultHeapLimit = 384 << 20

func main() {
	// Frames own stdout: anything else printed goes to stderr.
	frames := bufio.NewWriterSize(os.Stdout, 256<<10)
	os.Stdout = os.Stderr
	if err := run(frames); err != nil && !errors.Is(err, pflag.ErrHelp) {
		fmt.Fprintln(os.Stderr, "vigil-agent-scan:", err)
		os.Exit(1)
	}
}

func run(frames *bufio.Writer) error {
	fs := pflag.NewFlagSet("vigil-agent-scan", pflag.ContinueOnError)
	check := fs.Bool("check", false, "only load what the spec needs (checks, vulnerability data, keys, cluster configuration) and report")
	showVersion := fs.Bool("version", false, "print the version and exit")
	if err := fs.Parse(os.Args[1:]); err != nil {
		return err
	}
	if *showVersion {
		fmt.Fprintln(os.Stderr, version.Version)
		return nil
	}
	data, err := io.ReadAll(io.LimitReader(os.Stdin, maxSpec+1))
	if err != nil {
		return fmt.Errorf("spec: %w", err)
	}
	if len(data) > maxSpec {
		return fmt.Errorf("spec: larger than %d bytes", maxSpec)
	}
	var spec agent.Spec
	if err := json.Unmarshal(data, &spec); err != nil {
		return fmt.Errorf("spec on stdin: %w", err)
	}
	var level slog.Level
	if spec.LogLevel != "" {
		if err := level.UnmarshalText([]byte(spec.LogLevel)); err != nil {
			return fmt.Errorf("spec: log level: %w", err)
		}
	}
	log := slog.New(slog.NewJSONHandler(os.Stderr, &slog.HandlerOptions{Level: level}))
	slog.SetDefault(log)
	if spec.MaxMemory == 0 && os.Getenv("GOMEMLIMIT") == "" {
		// Without a budget the runtime still collects before the heap
		// passes this, rather than letting garbage double it: on the Go
		// module cache it halves the worker's peak for a third more CPU.
		// --max-memory (or GOMEMLIMIT) replaces it.
		debug.SetMemoryLimit(defaultHeapLimit)
	}

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	local := worker.Local{Logger: log}
	if *check {
		err = local.Check(ctx, spec)
	} else {
		err = local.Scan(ctx, spec, func(ts *vigilv1.TargetScan) error {
			if err := agent.WriteFrame(frames, &vigilv1.WorkerMessage{Body: &vigilv1.WorkerMessage_Target{Target: ts}}); err != nil {
				return err
			}
			return frames.Flush()
		})
	}
	done := &vigilv1.WorkerDone{}
	if err != nil {
		done.Error = err.Error()
	}
	if werr := agent.WriteFrame(frames, &vigilv1.WorkerMessage{Body: &vigilv1.WorkerMessage_Done{Done: done}}); werr != nil {
		return errors.Join(err, werr)
	}
	return errors.Join(err, frames.Flush())
}
