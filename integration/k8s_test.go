package integration

import (
	"context"
	"crypto/rand"
	"crypto/rsa"
	"crypto/tls"
	"crypto/x509"
	"encoding/pem"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"

	vigilv1 "github.com/vigilsec/vigil/pkg/api/vigilv1"
	"github.com/vigilsec/vigil/pkg/checks"
	"github.com/vigilsec/vigil/pkg/pipeline"
	"github.com/vigilsec/vigil/pkg/scan"
)

// k8sVersion pins the kube-apiserver and etcd the live tests run against.
const k8sVersion = "v1.37.2"

// k8sBinaries builds (once per machine; cached in the user cache folder, or
// VIGIL_K8S_BIN_DIR) a real kube-apiserver and etcd from their Go modules.
func k8sBinaries(t *testing.T) (apiserver, etcd string) {
	t.Helper()
	dir := os.Getenv("VIGIL_K8S_BIN_DIR")
	if dir == "" {
		cache, err := os.UserCacheDir()
		if err != nil {
			t.Fatal(err)
		}
		dir = filepath.Join(cache, "vigil-test", "k8s", k8sVersion)
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	_, self, _, _ := runtime.Caller(0)
	modules := filepath.Join(filepath.Dir(self), "k8s")
	build := func(name string, ldflags string) string {
		out := filepath.Join(dir, name)
		if _, err := os.Stat(out); err == nil {
			return out
		}
		t.Logf("building %s %s once for this machine (cached in %s)", name, k8sVersion, dir)
		args := []string{"build", "-o", out + ".tmp"}
		if ldflags != "" {
			args = append(args, "-ldflags", ldflags)
		}
		cmd := exec.Command("go", append(args, ".")...)
		cmd.Dir = filepath.Join(modules, map[string]string{"kube-apiserver": "apiserver", "etcd": "etcd"}[name])
		if b, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("build %s: %v\n%s", name, err, tail(string(b), 30))
		}
		if err := os.Rename(out+".tmp", out); err != nil {
			t.Fatal(err)
		}
		return out
	}
	etcd = build("etcd", "")
	apiserver = build("kube-apiserver", "-X k8s.io/component-base/version.gitVersion="+k8sVersion+
		" -X k8s.io/component-base/version.gitMajor=1 -X k8s.io/component-base/version.gitMinor=37")
	return apiserver, etcd
}

// testCluster is a kube-apiserver and etcd on loopback, with an admin token
// and a read-only token for the agent.
type testCluster struct {
	url        string
	admin      *kubernetes.Clientset
	agentToken string
}

func startCluster(t *testing.T) *testCluster {
	apiserverBin, etcdBin := k8sBinaries(t)
	dir := t.TempDir()
	client, peer, secure := freePort(t), freePort(t), freePort(t)
	start(t, "etcd", etcdBin, "--data-dir", filepath.Join(dir, "etcd"),
		"--listen-client-urls", fmt.Sprintf("http://127.0.0.1:%d", client), "--advertise-client-urls", fmt.Sprintf("http://127.0.0.1:%d", client),
		"--listen-peer-urls", fmt.Sprintf("http://127.0.0.1:%d", peer), "--initial-advertise-peer-urls", fmt.Sprintf("http://127.0.0.1:%d", peer),
		"--initial-cluster", fmt.Sprintf("default=http://127.0.0.1:%d", peer))

	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	saKey := filepath.Join(dir, "sa.key")
	os.WriteFile(saKey, pem.EncodeToMemory(&pem.Block{Type: "RSA PRIVATE KEY", Bytes: x509.MarshalPKCS1PrivateKey(key)}), 0o600)
	adminToken, agentToken := "admin-token-for-tests", "agent-token-for-tests"
	tokens := filepath.Join(dir, "tokens.csv")
	os.WriteFile(tokens, []byte(adminToken+",admin,1,system:masters\n"+agentToken+",vigil-agent,2,vigil-readers\n"), 0o600)
	start(t, "kube-apiserver", apiserverBin,
		fmt.Sprintf("--etcd-servers=http://127.0.0.1:%d", client), fmt.Sprintf("--secure-port=%d", secure),
		"--bind-address=127.0.0.1", "--advertise-address=127.0.0.1", "--endpoint-reconciler-type=none", "--allow-privileged=true",
		"--cert-dir="+filepath.Join(dir, "certs"), "--service-account-issuer=https://kubernetes.default.svc",
		"--service-account-key-file="+saKey, "--service-account-signing-key-file="+saKey, "--token-auth-file="+tokens,
		"--authorization-mode=Node,RBAC", "--service-cluster-ip-range=10.0.0.0/24")
	url := fmt.Sprintf("https://127.0.0.1:%d", secure)
	hc := &http.Client{Timeout: 2 * time.Second, Transport: &http.Transport{TLSClientConfig: &tls.Config{InsecureSkipVerify: true}}}
	waitFor(t, 90*time.Second, "kube-apiserver /readyz", func() bool {
		req, _ := http.NewRequest("GET", url+"/readyz", nil)
		req.Header.Set("Authorization", "Bearer "+adminToken)
		resp, err := hc.Do(req)
		if err != nil {
			return false
		}
		resp.Body.Close()
		return resp.StatusCode == 200
	})
	admin, err := kubernetes.NewForConfig(&rest.Config{Host: url, BearerToken: adminToken, TLSClientConfig: rest.TLSClientConfig{Insecure: true}})
	if err != nil {
		t.Fatal(err)
	}
	return &testCluster{url: url, admin: admin, agentToken: agentToken}
}

