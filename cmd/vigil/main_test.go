package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"runtime/debug"
	"strings"
	"sync"
	"testing"
	"time"

	"google.golang.org/protobuf/encoding/protojson"

	"github.com/vigilsec/vigil/agent"
	"github.com/vigilsec/vigil/agent/worker"
	vigilv1 "github.com/vigilsec/vigil/pkg/api/vigilv1"
	"github.com/vigilsec/vigil/pkg/scan"
	"github.com/vigilsec/vigil/server"
)

func run(t *testing.T, args ...string) (string, error) {
	t.Helper()
	var out bytes.Buffer
	root := newRoot()
	root.SetOut(&out)
	root.SetErr(io.Discard)
	root.SetArgs(args)
	err := root.ExecuteContext(context.Background())
	return out.String(), err
}

func fixture(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	files := map[string]string{
		"app/deploy.yaml": "apiVersion: v1\nkind: Pod\nmetadata: {name: p}\nspec:\n  hostNetwork: true\n  containers: [{name: c, image: nginx}]\n",
		"app/broken.yaml": "apiVersion: v1\nkind: Pod\nmetadata: [unclosed\n",
		"app/Dockerfile":  "FROM alpine:3.20\nENV API_TOKEN=tok_live_abcdefghijklmnop\nUSER app\n",
		"app/notes.txt":   "not scanned",
	}
	for name, body := range files {
		p := filepath.Join(dir, name)
		os.MkdirAll(filepath.Dir(p), 0o755)
		if err := os.WriteFile(p, []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return filepath.Join(dir, "app")
}

func TestScanJSON(t *testing.T) {
	dir := fixture(t)
	out, err := run(t, "scan", "--format", "json", dir)
	if err != nil {
		t.Fatal(err)
	}
	var raw struct {
		Findings []map[string]any `json:"findings"`
		Errors   []map[string]any `json:"errors"`
		Coverage struct {
			Attempted   string           `json:"units_attempted"`
			Assessed    string           `json:"units_assessed"`
			NotAssessed []map[string]any `json:"not_assessed"`
		} `json:"coverage"`
		FailedTargets []map[string]any `json:"failed_targets"`
	}
	if err := json.Unmarshal([]byte(out), &raw); err != nil {
		t.Fatalf("not JSON: %v\n%s", err, out)
	}
	// Four files are read (notes.txt by the secret scanner); broken.yaml does not parse.
	if len(raw.Findings) == 0 || len(raw.Errors) != 0 || raw.Coverage.Attempted != "4" || raw.Coverage.Assessed != "3" || len(raw.Coverage.NotAssessed) != 1 {
		t.Fatalf("findings %d, errors %v, coverage %+v", len(raw.Findings), raw.Errors, raw.Coverage)
	}
	if e := raw.Coverage.NotAssessed[0]; !strings.HasSuffix(e["path"].(string), "broken.yaml") || e["reason"] != "NOT_ASSESSED_REASON_PARSE_ERROR" || e["error"] == "" {
		t.Fatalf("not assessed entry = %v", e)
	}
	if raw.FailedTargets == nil {
		t.Fatal("failed_targets is absent")
	}
	f := raw.Findings[0]
	for _, k := range []string{"fingerprint", "check_id", "pillar", "severity", "title", "message", "resource", "location", "references", "tags"} {
		if _, ok := f[k]; !ok {
			t.Errorf("finding lacks %q: %v", k, f)
		}
	}
	loc := f["location"].(map[string]any)
	for _, k := range []string{"path", "start_line", "end_line", "snippet"} {
		if _, ok := loc[k]; !ok {
			t.Errorf("location lacks %q", k)
		}
	}
	if strings.Contains(out, "tok_live_abcdefghijklmnop") {
		t.Fatal("the secret value is in the scan output")
	}
	rep := &vigilv1.ScanReport{}
	if err := protojson.Unmarshal([]byte(out), rep); err != nil {
		t.Fatalf("not a ScanReport: %v", err)
	}
}

func TestScanSeverityAndExitCode(t *testing.T) {
	dir := fixture(t)
	out, err := run(t, "scan", "--format", "json", "--severity", "critical", "--exit-code", "4", "--allow-unassessed", dir)
	if err != nil {
		t.Fatalf("no critical finding, yet: %v", err)
	}
	rep := &vigilv1.ScanReport{}
	protojson.Unmarshal([]byte(out), rep)
	if len(rep.Findings) != 0 {
		t.Fatalf("severity filter let through %d findings", len(rep.Findings))
	}
	_, err = run(t, "scan", "--format", "json", "--severity", "high", "--exit-code", "4", dir)
	var ee exitError
	if !errors.As(err, &ee) || ee.code != 4 {
		t.Fatalf("err = %v, want exit code 4", err)
	}
	if _, err := run(t, "scan", "--severity", "urgent", dir); err == nil {
		t.Fatal("a bad severity was accepted")
	}
	// broken.yaml was not assessed: without --allow-unassessed the gate
	// fails even with no finding at the severity asked.
	_, err = run(t, "scan", "--format", "json", "--severity", "critical", "--exit-code", "4", dir)
	if !errors.As(err, &ee) || ee.code != 4 {
		t.Fatalf("err = %v, want exit code 4 for the input not assessed", err)
	}
}

func TestScanSARIF(t *testing.T) {
	dir := fixture(t)
	out, err := run(t, "scan", "--format", "sarif", dir)
	if err != nil {
		t.Fatal(err)
	}
	var log struct {
		Version string `json:"version"`
		Runs    []struct {
			Tool struct {
				Driver struct {
					Rules []struct {
						ID string `json:"id"`
					} `json:"rules"`
				} `json:"driver"`
			} `json:"tool"`
			Results []struct {
				RuleID              string            `json:"ruleId"`
				RuleIndex           int               `json:"ruleIndex"`
				PartialFingerprints map[string]string `json:"partialFingerprints"`
				Locations           []struct {
					PhysicalLocation struct {
						Region struct {
							StartLine int `json:"startLine"`
						} `json:"region"`
					} `json:"physicalLocation"`
				} `json:"locations"`
			} `json:"results"`
		} `json:"runs"`
	}
	if err := json.Unmarshal([]byte(out), &log); err != nil || log.Version != "2.1.0" || len(log.Runs) != 1 {
		t.Fatalf("SARIF = %v, %s", err, out)
	}
	run := log.Runs[0]
	if len(run.Results) == 0 {
		t.Fatal("no results")
	}
	for _, r := range run.Results {
		if run.Tool.Driver.Rules[r.RuleIndex].ID != r.RuleID || r.PartialFingerprints["vigilFingerprint/v1"] == "" || r.Locations[0].PhysicalLocation.Region.StartLine < 1 {
			t.Fatalf("bad result %+v", r)
		}
	}
}

func TestChecksList(t *testing.T) {
	out, err := run(t, "checks", "list", "--format", "json")
	if err != nil {
		t.Fatal(err)
	}
	var cat struct {
		Checks []catalogEntry `json:"checks"`
	}
	if err := json.Unmarshal([]byte(out), &cat); err != nil || len(cat.Checks) < 30 {
		t.Fatalf("catalog: %v, %d checks", err, len(cat.Checks))
	}
	if out, _ := run(t, "checks", "list"); !strings.Contains(out, "VGL-CLUSTER-001") {
		t.Fatal("table lacks VGL-CLUSTER-001")
	}
}

// TestFleetCommands runs the fleet commands against a real server fed by a
// real agent through embedded NATS.
func TestFleetCommands(t *testing.T) {
	dir := fixture(t)
	ctx, cancel := context.WithCancel(context.Background())
	quiet := slog.New(slog.NewTextHandler(io.Discard, nil))
	srv, err := server.New(ctx, server.Config{DataDir: t.TempDir(), GRPCAddr: "127.0.0.1:0", NATSListen: "127.0.0.1:-1", Logger: quiet})
	if err != nil {
		t.Fatal(err)
	}
	served := make(chan error, 1)
	go func() { served <- srv.Serve(ctx) }()
	defer func() { cancel(); <-served }()
	a, err := agent.New(agent.Config{NATSURL: srv.NATSURL(), Tenant: "acme", ID: "cli", Spec: agent.Spec{Targets: []string{dir}}, Scanner: worker.Local{Logger: quiet}, Once: true, DataDir: t.TempDir(), Logger: quiet})
	if err != nil {
		t.Fatal(err)
	}
	if err := a.Run(ctx); err != nil {
		t.Fatal(err)
	}
	scanOut, _ := run(t, "scan", "--format", "json", "--tenant", "acme", dir)
	local := &vigilv1.ScanReport{}
	protojson.Unmarshal([]byte(scanOut), local)

	addr := srv.GRPCAddr()
	var list vigilv1.ListFindingsResponse
	deadline := time.Now().Add(20 * time.Second)
	for {
		out, err := run(t, "--server", addr, "findings", "list", "--format", "json", "--page-size", "2")
		if err != nil {
			t.Fatal(err)
		}
		if err := protojson.Unmarshal([]byte(out), &list); err != nil {
			t.Fatal(err)
		}
		if len(list.Findings) == len(local.Findings) || time.Now().After(deadline) {
			break
		}
		time.Sleep(50 * time.Millisecond)
	}
	if len(list.Findings) != len(local.Findings) || len(local.Findings) == 0 {
		t.Fatalf("server lists %d findings, vigil scan %d", len(list.Findings), len(local.Findings))
	}
	out, err := run(t, "--server", addr, "findings", "list", "--format", "json", "--limit", "1")
	if err != nil || strings.Count(out, `"fingerprint"`) != 1 {
		t.Fatalf("--limit 1: %v\n%s", err, out)
	}
	out, err = run(t, "--server", addr, "findings", "summary", "--format", "json")
	var sum vigilv1.SummarizeFindingsResponse
	if err != nil || protojson.Unmarshal([]byte(out), &sum) != nil || sum.Total != uint64(len(local.Findings)) {
		t.Fatalf("summary: %v %s", err, out)
	}
	out, err = run(t, "--server", addr, "findings", "get", list.Findings[0].Id)
	if err != nil || !strings.Contains(out, list.Findings[0].Finding.CheckId) {
		t.Fatalf("get: %v\n%s", err, out)
	}
	if _, err := run(t, "--server", addr, "findings", "get", strings.Repeat("0", 80)); err == nil {
		t.Fatal("get of an unknown id succeeded")
	}
	out, err = run(t, "--server", addr, "agents", "list")
	if err != nil || !strings.Contains(out, "cli") {
		t.Fatalf("agents: %v\n%s", err, out)
	}
	out, err = run(t, "--server", addr, "findings", "list", "--severity", "high", "--status", "open")
	if err != nil || !strings.Contains(out, "HIGH") {
		t.Fatalf("table: %v\n%s", err, out)
	}
	// The OCSF events of those findings, replayed from the events stream.
	n := len(local.Findings)
	out, err = run(t, "events", "tail", "--nats-url", srv.NATSURL(), "--tenant", "acme", "--replay", "--count", fmt.Sprint(n), "--format", "json")
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSpace(out), "\n")
	if len(lines) != n {
		t.Fatalf("events tail printed %d events, want %d", len(lines), n)
	}
	for _, l := range lines {
		var ev map[string]any
		if err := json.Unmarshal([]byte(l), &ev); err != nil || ev["class_uid"] == nil || ev["type_uid"] == nil {
			t.Fatalf("not an OCSF event: %v %s", err, l)
		}
	}
	out, err = run(t, "events", "tail", "--nats-url", srv.NATSURL(), "--replay", "--count", "1", "--severity", "high")
	if err != nil || !strings.Contains(out, "OPENED") || !strings.Contains(out, "acme") {
		t.Fatalf("events table: %v\n%s", err, out)
	}
}

func TestSpinnerClearsItsLine(t *testing.T) {
	var buf syncBuf
	stop, prog := spinTo(&buf, "scanning 1 path(s)", time.Millisecond)
	time.Sleep(20 * time.Millisecond)
	prog("listing pods", 5, 20)
	time.Sleep(20 * time.Millisecond)
	stop()
	stop() // idempotent
	out := buf.String()
	if !strings.Contains(out, "scanning 1 path(s)") || !strings.HasSuffix(out, "\r\033[K") {
		t.Fatalf("spinner output %q", out)
	}
	// The progress the work reports shows as a bar of its counts.
	if !strings.Contains(out, "scanning 1 path(s): listing pods [#####...............] 5/20") {
		t.Fatalf("spinner shows no progress: %q", out)
	}
}

type syncBuf struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuf) Write(p []byte) (int, error) { s.mu.Lock(); defer s.mu.Unlock(); return s.b.Write(p) }
func (s *syncBuf) String() string              { s.mu.Lock(); defer s.mu.Unlock(); return s.b.String() }

