package cluster

import (
	"bytes"
	"encoding/json"

	"go.yaml.in/yaml/v3"
)

// plainJSONNotObject reports whether data is one well-formed JSON value
// that is not a Kubernetes object: an array, or an object without string
// apiVersion and kind at its top level (an OpenAPI document, package
// metadata). Such a file yields no object, and is skipped without building
// its YAML tree, which costs some twenty times the file's size. Anything
// else (YAML, broken JSON, several values) returns false and is read as
// YAML, so its objects and its syntax errors are reported as before.
func plainJSONNotObject(data []byte) bool {
	trimmed := bytes.TrimLeft(data, " \t\r\n")
	if len(trimmed) == 0 || (trimmed[0] != '{' && trimmed[0] != '[') || !json.Valid(trimmed) {
		return false
	}
	if trimmed[0] == '[' {
		return true
	}
	var top map[string]json.RawMessage
	if json.Unmarshal(trimmed, &top) != nil {
		return false
	}
	var api, kind string
	if json.Unmarshal(top["apiVersion"], &api) != nil || json.Unmarshal(top["kind"], &kind) != nil {
		return true // absent, or not strings
	}
	return api == "" || kind == ""
}

// mayBeObject reports whether a YAML document can hold a Kubernetes object:
// a mapping with apiVersion and kind keys, or one with a merge key that may
// bring them. Other documents are skipped before they are decoded.
func mayBeObject(doc *yaml.Node) bool {
	n := doc
	for n != nil && n.Kind == yaml.DocumentNode && len(n.Content) > 0 {
		n = n.Content[0]
	}
	for n != nil && n.Kind == yaml.AliasNode {
		n = n.Alias
	}
	if n == nil || n.Kind != yaml.MappingNode {
		return false
	}
	var api, kind bool
	for i := 0; i+1 < len(n.Content); i += 2 {
		switch n.Content[i].Value {
		case "apiVersion":
			api = true
		case "kind":
			kind = true
		case "<<":
			return true
		}
	}
	return api && kind
}
