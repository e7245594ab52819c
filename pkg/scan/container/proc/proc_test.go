package proc

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	goruntime "runtime"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
	"unsafe"

	"sigs.k8s.io/yaml"

	"github.com/vigilsec/vigil/pkg/checks"
	"github.com/vigilsec/vigil/pkg/checks/checkstest"
)

// helperEnv makes the test binary a process under a seccomp filter with
// no_new_privs, for the passing case of the seccomp check.
const helperEnv = "VIGIL_RUNTIME_HELPER"

func init() {
	if os.Getenv(helperEnv) != "seccomp" {
		return
	}
	goruntime.LockOSThread() // init runs on the main thread, the one /proc/<pid>/status shows
	if _, _, e := syscall.RawSyscall6(syscall.SYS_PRCTL, 38 /* PR_SET_NO_NEW_PRIVS */, 1, 0, 0, 0, 0); e != 0 {
		os.Exit(3)
	}
	type filter struct {
		code   uint16
		jt, jf uint8
		k      uint32
	}
	type fprog struct {
		n uint16
		f *filter
	}
	prog := []filter{{code: 0x06, k: 0x7fff0000}} // return SECCOMP_RET_ALLOW
	fp := fprog{n: 1, f: &prog[0]}
	const sysSeccomp, setModeFilter, flagTsync = 317, 1, 1
	if _, _, e := syscall.RawSyscall(sysSeccomp, setModeFilter, flagTsync, uintptr(unsafe.Pointer(&fp))); e != 0 {
		os.Exit(4)
	}
	time.Sleep(5 * time.Minute)
	os.Exit(0)
}

type procSpec struct {
	Run   []string `json:"run"`
	Child bool     `json:"child"`
	Proc  *struct {
		Status string `json:"status"`
		Attr   string `json:"attr"`
		// NS names the namespaces that are the host's ("pid", "net"); the
		// others are the process's own.
		HostNS []string `json:"host_ns"`
	} `json:"proc"`
}

// start runs argv and waits until the process (or its child) has exec'd
// its final program; the process is killed at cleanup.
func start(t *testing.T, argv []string, child bool) int {
	t.Helper()
	if goruntime.GOOS != "linux" || goruntime.GOARCH != "amd64" {
		t.Skip("runtime checks read Linux /proc; the seccomp helper is amd64")
	}
	var cmd *exec.Cmd
	want := "" // the helper is recognised by its seccomp mode
	if argv[0] == "helper-seccomp" {
		cmd = exec.Command(os.Args[0])
		cmd.Env = append(os.Environ(), helperEnv+"=seccomp")
	} else {
		// The final program is the one before its single argument.
		want = filepath.Base(argv[len(argv)-2])
		if _, err := exec.LookPath(argv[0]); err != nil {
			t.Skipf("%s not installed", argv[0])
		}
		cmd = exec.Command(argv[0], argv[1:]...)
	}
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
		cmd.Wait()
	})
	deadline := time.Now().Add(10 * time.Second)
	for time.Now().Before(deadline) {
		pid := cmd.Process.Pid
		if child {
			pid = childOf(pid)
		}
		if pid > 0 {
			st, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/status")
			f := statusFields(st)
			switch {
			case err != nil:
			case want != "" && f["Name"] == want:
				return pid
			case want == "" && f["Seccomp"] == "2":
				return pid
			}
		}
		time.Sleep(20 * time.Millisecond)
	}
	t.Fatalf("%v did not start", argv)
	return 0
}

func childOf(ppid int) int {
	entries, _ := os.ReadDir("/proc")
	for _, e := range entries {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		st, _ := os.ReadFile("/proc/" + e.Name() + "/status")
		if statusFields(st)["PPid"] == strconv.Itoa(ppid) {
			return pid
		}
	}
	return 0
}

func TestEveryRuntimeCheckFailsAndPasses(t *testing.T) {
	cat, err := checks.Builtin()
	if err != nil {
		t.Fatal(err)
	}
	s := NewScanner(cat)
	self, _ := os.ReadFile("/proc/self/status")
	checkstest.Run(t, "testdata/cases.yaml", s.Checks, func(t *testing.T, src string) map[string]int {
		var spec procSpec
		if err := yaml.UnmarshalStrict([]byte(src), &spec); err != nil {
			t.Fatal(err)
		}
		root := "/proc"
		var pid int
		if spec.Proc != nil {
			root = t.TempDir()
			pid = 4242
			dir := filepath.Join(root, "4242")
			os.MkdirAll(filepath.Join(dir, "attr"), 0o755)
			os.WriteFile(filepath.Join(dir, "status"), []byte(spec.Proc.Status), 0o644)
			os.WriteFile(filepath.Join(dir, "attr", "current"), []byte(spec.Proc.Attr+"\n"), 0o644)
			os.WriteFile(filepath.Join(dir, "cgroup"), []byte("0::/kubepods.slice/kubepods-pod0f1e2d3c_4b5a_6978_8796_a5b4c3d2e1f0.slice/cri-containerd-"+strings.Repeat("ab", 32)+".scope\n"), 0o644)
			fakeHost(t, root, dir, spec.Proc.HostNS)
		} else {
			if statusFields(self)["Seccomp"] != "0" && strings.Contains(src, "sleep") {
				// Children inherit the test's own seccomp filter.
				t.Skip("the test process runs under seccomp")
			}
			if os.Geteuid() != 0 {
				t.Skip("starting processes as other users needs root")
			}
			pid = start(t, spec.Run, spec.Child)
		}
		s.Opts = Options{PIDs: []int{pid}}
		fs, errs := s.Scan(context.Background(), root, "")
		if len(errs) > 0 {
			t.Fatalf("scan errors: %v", errs)
		}
		out := map[string]int{}
		for _, f := range fs {
			out[f.CheckId]++
		}
		return out
	})
}