func TestScanImageAndSBOM(t *testing.T) {
	layoutDir := filepath.Join("..", "..", "examples", "images", "shop-api")
	out, err := run(t, "scan", "--format", "json", "--image", layoutDir)
	if err != nil {
		t.Fatal(err)
	}
	var rep struct {
		Findings []struct {
			CheckID  string `json:"check_id"`
			Location struct {
				Snippet string `json:"snippet"`
			} `json:"location"`
		} `json:"findings"`
	}
	if err := json.Unmarshal([]byte(out), &rep); err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	got := map[string]bool{}
	for _, f := range rep.Findings {
		got[f.CheckID] = true
	}
	for _, id := range []string{"VGL-CONTAINER-101", "VGL-CONTAINER-102", "VGL-CONTAINER-103", "VGL-CONTAINER-110", "VGL-CONTAINER-111", "VGL-CONTAINER-112"} {
		if !got[id] {
			t.Errorf("%s not reported for the example image; got %v", id, got)
		}
	}
	for _, secret := range []string{"AKIAZ3MXQ7RV2KLWT4NP", "9fK2mQx7LpZr4Tv8"} {
		if strings.Contains(out, secret) {
			t.Errorf("output holds the secret %s", secret)
		}
	}

	sbom := filepath.Join(t.TempDir(), "bom.json")
	if _, err := run(t, "sbom", "-o", sbom, layoutDir); err != nil {
		t.Fatal(err)
	}
	data, err := os.ReadFile(sbom)
	if err != nil {
		t.Fatal(err)
	}
	var bom struct {
		BOMFormat   string `json:"bomFormat"`
		SpecVersion string `json:"specVersion"`
		Metadata    struct {
			Component struct {
				Type, Version string
			} `json:"component"`
		} `json:"metadata"`
		Components []struct {
			Type, Name, Version, Purl string
		} `json:"components"`
	}
	if err := json.Unmarshal(data, &bom); err != nil {
		t.Fatal(err)
	}
	if bom.BOMFormat != "CycloneDX" || bom.SpecVersion != "1.5" || bom.Metadata.Component.Type != "container" || !strings.HasPrefix(bom.Metadata.Component.Version, "sha256:") {
		t.Fatalf("bom header: %+v", bom)
	}
	purls := map[string]bool{}
	for _, c := range bom.Components {
		purls[c.Purl] = true
	}
	for _, want := range []string{"pkg:apk/alpine/busybox@1.36.1-r28?arch=x86_64&distro=alpine-3.20.3", "pkg:npm/lodash@4.17.20"} {
		if !purls[want] {
			t.Errorf("component %s missing; got %v", want, purls)
		}
	}
}

