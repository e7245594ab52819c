package pipeline

// Content is one file of a target given to an analyzer that reads many at
// once (cross-object checks, Terraform modules, Go packages): its
// content, or how to read it when the analyzer gets to it, so a tree's
// files need not all be in memory together.
type Content struct {
	Path string
	Data []byte
	Read func() ([]byte, error)
}

// Bytes is the file's content.
func (f Content) Bytes() ([]byte, error) {
	if f.Data != nil || f.Read == nil {
		return f.Data, nil
	}
	return f.Read()
}
