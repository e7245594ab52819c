package tree

import (
	"bufio"
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"
)

// IgnoreFile is read from the root of a directory target: paths (gitignore
// patterns: "*", "**", "?", a trailing "/" for folders, a leading "/" to
// anchor at the root) that no scanner reads, and "fingerprint:<hex>" lines
// naming findings to drop. "#" starts a comment.
const IgnoreFile = ".vigilignore"

// ignore is a parsed .vigilignore.
type ignore struct {
	paths        []*regexp.Regexp
	fingerprints map[string]bool
}

// loadIgnore reads root/.vigilignore; a missing file ignores nothing.
func loadIgnore(root string) (*ignore, error) {
	ig := &ignore{fingerprints: map[string]bool{}}
	data, err := os.ReadFile(filepath.Join(root, IgnoreFile))
	if os.IsNotExist(err) {
		return ig, nil
	}
	if err != nil {
		return ig, fmt.Errorf("%s: %w", IgnoreFile, err)
	}
	sc := bufio.NewScanner(bytes.NewReader(data))
	for n := 1; sc.Scan(); n++ {
		line := strings.TrimSpace(sc.Text())
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		if fp, ok := strings.CutPrefix(line, "fingerprint:"); ok {
			ig.fingerprints[strings.TrimSpace(fp)] = true
			continue
		}
		re, err := globRegexp(line)
		if err != nil {
			return ig, fmt.Errorf("%s line %d: %w", filepath.Join(root, IgnoreFile), n, err)
		}
		ig.paths = append(ig.paths, re)
	}
	return ig, nil
}

// globRegexp turns a gitignore-style pattern into a regexp over
// slash-separated paths relative to the root.
func globRegexp(p string) (*regexp.Regexp, error) {
	dir := strings.HasSuffix(p, "/")
	p = strings.TrimSuffix(p, "/")
	anchored := strings.HasPrefix(p, "/") || strings.Contains(p, "/")
	p = strings.TrimPrefix(p, "/")
	var b strings.Builder
	for i := 0; i < len(p); i++ {
		switch c := p[i]; {
		case c == '*' && i+1 < len(p) && p[i+1] == '*':
			b.WriteString(".*")
			i++
			if i+1 < len(p) && p[i+1] == '/' {
				i++
				b.WriteString("/?")
			}
		case c == '*':
			b.WriteString("[^/]*")
		case c == '?':
			b.WriteString("[^/]")
		default:
			b.WriteString(regexp.QuoteMeta(string(c)))
		}
	}
	expr := b.String()
	if !anchored {
		expr = "(?:.*/)?" + expr
	}
	// A folder pattern matches everything below it; a file pattern matches
	// the path itself or, when it names a folder, what is below.
	if dir {
		expr += "/.*"
	} else {
		expr += "(?:/.*)?"
	}
	return regexp.Compile("^" + expr + "$")
}

// skips reports whether rel (slash-separated, relative to the root) is
// ignored.
func (ig *ignore) skips(rel string) bool {
	for _, re := range ig.paths {
		if re.MatchString(rel) {
			return true
		}
	}
	return false
}