// runErr runs the CLI and also returns what it wrote on stderr.
func runErr(t *testing.T, args ...string) (string, string, error) {
	t.Helper()
	var out, errOut bytes.Buffer
	root := newRoot()
	root.SetOut(&out)
	root.SetErr(&errOut)
	root.SetArgs(args)
	err := root.ExecuteContext(context.Background())
	return out.String(), errOut.String(), err
}

// A target that cannot be scanned at all exits 2 and is named on stderr,
// whatever else was found and whatever --allow-unassessed says.
func TestScanUnscannableTargetExits2(t *testing.T) {
	dir := fixture(t)
	missing := filepath.Join(t.TempDir(), "no", "such", "path")
	for name, args := range map[string][]string{
		"missing path":               {missing},
		"missing path beside one":    {dir, missing, "--allow-unassessed", "--exit-code", "0"},
		"git on a plain folder":      {"--git", t.TempDir()},
		"image that is not there":    {"--image", "oci:" + missing},
		"allow-unassessed is no way": {missing, "--allow-unassessed"},
	} {
		_, stderr, err := runErr(t, append([]string{"scan", "--format", "json"}, args...)...)
		var ee exitError
		if !errors.As(err, &ee) || ee.code != 2 {
			t.Errorf("%s: err = %v, want exit 2", name, err)
		}
		if !strings.HasPrefix(stderr, "vigil: ") || !strings.Contains(stderr, ": ") {
			t.Errorf("%s: stderr %q does not name the target and the reason", name, stderr)
		}
	}
}

