package code

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os/exec"
	"strconv"
	"strings"

	vigilv1 "github.com/vigilsec/vigil/pkg/api/vigilv1"
	"github.com/vigilsec/vigil/pkg/finding"
)

// Commit is where a blob entered the history.
type Commit struct {
	ID, Author, Date string
}

// blobAt is a blob as first added, at a path, by a commit.
type blobAt struct {
	blob, path string
	commit     *Commit
}

// MaxBlobSize is the largest blob of the history that is searched.
const MaxBlobSize = 16 << 20

// History searches every blob ever added to a git repository, on any
// branch or tag, for credentials. Blobs are read once each, oldest commit
// first, so a secret is reported once per file with the commit that
// introduced it, also when later commits removed it. It runs the git
// command (git log --raw, git cat-file --batch).
func (s *Secrets) History(ctx context.Context, repo, tenant string) ([]*vigilv1.Finding, error) {
	if s.Check == nil {
		return nil, nil
	}
	blobs, err := historyBlobs(ctx, repo)
	if err != nil {
		return nil, err
	}
	var out []*vigilv1.Finding
	seen := map[string]bool{} // path + secret hash: reported already
	err = readBlobs(ctx, repo, blobs, func(b blobAt, data []byte) {
		if !s.Match(b.path) || bytes.IndexByte(data[:min(len(data), 8<<10)], 0) >= 0 {
			return
		}
		for _, m := range s.Scanner.ScanFile(b.path, data) {
			key := b.path + "\x00" + m.Rule.ID + "\x00" + m.Hash
			if seen[key] {
				continue
			}
			seen[key] = true
			short := b.commit.ID
			if len(short) > 12 {
				short = short[:12]
			}
			out = append(out, s.finding(ctx, fmt.Sprintf("%s on line %d (rule %s), added in commit %s by %s on %s", m.Rule.Title, m.Line, m.Rule.ID, short, b.commit.Author, b.commit.Date), m, 1, finding.Site{
				Scanner:  "history",
				Resource: &vigilv1.Resource{Tenant: tenant, Provider: "git", Kind: "File", Name: b.path, Uri: repo},
				Location: &vigilv1.Location{Path: b.path + "@" + short},
				Path:     b.path,
			}))
		}
	})
	return out, err
}

// historyBlobs lists the blobs added or changed by every commit, oldest
// first, each blob once.
func historyBlobs(ctx context.Context, repo string) ([]blobAt, error) {
	cmd := exec.CommandContext(ctx, "git", "-C", repo, "log", "--all", "--reverse", "--no-renames", "--raw", "--no-abbrev",
		"--format=commit %H %aI %an")
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		return nil, err
	}
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("git: %w", err)
	}
	var out []blobAt
	seen := map[string]bool{}
	var cur *Commit
	sc := bufio.NewScanner(stdout)
	sc.Buffer(make([]byte, 0, 64<<10), 1<<20)
	for sc.Scan() {
		line := sc.Text()
		switch {
		case strings.HasPrefix(line, "commit "):
			f := strings.SplitN(strings.TrimPrefix(line, "commit "), " ", 3)
			cur = &Commit{ID: f[0]}
			if len(f) == 3 {
				cur.Date, cur.Author = f[1], f[2]
			}
		case strings.HasPrefix(line, ":") && cur != nil:
			// :<old mode> <new mode> <old blob> <new blob> <status>\t<path>
			meta, path, ok := strings.Cut(line, "\t")
			fields := strings.Fields(meta)
			if !ok || len(fields) < 5 || strings.HasPrefix(fields[4], "D") || strings.Trim(fields[3], "0") == "" {
				continue
			}
			if fields[1] == "160000" || fields[1] == "120000" {
				continue // a submodule or a symlink
			}
			if strings.HasPrefix(path, `"`) {
				if p, err := strconv.Unquote(path); err == nil {
					path = p
				}
			}
			if blob := fields[3]; !seen[blob] {
				seen[blob] = true
				out = append(out, blobAt{blob: blob, path: path, commit: cur})
			}
		}
	}
	if err := sc.Err(); err != nil {
		cmd.Process.Kill()
		cmd.Wait()
		return nil, fmt.Errorf("git log: %w", err)
	}
	if err := cmd.Wait(); err != nil {
		return nil, fmt.Errorf("git log in %s: %w: %s", repo, err, strings.TrimSpace(stderr.String()))
	}
	return out, nil
}

// readBlobs streams the blobs through one git cat-file --batch process.
func readBlobs(ctx context.Context, repo string, blobs []blobAt, fn func(blobAt, []byte)) error {
	if len(blobs) == 0 {
		return nil
	}
	cmd := exec.CommandContext(ctx, "git", "-C", repo, "cat-file", "--batch")
	stdin, err := cmd.StdinPipe()
	if err != nil {
		return err
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		return err
	}
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("git: %w", err)
	}
	go func() {
		w := bufio.NewWriter(stdin)
		for _, b := range blobs {
			fmt.Fprintln(w, b.blob)
		}
		w.Flush()
		stdin.Close()
	}()
	r := bufio.NewReaderSize(stdout, 64<<10)
	var rerr error
	for _, b := range blobs {
		head, err := r.ReadString('\n')
		if err != nil {
			rerr = fmt.Errorf("git cat-file: %w", err)
			break
		}
		// "<sha> blob <size>" or "<sha> missing"
		f := strings.Fields(head)
		if len(f) != 3 {
			continue
		}
		size, err := strconv.ParseInt(f[2], 10, 64)
		if err != nil {
			rerr = fmt.Errorf("git cat-file: header %q", strings.TrimSpace(head))
			break
		}
		if size > MaxBlobSize || f[1] != "blob" {
			if _, err := io.CopyN(io.Discard, r, size+1); err != nil {
				rerr = err
				break
			}
			continue
		}
		data := make([]byte, size+1)
		if _, err := io.ReadFull(r, data); err != nil {
			rerr = fmt.Errorf("git cat-file: %w", err)
			break
		}
		fn(b, data[:size])
		if ctx.Err() != nil {
			rerr = ctx.Err()
			break
		}
	}
	if rerr != nil {
		cmd.Process.Kill()
	}
	werr := cmd.Wait()
	if rerr != nil {
		return rerr
	}
	if werr != nil && !errors.Is(werr, context.Canceled) {
		return fmt.Errorf("git cat-file in %s: %w: %s", repo, werr, strings.TrimSpace(stderr.String()))
	}
	return nil
}
