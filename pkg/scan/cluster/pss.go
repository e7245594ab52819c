package cluster

import (
	"encoding/json"
	"sync"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	psaapi "k8s.io/pod-security-admission/api"
	psapolicy "k8s.io/pod-security-admission/policy"
)

// The Pod Security Standards are evaluated with Kubernetes' own Pod
// Security Admission checks, at their latest version.
var pssEvaluator = sync.OnceValues(func() (psapolicy.Evaluator, error) {
	return psapolicy.NewEvaluator(psapolicy.DefaultChecks(), nil)
})

// pssModel returns the Pod Security Standards level a pod spec meets -
// "restricted", "baseline" or "privileged" - with the reasons it misses
// the levels above, or nil when the spec does not decode as a PodSpec.
func pssModel(spec, meta map[string]any) map[string]any {
	eval, err := pssEvaluator()
	if err != nil {
		return nil
	}
	var ps corev1.PodSpec
	var om metav1.ObjectMeta
	if !roundTrip(spec, &ps) || !roundTrip(meta, &om) {
		return nil
	}
	reasons := func(level psaapi.Level) []any {
		out := []any{}
		for _, r := range eval.EvaluatePod(psaapi.LevelVersion{Level: level, Version: psaapi.LatestVersion()}, &om, &ps) {
			if !r.Allowed {
				reason := r.ForbiddenReason
				if r.ForbiddenDetail != "" {
					reason += " (" + r.ForbiddenDetail + ")"
				}
				out = append(out, reason)
			}
		}
		return out
	}
	baseline, restricted := reasons(psaapi.LevelBaseline), reasons(psaapi.LevelRestricted)
	level := "restricted"
	switch {
	case len(baseline) > 0:
		level = "privileged"
	case len(restricted) > 0:
		level = "baseline"
	}
	return map[string]any{"level": level, "baseline_violations": baseline, "restricted_violations": restricted}
}

func roundTrip(in map[string]any, out any) bool {
	b, err := json.Marshal(in)
	if err != nil {
		return false
	}
	return json.Unmarshal(b, out) == nil
}