// SARIF marks the run unsuccessful and lists each unit not assessed; the
// table ends with the coverage line.
func TestScanReportsWhatItCouldNotAssess(t *testing.T) {
	dir := fixture(t)
	out, err := run(t, "scan", "--format", "sarif", dir)
	if err != nil {
		t.Fatal(err)
	}
	var log struct {
		Runs []struct {
			Invocations []struct {
				ExecutionSuccessful bool `json:"executionSuccessful"`
				Notifications       []struct {
					Level   string                `json:"level"`
					Message struct{ Text string } `json:"message"`
				} `json:"toolExecutionNotifications"`
			} `json:"invocations"`
		} `json:"runs"`
	}
	if err := json.Unmarshal([]byte(out), &log); err != nil {
		t.Fatal(err)
	}
	inv := log.Runs[0].Invocations[0]
	if inv.ExecutionSuccessful || len(inv.Notifications) != 1 || !strings.Contains(inv.Notifications[0].Message.Text, "parse error") {
		t.Fatalf("invocation %+v", inv)
	}
	clean := t.TempDir()
	os.WriteFile(filepath.Join(clean, "Dockerfile"), []byte("FROM alpine:3.20\nUSER app\n"), 0o644)
	out, _ = run(t, "scan", "--format", "sarif", clean)
	if !strings.Contains(out, `"executionSuccessful": true`) {
		t.Fatalf("a clean scan is not successful:\n%s", out)
	}
	var tool struct {
		Runs []struct {
			Tool struct {
				Extensions []struct{ Name, Version string } `json:"extensions"`
			} `json:"tool"`
		} `json:"runs"`
	}
	if err := json.Unmarshal([]byte(out), &tool); err != nil {
		t.Fatal(err)
	}
	if ext := tool.Runs[0].Tool.Extensions; len(ext) < 10 || ext[0].Name != "kubernetes" || ext[0].Version != "1" {
		t.Fatalf("SARIF lists analyzers %+v", ext)
	}
	out, _ = run(t, "scan", "--format", "table", dir)
	lines := strings.Split(strings.TrimSpace(out), "\n")
	if last := lines[len(lines)-1]; last != "assessed 3 of 4 files; 1 not assessed (see --format json)" {
		t.Fatalf("last line %q", last)
	}
	if strings.Count(out, "broken.yaml") != 1 {
		t.Fatalf("broken.yaml is not listed once:\n%s", out)
	}
}

