// Package cloud is the normalised model of cloud resources that the cloud
// checks read. A resource comes from infrastructure as code (Terraform,
// CloudFormation) or from a provider's API; either way it has the same
// kind and the same attributes, so one check catches a misconfiguration
// before it is applied and after.
package cloud

import "sort"

// Resource is one cloud resource in the normalised model.
//
// Invariants: Kind is one of the kinds documented in kinds.go, and Attrs
// holds every attribute that kind documents. An attribute that could not
// be read (AccessDenied on its API) is absent, never defaulted: a check
// that reads it cannot be evaluated and is reported "not assessed".
type Resource struct {
	// Kind is the normalised kind: "bucket", "security_group", …
	Kind string
	// Provider is "aws", "google", "azure", "alicloud", "digitalocean", …
	Provider string
	// Type is the source's own type: "aws_s3_bucket", "AWS::S3::Bucket".
	Type string
	// Address names the resource in its source: a Terraform address
	// ("module.net.aws_security_group.web[0]"), a CloudFormation logical
	// id, or an ARN or provider id for live resources.
	Address string
	// Name is the resource's own name where it has one.
	Name string
	// Account and Region locate a live resource.
	Account, Region string
	// Path and Line locate an IaC resource's definition; Lines, the
	// attributes of its kind that the source sets (see Locate).
	Path  string
	Line  int
	Lines map[string]int
	// Attrs are the normalised attributes of Kind.
	Attrs map[string]any
	// NotAssessed names the attributes that could not be read, and why.
	NotAssessed map[string]string
}

// Vars returns the resource as the CEL variable "resource": its attributes
// plus kind, provider, type, address and name.
func (r *Resource) Vars() map[string]any {
	m := make(map[string]any, len(r.Attrs)+5)
	for k, v := range r.Attrs {
		m[k] = v
	}
	m["kind"], m["provider"], m["type"], m["address"], m["name"] = r.Kind, r.Provider, r.Type, r.Address, r.Name
	return m
}

// Missing lists the documented attributes of the resource's kind that Attrs
// lacks and that were not reported as not assessed: a collector's bug.
func (r *Resource) Missing() []string {
	k, ok := Kinds[r.Kind]
	if !ok {
		return []string{"kind " + r.Kind}
	}
	var out []string
	for name := range k.Attrs {
		if _, ok := r.Attrs[name]; ok {
			continue
		}
		if _, ok := r.NotAssessed[name]; ok {
			continue
		}
		out = append(out, name)
	}
	sort.Strings(out)
	return out
}
