package cluster

import (
	"errors"
	"fmt"
	"io/fs"
	"os"

	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"

	"github.com/vigilsec/vigil/pkg/pipeline"
)

// InCluster names the service account a pod runs as, in place of a
// kubeconfig.
const InCluster = "in-cluster"

// Connect returns the client configuration of a cluster: from the
// kubeconfig file at spec, from the pod's service account when spec is
// InCluster, or from the default kubeconfig ($KUBECONFIG, else
// ~/.kube/config) when spec is empty; kubeContext names the kubeconfig's
// context to use, its current one when empty. A configuration that cannot
// be read is an error marked not assessed with its reason.
func Connect(spec, kubeContext string) (*rest.Config, error) {
	overrides := &clientcmd.ConfigOverrides{CurrentContext: kubeContext}
	switch spec {
	case InCluster:
		if kubeContext != "" {
			return nil, pipeline.NotAssessed(pipeline.NoCredentials, fmt.Errorf("in-cluster configuration has no context %q", kubeContext))
		}
		rc, err := rest.InClusterConfig()
		if err != nil {
			return nil, pipeline.NotAssessed(pipeline.NoCredentials, fmt.Errorf("in-cluster configuration: %w", err))
		}
		return rc, nil
	case "":
		rules := clientcmd.NewDefaultClientConfigLoadingRules()
		rc, err := clientcmd.NewNonInteractiveDeferredLoadingClientConfig(rules, overrides).ClientConfig()
		if err != nil {
			return nil, pipeline.NotAssessed(pipeline.NoCredentials, fmt.Errorf("default kubeconfig: %w", err))
		}
		return rc, nil
	}
	if _, err := os.Stat(spec); err != nil {
		reason := pipeline.Unreadable
		if errors.Is(err, fs.ErrPermission) {
			reason = pipeline.PermissionDenied
		}
		return nil, pipeline.NotAssessed(reason, fmt.Errorf("kubeconfig: %w", err))
	}
	rules := &clientcmd.ClientConfigLoadingRules{ExplicitPath: spec}
	rc, err := clientcmd.NewNonInteractiveDeferredLoadingClientConfig(rules, overrides).ClientConfig()
	if err != nil {
		return nil, pipeline.NotAssessed(pipeline.ParseError, fmt.Errorf("kubeconfig %s: %w", spec, err))
	}
	return rc, nil
}