// A check that could not run on some unit fails the gate as a unit not
// assessed does; failed targets exit 2 before anything else.
func TestGateCountsChecksThatCouldNotRun(t *testing.T) {
	checkFailed := &vigilv1.ScanReport{Coverage: &vigilv1.Coverage{UnitsAttempted: 1, UnitsAssessed: 1,
		ChecksNotRun: []*vigilv1.CheckNotRun{{CheckId: "VGL-CLUSTER-241", Units: 1, Detail: "type conversion error"}}}}
	var ee exitError
	if err := gate(io.Discard, checkFailed, 3, false); !errors.As(err, &ee) || ee.code != 3 {
		t.Fatalf("check not run: %v, want exit 3", err)
	}
	if err := gate(io.Discard, checkFailed, 3, true); err != nil {
		t.Fatalf("--allow-unassessed: %v", err)
	}
	if err := gate(io.Discard, checkFailed, 0, false); err != nil {
		t.Fatalf("no --exit-code: %v", err)
	}
	checkFailed.FailedTargets = []*vigilv1.ScanError{{Path: "x", Error: "gone"}}
	if err := gate(io.Discard, checkFailed, 3, true); !errors.As(err, &ee) || ee.code != 2 {
		t.Fatalf("failed target: %v, want exit 2", err)
	}
}

