package cloud

// Mapping maps the resources of some types of one source format
// (Terraform, CloudFormation) onto a "store" of a service: Set reads the
// resource's own attributes, in that format's names, into the model's.
// Each format lists its mappings as a table; the checks are written once
// against the model.
type Mapping struct {
	Types   []string
	Service string
	Set     func(a Attrs, r *Resource)
}
