package pipeline

import (
	"path"
	"path/filepath"
)

// Content is one file of a target given to an analyzer that reads many at
// once (cross-object checks, Terraform modules, Go packages): its
// content, or how to read it when the analyzer gets to it, so a tree's
// files need not all be in memory together.
type Content struct {
	// Path is the file's name in findings.
	Path string
	// Local is where the file lies on disk when that is not Path (a file
	// of a repository is named from the repository's root); "" otherwise.
	Local string
	Data  []byte
	Read  func() ([]byte, error)
}

// Bytes is the file's content.
func (f Content) Bytes() ([]byte, error) {
	if f.Data != nil || f.Read == nil {
		return f.Data, nil
	}
	return f.Read()
}

// Where is the path to read the file from on disk.
func (f Content) Where() string {
	if f.Local != "" {
		return f.Local
	}
	return f.Path
}

// Renamer maps paths on disk (relative to the working folder, or absolute)
// to names the way files does: a path under the folder of one of the files
// takes that file's naming of the folder, so an analyzer that reports
// absolute paths names files as the file scanners do. Paths under no such
// folder keep their spelling.
func Renamer(files []Content) func(string) string {
	dirs := map[string]string{}
	for _, f := range files {
		if dir, err := filepath.Abs(filepath.Dir(f.Where())); err == nil {
			dirs[dir] = path.Dir(f.Path)
		}
	}
	return func(p string) string {
		abs, err := filepath.Abs(p)
		if err != nil {
			return p
		}
		for dir, rest := abs, ""; ; {
			if name, ok := dirs[dir]; ok {
				return path.Join(name, filepath.ToSlash(rest))
			}
			parent := filepath.Dir(dir)
			if parent == dir {
				return p
			}
			rest = filepath.Join(filepath.Base(dir), rest)
			dir = parent
		}
	}
}
