package integration

import (
	"bytes"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	vigilv1 "github.com/vigilsec/vigil/pkg/api/vigilv1"
)

// TestPlantedSecretsAreNeverStored plants credentials in files and in a
// git history, scans them with an agent through NATS into the server and
// with vigil scan in every output format, then searches every byte of the
// server's bbolt file, the NATS stream store, the agent's outbox and all
// output for the raw credentials: none may appear, while the findings
// carry the keyed hash that matches across places.
func TestPlantedSecretsAreNeverStored(t *testing.T) {
	secrets := []string{
		"AKIAZ3MXQ7RV2KLWT4NP",
		"ghp_R8fT2kLq9ZmW4xVb7NcH3jPs6YdGa1UeKo5Q",
		"sk_live_51HqLyjWDarjtT1zdp7dcXkQ9",
		"Tr0ub4dor&3xQ9-vault",
		"xoxb-2461938475-7881029384756-Zx8yw7vu6ts5rq4po3nm2lk1",
		"etcdR00tPassw0rd-9x",              // URL user-info of a flag, no rule
		"Qm7vT2pL9xK4wZ8nB3",               // value of --api-token, twice on one line, no rule
		"c4f9e2a7b1d8e3f6a0b5c9d2e7f1a4b8", // ENV of a Dockerfile, again in a RUN line's snippet
		"s3cretDbPassw0rd!",                // a Deployment's environment
		"pgUs3rPa55w0rd",                   // URL user-info in a .env file
	}
	dir := t.TempDir()
	files := map[string]string{
		"svc/.env":          "AWS_ACCESS_KEY_ID=" + secrets[0] + "\nDB_PASSWORD=" + secrets[3] + "\n",
		"svc/deploy.yaml":   "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: cfg}\ndata:\n  GITHUB_TOKEN: " + secrets[1] + "\n",
		"svc/billing.py":    "import stripe\nstripe.api_key = \"" + secrets[2] + "\"\n",
		"svc/copy-of.env":   "AWS_ACCESS_KEY_ID=" + secrets[0] + "\n", // the same key in a second place
		"svc/notify/app.js": "const slack = '" + secrets[4] + "';\n",
		"svc/kube-apiserver.yaml": "apiVersion: v1\nkind: Pod\nmetadata: {name: kube-apiserver, namespace: kube-system, labels: {component: kube-apiserver, tier: control-plane}}\n" +
			"spec:\n  hostNetwork: true\n  containers:\n  - name: kube-apiserver\n    image: registry.k8s.io/kube-apiserver:v1.31.2\n" +
			"    command: [kube-apiserver, --profiling=true, --authorization-mode=AlwaysAllow, --etcd-servers=https://root:" + secrets[5] + "@etcd:2379, --api-token " + secrets[6] + ", --api-token=" + secrets[6] + "]\n",
		"svc/Dockerfile": "FROM alpine:3.19\nENV API_KEY=" + secrets[7] + "\nRUN curl -k -H 'X-Key: " + secrets[7] + "' https://example.com/setup.sh | sh\n",
		"svc/web.yaml": "apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: web}\nspec:\n  selector: {matchLabels: {app: web}}\n  template:\n    metadata: {labels: {app: web}}\n" +
			"    spec:\n      containers:\n      - name: web\n        image: nginx:1.27\n        env: [{name: DB_PASSWORD, value: \"" + secrets[8] + "\"}]\n",
		"svc/db.env": "DATABASE_URL=postgres://app:" + secrets[9] + "@db:5432/app\n",
	}
	for name, body := range files {
		p := filepath.Join(dir, name)
		os.MkdirAll(filepath.Dir(p), 0o755)
		if err := os.WriteFile(p, []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	gitRun := func(args ...string) {
		cmd := exec.Command("git", append([]string{"-C", dir}, args...)...)
		cmd.Env = append(os.Environ(), "GIT_AUTHOR_NAME=t", "GIT_AUTHOR_EMAIL=t@example.com", "GIT_COMMITTER_NAME=t",
			"GIT_COMMITTER_EMAIL=t@example.com", "GIT_CONFIG_GLOBAL=/dev/null")
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("git %v: %v\n%s", args, err, out)
		}
	}
	gitRun("init", "-q")
	gitRun("add", ".")
	gitRun("commit", "-q", "-m", "plant")

	n := startNATS(t)
	s := startServer(t, n.url())
	agentData := t.TempDir()
	agent := runAgent(t, n.url(), "acme", "sec-1", agentData, []string{"--git", dir}, dir)
	if err := agent.wait(t, 2*time.Minute); err != nil {
		t.Fatalf("agent: %v\n%s", err, agent.out.String())
	}
	local := localScanArgs(t, "--tenant", "acme", "--git", dir, dir)
	var secretFindings int
	hashes := map[string]int{}
	for _, f := range local.Findings {
		if f.CheckId == "VGL-CODE-010" {
			secretFindings++
			hashes[f.SecretHash]++
		}
	}
	// Five secrets in six places, each also found once in the history.
	if secretFindings < 12 {
		t.Fatalf("%d secret findings, want at least 12", secretFindings)
	}
	repeated := false
	for _, n := range hashes {
		repeated = repeated || n >= 2
	}
	if !repeated {
		t.Fatal("the same secret in two places does not share a hash")
	}
	// The places the new shapes sit in are reported (so their masking is
	// put to the test, not skipped for want of a finding).
	for _, file := range []string{"kube-apiserver.yaml", "Dockerfile", "web.yaml", "db.env"} {
		found := false
		for _, f := range local.Findings {
			found = found || strings.HasSuffix(f.GetLocation().GetPath(), "/"+file)
		}
		if !found {
			t.Errorf("no finding on %s", file)
		}
	}
	waitFor(t, time.Minute, "findings on the server", func() bool {
		return len(s.listAll(&vigilv1.FindingFilter{Tenant: "acme"})) >= len(local.Findings)
	})

	var outputs bytes.Buffer
	for _, format := range []string{"json", "table", "sarif"} {
		cmd := exec.Command(bins.vigil, "scan", "--format", format, "--git", dir, dir)
		out, _ := cmd.CombinedOutput()
		outputs.Write(out)
	}
	for _, f := range s.listAll(&vigilv1.FindingFilter{Tenant: "acme"}) {
		outputs.WriteString(f.String())
	}
	s.stop()
	n.stop()
	for _, secret := range secrets {
		if strings.Contains(outputs.String(), secret) {
			t.Errorf("scan output or the gRPC API holds %q", secret)
		}
		if strings.Contains(agent.out.String(), secret) || strings.Contains(s.p.out.String(), secret) {
			t.Errorf("a log holds %q", secret)
		}
		for _, root := range []string{s.dataDir, n.dir, agentData} {
			filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
				if err != nil || d.IsDir() {
					return nil
				}
				if data, _ := os.ReadFile(p); bytes.Contains(data, []byte(secret)) {
					t.Errorf("%s holds %q", p, secret)
				}
				return nil
			})
		}
	}
}