func TestParseCgroup(t *testing.T) {
	id := strings.Repeat("0123456789abcdef", 4)
	cases := map[string][3]string{
		"12:pids:/docker/" + id + "\n":               {id, "", "docker"},
		"0::/system.slice/docker-" + id + ".scope\n": {id, "", "docker"},
		"0::/kubepods.slice/kubepods-besteffort.slice/kubepods-besteffort-pod1b2c3d4e_0000_1111_2222_333344445555.slice/cri-containerd-" + id + ".scope\n": {id, "1b2c3d4e-0000-1111-2222-333344445555", "cri-containerd"},
		"4:memory:/kubepods/burstable/pod1b2c3d4e-0000-1111-2222-333344445555/" + id + "\n":                                                                {id, "1b2c3d4e-0000-1111-2222-333344445555", "cri"},
		"0::/machine.slice/libpod-" + id + ".scope/container\n":                                                                                            {id, "", "libpod"},
		"0::/user.slice/user-1000.slice/session-2.scope\n":                                                                                                 {"", "", ""},
	}
	for in, want := range cases {
		c, p, r := ParseCgroup([]byte(in))
		if [3]string{c, p, r} != want {
			t.Errorf("%q: got %q %q %q, want %q", in, c, p, r, want)
		}
	}
}

func TestContainerAttributionAndHostProcessesSkipped(t *testing.T) {
	root := t.TempDir()
	write := func(pid, cgroup string) {
		dir := filepath.Join(root, pid)
		os.MkdirAll(dir, 0o755)
		os.WriteFile(filepath.Join(dir, "status"), []byte("Name: app\nPPid: 1\nUid: 0 0 0 0\nCapEff: 00000000a80425fb\nNoNewPrivs: 0\nSeccomp: 0\n"), 0o644)
		os.WriteFile(filepath.Join(dir, "cgroup"), []byte(cgroup), 0o644)
	}
	id := strings.Repeat("fe", 32)
	write("10", "0::/system.slice/sshd.service\n")
	write("11", "0::/system.slice/docker-"+id+".scope\n")
	write("12", "0::/system.slice/docker-"+id+".scope\n") // a second process of the same container
	os.WriteFile(filepath.Join(root, "13"), nil, 0o644)   // not a directory
	cat, _ := checks.Builtin()
	fs, errs := NewScanner(cat).Scan(context.Background(), root, "acme")
	if len(errs) > 0 {
		t.Fatal(errs)
	}
	per := map[string]int{}
	for _, f := range fs {
		if f.Resource.Kind != "Container" || f.Resource.Name != id[:12] {
			t.Fatalf("finding on %s/%s", f.Resource.Kind, f.Resource.Name)
		}
		per[f.CheckId]++
	}
	if per["VGL-CONTAINER-155"] != 1 || per["VGL-CONTAINER-152"] != 1 {
		t.Fatalf("want one finding per container and check, got %v", per)
	}
}

func FuzzParseCgroup(f *testing.F) {
	f.Add([]byte("0::/system.slice/docker-" + strings.Repeat("ab", 32) + ".scope\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		c, _, _ := ParseCgroup(data)
		if c != "" && len(c) != 64 {
			t.Fatalf("container id %q", c)
		}
	})
}

// fakeHost writes PID 1 of a /proc tree written by a test (the host: every
// capability in its bounding set, its namespaces) and the namespaces of
// the process in dir: the host's for those named in hostNS, its own else.
func fakeHost(t *testing.T, root, dir string, hostNS []string) {
	t.Helper()
	init := filepath.Join(root, "1")
	for _, d := range []string{filepath.Join(init, "ns"), filepath.Join(dir, "ns")} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	os.WriteFile(filepath.Join(init, "status"), []byte("Name: systemd\nPPid: 0\nUid: 0 0 0 0\nCapEff: 000001ffffffffff\nCapBnd: 000001ffffffffff\n"), 0o644)
	os.WriteFile(filepath.Join(init, "cgroup"), []byte("0::/init.scope\n"), 0o644)
	ids := map[string]int{"pid": 4026531836, "net": 4026531840, "ipc": 4026531839}
	for n, id := range ids {
		own := id + 1000
		for _, h := range hostNS {
			if h == n {
				own = id
			}
		}
		if err := os.Symlink(fmt.Sprintf("%s:[%d]", n, id), filepath.Join(init, "ns", n)); err != nil {
			t.Fatal(err)
		}
		if err := os.Symlink(fmt.Sprintf("%s:[%d]", n, own), filepath.Join(dir, "ns", n)); err != nil {
			t.Fatal(err)
		}
	}
}
