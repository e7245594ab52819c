package proc

import (
	"context"
	"fmt"
	"math/bits"
	"strings"

	vigilv1 "github.com/vigilsec/vigil/pkg/api/vigilv1"
	"github.com/vigilsec/vigil/pkg/checks"
	"github.com/vigilsec/vigil/pkg/finding"
	"github.com/vigilsec/vigil/pkg/pipeline"
	"google.golang.org/protobuf/proto"
)

// capNames are the Linux capability names by bit number.
var capNames = []string{"CHOWN", "DAC_OVERRIDE", "DAC_READ_SEARCH", "FOWNER", "FSETID", "KILL", "SETGID", "SETUID", "SETPCAP",
	"LINUX_IMMUTABLE", "NET_BIND_SERVICE", "NET_BROADCAST", "NET_ADMIN", "NET_RAW", "IPC_LOCK", "IPC_OWNER", "SYS_MODULE",
	"SYS_RAWIO", "SYS_CHROOT", "SYS_PTRACE", "SYS_PACCT", "SYS_ADMIN", "SYS_BOOT", "SYS_NICE", "SYS_RESOURCE", "SYS_TIME",
	"SYS_TTY_CONFIG", "MKNOD", "LEASE", "AUDIT_WRITE", "AUDIT_CONTROL", "SETFCAP", "MAC_OVERRIDE", "MAC_ADMIN", "SYSLOG",
	"WAKE_ALARM", "BLOCK_SUSPEND", "AUDIT_READ", "PERFMON", "BPF", "CHECKPOINT_RESTORE"}

// CapNames lists the capabilities of a mask, without the CAP_ prefix.
func CapNames(mask uint64) []string {
	var out []string
	for b := 0; b < 64; b++ {
		if mask&(1<<b) == 0 {
			continue
		}
		if b < len(capNames) {
			out = append(out, capNames[b])
		} else {
			out = append(out, fmt.Sprintf("CAP_%d", b))
		}
	}
	return out
}

// Scanner evaluates the catalog's "process" checks over running processes.
type Scanner struct {
	Checks []*checks.Check
	Opts   Options
}

// NewScanner returns a runtime scanner over the catalog's checks.
func NewScanner(cat *checks.Catalog) *Scanner {
	return &Scanner{Checks: cat.ForInput("process")}
}

// Name is the scanner name used in scopes.
func (s *Scanner) Name() string { return "runtime" }

// Describe declares the analyzer: version 1 is its first declared version.
func (s *Scanner) Describe() pipeline.Analyzer {
	return pipeline.Analyzer{Name: s.Name(), Version: 1, Reads: []string{pipeline.Process}, Needs: pipeline.NeedRoot}
}

// Vars is the CEL view of one process.
func Vars(p Process, h Host) map[string]any {
	caps := CapNames(p.CapEff)
	list := make([]any, len(caps))
	for i, c := range caps {
		list[i] = c
	}
	seccomp := map[int]string{0: "disabled", 1: "strict", 2: "filter"}[p.Seccomp]
	shares := func(ns string) bool {
		return h.Known && p.Namespaces[ns] != "" && p.Namespaces[ns] == h.Namespaces[ns]
	}
	selinuxType := ""
	if parts := strings.Split(p.SELinux, ":"); len(parts) >= 3 {
		selinuxType = parts[2]
	}
	// Privileged: every capability the host allows, the mark of a
	// privileged container (a default container has 14).
	privileged := h.CapBnd != 0 && p.CapEff&h.CapBnd == h.CapBnd && bits.OnesCount64(p.CapEff) > 30
	return map[string]any{"process": map[string]any{
		"pid": int64(p.PID), "comm": p.Comm, "cmdline": strings.Join(p.Cmdline, " "),
		"uid": int64(p.UID), "euid": int64(p.EUID), "capabilities": list, "privileged": privileged,
		"no_new_privs": p.NoNewPrivs, "seccomp": seccomp, "apparmor": p.AppArmor, "selinux": p.SELinux,
		"selinux_type": selinuxType, "host_pid": shares("pid"), "host_network": shares("net"), "host_ipc": shares("ipc"),
		"container_id": p.ContainerID, "pod_uid": p.PodUID, "runtime": p.Runtime,
	}}
}

// Scan reads the processes under procRoot and evaluates the checks.
// Findings are per container (or per host program) and check, so
// restarts and extra worker processes do not make new findings.
func (s *Scanner) Scan(ctx context.Context, procRoot, tenant string) ([]*vigilv1.Finding, []error) {
	procs, host, errs := Read(procRoot, s.Opts)
	seen := map[string]bool{}
	var out []*vigilv1.Finding
	for _, p := range procs {
		if ctx.Err() != nil {
			return out, append(errs, ctx.Err())
		}
		vars := Vars(p, host)
		res := &vigilv1.Resource{Tenant: tenant, Provider: "runtime", Kind: "Container", Name: p.ContainerID}
		key := p.ContainerID
		if p.ContainerID == "" {
			res.Kind, res.Name = "Process", p.Comm
			key = p.Comm + "\x00" + strings.Join(p.Cmdline, " ")
		} else if len(p.ContainerID) > 12 {
			res.Name = p.ContainerID[:12]
		}
		if p.PodUID != "" {
			res.Uri = "pod/" + p.PodUID
		}
		at := finding.Site{
			Scanner:  s.Name(),
			Resource: res,
			Location: &vigilv1.Location{Path: fmt.Sprintf("%s/%d", strings.TrimRight(procRoot, "/"), p.PID), Snippet: truncate(strings.Join(p.Cmdline, " "))},
			Key:      key,
		}
		for _, c := range s.Checks {
			fp := at.Fingerprint(c.ID)
			if seen[fp] {
				continue
			}
			fails, err := c.Fails(vars)
			if err != nil {
				errs = append(errs, fmt.Errorf("process %d: %w", p.PID, err))
				continue
			}
			if !fails {
				continue
			}
			seen[fp] = true
			out = append(out, c.NewFinding(fmt.Sprintf("%s (pid %d): %s", p.Comm, p.PID, c.Message(vars)), finding.Site{
				Scanner: at.Scanner, Resource: res, Location: proto.Clone(at.Location).(*vigilv1.Location), Key: key,
			}))
		}
	}
	return out, errs
}

func truncate(s string) string {
	if len(s) > 200 {
		return s[:200]
	}
	return s
}
