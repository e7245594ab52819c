package checks

import (
	"crypto/sha256"
	"embed"
	"encoding/hex"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"cel.dev/cel-go/cel"
	"sigs.k8s.io/yaml"

	"github.com/vigilsec/vigil/pkg/secret"
)

//go:embed packs/*.yaml
var builtin embed.FS

// Catalog is a set of compiled checks, indexed by input.
type Catalog struct {
	env     *cel.Env
	checks  []*Check
	byID    map[string]*Check
	byInput map[string][]*Check
	// packs hashes every pack added, in order: the catalog's identity.
	packs [32]byte
}

// Digest identifies the checks of the catalog: it changes when any pack's
// text does, so a scope scanned with other checks is re-evaluated whole.
func (c *Catalog) Digest() string { return hex.EncodeToString(c.packs[:8]) }

// Builtin compiles the packs embedded in the binary.
func Builtin() (*Catalog, error) {
	c, err := empty()
	if err != nil {
		return nil, err
	}
	if err := c.addFS(builtin, "packs"); err != nil {
		return nil, err
	}
	return c, nil
}

// Load compiles the built-in packs plus every *.yaml / *.yml pack in dir
// (when dir is not empty). User checks may not reuse a built-in id.
func Load(dir string) (*Catalog, error) {
	c, err := Builtin()
	if err != nil {
		return nil, err
	}
	if dir == "" {
		return c, nil
	}
	if _, err := os.Stat(dir); err != nil {
		return nil, fmt.Errorf("checks dir: %w", err)
	}
	if err := c.addFS(os.DirFS(dir), "."); err != nil {
		return nil, fmt.Errorf("checks dir %s: %w", dir, err)
	}
	return c, nil
}

func empty() (*Catalog, error) {
	// has_secret reports only whether a credential is there, so the hash
	// key of the detector is irrelevant.
	env, err := newEnv(secret.New(nil))
	if err != nil {
		return nil, fmt.Errorf("cel environment: %w", err)
	}
	return &Catalog{env: env, byID: map[string]*Check{}, byInput: map[string][]*Check{}}, nil
}

func (c *Catalog) addFS(fsys fs.FS, root string) error {
	return fs.WalkDir(fsys, root, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		ext := strings.ToLower(filepath.Ext(p))
		if d.IsDir() || (ext != ".yaml" && ext != ".yml") {
			return nil
		}
		data, err := fs.ReadFile(fsys, p)
		if err != nil {
			return fmt.Errorf("%s: %w", p, err)
		}
		return c.AddPack(p, data)
	})
}

// AddPack parses and compiles one pack; name is used in errors.
func (c *Catalog) AddPack(name string, data []byte) error {
	h := sha256.New()
	h.Write(c.packs[:])
	fmt.Fprintf(h, "%d:%s%d:", len(name), name, len(data))
	h.Write(data)
	copy(c.packs[:], h.Sum(nil))
	var pack Pack
	if err := yaml.UnmarshalStrict(data, &pack); err != nil {
		return fmt.Errorf("pack %s: %w", name, err)
	}
	for _, s := range pack.Checks {
		chk, err := compile(c.env, s, name)
		if err != nil {
			return fmt.Errorf("pack %s: %w", name, err)
		}
		if prev, dup := c.byID[chk.ID]; dup {
			return fmt.Errorf("pack %s: check %s already defined in %s", name, chk.ID, prev.Source)
		}
		c.byID[chk.ID] = chk
		c.checks = append(c.checks, chk)
		c.byInput[chk.Input] = append(c.byInput[chk.Input], chk)
	}
	for _, s := range pack.Checks {
		if err := c.checkSubsumes(c.byID[s.ID]); err != nil {
			return fmt.Errorf("pack %s: %w", name, err)
		}
	}
	sort.Slice(c.checks, func(i, j int) bool { return c.checks[i].ID < c.checks[j].ID })
	return nil
}

// checkSubsumes holds the rule of Check.Subsumes: a check folds only
// known checks that read the same input element by element as it does.
func (c *Catalog) checkSubsumes(chk *Check) error {
	for _, id := range chk.Subsumes {
		o, ok := c.byID[id]
		switch {
		case !ok:
			return fmt.Errorf("check %s: subsumes unknown check %s", chk.ID, id)
		case id == chk.ID:
			return fmt.Errorf("check %s: subsumes itself", chk.ID)
		case o.Input != chk.Input || o.Each != chk.Each:
			return fmt.Errorf("check %s: subsumes %s, which reads %s/%s, not %s/%s", chk.ID, id, o.Input, o.Each, chk.Input, chk.Each)
		}
	}
	return nil
}

// All returns every check, ordered by id.
func (c *Catalog) All() []*Check { return c.checks }

// ForInput returns the checks reading one kind of input.
func (c *Catalog) ForInput(input string) []*Check { return c.byInput[input] }

// Get returns a check by id.
func (c *Catalog) Get(id string) (*Check, bool) {
	chk, ok := c.byID[id]
	return chk, ok
}