func (c *testCluster) kubeconfig(t *testing.T, token string) string {
	p := filepath.Join(t.TempDir(), "kubeconfig")
	body := fmt.Sprintf(`apiVersion: v1
kind: Config
clusters:
- name: test
  cluster: {server: %q, insecure-skip-tls-verify: true}
users:
- name: agent
  user: {token: %q}
contexts:
- name: test
  context: {cluster: test, user: agent}
current-context: test
`, c.url, token)
	if err := os.WriteFile(p, []byte(body), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

// TestLiveCluster runs the agent against a real kube-apiserver with a
// read-only role, and checks what reaches the server.
func TestLiveCluster(t *testing.T) {
	if testing.Short() {
		t.Skip("needs a kube-apiserver build")
	}
	kc := startCluster(t)
	ctx := context.Background()
	must := func(_ any, err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	// The agent's role: read what the checks need, never secrets.
	must(kc.admin.RbacV1().ClusterRoles().Create(ctx, &rbacv1.ClusterRole{ObjectMeta: metav1.ObjectMeta{Name: "vigil-reader"}, Rules: []rbacv1.PolicyRule{
		{APIGroups: []string{"", "apps", "batch", "networking.k8s.io", "rbac.authorization.k8s.io", "admissionregistration.k8s.io"},
			Resources: []string{"namespaces", "pods", "services", "serviceaccounts", "configmaps", "replicationcontrollers", "deployments", "statefulsets",
				"daemonsets", "replicasets", "jobs", "cronjobs", "ingresses", "networkpolicies", "roles", "rolebindings", "clusterroles", "clusterrolebindings",
				"resourcequotas", "limitranges", "validatingwebhookconfigurations", "mutatingwebhookconfigurations"},
			Verbs: []string{"get", "list", "watch"}},
		{APIGroups: []string{"security.istio.io", "networking.istio.io"}, Resources: []string{"peerauthentications", "destinationrules"},
			Verbs: []string{"get", "list", "watch"}}}}, metav1.CreateOptions{}))
	must(kc.admin.RbacV1().ClusterRoleBindings().Create(ctx, &rbacv1.ClusterRoleBinding{ObjectMeta: metav1.ObjectMeta{Name: "vigil-reader"},
		RoleRef:  rbacv1.RoleRef{APIGroup: "rbac.authorization.k8s.io", Kind: "ClusterRole", Name: "vigil-reader"},
		Subjects: []rbacv1.Subject{{Kind: "Group", Name: "vigil-readers", APIGroup: "rbac.authorization.k8s.io"}}}, metav1.CreateOptions{}))

	must(kc.admin.CoreV1().Namespaces().Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: "shop"}}, metav1.CreateOptions{}))
	must(kc.admin.CoreV1().ServiceAccounts("shop").Create(ctx, &corev1.ServiceAccount{ObjectMeta: metav1.ObjectMeta{Name: "default"}}, metav1.CreateOptions{}))
	privileged := true
	for i := 0; i < 12; i++ { // more than one page at --kube-page-size 5
		pod := &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: fmt.Sprintf("web-%d", i), Labels: map[string]string{"app": "web"}},
			Spec: corev1.PodSpec{Containers: []corev1.Container{{Name: "web", Image: "nginx:1.27"}}}}
		if i == 0 {
			pod.Name = "root-shell"
			pod.Spec.HostNetwork = true
			pod.Spec.Containers[0].SecurityContext = &corev1.SecurityContext{Privileged: &privileged}
		}
		must(kc.admin.CoreV1().Pods("shop").Create(ctx, pod, metav1.CreateOptions{}))
	}
	must(kc.admin.AppsV1().Deployments("shop").Create(ctx, &appsv1.Deployment{ObjectMeta: metav1.ObjectMeta{Name: "api"},
		Spec: appsv1.DeploymentSpec{Selector: &metav1.LabelSelector{MatchLabels: map[string]string{"app": "api"}},
			Template: corev1.PodTemplateSpec{ObjectMeta: metav1.ObjectMeta{Labels: map[string]string{"app": "api"}},
				Spec: corev1.PodSpec{Containers: []corev1.Container{{Name: "api", Image: "api:latest"}}}}}}, metav1.CreateOptions{}))
	must(kc.admin.NetworkingV1().NetworkPolicies("shop").Create(ctx, &networkingv1.NetworkPolicy{ObjectMeta: metav1.ObjectMeta{Name: "api"},
		Spec: networkingv1.NetworkPolicySpec{PodSelector: metav1.LabelSelector{MatchLabels: map[string]string{"app": "api"}}}}, metav1.CreateOptions{}))
	must(kc.admin.RbacV1().ClusterRoleBindings().Create(ctx, &rbacv1.ClusterRoleBinding{ObjectMeta: metav1.ObjectMeta{Name: "jane-admin"},
		RoleRef:  rbacv1.RoleRef{APIGroup: "rbac.authorization.k8s.io", Kind: "ClusterRole", Name: "cluster-admin"},
		Subjects: []rbacv1.Subject{{Kind: "User", Name: "jane", APIGroup: "rbac.authorization.k8s.io"}}}, metav1.CreateOptions{}))
	ks, err := kc.admin.CoreV1().Namespaces().Get(ctx, "kube-system", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	clusterID := string(ks.UID)

	nats := startNATS(t)
	srv := startServer(t, nats.url())
	p := runAgent(t, nats.url(), "acme", "cluster-1", t.TempDir(), []string{"--kubeconfig", kc.kubeconfig(t, kc.agentToken), "--kube-page-size", "5"})
	if err := p.wait(t, 2*time.Minute); err != nil {
		t.Fatalf("agent: %v\n%s", err, tail(p.out.String(), 20))
	}
	if strings.Contains(p.out.String(), "not assessed") {
		t.Fatalf("the read-only role was not enough:\n%s", tail(p.out.String(), 20))
	}
	var stored []*vigilv1.StoredFinding
	waitFor(t, 30*time.Second, "live findings", func() bool {
		stored = srv.listAll(&vigilv1.FindingFilter{Tenant: "acme"})
		return len(stored) > 0
	})
	// One scope, named by the cluster's UID, whatever kubeconfig reached it.
	cov, err := vigilv1.NewCoverageServiceClient(srv.conn).ListCoverage(ctx, &vigilv1.ListCoverageRequest{Tenant: "acme"})
	if err != nil {
		t.Fatal(err)
	}
	if len(cov.Scopes) != 1 || cov.Scopes[0].Scope.Scanner != "kubernetes" || cov.Scopes[0].Scope.Target != "k8s://"+clusterID ||
		cov.Scopes[0].Coverage.UnitsAttempted < 12 {
		t.Errorf("want one kubernetes scope on k8s://%s with every object attempted, got %v", clusterID, cov.Scopes)
	}
	got := map[string]map[string]bool{} // check → "Kind/ns/name"
	for _, f := range stored {
		fd := f.Finding
		if fd.Resource.Account != clusterID || !strings.HasPrefix(fd.Location.Path, "k8s://"+clusterID+"/") {
			t.Fatalf("finding not tied to the cluster %s: %v", clusterID, fd)
		}
		if got[fd.CheckId] == nil {
			got[fd.CheckId] = map[string]bool{}
		}
		got[fd.CheckId][fd.Resource.Kind+"/"+fd.Resource.Namespace+"/"+fd.Resource.Name] = true
	}
	for check, object := range map[string]string{
		"VGL-CLUSTER-001": "Pod/shop/root-shell",            // privileged
		"VGL-CLUSTER-005": "Pod/shop/root-shell",            // host network
		"VGL-CLUSTER-018": "Deployment/shop/api",            // latest tag
		"VGL-CLUSTER-101": "ClusterRoleBinding//jane-admin", // cluster-admin to a user
		"VGL-CLUSTER-131": "Pod/shop/web-11",                // no policy selects app=web (found on the last page)
	} {
		if !got[check][object] {
			t.Errorf("%s on %s not reported; got %v", check, object, got[check])
		}
	}
	if got["VGL-CLUSTER-131"]["Deployment/shop/api"] {
		t.Error("the api Deployment is selected by a NetworkPolicy, yet reported as not isolated")
	}

	// The same cluster scanned once by the CLI, through the same source:
	// the same findings, every object a unit, none left unassessed.
	rep := localScanArgs(t, "--tenant", "acme", "k8s:"+kc.kubeconfig(t, kc.agentToken))
	cli := map[string]bool{}
	for _, f := range rep.Findings {
		cli[f.Fingerprint] = true
	}
	agent := map[string]bool{}
	for _, f := range stored {
		agent[f.Finding.Fingerprint] = true
		if !cli[f.Finding.Fingerprint] {
			t.Errorf("the agent found %s on %s, vigil scan k8s: did not", f.Finding.CheckId, f.Finding.Location.Path)
		}
	}
	for _, f := range rep.Findings {
		if !agent[f.Fingerprint] {
			t.Errorf("vigil scan k8s: found %s on %s, the agent did not", f.CheckId, f.Location.Path)
		}
	}
	if c := rep.Coverage; c.UnitsAttempted < 12 || c.UnitsNotAssessed != 0 || c.UnitKind != "kubernetes object" {
		t.Errorf("coverage of the CLI's cluster scan: %v", c)
	}

	// A kubeconfig whose current context points nowhere: --context picks
	// the one that works, and finds the same.
	two := filepath.Join(t.TempDir(), "kubeconfig")
	body := fmt.Sprintf(`apiVersion: v1
kind: Config
clusters:
- {name: test, cluster: {server: %q, insecure-skip-tls-verify: true}}
- {name: gone, cluster: {server: "https://127.0.0.1:1"}}
users:
- {name: agent, user: {token: %q}}
contexts:
- {name: test, context: {cluster: test, user: agent}}
- {name: gone, context: {cluster: gone, user: agent}}
current-context: gone
`, kc.url, kc.agentToken)
	if err := os.WriteFile(two, []byte(body), 0o600); err != nil {
		t.Fatal(err)
	}
	byContext := localScanArgs(t, "--tenant", "acme", "--kubeconfig", two, "--context", "test")
	if len(byContext.Findings) != len(rep.Findings) || len(byContext.FailedTargets) != 0 {
		t.Errorf("--context test: %d findings, %d failed targets; the kubeconfig's own: %d", len(byContext.Findings), len(byContext.FailedTargets), len(rep.Findings))
	}
	if out, err := exec.Command(bins.vigil, "scan", "--format", "json", "--kubeconfig", two).CombinedOutput(); err == nil {
		t.Errorf("the kubeconfig's current context points nowhere, yet the scan passed:\n%s", out)
	}

	// One namespace: exactly the whole scan's findings on its objects and
	// on itself, its objects the only units.
	ns := localScanArgs(t, "--tenant", "acme", "--kubeconfig", kc.kubeconfig(t, kc.agentToken), "--namespace", "shop")
	want := map[string]string{}
	for _, f := range rep.Findings {
		if r := f.Resource; r.GetNamespace() == "shop" || (r.GetKind() == "Namespace" && r.GetName() == "shop") {
			want[f.Fingerprint] = f.CheckId + " on " + f.Location.Path
		}
	}
	inNS := map[string]bool{}
	for _, f := range ns.Findings {
		inNS[f.Fingerprint] = true
		if _, ok := want[f.Fingerprint]; !ok {
			t.Errorf("--namespace shop: %s on %s, outside the namespace or not in the whole scan", f.CheckId, f.Location.Path)
		}
	}
	for fp, what := range want {
		if !inNS[fp] {
			t.Errorf("--namespace shop missed %s", what)
		}
	}
	if len(want) == 0 || ns.Coverage.UnitsAttempted >= rep.Coverage.UnitsAttempted || ns.Coverage.UnitsNotAssessed != 0 {
		t.Errorf("--namespace shop: %d findings wanted, coverage %v (whole cluster %v)", len(want), ns.Coverage, rep.Coverage)
	}

	// The scan reports its progress (what the CLI's bar shows on a
	// terminal): each kind it lists, then the objects it judges, to the end.
	cat, err := checks.Load("")
	if err != nil {
		t.Fatal(err)
	}
	stages := map[string][2]int{}
	var mu sync.Mutex
	pctx := pipeline.WithProgress(ctx, func(stage string, done, total int) {
		mu.Lock()
		stages[stage] = [2]int{done, total}
		mu.Unlock()
	})
	if _, err := scan.New(cat).Run(pctx, []string{"k8s:" + kc.kubeconfig(t, kc.agentToken)}, "acme"); err != nil {
		t.Fatal(err)
	}
	if p, ok := stages["listing pods"]; !ok || p[1] < 20 {
		t.Errorf("no progress while listing pods: %v", stages)
	}
	if p := stages["judging objects together"]; p[1] == 0 || p[0] != p[1] {
		t.Errorf("progress did not reach the end of the objects: %v", stages)
	}
}
