// Package proc reads the processes running on a node from /proc and
// judges how each is confined: capabilities, seccomp, no_new_privs,
// AppArmor or SELinux label, user, and shared host namespaces. Processes
// are attributed to containers through their cgroup paths.
package proc

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"strings"
)

// Process is what /proc tells of one process.
type Process struct {
	PID, PPID int
	Comm      string
	Cmdline   []string
	UID, EUID int
	// CapEff is the effective capability set as a bit mask.
	CapEff uint64
	// NoNewPrivs is set when the process cannot gain privileges by exec.
	NoNewPrivs bool
	// Seccomp is 0 (disabled), 1 (strict) or 2 (filter); -1 when unknown.
	Seccomp int
	// AppArmor and SELinux are the process's labels, "" when the module is
	// not active.
	AppArmor, SELinux string
	// Namespaces maps "pid", "net", "ipc" to the namespace ids.
	Namespaces map[string]string
	// ContainerID and PodUID come from the cgroup path, "" for host
	// processes.
	ContainerID, PodUID, Runtime string
}

// Host is what a container process is compared with: the host's
// namespaces and capability bounding set.
type Host struct {
	Namespaces map[string]string
	CapBnd     uint64
	// Known is false when the host's side could not be read; namespace
	// sharing is then not judged.
	Known bool
}

// Options select the processes to read.
type Options struct {
	// PIDs, when set, are the only processes read.
	PIDs []int
	// AllProcesses includes processes outside containers.
	AllProcesses bool
}

// Read returns the processes under procRoot. Processes that exit while
// being read are skipped; other unreadable ones are listed in the errors.
func Read(procRoot string, opts Options) ([]Process, Host, []error) {
	host := readHost(procRoot)
	var pids []int
	if len(opts.PIDs) > 0 {
		pids = append(pids, opts.PIDs...)
	} else {
		entries, err := os.ReadDir(procRoot)
		if err != nil {
			return nil, host, []error{fmt.Errorf("%s: %w", procRoot, err)}
		}
		for _, e := range entries {
			if pid, err := strconv.Atoi(e.Name()); err == nil && e.IsDir() {
				pids = append(pids, pid)
			}
		}
	}
	sort.Ints(pids)
	var out []Process
	var errs []error
	for _, pid := range pids {
		p, err := readProcess(procRoot, pid)
		if err != nil {
			if !errors.Is(err, fs.ErrNotExist) {
				errs = append(errs, err)
			}
			continue
		}
		if p.ContainerID == "" && !opts.AllProcesses && len(opts.PIDs) == 0 {
			continue
		}
		out = append(out, p)
	}
	return out, host, errs
}

// readHost reads PID 1's namespaces and bounding set; when PID 1 is out of
// reach and procRoot is this machine's /proc, the reader's own stand in
// (a node agent runs with the host's PID and network namespaces).
func readHost(procRoot string) Host {
	for _, who := range []string{"1", "self"} {
		if who == "self" && filepath.Clean(procRoot) != "/proc" {
			break
		}
		ns := namespaces(filepath.Join(procRoot, who))
		st, err := os.ReadFile(filepath.Join(procRoot, who, "status"))
		if len(ns) == 0 || err != nil {
			continue
		}
		f := statusFields(st)
		bnd, _ := strconv.ParseUint(f["CapBnd"], 16, 64)
		return Host{Namespaces: ns, CapBnd: bnd, Known: true}
	}
	return Host{}
}

func namespaces(dir string) map[string]string {
	out := map[string]string{}
	for _, n := range []string{"pid", "net", "ipc"} {
		if l, err := os.Readlink(filepath.Join(dir, "ns", n)); err == nil {
			out[n] = l
		}
	}
	return out
}

func statusFields(data []byte) map[string]string {
	out := map[string]string{}
	sc := bufio.NewScanner(bytes.NewReader(data))
	for sc.Scan() {
		k, v, ok := strings.Cut(sc.Text(), ":")
		if ok {
			out[k] = strings.TrimSpace(v)
		}
	}
	return out
}

// MaxProcFile bounds what is read of one /proc file.
const MaxProcFile = 1 << 20

func readSmall(p string) ([]byte, error) {
	f, err := os.Open(p)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	return io.ReadAll(io.LimitReader(f, MaxProcFile))
}

