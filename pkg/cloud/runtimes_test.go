package cloud

import (
	"testing"
	"time"
)

func TestRuntime(t *testing.T) {
	for in, want := range map[[2]string]string{
		{"python", "3.8.10"}:  "python 3.8",
		{"PYTHON", "3.12"}:    "python 3.12",
		{"node", "18-lts"}:    "node 18",
		{"nodejs", "16.x"}:    "node 16",
		{"DOTNETCORE", "3.1"}: "dotnet 3.1",
		{"dotnet", "v6.0"}:    "dotnet 6.0",
		{"dotnet", "8"}:       "dotnet 8.0",
		{"php", ""}:           "",
		{"", "3.9"}:           "",
	} {
		if got := Runtime(in[0], in[1]); got != want {
			t.Errorf("Runtime(%q, %q) = %q, want %q", in[0], in[1], got, want)
		}
	}
}

func TestEndOfLife(t *testing.T) {
	day := time.Date(2026, 12, 8, 0, 0, 0, 0, time.UTC)
	for rt, want := range map[string][2]bool{
		"python 3.8":  {true, true},
		"python 3.12": {false, true},
		"php 8.0":     {true, true},
		"php 8.2":     {false, true},
		"node 18":     {true, true},
		"node 22":     {false, true},
		"dotnet 6.0":  {true, true},
		"ruby 3.2":    {false, false},
		"python":      {false, false},
	} {
		eol, known := EndOfLife(rt, day)
		if eol != want[0] || known != want[1] {
			t.Errorf("EndOfLife(%q) = %v, %v; want %v, %v", rt, eol, known, want[0], want[1])
		}
	}
	// The day itself counts as past.
	if eol, _ := EndOfLife("php 8.2", time.Date(2026, 12, 31, 0, 0, 0, 0, time.UTC)); !eol {
		t.Error("php 8.2 on its end-of-life day is not reported")
	}
}