func TestAnalyzersAreListed(t *testing.T) {
	out, err := run(t, "analyzers")
	if err != nil {
		t.Fatal(err)
	}
	rows := map[string]string{}
	for _, line := range strings.Split(out, "\n") {
		if f := strings.Fields(line); len(f) > 0 {
			rows[f[0]] = strings.Join(f, " ")
		}
	}
	for name, want := range map[string]string{"dependencies": "dependencies 1 file vulnerability data", "runtime": "runtime 1 process root", "analyzer": "analyzer digest"} {
		if !strings.HasPrefix(rows[name], want) {
			t.Errorf("row %q, want %q, in:\n%s", rows[name], want, out)
		}
	}
	out, err = run(t, "analyzers", "--format", "json")
	if err != nil {
		t.Fatal(err)
	}
	var got struct {
		Analyzers []analyzerEntry
		Digest    string
	}
	if err := json.Unmarshal([]byte(out), &got); err != nil {
		t.Fatal(err)
	}
	if len(got.Analyzers) != len(scan.FileScanners())+5 || len(got.Digest) != 16 {
		t.Fatalf("json: %+v", got)
	}
}

// vigil probe is a CI gate like vigil scan: --exit-code N when a finding
// at or above --severity is reported.
func TestProbeExitCode(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprint(w, "<html><body>shop</body></html>")
	}))
	defer srv.Close()
	host := strings.TrimPrefix(srv.URL, "http://")
	out, err := run(t, "probe", "--format", "json", "--allow-host", host, "--rate", "1000", "--exit-code", "3", srv.URL+"/")
	var ee exitError
	if !errors.As(err, &ee) || ee.code != 3 {
		t.Fatalf("err = %v, want exit code 3 (output %s)", err, out)
	}
	rep := &vigilv1.ScanReport{}
	if err := protojson.Unmarshal([]byte(out), rep); err != nil || len(rep.Findings) == 0 {
		t.Fatalf("no findings on a page without security headers: %v %s", err, out)
	}
	out, err = run(t, "probe", "--format", "json", "--allow-host", host, "--rate", "1000", "--severity", "critical", "--exit-code", "3", srv.URL+"/")
	if err != nil {
		t.Fatalf("no critical finding, yet: %v (output %s)", err, out)
	}
}

// --max-memory takes a Kubernetes-style size and rejects anything else;
// a bounded scan finds what an unbounded one does.
func TestScanMaxMemory(t *testing.T) {
	dir := fixture(t)
	if _, err := run(t, "scan", "--max-memory", "lots", dir); err == nil || !strings.Contains(err.Error(), "--max-memory") {
		t.Errorf("a size that does not parse: %v", err)
	}
	free, _ := run(t, "scan", "--format", "json", dir)
	bounded, err := run(t, "scan", "--format", "json", "--max-memory", "512Mi", dir)
	defer debug.SetMemoryLimit(math.MaxInt64)
	if err != nil {
		t.Fatal(err)
	}
	if n, m := strings.Count(free, `"fingerprint"`), strings.Count(bounded, `"fingerprint"`); n == 0 || n != m {
		t.Errorf("%d findings unbounded, %d with --max-memory", n, m)
	}
}