func readProcess(procRoot string, pid int) (Process, error) {
	dir := filepath.Join(procRoot, strconv.Itoa(pid))
	st, err := readSmall(filepath.Join(dir, "status"))
	if err != nil {
		return Process{}, fmt.Errorf("process %d: %w", pid, err)
	}
	f := statusFields(st)
	p := Process{PID: pid, Comm: f["Name"], Seccomp: -1}
	p.PPID, _ = strconv.Atoi(f["PPid"])
	if ids := strings.Fields(f["Uid"]); len(ids) >= 2 {
		p.UID, _ = strconv.Atoi(ids[0])
		p.EUID, _ = strconv.Atoi(ids[1])
	} else {
		return Process{}, fmt.Errorf("process %d: status has no Uid line", pid)
	}
	if p.CapEff, err = strconv.ParseUint(f["CapEff"], 16, 64); err != nil {
		return Process{}, fmt.Errorf("process %d: CapEff %q: %w", pid, f["CapEff"], err)
	}
	p.NoNewPrivs = f["NoNewPrivs"] == "1"
	if s, err := strconv.Atoi(f["Seccomp"]); err == nil {
		p.Seccomp = s
	}
	if cl, err := readSmall(filepath.Join(dir, "cmdline")); err == nil {
		for _, a := range bytes.Split(bytes.TrimRight(cl, "\x00"), []byte{0}) {
			if len(a) > 0 {
				p.Cmdline = append(p.Cmdline, string(a))
			}
		}
	}
	p.AppArmor, p.SELinux = labels(dir)
	p.Namespaces = namespaces(dir)
	if cg, err := readSmall(filepath.Join(dir, "cgroup")); err == nil {
		p.ContainerID, p.PodUID, p.Runtime = ParseCgroup(cg)
	}
	return p, nil
}

// labels reads the process's security label: AppArmor's own file when the
// kernel stacks modules, else the shared attr/current, whose shape tells
// SELinux (user:role:type:level) from AppArmor ("profile (mode)").
func labels(dir string) (apparmor, selinux string) {
	if b, err := readSmall(filepath.Join(dir, "attr", "apparmor", "current")); err == nil {
		return strings.TrimSpace(strings.TrimRight(string(b), "\x00\n")), ""
	}
	b, err := readSmall(filepath.Join(dir, "attr", "current"))
	if err != nil {
		return "", ""
	}
	l := strings.TrimSpace(strings.TrimRight(string(b), "\x00\n"))
	if strings.Count(l, ":") >= 2 && !strings.Contains(l, " ") {
		return "", l
	}
	return l, ""
}

// Container ids in cgroup paths: Docker ("/docker/<id>", "docker-<id>.scope"),
// containerd ("cri-containerd-<id>.scope", "/kubepods/…/<id>"), CRI-O
// ("crio-<id>.scope"), Podman ("libpod-<id>.scope").
var (
	containerRe = regexp.MustCompile(`(?:^|[/-])(?:(docker|cri-containerd|crio|libpod|containerd)[-/])?([0-9a-f]{64})(?:\.scope)?(?:/|$)`)
	podRe       = regexp.MustCompile(`pod([0-9a-f]{8}[-_][0-9a-f]{4}[-_][0-9a-f]{4}[-_][0-9a-f]{4}[-_][0-9a-f]{12})`)
)

// ParseCgroup finds the container id, pod UID and runtime in the content
// of /proc/<pid>/cgroup (cgroup v1 or v2).
func ParseCgroup(data []byte) (containerID, podUID, runtime string) {
	for _, line := range strings.Split(string(data), "\n") {
		parts := strings.SplitN(line, ":", 3)
		if len(parts) != 3 {
			continue
		}
		path := parts[2]
		if m := containerRe.FindStringSubmatch(path); m != nil && containerID == "" {
			containerID, runtime = m[2], m[1]
			if runtime == "" && strings.Contains(path, "kubepods") {
				runtime = "cri"
			}
		}
		if m := podRe.FindStringSubmatch(path); m != nil && podUID == "" {
			podUID = strings.ReplaceAll(m[1], "_", "-")
		}
	}
	return containerID, podUID, runtime
}
