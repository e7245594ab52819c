package cluster

import (
	"fmt"
	"strings"
	"time"

	"google.golang.org/protobuf/types/known/timestamppb"

	vigilv1 "github.com/vigilsec/vigil/pkg/api/vigilv1"
)

// IgnoreAnnotation declares exceptions on the object it annotates:
//
//	vigil.dev/ignore: "VGL-CLUSTER-004, VGL-CLUSTER-011; reason=batch node, isolated; until=2027-03-31"
//
// Each line is one clause: check ids (or * for every check), then
// reason= (required) and until= (a date or RFC 3339 time; optional). On a
// workload the annotation is read from the object and from its pod
// template. The findings are still reported, carrying the exemption; the
// server keeps them SUPPRESSED until it runs out.
const IgnoreAnnotation = "vigil.dev/ignore"

// exemptions maps a check id (or "*") to its exemption.
type exemptions map[string]*vigilv1.Exemption

// parseIgnore reads an annotation value. now decides which clauses have
// run out; those are left out.
func parseIgnore(value, where string, now time.Time) (exemptions, error) {
	out := exemptions{}
	var errs []string
	for n, line := range strings.Split(value, "\n") {
		line = strings.TrimSpace(line)
		if line == "" {
			continue
		}
		parts := strings.Split(line, ";")
		var ids []string
		for _, id := range strings.FieldsFunc(parts[0], func(r rune) bool { return r == ',' || r == ' ' || r == '\t' }) {
			ids = append(ids, strings.ToUpper(id))
		}
		e := &vigilv1.Exemption{Source: "annotation " + IgnoreAnnotation + " on " + where}
		var bad string
		for _, p := range parts[1:] {
			k, v, ok := strings.Cut(strings.TrimSpace(p), "=")
			k, v = strings.ToLower(strings.TrimSpace(k)), strings.TrimSpace(v)
			switch {
			case !ok && k == "":
			case !ok:
				bad = fmt.Sprintf("%q is not key=value", p)
			case k == "reason":
				e.Reason = v
			case k == "until" || k == "expires":
				t, err := parseUntil(v)
				if err != nil {
					bad = err.Error()
				}
				e.Expires = timestamppb.New(t)
			default:
				bad = fmt.Sprintf("unknown key %q (want reason or until)", k)
			}
		}
		switch {
		case bad != "":
		case len(ids) == 0:
			bad = "no check id"
		case e.Reason == "":
			bad = "reason= is required"
		}
		if bad != "" {
			errs = append(errs, fmt.Sprintf("line %d: %s", n+1, bad))
			continue
		}
		if e.Expires != nil && !e.Expires.AsTime().After(now) {
			continue // ran out: the findings are reported as they are
		}
		for _, id := range ids {
			out[id] = e
		}
	}
	if len(errs) > 0 {
		return out, fmt.Errorf("%s annotation on %s: %s", IgnoreAnnotation, where, strings.Join(errs, "; "))
	}
	return out, nil
}

func parseUntil(v string) (time.Time, error) {
	if t, err := time.Parse(time.RFC3339, v); err == nil {
		return t, nil
	}
	if t, err := time.Parse(time.DateOnly, v); err == nil {
		// A date means through the end of that day, UTC.
		return t.Add(24 * time.Hour), nil
	}
	return time.Time{}, fmt.Errorf("until=%q is not a date (2027-03-31) or RFC 3339 time", v)
}

// exemptionsOf reads the ignore annotations of an object and, for a
// workload, of its pod template; clauses of both apply.
func exemptionsOf(obj map[string]any, where string, now time.Time) (exemptions, error) {
	var values []string
	if v := annotation(obj["metadata"]); v != "" {
		values = append(values, v)
	}
	if _, podMeta, _ := podSpec(obj, kindOf(obj)); podMeta != nil {
		if v := annotation(podMeta); v != "" && (len(values) == 0 || v != values[0]) {
			values = append(values, v)
		}
	}
	if len(values) == 0 {
		return nil, nil
	}
	return parseIgnore(strings.Join(values, "\n"), where, now)
}

func kindOf(obj map[string]any) string {
	k, _ := obj["kind"].(string)
	return k
}

func annotation(meta any) string {
	m, _ := meta.(map[string]any)
	ann, _ := m["annotations"].(map[string]any)
	v, _ := ann[IgnoreAnnotation].(string)
	return v
}

// apply attaches the exemption that covers a finding's check, if any.
func (e exemptions) apply(f *vigilv1.Finding) {
	if len(e) == 0 {
		return
	}
	if x, ok := e[strings.ToUpper(f.CheckId)]; ok {
		f.Exemption = x
	} else if x, ok := e["*"]; ok {
		f.Exemption = x
	}
}
