// Package imageref is the source of container images named by reference:
// an OCI layout, a docker-archive tarball or a registry image.
package imageref

import (
	"context"
	"errors"

	"github.com/vigilsec/vigil/pkg/pipeline"
	"github.com/vigilsec/vigil/pkg/scan/container/image"
	"github.com/vigilsec/vigil/pkg/scan/source"
)

// Source reads and judges every image behind a reference.
type Source struct {
	Images *image.Scanner
	// Options configure how references are resolved (platform, plain-HTTP
	// registries, credentials).
	Options image.OpenOptions
	// Budget bounds the memory of scans in flight (nil: unbounded).
	Budget *source.Budget
}

// Name is "image".
func (Source) Name() string { return "image" }

// Match reports whether target is an image reference.
func (Source) Match(target string) bool { return image.IsReference(target) }

// Normalize returns the reference as given.
func (Source) Normalize(target string) string { return target }

// Scan reads every image behind the reference (an index may hold several):
// each image is a unit; one that could not be read is not assessed, the
// others' problems are notices.
func (s Source) Scan(ctx context.Context, res *source.Result, ref, tenant string) error {
	release, err := s.Budget.Reserve(ctx, source.ImageCost)
	if err != nil {
		return err
	}
	rep, err := s.Images.ScanRef(ctx, ref, tenant, s.Options)
	release()
	if err != nil {
		return err
	}
	name := s.Images.Name()
	for _, im := range rep.Images {
		res.Ledger.Attempt(name, pipeline.Image, im.Source.Name)
		for _, err := range im.Errors {
			// A check that could not run is counted as such; the rest
			// leave the image assessed and are reported.
			var ce *pipeline.CheckError
			if !errors.As(err, &ce) {
				err = pipeline.AsNotice(err)
			}
			res.Ledger.Record(name, pipeline.Image, im.Source.Name, err)
		}
	}
	for _, e := range rep.Errors {
		res.Ledger.NotAssessed(name, pipeline.Image, e.Path, pipeline.Unreadable, e.Error)
	}
	res.Findings[name] = append(res.Findings[name], rep.Findings...)
	return nil
}
